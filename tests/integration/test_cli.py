"""The `conso` command line: help, check-catalog, serve --catalog, ingest."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from .conftest import ServerFactory
from .helpers import (
    OPERATOR_KEY,
    Api,
    Server,
    conso_command,
    conso_env,
    free_port,
    ndjson,
    new_id,
    new_number,
    now_utc,
    record,
)

DEFAULT_CATALOG = resources.files("conso").joinpath("catalog.toml").read_text("utf-8")
_SUMMARY = re.compile(r"(\d+) records: (\d+) accepted, (\d+) duplicates, (\d+) rejected")
CSV_HEADER = "id,line,service,quantity,at,country,direction,amount_cents\n"


def conso(*args: str, cwd: Path, key: str | None = OPERATOR_KEY,
          timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the installed `conso` script (the entry point users run), or the module."""
    script = Path(sys.executable).parent / "conso"
    command = [str(script), *args] if script.exists() else conso_command(*args)
    return subprocess.run(command, check=False, capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=conso_env(key))


def summary(out: str) -> tuple[int, int, int, int]:
    found = _SUMMARY.search(out)
    assert found, out
    records, accepted, duplicates, rejected = (int(g) for g in found.groups())
    return records, accepted, duplicates, rejected


# -- help ------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "expected"), [
    ((), ["serve", "ingest", "check-catalog", "CONSO_DB", "CONSO_OPERATOR_KEY"]),
    (("serve",), ["--host", "--port", "--db", "--catalog", "--demo"]),
    (("ingest",), ["--url", "--key", "--db", "--batch-size", "--format", "file"]),
    (("check-catalog",), ["file"]),
], ids=["conso", "serve", "ingest", "check-catalog"])
def test_help(tmp_path: Path, args: tuple[str, ...], expected: list[str]) -> None:
    done = conso(*args, "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for word in expected:
        assert word in done.stdout, (word, done.stdout)


def test_version(tmp_path: Path) -> None:
    done = conso("--version", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith("conso ")


def test_no_command_is_a_usage_error(tmp_path: Path) -> None:
    done = conso(cwd=tmp_path)
    assert done.returncode == 2
    assert "usage:" in done.stderr


# -- catalogues ------------------------------------------------------------------------


def test_check_default_catalog(tmp_path: Path) -> None:
    done = conso("check-catalog", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "7 plans" in done.stdout
    for plan in ("king", "kong", "king-business", "kong-business", "payg", "internet-150",
                 "internet-unlimited"):
        assert plan in done.stdout


def test_check_a_copy_of_the_reference_catalog(tmp_path: Path) -> None:
    path = tmp_path / "catalog.toml"
    path.write_text(DEFAULT_CATALOG)
    done = conso("check-catalog", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert str(path) in done.stdout


BAD_CATALOGS = {
    "unknown-key": (
        '[plans.king]\nname = "King"\n', '[plans.king]\nname = "King"\ncolour = "red"\n',
        "king", "colour"),
    "bad-money": (
        'rates = { voice_per_minute = "0.20", sms_per_sms = "0.10", data_per_mb = "0.01" }\n\n'
        '[plans.kong]',
        'rates = { voice_per_minute = "0.2O", sms_per_sms = "0.10", data_per_mb = "0.01" }\n\n'
        '[plans.kong]',
        "king", "rates.voice_per_minute"),
    "negative-allowance": (
        "included = { voice_minutes = 1000, sms = 1000, data_gb = 40 }",
        "included = { voice_minutes = -1000, sms = 1000, data_gb = 40 }",
        "kong", "included.voice_minutes"),
}


@pytest.fixture(params=sorted(BAD_CATALOGS))
def bad_catalog(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str, str]:
    old, new, plan, key = BAD_CATALOGS[request.param]
    assert old in DEFAULT_CATALOG
    path = tmp_path / f"bad-{request.param}.toml"
    path.write_text(DEFAULT_CATALOG.replace(old, new, 1))
    return path, plan, key


def test_check_bad_catalog(tmp_path: Path, bad_catalog: tuple[Path, str, str]) -> None:
    path, plan, key = bad_catalog
    done = conso("check-catalog", str(path), cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert str(path) in done.stderr
    assert f"'{plan}'" in done.stderr
    assert key in done.stderr
    assert "Traceback" not in done.stderr


def test_check_catalog_that_is_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[plans.king\nname = ")
    done = conso("check-catalog", str(path), cwd=tmp_path)
    assert done.returncode == 2
    assert str(path) in done.stderr
    assert "TOML" in done.stderr


def test_check_missing_catalog(tmp_path: Path) -> None:
    done = conso("check-catalog", str(tmp_path / "nowhere.toml"), cwd=tmp_path)
    assert done.returncode == 2
    assert "nowhere.toml" in done.stderr


def test_serve_refuses_a_bad_catalog(tmp_path: Path, bad_catalog: tuple[Path, str, str]) -> None:
    path, plan, key = bad_catalog
    done = conso("serve", "--port", str(free_port()), "--db", f"sqlite:///{tmp_path}/c.db",
                 "--catalog", str(path), cwd=tmp_path, timeout=30)
    assert done.returncode != 0
    assert str(path) in done.stderr
    assert f"'{plan}'" in done.stderr
    assert key in done.stderr
    assert "Traceback" not in done.stderr


# -- ingest over HTTP ------------------------------------------------------------------


def test_ingest_ndjson_with_rejections(tmp_path: Path, server: Server, api: Api) -> None:
    line = api.line(api.account())
    at = now_utc()
    good = [record(line, "sms", 1, at=at) for _ in range(4)]
    unknown = record(new_number(), "sms", 1, at=at)
    path = tmp_path / "records.ndjson"
    path.write_bytes(ndjson(good[:2]) + b"{not json}\n" + ndjson([unknown, good[0]])
                     + ndjson(good[2:]))
    done = conso("ingest", str(path), "--url", server.base_url, "--key", OPERATOR_KEY,
                 "--batch-size", "2", cwd=tmp_path)
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert summary(done.stdout) == (7, 4, 1, 2)
    # Rejections are reported by their line in the file, across batches.
    assert re.search(r"line 3: -: record", done.stdout), done.stdout
    assert re.search(rf"line 4: {unknown['id']}: line", done.stdout), done.stdout
    assert api.usage(line, at)["services"]["sms"]["used"] == 4


def test_ingest_goes_on_past_a_line_that_is_not_utf8(tmp_path: Path, server: Server,
                                                     api: Api) -> None:
    line = api.line(api.account())
    at = now_utc()
    good = [record(line, "sms", 1, at=at) for _ in range(3)]
    path = tmp_path / "records.ndjson"
    path.write_bytes(ndjson(good[:1]) + b'{"id": "caf\xe9", "line": "x"}\n' + ndjson(good[1:])
                     + ndjson([dict(good[0], quantity=2)]))
    done = conso("ingest", str(path), "--url", server.base_url, "--key", OPERATOR_KEY,
                 "--batch-size", "2", cwd=tmp_path)
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert summary(done.stdout) == (5, 3, 0, 2)
    assert re.search(r"line 2: -: record: not UTF-8 \(byte 0xe9", done.stdout), done.stdout
    # An id used again with another quantity is no duplicate: it is rejected, and says why.
    assert re.search(rf"line 5: {good[0]['id']}: id_conflict: .*quantity: 1 before, 2 now",
                     done.stdout), done.stdout
    assert api.usage(line, at)["services"]["sms"]["used"] == 3


def test_ingest_ndjson_all_good_then_again(tmp_path: Path, server: Server, api: Api) -> None:
    line = api.line(api.account())
    at = now_utc()
    path = tmp_path / "records.ndjson"
    path.write_bytes(ndjson([record(line, "voice", 30, at=at) for _ in range(5)]))
    done = conso("ingest", str(path), "--url", server.base_url, "--key", OPERATOR_KEY,
                 cwd=tmp_path)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert summary(done.stdout) == (5, 5, 0, 0)
    # The key may come from the environment; re-sending is harmless.
    again = conso("ingest", str(path), "--url", server.base_url, "--quiet", cwd=tmp_path)
    assert again.returncode == 0, (again.stdout, again.stderr)
    assert summary(again.stdout) == (5, 0, 5, 0)
    assert api.usage(line, at)["services"]["voice"]["used"] == 150


def test_ingest_csv(tmp_path: Path, server: Server, api: Api) -> None:
    line = api.line(api.account())
    when = now_utc()
    at = when.isoformat()
    prefix = new_id("csv")
    path = tmp_path / "records.csv"
    path.write_text(
        CSV_HEADER
        + f"{prefix}-1,{line},voice,120,{at},,out,\n"
        + f"{prefix}-2,{line},voice,60,{at},BE,in,\n"
        + f"{prefix}-3,{line},sms,3,{at},FR,,\n"
        + f"{prefix}-4,{line},data,2500000,{at},,,\n"
        + f"{prefix}-5,{line},premium,1,{at},,,150\n"
        + f"{prefix}-6,{line},callme,1,{at},,,\n"
        + f"{prefix}-7,{line},voice,60,{at},US,out,\n"
    )
    done = conso("ingest", str(path), "--url", server.base_url, "--key", OPERATOR_KEY,
                 cwd=tmp_path)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert summary(done.stdout) == (7, 7, 0, 0)
    usage = api.usage(line, when)
    assert usage["services"]["voice"]["used"] == 120
    assert usage["services"]["sms"]["used"] == 3
    assert usage["services"]["data"]["used"] == 2_500_000
    assert usage["extra_cents"] == 150 + 150      # premium, and 1 min in the US at 1.50


def test_ingest_csv_with_rejections(tmp_path: Path, server: Server, api: Api) -> None:
    line = api.line(api.account())
    at = now_utc().isoformat()
    prefix = new_id("csv")
    path = tmp_path / "records.csv"
    path.write_text(
        CSV_HEADER
        + f"{prefix}-1,{line},sms,1,{at},,,\n"
        + f"{prefix}-2,{line},sms,abc,{at},,,\n"
        + f"{prefix}-3,{line},sms,1,not-a-time,,,\n"
        + f"{prefix}-4,{line},sms,1,{at},,,\n"
    )
    done = conso("ingest", str(path), "--url", server.base_url, "--key", OPERATOR_KEY,
                 cwd=tmp_path)
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert summary(done.stdout) == (4, 2, 0, 2)
    assert re.search(rf"line 3: {prefix}-2: quantity", done.stdout), done.stdout
    assert re.search(rf"line 4: {prefix}-3: at", done.stdout), done.stdout


def test_ingest_csv_broken_rows_are_rejected_alone(tmp_path: Path, server: Server,
                                                   api: Api) -> None:
    line = api.line(api.account())
    at = now_utc().isoformat()
    prefix = new_id("csv")
    path = tmp_path / "records.csv"
    path.write_text(
        CSV_HEADER
        + f"{prefix}-1,{line},sms,1,{at},,,\n"
        + f'{prefix}-2,"{line},sms,1,{at},,,\n'           # a quote left open
        + f"{prefix}-3,{line},sms,1,{at},,,\n"
        + f"{prefix}-4,{line},sms,1,{at},,,,extra\n"       # a column too many
        + f"{prefix}-5,{line},sms,1,{at},,,\n"
    )
    done = conso("ingest", str(path), "--url", server.base_url, "--key", OPERATOR_KEY,
                 cwd=tmp_path)
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert summary(done.stdout) == (5, 3, 0, 2)
    assert re.search(r"line 3: -: record: not a CSV row: a quoted field is not closed",
                     done.stdout), done.stdout
    assert re.search(rf"line 5: {prefix}-4: record: 9 columns, the header names 8",
                     done.stdout), done.stdout
    assert api.usage(line)["services"]["sms"]["used"] == 3


def test_ingest_csv_with_an_unreadable_header_fails_before_sending(
        tmp_path: Path, server: Server) -> None:
    path = tmp_path / "records.csv"
    path.write_bytes(b'id,"line,service\n' + f"{new_id('h')},{new_number()},sms\n".encode())
    done = conso("ingest", str(path), "--url", server.base_url, "--key", OPERATOR_KEY,
                 "--quiet", cwd=tmp_path)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "line 1: the CSV header cannot be read" in done.stderr
    assert "Traceback" not in done.stderr


def test_ingest_csv_with_byte_order_mark(tmp_path: Path, server: Server, api: Api) -> None:
    line = api.line(api.account())
    at = now_utc().isoformat()
    path = tmp_path / "excel.csv"
    rows = CSV_HEADER + f"{new_id('bom')},{line},sms,2,{at},,,\n"
    path.write_bytes(b"\xef\xbb\xbf" + rows.encode())
    done = conso("ingest", str(path), "--url", server.base_url, "--key", OPERATOR_KEY,
                 cwd=tmp_path)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert summary(done.stdout) == (1, 1, 0, 0)


def test_ingest_with_a_wrong_key_fails(tmp_path: Path, server: Server) -> None:
    path = tmp_path / "records.ndjson"
    path.write_bytes(ndjson([record(new_number(), "sms", 1)]))
    done = conso("ingest", str(path), "--url", server.base_url, "--key", "wrong", "--quiet",
                 cwd=tmp_path)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "401" in done.stderr


def test_ingest_url_without_a_key(tmp_path: Path, server: Server) -> None:
    path = tmp_path / "records.ndjson"
    path.write_bytes(ndjson([record(new_number(), "sms", 1)]))
    done = conso("ingest", str(path), "--url", server.base_url, cwd=tmp_path, key=None)
    assert done.returncode == 2
    assert "--key" in done.stderr


def test_ingest_missing_file(tmp_path: Path, server: Server) -> None:
    done = conso("ingest", str(tmp_path / "none.ndjson"), "--url", server.base_url,
                 cwd=tmp_path)
    assert done.returncode == 2
    assert "none.ndjson" in done.stderr


# -- ingest into a database ------------------------------------------------------------


def test_ingest_db_held_by_a_server_fails(tmp_path: Path, server: Server) -> None:
    path = tmp_path / "records.ndjson"
    path.write_bytes(ndjson([record(new_number(), "sms", 1)]))
    done = conso("ingest", str(path), "--db", server.db_url, cwd=tmp_path, timeout=30)
    assert done.returncode != 0, (done.stdout, done.stderr)
    assert "in use" in done.stderr, done.stderr
    assert "--url" in done.stderr          # it says what to do instead
    assert "Traceback" not in done.stderr


def test_ingest_db_without_server(tmp_path: Path, server_factory: ServerFactory) -> None:
    first = server_factory()
    with first.operator() as client:
        api = Api(client)
        line = api.line(api.account("residential"), "payg")
    first.process.terminate()
    first.process.wait(10)

    at = now_utc()
    path = tmp_path / "records.ndjson"
    path.write_bytes(ndjson([record(line, "sms", 1, at=at) for _ in range(3)]))
    done = conso("ingest", str(path), "--db", first.db_url, "--quiet", cwd=tmp_path)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert summary(done.stdout) == (3, 3, 0, 0)

    second = server_factory(first.db_path)
    with second.operator() as client:
        usage = Api(client).usage(line, at)
    assert usage["services"]["sms"]["used"] == 3
    assert usage["extra_cents"] == 3 * 8


def test_bench_db_takes_only_a_postgresql_url(tmp_path: Path) -> None:
    done = conso("bench", "--quick", "--db", f"sqlite:///{tmp_path}/x.db", cwd=tmp_path)
    assert done.returncode == 2
    assert "PostgreSQL" in done.stderr
    assert "--db URL" in conso("bench", "--help", cwd=tmp_path).stdout
