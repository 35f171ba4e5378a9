"""Benchmark: generating the synthetic sample and reading the Vektis open data.

These timings used to be assertions in the tests (``tests/test_synth.py``: generation
under 10 s; ``tests/test_open_data_vektis.py``: a cold read of the 13 Vektis files
under 15 s). Timed assertions fail on loaded machines, so the budgets live here as
targets, and each figure is given as a ratio to a floor measured in the same run,
which is less sensitive to the load of the machine than the seconds themselves:

* ``synth.generate(DEFAULT_SEED)`` against reading and validating the written sample
  (the inputs of ``kbz.toml`` in ``data/sample/``, as ``bench/report.py``'s floor) —
  what generating costs over loading the same tables;
* ``kbz.open_data.vektis(2011..2023)`` with its cache cleared against plain
  ``pandas.read_csv`` of the same 13 raw files — what the harmonisation costs over
  parsing.

Contender and floor alternate within each repeat so they share the machine's load;
one untimed warm-up call of each comes first (imports and first-call costs).

Usage::

    .venv/bin/python bench/loaders.py [--repeat 3] [--data ../shared/data] [--record]

``--record`` appends the table to ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from report import _cpu  # bench/report.py, next to this file

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
#: Former test budgets, in seconds.
TARGETS = {"synth.generate (default seed)": 10.0, "open_data.vektis, 13 years, cold": 15.0}
VEKTIS_YEARS = range(2011, 2024)


def _seconds(func: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    func()
    return time.perf_counter() - t0


def _read_sample(config: Path) -> None:
    """Read and validate every input of the report configuration (the sample)."""
    from kbz_eval.io import read_table
    from kbz_eval.report.config import load_config

    for table, path in load_config(config).inputs.items():
        read_table(path, table)


def _read_vektis_raw(folder: Path) -> None:
    for year in VEKTIS_YEARS:
        pd.read_csv(folder / "vektis" / f"vektis_{year}_gemeente.csv", sep=";")


def _cases(data: Path | None,
           config: Path) -> list[tuple[str, Callable[[], object], str, Callable[[], object]]]:
    """(name, contender, floor name, floor) for each benchmark that can run here."""
    from kbz_eval import synth

    cases = [("synth.generate (default seed)", lambda: synth.generate(synth.DEFAULT_SEED),
              "read + validate the sample", lambda: _read_sample(config))]
    if data is not None:
        import importlib

        import kbz_eval as kbz

        vk = importlib.import_module("kbz_eval.open_data.vektis")

        def cold_read() -> object:
            vk._CACHE.clear()
            return kbz.open_data.vektis(VEKTIS_YEARS, folder=data)

        cases.append(("open_data.vektis, 13 years, cold", cold_read,
                      "pandas.read_csv of the 13 files", lambda: _read_vektis_raw(data)))
    return cases


def _data_folder(given: Path | None) -> Path | None:
    for folder in [given] if given else [Path(os.environ.get("KBZ_EVAL_DATA", "")),
                                         REPO.parent / "shared" / "data"]:
        if folder and (folder / "vektis" / "vektis_2011_gemeente.csv").is_file():
            return folder
    return None


def _table(rows: list[dict]) -> str:
    head = (f"{'step':<36}{'median s':>9}{'floor':>33}{'floor s':>9}{'ratio':>7}"
            f"{'target s':>10}  verdict")
    lines = [head, "-" * len(head)]
    for r in rows:
        verdict = "met" if r["median"] <= r["target"] else "MISSED"
        lines.append(f"{r['name']:<36}{r['median']:>9.2f}{r['floor_name']:>33}"
                     f"{r['floor']:>9.2f}{r['median'] / r['floor']:>7.1f}{r['target']:>10.0f}"
                     f"  {verdict} (runs: {', '.join(f'{s:.2f}' for s in r['runs'])})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=None,
                        help="folder holding vektis/ (default $KBZ_EVAL_DATA or ../shared/data)")
    parser.add_argument("--config", type=Path, default=REPO / "kbz.toml",
                        help="report configuration whose inputs are the sample floor")
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    if not (SAMPLE / "README.md").exists():
        subprocess.run([sys.executable, "-m", "kbz_eval.cli", "synth", "--out", str(SAMPLE)],
                       check=True, cwd=REPO)
    data = _data_folder(args.data)
    rows = []
    for name, contender, floor_name, floor in _cases(data, args.config):
        floor(), contender()  # warm-up: lazy imports and first-call costs
        runs, floors = [], []
        for _ in range(args.repeat):
            floors.append(_seconds(floor))
            runs.append(_seconds(contender))
        rows.append({"name": name, "median": statistics.median(runs), "runs": runs,
                     "floor_name": floor_name, "floor": statistics.median(floors),
                     "target": TARGETS[name]})
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    header = (f"machine: {os.cpu_count()} cores, {_cpu()}, Python {platform.python_version()}, "
              f"pandas {pd.__version__}; load average {load}; median of {args.repeat}")
    table = _table(rows)
    print(header)
    print(table)
    if data is None:
        print("open data not found: the Vektis benchmark was skipped")
    if args.record:
        with open(REPO / "bench" / "RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write(f"\n### Recorded run, {dt.date.today().isoformat()}\n\n{header}\n\n"
                     f"```\n{table}\n```\n")


if __name__ == "__main__":
    main()
