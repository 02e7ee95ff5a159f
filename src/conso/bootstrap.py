"""The composition root: builds store, catalogue, engine, charging core and channels.

Nothing here runs at import time; `build()` is called by the CLI and by tests, with
the real adapters or fakes (`store=`, `channels=`, `clock=`). Front ends register
the channels of their pushes with `Services.register_channel` before `start()`.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from conso.auth import Authenticator
from conso.catalog_file import load_catalog
from conso.charging.core import Charging
from conso.charging.group_commit import ReportQueue
from conso.charging.housekeeping import Sweeper
from conso.charging.settings import ChargingSettings
from conso.domain.catalog import Catalog
from conso.engine import Engine, utc_now
from conso.metrics import Metrics
from conso.notify.channels.base import Channel
from conso.notify.channels.log import LogChannel
from conso.notify.channels.smtp import SmtpChannel
from conso.notify.dispatcher import Dispatcher
from conso.sms.inbound import InboundSms
from conso.store import Store, StoreError, open_store
from conso.store.changes import ChangeFeed
from conso.store.postgres import PostgresStore
from conso.store.sqlite import SQLiteStore

log = logging.getLogger("conso")


class Closeable(Protocol):
    def close(self) -> None: ...

DEFAULT_DB = "sqlite:///conso.db"
DEFAULT_EMAIL_FROM = "conso <noreply@conso.localhost>"


@dataclass(frozen=True, slots=True)
class Settings:
    db: str = DEFAULT_DB
    catalog: str | None = None
    operator_key: str | None = None
    max_future: timedelta = timedelta(hours=24)
    smtp_url: str | None = None
    email_from: str = DEFAULT_EMAIL_FROM
    # The envelope sender (bounces) of e-mail; None: the From address's.
    email_return_path: str | None = None
    # The portal's public address, for links in e-mails (line pages).
    portal_url: str = "http://127.0.0.1:8000"
    smpp_url: str | None = None
    smpp_window: int = 10                 # submit_sm outstanding per link (sms.md)
    smpp_max_rate: float | None = None    # messages a second per link; None: unlimited
    smpp_long: str = "udh"                # long texts: udh | sar | payload
    retry_max_seconds: float = 300.0
    inbound_per_hour: int = 10
    session_validity: timedelta = timedelta(minutes=10)
    # Several conso processes on one PostgreSQL database (API nodes, stream workers).
    shared: bool = False
    # Sharing: keep lines, usage and sessions in memory between commands, told of the
    # others' changes by PostgreSQL LISTEN/NOTIFY (store/changes.py); off: read them
    # from the database at every command and authorize.
    node_cache: bool = True
    stream_url: str | None = None
    stream_partitions: int = 16
    stream_name: str = "CONSO_USAGE"
    # How long a publish waits for JetStream's acks before its 503 (fails at once while
    # NATS is disconnected).
    stream_publish_timeout: float = 2.0
    # The Diameter Gy/Ro listener, HOST:PORT (diameter.md); None: off.
    diameter: str | None = None
    # The Nchf (5G CHF) listener, HOST:PORT (nchf.md); None: off.
    nchf: str | None = None

    @classmethod
    def from_env(cls, *, db: str | None = None, catalog: str | None = None) -> Settings:
        env = os.environ
        return cls(
            db=db or env.get("CONSO_DB") or DEFAULT_DB,
            catalog=catalog or env.get("CONSO_CATALOG") or None,
            operator_key=env.get("CONSO_OPERATOR_KEY") or None,
            smtp_url=env.get("CONSO_SMTP_URL") or None,
            email_from=env.get("CONSO_EMAIL_FROM") or DEFAULT_EMAIL_FROM,
            email_return_path=env.get("CONSO_EMAIL_RETURN_PATH") or None,
            portal_url=(env.get("CONSO_PORTAL_URL") or "http://127.0.0.1:8000").rstrip("/"),
            smpp_url=env.get("CONSO_SMPP_URL") or None,
            smpp_window=int(env.get("CONSO_SMPP_WINDOW") or 10),
            smpp_max_rate=float(env["CONSO_SMPP_MAX_RATE"]) if env.get("CONSO_SMPP_MAX_RATE")
            else None,
            smpp_long=env.get("CONSO_SMPP_LONG") or "udh",
            retry_max_seconds=float(env.get("CONSO_RETRY_MAX_SECONDS") or 300),
            inbound_per_hour=int(env.get("CONSO_INBOUND_PER_HOUR") or 10),
            session_validity=timedelta(
                seconds=float(env.get("CONSO_SESSION_VALIDITY_SECONDS") or 600)),
            shared=env.get("CONSO_SHARED", "") not in ("", "0", "false", "no"),
            node_cache=env.get("CONSO_NODE_CACHE", "1") not in ("", "0", "false", "no"),
            stream_url=env.get("CONSO_STREAM") or None,
            stream_partitions=int(env.get("CONSO_STREAM_PARTITIONS") or 16),
            stream_name=env.get("CONSO_STREAM_NAME") or "CONSO_USAGE",
            stream_publish_timeout=float(env.get("CONSO_STREAM_PUBLISH_TIMEOUT") or 2.0),
            diameter=env.get("CONSO_DIAMETER") or None,
            nchf=env.get("CONSO_NCHF") or None,
        )

    @property
    def stream_prefix(self) -> str:
        """The subjects of the stream's partitions: `<prefix>.<partition>`."""
        name = self.stream_name.lower().replace("_", ".")
        return "conso.usage" if name == "conso.usage" else f"conso.{name}"

    @property
    def sharing(self) -> bool:
        """Whether this process shares its database (a stream implies it)."""
        return self.shared or self.stream_url is not None


