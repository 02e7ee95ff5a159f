"""`conso serve --db postgresql://...`: the API over HTTP on the production store."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .helpers import Api, conso_command, conso_env, kill_server, now_utc, record, start_server
from .pg_support import fresh_database


def test_usage_survives_a_sigkill_on_postgresql_and_duplicates_count_once(
    tmp_path: Path,
) -> None:
    with fresh_database() as url:
        server = start_server(tmp_path, tmp_path / "unused.db", db_url=url)
        try:
            with server.operator() as client:
                api = Api(client)
                account = api.account()
                line = api.line(account, plan="king")
                batch = [record(line, "data", 2_000_000_000, record_id=f"pg-{n}",
                                at=now_utc()) for n in range(3)]
                assert api.feed(batch)["accepted"] == 3
        finally:
            kill_server(server)
        again = start_server(tmp_path, tmp_path / "unused.db", db_url=url)
        try:
            # The lock is held by the running engine: a second one is refused.
            second = subprocess.run(
                conso_command("serve", "--port", "1", "--db", url), env=conso_env(),
                capture_output=True, text=True, timeout=60, check=False)
            assert second.returncode != 0
            assert "in use by another conso engine" in second.stderr
            with again.operator() as client:
                api = Api(client)
                assert api.usage(line)["services"]["data"]["used"] == 6_000_000_000
                answer = api.feed(batch)
                assert (answer["accepted"], answer["duplicates"]) == (0, 3)
        finally:
            kill_server(again)
