"""The service definitions of deploy/ (docs/deploy.md): systemd's own `systemd-analyze
verify` finds nothing to say about them, every command line they run is one conso's CLI
accepts, and the example environment names only settings conso reads."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conso.cli import parser

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
INSTANCE = {"conso-api@.service": "8000", "conso-worker@.service": "9101"}


def _exec_start(unit: Path) -> list[str]:
    lines = [line.split("=", 1)[1] for line in unit.read_text().splitlines()
             if line.startswith("ExecStart=")]
    assert len(lines) == 1, unit
    return shlex.split(lines[0])


def _expanded(argv: list[str], instance: str) -> list[str]:
    """The arguments as systemd passes them: %i the instance, ${VAR} from the example."""
    example = _example_settings()
    return [re.sub(r"\$\{(\w+)\}", lambda m: example.get(m.group(1), "0.0.0.0"),
                   arg.replace("%i", instance)) for arg in argv]


def _example_settings() -> dict[str, str]:
    found = {}
    for line in (ROOT / "deploy" / "conso.env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            found[key] = value
    return found


def test_there_are_units_for_the_api_the_workers_the_migrations_and_pruning() -> None:
    assert {u.name for u in UNITS} == {"conso-api@.service", "conso-worker@.service",
                                       "conso-migrate.service", "conso-prune.service"}
    timer = (ROOT / "deploy" / "systemd" / "conso-prune.timer").read_text()
    assert "Unit=conso-prune.service" in timer


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_each_unit_runs_a_command_line_the_cli_accepts(unit: Path) -> None:
    argv = _expanded(_exec_start(unit), INSTANCE.get(unit.name, ""))
    assert argv[0].endswith("/conso")
    args = parser().parse_args(argv[1:])       # SystemExit(2) on an unknown option
    assert args.command in ("serve", "worker", "migrate", "prune")


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_systemd_analyze_verify_has_nothing_to_say(unit: Path, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian's systemd package)")
    # The unit as installed, but running this checkout's conso (systemd checks that
    # the program exists and is executable) and reading the example environment.
    conso = Path(sys.executable).with_name("conso")
    env_file = tmp_path / "conso.env"
    env_file.write_text((ROOT / "deploy" / "conso.env.example").read_text())
    text = unit.read_text().replace("/opt/conso/bin/conso", str(conso))
    text = text.replace("/etc/conso/conso.env", str(env_file))
    name = unit.name.replace("@.", f"@{INSTANCE.get(unit.name, '')}.")
    (tmp_path / unit.name).write_text(text)
    for other in UNITS:       # the units it names (Requires=, After=) beside it
        if other != unit:
            (tmp_path / other.name).write_text(
                other.read_text().replace("/opt/conso/bin/conso", str(conso)))
    done = subprocess.run([analyze, "verify", "--man=no", name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)
    said = [line for line in (done.stdout + done.stderr).splitlines()
            # This machine runs no systemd: units it would start beside ours are absent.
            if "postgresql.service" not in line and "nats-server.service" not in line
            and "network-online.target" not in line]
    assert done.returncode == 0 and not said, done.stdout + done.stderr


def test_the_example_environment_names_only_settings_conso_reads() -> None:
    sources = "\n".join(p.read_text() for p in (ROOT / "src" / "conso").rglob("*.py"))
    unknown = [key for key in _example_settings()
               if key.startswith("CONSO_") and f'"{key}"' not in sources
               and key not in ("CONSO_LISTEN_HOST", "CONSO_METRICS_HOST")]  # the units'
    assert unknown == []
