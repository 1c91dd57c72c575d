"""What a command loads: psycopg only for PostgreSQL, numpy only for the generator, and
`edc --help` nothing heavy (start-up time: tests/benchmarks/bench_cli_startup.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
STUDY = ROOT / "fhir_mappings" / "studies" / "spine-mwa-01.yaml"
HEAVY = ("numpy", "psycopg", "sqlalchemy", "fhir.resources", "pydantic_settings", "apscheduler")
PROBE = """
import json, sys
from edc import cli
codes = [cli.main(line) for line in json.loads(sys.argv[1])]
loaded = [m for m in json.loads(sys.argv[2]) if m in sys.modules]
print(json.dumps({"codes": codes, "loaded": loaded}))
"""


def loaded_by(lines: list[list[str]], tmp_path: Path, **env: str) -> tuple[list[int], set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(lines), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={**os.environ, "EDC_DATA_DIR": str(tmp_path / "data"), **env},
    )
    result = json.loads(done.stdout.splitlines()[-1])
    return result["codes"], set(result["loaded"])


def test_sqlite_commands_never_import_psycopg_or_numpy(tmp_path: Path) -> None:
    lines = [
        ["db", "upgrade", "-q"],
        ["protocol", "register", str(STUDY), "-q"],
        ["audit", "verify", "--format", "json"],
        ["doctor", "--format", "json"],
    ]
    codes, loaded = loaded_by(lines, tmp_path, EDC_DATABASE_URL="")
    assert codes == [0, 0, 0, 0]
    assert "sqlalchemy" in loaded  # the commands did reach the warehouse
    assert not loaded & {"psycopg", "numpy"}


def test_help_loads_nothing_heavy(tmp_path: Path) -> None:
    codes, loaded = loaded_by([["--help"], ["sync", "--help"]], tmp_path)
    assert codes == [0, 0]
    assert loaded == set()


def test_the_generator_loads_numpy(tmp_path: Path) -> None:
    line = ["generate", "--study", str(STUDY), "--out", str(tmp_path / "g"), "--patients", "3"]
    codes, loaded = loaded_by([line], tmp_path)
    assert codes == [0] and "numpy" in loaded