@dataclass
class Services:
    settings: Settings
    catalog: Catalog
    store: Store
    engine: Engine
    auth: Authenticator
    metrics: Metrics
    operator_key: str
    operator_key_source: str
    dispatcher: Dispatcher
    inbound: InboundSms
    charging: Charging            # the charging core (charging/ports.py's ChargingCore)
    control: ChargingSettings     # barring and spending limits
    sweeper: Sweeper
    reports: ReportQueue
    _lock_file: Closeable | None = field(default=None, repr=False)
    # Set by `serve --demo`: the demo logins shown on the portal's login page.
    demo_users: list[Any] = field(default_factory=list)
    background: list[Any] = field(default_factory=list)  # more threads to start and stop
    # Stream mode: POST /usage hands records to JetStream through this (stream/intake.py).
    intake: Any = None
    # The Diameter front end when `settings.diameter` is set (diameter/frontend.py).
    diameter: Any = None
    # The Nchf front end when `settings.nchf` is set (nchf/frontend.py).
    nchf: Any = None
    # Sharing a database with the node cache: the other processes' changes.
    feed: ChangeFeed | None = None

    def register_channel(self, name: str, channel: Channel) -> None:
        """A front end's channel for the outbox rows it sends (before `start`)."""
        self.dispatcher.register(name, channel)

    def start(self) -> None:
        """Start the background work: the message dispatcher and the channels."""
        self.dispatcher.start()
        self.sweeper.start()
        self.reports.start()
        for worker in self.background:
            worker.start()

    def stop(self) -> None:
        """Stop the background work; in-flight sends finish first."""
        for worker in self.background:
            worker.stop()
        self.reports.stop()
        self.sweeper.stop()
        self.dispatcher.stop()

    def close(self) -> None:
        self.stop()
        if self.intake is not None:
            self.intake.close()
        if self.feed is not None:
            self.feed.close()
        self.store.close()
        if self._lock_file is not None:
            self._lock_file.close()


def _take_writer_lock(store: Store) -> Closeable | None:
    """One engine per database: its in-memory state must be the only writer."""
    if isinstance(store, PostgresStore):
        return _postgres_lock(store)
    if not isinstance(store, SQLiteStore):
        return None
    lock_path = Path(f"{store.path}.lock")
    handle = lock_path.open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise StoreError(
            f"{store.path} is in use by another conso process (lock {lock_path}); "
            "stop it, or send it records over HTTP with `conso ingest --url`"
        ) from None
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def _postgres_lock(store: PostgresStore, *, shared: bool = False) -> Closeable:
    """A session-level advisory lock, held by its own connection for the process's life.

    An engine that keeps state in memory holds it alone; processes that share the
    database (CONSO_SHARED, stream workers) hold it together, so neither kind can
    start beside the other."""
    import psycopg

    conn = psycopg.connect(store.dsn, autocommit=True, connect_timeout=10)
    take = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
    row = conn.execute(f"SELECT {take}(hashtext('conso-engine'))").fetchone()
    if not row or not row[0]:
        conn.close()
        if shared:
            raise StoreError(f"{store.redacted_url()} is in use by a conso engine that does "
                             "not share it (advisory lock 'conso-engine'); stop it first")
        raise StoreError(f"{store.redacted_url()} is in use by another conso engine "
                         "(advisory lock 'conso-engine'); stop it, or send it records over "
                         "HTTP with `conso ingest --url`")
    return conn


def _operator_key(settings: Settings, store: Store) -> tuple[str, str]:
    if settings.operator_key:
        return settings.operator_key, "CONSO_OPERATOR_KEY"
    key_path = Path(f"{store.path}.operator-key") if isinstance(store, SQLiteStore) else None
    if key_path is not None and key_path.exists():
        return key_path.read_text().strip(), str(key_path)
    key = secrets.token_urlsafe(24)
    if key_path is None:
        return key, "generated for this run"
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key, str(key_path)


