"""The `conso` command: serve, worker, ingest, provision, check-catalog, bench, prune,
migrate."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from conso import __version__, gc_tuning
from conso.domain.catalog import CatalogError
from conso.store.base import StoreError

if TYPE_CHECKING:
    from conso.api.limits import HttpLimits
    from conso.bootstrap import Services, Settings
    from conso.engine import Engine

log = logging.getLogger("conso")
T = TypeVar("T")


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _serve(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from conso import demo
    from conso.bootstrap import Settings, build
    from conso.runtime.address import parse_listen
    from conso.store.postgres import redacted
    from conso.stream.jetstream import StreamError

    limits = _http_limits(args)
    if limits is None:
        return 2
    settings = _with_sharing(Settings.from_env(db=args.db, catalog=args.catalog), args)
    if args.diameter:
        settings = replace(settings, diameter=args.diameter)
    if args.nchf:
        settings = replace(settings, nchf=args.nchf)
    for option, value in (("--diameter", settings.diameter), ("--nchf", settings.nchf)):
        if value:
            try:
                parse_listen(value)
            except ValueError as exc:
                print(f"conso serve: {option}: {exc}", file=sys.stderr)
                return 2
    gc_tuning.tune()
    services = build(settings)
    try:
        if settings.stream_url:
            from conso.stream.intake import StreamIntake
            from conso.stream.jetstream import JetStream

            stream = JetStream.connect(settings.stream_url, stream=settings.stream_name,
                                       prefix=settings.stream_prefix,
                                       partitions=settings.stream_partitions,
                                       publish_timeout=settings.stream_publish_timeout)
            services.intake = StreamIntake(services.engine, stream)
            print(f"stream: {stream.where} ({stream.partitions} partitions); "
                  "usage is applied by `conso worker`", flush=True)
        elif settings.shared:
            print("database shared with other conso processes", flush=True)
        base = f"http://{args.host}:{args.port}"
        print(f"conso {__version__} serving {base}  (portal: {base}/portal, "
              f"API docs: {base}/docs)", flush=True)
        print(f"store: {redacted(services.store.url)}", flush=True)
        _print_front_ends(services)
        print(f"operator key: {services.operator_key}  (from {services.operator_key_source})",
              flush=True)
        if args.demo:
            users = demo.seed(services.engine)
            services.demo_users = users
            services.background.append(demo.TrafficGenerator(services.engine))
            print(f"demo account {demo.ACCOUNT!r}; logins:", flush=True)
            for user in users:
                line = f"  line {user.line} ({user.plan})" if user.line else ""
                print(f"  {user.role:<5} {user.login:<6} password {user.password}{line}",
                      flush=True)
        _listen(services, limits, args)
    except StreamError as exc:
        print(f"conso serve: stream: {exc}", file=sys.stderr)
        return 2
    finally:
        services.close()
    return 0


def _http_limits(args: argparse.Namespace) -> HttpLimits | None:
    """The API listener's limits from CONSO_* and --max-connections; None (and said on
    stderr) when a setting is not a positive number."""
    from conso.api.limits import HttpLimits

    try:
        return HttpLimits.from_env(os.environ, max_connections=args.max_connections)
    except ValueError as exc:
        print(f"conso serve: {exc}", file=sys.stderr)
        return None


def _listen(services: Services, limits: HttpLimits, args: argparse.Namespace) -> None:
    """Serve the API (fast path, routes, portal) with its limits (api/limits.py) until
    SIGTERM or SIGINT."""
    import uvicorn

    from conso.api.app import create_app
    from conso.api.fastpath import FastPath
    from conso.api.limits import BodyLimit
    from conso.api.listener import uvicorn_options

    # Counted once the store and the front ends hold their file descriptors.
    limits = limits.within_file_limit()
    print(f"http limits: {limits.describe()}", flush=True)
    app = BodyLimit(FastPath(create_app(services), services), limits)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level.lower(),
                access_log=args.access_log, timeout_graceful_shutdown=10,
                **uvicorn_options(limits))


def _print_front_ends(services: Services) -> None:
    """The network front ends `serve` runs, and where."""
    settings = services.settings
    if services.diameter is not None:
        config = services.diameter.config
        print(f"diameter: {settings.diameter} as {config.origin_host} "
              f"(realm {config.origin_realm}; peers: "
              f"{', '.join(sorted(config.peers)) if config.peers else 'any'})", flush=True)
    if services.nchf is not None:
        print(f"nchf: {services.nchf.config.scheme}://{settings.nchf}"
              "/nchf-convergedcharging/v3 (HTTP/2 and HTTP/1.1; bearer: the operator key)",
              flush=True)


def _with_sharing(settings: Settings, args: argparse.Namespace) -> Settings:
    from dataclasses import replace

    if getattr(args, "stream", None):
        settings = replace(settings, stream_url=args.stream)
    if getattr(args, "shared", False):
        settings = replace(settings, shared=True)
    if getattr(args, "stream_partitions", None):
        settings = replace(settings, stream_partitions=args.stream_partitions)
    return settings


def _worker(args: argparse.Namespace) -> int:
    import signal
    import threading

    from conso.bootstrap import Settings, build
    from conso.store.postgres import redacted
    from conso.stream.jetstream import JetStream, StreamError
    from conso.stream.ownership import PartitionLocks
    from conso.stream.worker import StreamWorker, parse_partitions

    settings = _with_sharing(Settings.from_env(db=args.db, catalog=args.catalog), args)
    if not settings.stream_url:
        print("conso worker: --stream nats://HOST:PORT (or CONSO_STREAM) is required",
              file=sys.stderr)
        return 2
    gc_tuning.tune()
    services = build(settings)
    stream = locks = None
    try:
        stream = JetStream.connect(settings.stream_url, stream=settings.stream_name,
                                   prefix=settings.stream_prefix,
                                   partitions=settings.stream_partitions)
        try:
            allowed = parse_partitions(args.partitions, stream.partitions)
        except ValueError as exc:
            print(f"conso worker: {exc}", file=sys.stderr)
            return 2
        locks = PartitionLocks(services.store.url)
        worker = StreamWorker(services, stream, locks, allowed=allowed)
        if args.metrics_port is not None:
            from prometheus_client import CollectorRegistry, start_http_server

            from conso.stream.worker import WorkerCollector

            registry = CollectorRegistry()
            registry.register(WorkerCollector(worker))
            start_http_server(args.metrics_port, addr=args.metrics_host, registry=registry)
            print(f"metrics on http://{args.metrics_host}:{args.metrics_port}/metrics",
                  flush=True)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: worker.stop())
        print(f"conso worker {os.getpid()}: store {redacted(services.store.url)}, stream "
              f"{stream.where} ({stream.partitions} partitions; may take "
              f"{len(allowed)})", flush=True)
        runner = threading.Thread(target=worker.run, name="conso-worker")
        runner.start()
        while runner.is_alive():
            runner.join(0.5)
        print(f"conso worker {os.getpid()}: stopped after {worker.records_seen} records "
              f"({worker.records_accepted} accepted)", flush=True)
        if worker.failure is not None:
            print(f"conso worker: {worker.failure}", file=sys.stderr)
            return 1
    except StreamError as exc:
        print(f"conso worker: stream: {exc}", file=sys.stderr)
        return 2
    finally:
        if locks is not None:
            locks.close()
        if stream is not None:
            stream.close()
        services.close()
    return 0


def _sink(args: argparse.Namespace, command: str, http: Callable[[str, str], T],
          local: Callable[[Engine], T]) -> tuple[T, str, Services | None] | None:
    """Where `conso ingest` / `conso provision` send a file: a running server (--url,
    with the operator key) or the store itself through an engine (closed by the caller).
    None, after saying why, when the arguments do not allow either."""
    if args.url:
        key = args.key or os.environ.get("CONSO_OPERATOR_KEY")
        if not key:
            print(f"conso {command}: --url needs --key or CONSO_OPERATOR_KEY", file=sys.stderr)
            return None
        return http(args.url, key), args.url, None
    from conso.bootstrap import Settings, build

    services = build(Settings.from_env(db=args.db, catalog=args.catalog))
    return local(services.engine), services.store.url, services


def _list_rejected(rejected: Sequence[str], show: int) -> None:
    for text in rejected[:show]:
        print(f"  {text}")
    if len(rejected) > show:
        print(f"  ... and {len(rejected) - show} more")


def _ingest(args: argparse.Namespace) -> int:
    from conso.ingest import Progress, count_records, engine_sink, http_sink, ingest

    path = Path(args.file)
    if not path.is_file():
        print(f"conso ingest: no such file: {path}", file=sys.stderr)
        return 2
    found = _sink(args, "ingest", http_sink, engine_sink)
    if found is None:
        return 2
    sink, target, services = found
    try:
        progress = None if args.quiet else Progress(count_records(path))
        print(f"ingesting {path} into {target}", file=sys.stderr)
        summary = ingest(path, sink, batch_size=args.batch_size, fmt=args.format,
                         progress=progress)
    except RuntimeError as exc:
        print(f"conso ingest: {exc}", file=sys.stderr)
        return 1
    finally:
        if services is not None:
            services.close()
    print(f"{summary.records} records: {summary.accepted} accepted, "
          f"{summary.duplicates} duplicates, {len(summary.rejected)} rejected")
    _list_rejected([f"line {number}: {r.id or '-'}: {r.error}"
                    for number, r in summary.rejected], args.show_rejected)
    return 0 if not summary.rejected else 3


def _provision(args: argparse.Namespace) -> int:
    from conso.ingest import Progress, count_records
    from conso.provision_file import engine_sink, http_sink, provision_file

    path = Path(args.file)
    if not path.is_file():
        print(f"conso provision: no such file: {path}", file=sys.stderr)
        return 2
    found = _sink(args, "provision", http_sink, engine_sink)
    if found is None:
        return 2
    sink, target, services = found
    try:
        progress = None if args.quiet else Progress(count_records(path), unit="items")
        print(f"provisioning {path} into {target}", file=sys.stderr)
        summary = provision_file(path, sink, batch_size=args.batch_size, fmt=args.format,
                                 progress=progress)
    except RuntimeError as exc:   # a server's refusal, a CSV header that cannot be read
        print(f"conso provision: {exc}", file=sys.stderr)
        return 1
    finally:
        if services is not None:
            services.close()
    print(f"{summary.items} items: {summary.created} created, {summary.updated} updated, "
          f"{summary.unchanged} unchanged, {len(summary.rejected)} rejected")
    _list_rejected([f"line {number}: {error}" for number, error in summary.rejected],
                   args.show_rejected)
    return 0 if not summary.rejected else 3


def _check_catalog(args: argparse.Namespace) -> int:
    from conso.catalog_file import load_catalog

    catalog = load_catalog(args.file)
    print(f"{args.file or 'default catalogue'}: {len(catalog.plans)} plans: "
          + ", ".join(sorted(catalog.plans)))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from conso.bench.report import table, write_json, write_plot
    from conso.bench.run import BenchConfig, Progress, run

    config = BenchConfig.quick() if args.quick else BenchConfig()
    if args.lines:
        config = replace(config, lines=args.lines)
    if args.records:
        config = replace(config, records=args.records)
    if args.scale is not None:
        config = replace(config, scale=tuple(args.scale))
    if args.sms is not None:
        config = replace(config, sms=args.sms)
    if args.sms_only:
        if not config.sms:
            print("conso bench: --sms-only needs an SMS burst (--sms N, N > 0)",
                  file=sys.stderr)
            return 2
        config = replace(config, sms_only=True)
    if args.rollover_lines is not None:
        config = replace(config, rollover_lines=args.rollover_lines)
    if args.rollover_only:
        if not config.rollover_lines:
            print("conso bench: --rollover-only needs lines (--rollover-lines N, N > 0)",
                  file=sys.stderr)
            return 2
        config = replace(config, rollover_only=True)
    if args.db:
        if not args.db.startswith(("postgresql://", "postgres://")):
            print("conso bench: --db takes a PostgreSQL server's URL (SQLite is the default)",
                  file=sys.stderr)
            return 2
        config = replace(config, pg_admin_url=args.db, stream_url=args.stream)
    if args.workers:
        if not args.db:
            print("conso bench: --workers needs --db postgresql://... (the workers share "
                  "a PostgreSQL database)", file=sys.stderr)
            return 2
        config = replace(config, workers=args.workers)
    results = run(config, Progress())
    print(table(results))
    if args.json:
        write_json(results, config, Path(args.json))
        print(f"wrote {args.json}")
    if args.plot:
        write_plot(results, Path(args.plot))
        print(f"wrote {args.plot}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from conso.store import open_store

    store = open_store(args.db or os.environ.get("CONSO_DB") or "sqlite:///conso.db")
    try:
        applied = store.migrate()
    finally:
        store.close()
    print("applied: " + (", ".join(applied) if applied else "nothing, the schema is current"))
    return 0


def _prune(args: argparse.Namespace) -> int:
    import sqlite3
    from datetime import UTC, datetime

    from conso.ingest import Progress
    from conso.store import open_store, prune
    from conso.store.postgres import redacted
    from conso.store.sql.store import SqlStore
    from conso.store.sqlite import SQLiteStore

    if args.keep_cycles < prune.MIN_KEEP:
        print(f"conso prune: --keep-cycles must be at least {prune.MIN_KEEP} (the open "
              "cycle is always kept, and the last closed ones still take late records)",
              file=sys.stderr)
        return 2
    url = args.db or os.environ.get("CONSO_DB") or "sqlite:///conso.db"
    try:
        store = open_store(url)
    except StoreError as exc:
        print(f"conso prune: store: {exc}", file=sys.stderr)
        return 1
    try:
        if not isinstance(store, SqlStore):
            print(f"conso prune: {url}: only SQLite and PostgreSQL stores keep records "
                  "to prune", file=sys.stderr)
            return 2
        try:
            store.migrate()       # pruned_cycles, and (PostgreSQL) this month's partitions
            planned = prune.plan(store, args.keep_cycles, datetime.now(UTC),
                                 archive=not args.no_archive)
        except StoreError as exc:
            print(f"conso prune: store: {exc}", file=sys.stderr)
            return 1
        print(f"{redacted(store.url)}: keeping the open cycle and the {args.keep_cycles} "
              f"before it; {planned.kept_records:,} records kept")
        for start, count in planned.cycles.items():
            print(f"  cycle {start.isoformat()}: {count:,} records")
        for partition in planned.partitions:
            print(f"  partition {partition.name}: {partition.bytes / 1e6:,.1f} MB")
        verb = "would remove" if args.dry_run else "removing"
        print(f"{verb} {planned.records:,} records of {len(planned.cycles)} cycle starts"
              + (f" in {', '.join(planned.months)}" if planned.months else "")
              + (f"; {len(planned.partitions)} month partitions to drop"
                 if planned.partitions else ""))
        if planned.archive is not None:
            print(f"{'would archive' if args.dry_run else 'archiving'} them first in "
                  f"{planned.archive}/"
                  + (f" ({', '.join(p.name for p in planned.archive_files)})"
                     if planned.archive_files else ""))
        elif isinstance(store, SQLiteStore):
            print("not archived (--no-archive)")
        elif planned.months:
            tables = " ".join(f"--table=usage_records_{month.replace('-', '_')}"
                              for month in planned.months)
            print("not archived (PostgreSQL keeps no archive); to keep a copy, dump those "
                  f"months first: pg_dump --data-only {tables}")
        if args.dry_run:
            return 0
        progress = None if args.quiet else Progress(planned.records)
        try:
            result = prune.prune(store, planned,
                                 progress=None if progress is None else progress.advance)
        except (StoreError, OSError, sqlite3.Error) as exc:
            print(f"conso prune: {exc} (what was pruned before stays pruned, and archived; "
                  "run it again to go on)", file=sys.stderr)
            return 1
        if progress is not None:
            progress.finish()
        print(f"pruned {result.records:,} records"
              + (f"; dropped {', '.join(result.partitions_dropped)}"
                 if result.partitions_dropped else "")
              + (f"; archived {result.archived:,} in "
                 f"{', '.join(str(p) for p in result.archive_files)}"
                 if result.archive_files else ""))
        return 0
    finally:
        store.close()


def _add_prune(sub: Any) -> None:
    from conso.store.prune import DEFAULT_KEEP

    pru = sub.add_parser(
        "prune", help="remove the itemised records of old cycles, keeping their totals",
        description="Remove the itemised records of the cycles older than the open one and "
                    "the N before it (per line: each line's cycle day), after keeping each "
                    "cycle's totals, so that usage, cycle lists and thresholds of a pruned "
                    "cycle answer as before and its record list answers empty with "
                    "\"pruned\": true. Short transactions, safe beside a running server; "
                    "running it again changes nothing. On SQLite the records are first "
                    "copied into DB.archive/YYYY-MM.sqlite beside the database (one file "
                    "per month of cycle starts, a plain usage_records table), committed "
                    "there before they are deleted. On PostgreSQL the month partitions it "
                    "empties are dropped and nothing is archived: keep a copy of a month "
                    "first with pg_dump --table=usage_records_YYYY_MM (the dry run lists "
                    "them). Exit status: 0 done, 1 the store failed, 2 bad arguments.")
    pru.add_argument("--keep-cycles", type=int, default=DEFAULT_KEEP, metavar="N",
                     help=f"closed cycles kept besides the open one (default {DEFAULT_KEEP}, "
                          "at least 2)")
    pru.add_argument("--dry-run", action="store_true",
                     help="say what would be removed, change nothing")
    pru.add_argument("--db", help="sqlite:///PATH (default ./conso.db), postgresql://... "
                                  "or CONSO_DB")
    pru.add_argument("--no-archive", action="store_true",
                     help="SQLite: delete the records without copying them into the "
                          "archive first (PostgreSQL never archives)")
    pru.add_argument("--quiet", action="store_true", help="no progress bar")
    pru.set_defaults(func=_prune)


def _add_worker(sub: Any) -> None:
    work = sub.add_parser(
        "worker", help="apply the usage on the stream (scale out with several)",
        description="Apply the usage records that `conso serve --stream` put on NATS "
                    "JetStream, to the shared PostgreSQL database. Workers share the "
                    "partitions evenly (each line is applied by one worker at a time); start "
                    "or stop workers at any time, partitions move. SIGTERM finishes the "
                    "batch in hand.")
    work.add_argument("--db", help="postgresql://... (or CONSO_DB)")
    work.add_argument("--stream", metavar="URL", help="nats://HOST:PORT (or CONSO_STREAM)")
    work.add_argument("--partitions", metavar="LIST", default="all",
                      help="the partitions this worker may take: all (default), or a list "
                           "and ranges such as 0-7,12")
    work.add_argument("--catalog", help="the catalogue to rate with (as the API's)")
    work.add_argument("--metrics-port", type=int, metavar="PORT",
                      help="serve Prometheus metrics (partitions owned, records applied) "
                           "on this port")
    work.add_argument("--metrics-host", default="127.0.0.1",
                      help="address of --metrics-port (default 127.0.0.1)")
    work.add_argument("--stream-partitions", type=int, metavar="N",
                      help="partitions of the stream, as the API's (default 16, or "
                           "CONSO_STREAM_PARTITIONS)")
    work.set_defaults(func=_worker)


def _add_provision(sub: Any) -> None:
    prov = sub.add_parser(
        "provision", help="create or change accounts, users and lines from a file",
        description="Apply an NDJSON or CSV file of provisioning items (the items of "
                    "POST /api/v1/provision: type account, user or line) in batches of "
                    "one transaction each. Idempotent: a file sent again changes nothing. "
                    "Exit status: 0 all applied, 3 some items rejected (listed), 1 the "
                    "server or store failed, 2 bad arguments.")
    prov.add_argument("file", help="items, one JSON object a line (.ndjson) or CSV (.csv) "
                                   "with a header naming the fields")
    prov.add_argument("--url", help="a running conso server, e.g. http://127.0.0.1:8000")
    prov.add_argument("--key", help="the operator key for --url (or CONSO_OPERATOR_KEY)")
    prov.add_argument("--db", help="without --url: the store to write to")
    prov.add_argument("--catalog", help="without --url: the catalogue the plans are in")
    prov.add_argument("--format", choices=["auto", "ndjson", "csv"], default="auto")
    prov.add_argument("--batch-size", type=int, default=10_000,
                      help="items a batch, one transaction each (max 10000)")
    prov.add_argument("--show-rejected", type=int, default=20, metavar="N",
                      help="rejected items to list (default 20)")
    prov.add_argument("--quiet", action="store_true", help="no progress bar")
    prov.set_defaults(func=_provision)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="conso",
        description="Real-time mobile consumption control: usage, notifications, "
                    "barring and spending limits.",
        epilog="Settings from the environment: CONSO_DB, CONSO_CATALOG, CONSO_OPERATOR_KEY, "
               "CONSO_SHARED, CONSO_STREAM, CONSO_STREAM_PARTITIONS (see the README).",
    )
    top.add_argument("--version", action="version", version=f"conso {__version__}")
    top.add_argument("--log-level", default=os.environ.get("CONSO_LOG_LEVEL", "INFO"),
                     choices=["DEBUG", "INFO", "WARNING", "ERROR"], type=str.upper,
                     help="log verbosity (default INFO, or CONSO_LOG_LEVEL)")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the API, portal, engine and dispatcher",
                           description="Run conso in one process. SIGTERM/SIGINT drain what "
                                       "is in flight; a SIGKILL loses nothing answered 200.")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")),
                       help="port (default 8000, or PORT)")
    serve.add_argument("--db", help="sqlite:///PATH (default ./conso.db) or CONSO_DB")
    serve.add_argument("--catalog", help="a plan catalogue TOML file (default: the reference)")
    serve.add_argument("--demo", action="store_true",
                       help="seed a demo business account and print its logins")
    serve.add_argument("--access-log", action="store_true", help="log every HTTP request")
    serve.add_argument("--max-connections", type=int, metavar="N",
                       help="open connections at most; more are answered 503 (default 1000, "
                            "or CONSO_MAX_CONNECTIONS; lowered to fit `ulimit -n`). Other "
                            "limits: CONSO_MAX_HEADER_BYTES, CONSO_MAX_HEADERS, "
                            "CONSO_HEADER_TIMEOUT, CONSO_BODY_TIMEOUT, CONSO_KEEPALIVE_TIMEOUT, "
                            "CONSO_MAX_BODY_BYTES, CONSO_BACKLOG")
    serve.add_argument("--nchf", metavar="HOST:PORT",
                       help="serve 5G Nchf_ConvergedCharging (HTTP/2 h2c and HTTP/1.1) on this "
                            "address, e.g. 127.0.0.1:8443 (or CONSO_NCHF; TLS with "
                            "CONSO_NCHF_TLS_CERT and CONSO_NCHF_TLS_KEY)")
    serve.add_argument("--diameter", metavar="HOST:PORT",
                       help="answer Diameter Gy/Ro credit control on this address, e.g. "
                            "127.0.0.1:3868 (or CONSO_DIAMETER; identity and allowed peers: "
                            "CONSO_DIAMETER_HOST, _REALM, _PEERS)")
    serve.add_argument("--shared", action="store_true",
                       help="share the PostgreSQL database with other conso processes "
                            "(several API nodes; or CONSO_SHARED=1)")
    serve.add_argument("--stream", metavar="URL",
                       help="nats://HOST:PORT: hand usage to JetStream for `conso worker` "
                            "(implies --shared; or CONSO_STREAM)")
    serve.add_argument("--stream-partitions", type=int, metavar="N",
                       help="partitions of a new stream (default 16, or "
                            "CONSO_STREAM_PARTITIONS)")
    serve.set_defaults(func=_serve)

    _add_worker(sub)

    ing = sub.add_parser("ingest", help="feed an NDJSON or CSV file of usage records",
                         description="Feed usage records in batches, with progress and a "
                                     "summary. Exit 0 when every record was accepted or a "
                                     "duplicate, 3 when some were rejected, 1 on failure.")
    ing.add_argument("file", help="records, one JSON object a line (.ndjson) or CSV (.csv)")
    ing.add_argument("--url", help="a running conso server, e.g. http://127.0.0.1:8000")
    ing.add_argument("--key", help="the operator key for --url (or CONSO_OPERATOR_KEY)")
    ing.add_argument("--db", help="without --url: the store to write to (no server on it)")
    ing.add_argument("--catalog", help="without --url: the catalogue to rate with")
    ing.add_argument("--format", choices=["auto", "ndjson", "csv"], default="auto")
    ing.add_argument("--batch-size", type=int, default=1000, help="records a batch (max 10000)")
    ing.add_argument("--show-rejected", type=int, default=20, metavar="N",
                     help="list the first N rejected records (default 20)")
    ing.add_argument("--quiet", action="store_true", help="no progress bar")
    ing.set_defaults(func=_ingest)

    _add_provision(sub)

    check = sub.add_parser("check-catalog", help="validate a catalogue file")
    check.add_argument("file", nargs="?", help="default: the reference catalogue")
    check.set_defaults(func=_check_catalog)

    _add_bench(sub)

    _add_prune(sub)
    _add_migrate(sub)
    return top


def _add_bench(sub: Any) -> None:
    bench = sub.add_parser(
        "bench", help="measure a real server on this machine (throughput, latency, memory)",
        description="Generates a synthetic operator, starts a real conso server on a fresh "
                    "SQLite store and measures it from other processes: ingestion over "
                    "HTTP against a plain executemany floor, notification delay, authorize "
                    "and session load, Diameter CCR-UPDATEs and Nchf updates over HTTP/2 "
                    "beside the HTTP session updates, SMS delivery (a burst of threshold "
                    "SMS over SMPP to a local SMS centre), memory per warm line, "
                    "throughput by number of lines and the pause when every line's cycle "
                    "turns over at one midnight (in-process, a virtual clock). With --db, "
                    "the API runs shared and applied records/s are measured in stream "
                    "mode with 1 and 2 workers.")
    bench.add_argument("--quick", action="store_true", help="a small run, under a minute")
    bench.add_argument("--lines", type=int, help="lines of the main run (default 100,000)")
    bench.add_argument("--records", type=int, help="records of the main run")
    bench.add_argument("--scale", type=int, nargs="*", metavar="N",
                       help="line counts of the scaling runs (default 10k 100k 1M)")
    bench.add_argument("--db", metavar="URL",
                       help="benchmark PostgreSQL: a server URL such as postgresql://"
                            "postgres@127.0.0.1:5432/test (a fresh database is created "
                            "on it for each run and dropped after)")
    bench.add_argument("--workers", type=int, default=0, metavar="N",
                       help="with --db: stream mode, the API handing usage to JetStream and "
                            "N `conso worker` processes applying it (ingestion is then "
                            "measured until the stream is drained)")
    bench.add_argument("--stream", metavar="URL", default="nats://127.0.0.1:4222",
                       help="the NATS server of stream mode: --workers, and the 1- and "
                            "2-worker runs of --db (default nats://127.0.0.1:4222)")
    bench.add_argument("--sms", type=int, metavar="N",
                       help="SMS of the delivery burst (default 10,000; --quick 1,000; "
                            "0: not run)")
    bench.add_argument("--sms-only", action="store_true",
                       help="run the SMS delivery phase alone")
    bench.add_argument("--rollover-lines", type=int, metavar="N",
                       help="lines of the cycle-rollover phase, SQLite runs (default "
                            "1,000,000; --quick 100,000; 0: not run)")
    bench.add_argument("--rollover-only", action="store_true",
                       help="run the cycle-rollover phase alone")
    bench.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    bench.add_argument("--plot", metavar="FILE", help="write a PNG plot (needs matplotlib)")
    bench.set_defaults(func=_bench)


def _add_migrate(sub: Any) -> None:
    mig = sub.add_parser("migrate", help="apply pending schema migrations")
    mig.add_argument("--db", help="sqlite:///PATH (default ./conso.db) or CONSO_DB")
    mig.set_defaults(func=_migrate)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    _setup_logging(args.log_level)
    if getattr(args, "batch_size", 1) > 10_000 or getattr(args, "batch_size", 1) < 1:
        print("conso: --batch-size must be 1 to 10000", file=sys.stderr)
        return 2
    try:
        code: int = args.func(args)
    except CatalogError as exc:
        print(f"conso: bad catalogue: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"conso: store: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
