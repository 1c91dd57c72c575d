"""Benchmark: how long `edc protocol check` takes on the example studies, next to `edc --help`.

Not a test (pytest does not collect ``bench_*.py``). Run from the repository root::

    .venv/bin/python -m tests.benchmarks.bench_protocol_check --runs 10

Each round runs, in a fresh interpreter and in this order so that all see the same machine
load: ``python -c pass`` (the baseline), ``edc --help``, and ``edc protocol check`` on each
example protocol. Prints the median wall time and the median CPU time (user + system, which
the other processes on a shared machine disturb less) of each, and the ratio of each check to
``edc --help``. The target is a check under one second: a data manager runs it after every
edit. The first, untimed round fills the FHIRPath syntax cache as the previous edit would have
(``EDC_CACHE_DIR`` points at a fresh temporary directory, so the user's cache is not touched).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STUDIES = Path(__file__).parents[2] / "fhir_mappings" / "studies"


def commands() -> dict[str, list[str]]:
    edc = [sys.executable, "-m", "edc"]
    found = {
        "python -c pass (baseline)": [sys.executable, "-c", "pass"],
        "edc --help": [*edc, "--help"],
    }
    for path in sorted(STUDIES.glob("*.yaml")):
        if not path.name.endswith(".synthetic.yaml"):
            found[f"edc protocol check {path.stem}"] = [*edc, "protocol", "check", str(path)]
    return found


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="rounds (default 10)")
    args = parser.parse_args()
    todo = commands()
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "EDC_CACHE_DIR": cache}
        for command in todo.values():  # warm the file and syntax caches once, untimed
            timed(command, env)
        walls: dict[str, list[float]] = {name: [] for name in todo}
        cpus: dict[str, list[float]] = {name: [] for name in todo}
        for _ in range(args.runs):
            for name, command in todo.items():
                wall, cpu = timed(command, env)
                walls[name].append(wall)
                cpus[name].append(cpu)
    help_wall = statistics.median(walls["edc --help"])
    print(f"median of {args.runs} runs (interleaved, each in a fresh interpreter):")
    print(f"  {'':<40}{'wall':>9}{'cpu':>9}  wall / edc --help")
    for name in todo:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        print(f"  {name:<40}{wall * 1000:6.0f} ms{cpu * 1000:6.0f} ms  {wall / help_wall:5.1f}x")


if __name__ == "__main__":
    main()