def build(settings: Settings, *, store: Store | None = None,
          channels: Mapping[str, Channel] | None = None,
          clock: Callable[[], datetime] | None = None, exclusive: bool = True) -> Services:
    """Open (or take) and migrate the store, load the catalogue, wire the engine, the
    charging core and the dispatcher. `store`, `channels` and `clock` replace the real
    adapters (an in-memory store, fake channels, a test's clock); a store passed in is
    closed with the services, and takes no writer lock."""
    catalog = load_catalog(settings.catalog)
    now = clock or utc_now
    own_store = store is None
    store = open_store(settings.db) if store is None else store
    shared = settings.sharing
    lock: Closeable | None = None
    if shared:
        if not isinstance(store, PostgresStore):
            store.close()
            raise StoreError("several conso processes share a PostgreSQL database "
                             f"(--db postgresql://...), not {store.url}")
        lock = _postgres_lock(store, shared=True)
    elif exclusive and own_store:
        lock = _take_writer_lock(store)
    try:
        applied = store.migrate()
        if applied:
            log.info("store %s: applied migrations %s", store.url, ", ".join(applied))
        metrics = Metrics()
        engine = Engine(store, catalog, clock=now, max_future=settings.max_future,
                        on_batch=metrics.observe_batch, email_sender=settings.email_from,
                        portal_url=settings.portal_url, shared=shared)
        feed = None
        if shared and settings.node_cache:
            assert isinstance(store, PostgresStore)
            feed = ChangeFeed(store.connection, engine.heard)
            engine.follow(feed)
            feed.start()
        key, source = _operator_key(settings, store)
        auth = Authenticator(store, key, now)
        charging = Charging(engine, validity=settings.session_validity,
                            on_overshoot=metrics.observe_overshoot)
        inbound = InboundSms(charging, clock=now, per_hour=settings.inbound_per_hour)
        dispatcher = Dispatcher(
            store, _channels(settings, inbound) if channels is None else channels,
            clock=now, max_backoff=settings.retry_max_seconds, shared=shared)
        engine.on_messages = dispatcher.wake
    except BaseException:
        store.close()
        if lock is not None:
            lock.close()
        raise
    services = Services(
        settings, catalog, store, engine, auth, metrics, key, source, dispatcher, inbound,
        charging, ChargingSettings(engine),
        Sweeper(charging, also=dispatcher.requeue_interrupted if shared else None),
        ReportQueue(charging), lock, feed=feed)
    if settings.diameter:
        _attach_diameter(services, settings.diameter)
    if settings.nchf:
        _attach_nchf(services, settings.nchf)
    return services


def _attach_nchf(services: Services, listen: str) -> None:
    """The Nchf (5G CHF) front end over the charging core; it listens once services start."""
    from conso.nchf.config import NchfConfig
    from conso.nchf.frontend import NchfFrontEnd

    validity = int(services.settings.session_validity.total_seconds())
    config = NchfConfig.from_env(listen, operator_key=services.operator_key,
                                 validity_seconds=validity)
    front = NchfFrontEnd(services.charging, config, submit_update=services.reports.submit)
    services.register_channel(front.channel.name, front.channel)
    services.background.append(front)
    services.nchf = front


def _attach_diameter(services: Services, listen: str) -> None:
    """The Diameter front end over the charging core; it listens once services start."""
    from conso.diameter.config import DiameterConfig
    from conso.diameter.frontend import DiameterFrontEnd

    validity = int(services.settings.session_validity.total_seconds())
    config = DiameterConfig.from_env(listen, validity_seconds=validity)
    front = DiameterFrontEnd(services.charging, config)
    services.register_channel(front.channel.name, front.channel)
    services.background.append(front)
    services.diameter = front


def _channels(settings: Settings, inbound: InboundSms) -> dict[str, Channel]:
    """SMPP and SMTP when configured; otherwise messages are kept and logged."""
    channels: dict[str, Channel] = {"sms": LogChannel("sms"), "email": LogChannel("email")}
    if settings.smtp_url:
        channels["email"] = SmtpChannel.from_url(
            settings.smtp_url, settings.email_from, return_path=settings.email_return_path)
        log.info("e-mail through %s", settings.smtp_url.split("@")[-1])
    if settings.smpp_url:
        from conso.sms.channel import smpp_channel

        channels["sms"] = smpp_channel(settings.smpp_url, inbound.handle_delivered,
                                       window=settings.smpp_window,
                                       max_rate=settings.smpp_max_rate,
                                       long_mode=settings.smpp_long)
        log.info("SMS through SMPP %s (window %d%s, long texts by %s)",
                 ", ".join(url.split("@")[-1] for url in settings.smpp_url.split(",")),
                 settings.smpp_window,
                 f", {settings.smpp_max_rate:g}/s a link" if settings.smpp_max_rate else "",
                 settings.smpp_long)
    return channels
