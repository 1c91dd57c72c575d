"""Benchmark: how long `edc --help` takes, against starting Python itself.

Not a test (pytest does not collect ``bench_*.py``). Run from the repository root::

    .venv/bin/python -m tests.benchmarks.bench_cli_startup --runs 15

Each round starts, in a fresh interpreter: ``python -c pass`` (the baseline), ``edc --help``,
``edc protocol check --help`` and ``edc sync --help``, in that order, so all of them see the
same machine load. Prints the median wall time of each over the rounds and its ratio to the
baseline; the target is ``edc --help`` well under a second (it loads Typer and Rich, never the
warehouse, FHIR or settings machinery: commands import those when they run).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS: dict[str, list[str]] = {
    "python -c pass (baseline)": [sys.executable, "-c", "pass"],
    "edc --help": [sys.executable, "-m", "edc", "--help"],
    "edc protocol check --help": [sys.executable, "-m", "edc", "protocol", "check", "--help"],
    "edc sync --help": [sys.executable, "-m", "edc", "sync", "--help"],
}


def wall_time(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="rounds (default 15)")
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for command in COMMANDS.values():  # warm the file cache once, untimed
        wall_time(command)
    for _ in range(args.runs):
        for name, command in COMMANDS.items():
            times[name].append(wall_time(command))
    baseline = statistics.median(times["python -c pass (baseline)"])
    print(f"median of {args.runs} runs (interleaved, each in a fresh interpreter):")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"  {name:<28}{median * 1000:8.0f} ms  {median / baseline:6.1f}x baseline")


if __name__ == "__main__":
    main()
