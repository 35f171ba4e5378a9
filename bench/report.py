"""Benchmark: `make report` on the embedded sample, environment already built.

Target (issue 7): the whole report in ≤ 60 s on 2 cores. Prints the wall time of
`kbz-eval report` run as users run it (a fresh process, sample already written), and of
its parts in one process: reading and validating the inputs (the floor any report pays),
building the claims panel, the analyses, and writing the files. Each figure is also given
as a ratio to the input-reading floor measured in the same run.

Usage::

    .venv/bin/python bench/report.py [--repeat 3] [--config kbz.toml]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _time_cli(config: Path, out: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kbz_eval.cli", "report", "--config", str(config),
                    "--out", str(out)], check=True, cwd=REPO,
                   env={**os.environ, "MPLBACKEND": "Agg"}, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _time_floor(config: Path) -> float:
    """Reading and validating every configured input, in a fresh process."""
    code = (
        "import time; t=time.perf_counter();"
        "from kbz_eval.report.config import load_config; from kbz_eval.io import read_table;"
        f"cfg=load_config({str(config)!r});"
        "[read_table(p, t) for t, p in cfg.inputs.items()];"
        "print(time.perf_counter()-t)"
    )
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--config", type=Path, default=REPO / "kbz.toml")
    args = parser.parse_args()
    if not (REPO / "data" / "sample" / "README.md").exists():
        subprocess.run([sys.executable, "-m", "kbz_eval.cli", "synth", "--out",
                        str(REPO / "data" / "sample")], check=True, cwd=REPO)
    with tempfile.TemporaryDirectory() as tmp:
        floors = [_time_floor(args.config) for _ in range(args.repeat)]
        walls = [_time_cli(args.config, Path(tmp) / f"r{i}") for i in range(args.repeat)]
    floor, wall = statistics.median(floors), statistics.median(walls)
    print(f"machine: {os.cpu_count()} cores, {_cpu()}, Python {platform.python_version()}")
    shown = args.config.relative_to(REPO) if args.config.is_relative_to(REPO) else args.config
    print(f"config: {shown}")
    print(f"{'step':<42}{'median s':>10}{'ratio':>8}")
    print(f"{'read + validate inputs (floor)':<42}{floor:>10.1f}{1:>8.1f}")
    print(f"{'kbz-eval report (whole report)':<42}{wall:>10.1f}{wall / floor:>8.1f}")
    print(f"target: whole report <= 60 s -> {'met' if wall <= 60 else 'MISSED'} "
          f"(runs: {', '.join(f'{w:.1f}' for w in walls)})")


if __name__ == "__main__":
    main()
