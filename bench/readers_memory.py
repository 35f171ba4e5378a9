"""Benchmark: peak memory of reading a large delimited text file.

Writes a Dutch-style claims CSV of about ``--mb`` megabytes (``;``-separated, decimal
comma, day-first dates, a ``#`` comment line, some quoted fields holding ``;`` and line
breaks) and reads it in a fresh subprocess, once with
:func:`kbz_eval.formats.open_source` (the file as text columns) and once with
:func:`kbz_eval.io.read_table` (also coerced and validated as ``claim_lines``). Each
child reports:

* the resident memory after importing kbz_eval (before the file is touched);
* the peak resident memory (``ru_maxrss``) after the read;
* the memory of the resulting DataFrame (``memory_usage(deep=True)``).

Only the peak over the baseline says something about the reader; the ratio of that
growth to the DataFrame's size is printed as well. Not a test: nothing is asserted.

Usage::

    .venv/bin/python bench/readers_memory.py [--mb 50] [--keep PATH]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HEADER = "person_id;claim_id;start_date;care_type;declaration_code;cost;opmerking"
CARE_TYPES = ("poli_dbc", "ggz_specialist", "gp", "pharmacy")

CHILD = r"""
import json, resource, sys
from pathlib import Path

def rss_mib():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")

import pandas, pyarrow  # noqa: F401  (counted in the baseline)
from kbz_eval.formats import open_source
from kbz_eval.io import read_table

path, how = Path(sys.argv[1]), sys.argv[2]
base = rss_mib()
if how == "open_source":
    frame = open_source(path).frame
else:
    frame = read_table(path, "claim_lines").data
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"base": base, "peak": peak, "rows": len(frame),
                  "frame": float(frame.memory_usage(deep=True).sum()) / 2**20}))
"""


def write_csv(path: Path, megabytes: float, seed: int = 20140101) -> int:
    """Write the benchmark file (about ``megabytes`` MB); returns the number of rows."""
    rng = np.random.default_rng(seed)
    target = int(megabytes * 1_000_000)
    written, rows, block = 0, 0, 50_000
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        head = "# SYNTHETIC DATA (bench/readers_memory.py)\n" + HEADER + "\n"
        fh.write(head)
        written += len(head.encode())
        while written < target:
            n = block
            ids = rng.integers(0, 200_000, n)
            days = rng.integers(1, 29, n)
            months = rng.integers(1, 13, n)
            years = rng.integers(2012, 2017, n)
            cents = rng.integers(0, 500_000, n)
            care = rng.integers(0, len(CARE_TYPES), n)
            notes = rng.random(n)
            lines = []
            for i in range(n):
                note = ""
                if notes[i] < 0.05:
                    note = '"verwezen; zie brief"'
                elif notes[i] < 0.06:
                    note = '"twee\nregels"'
                code = "" if care[i] != 1 else str(160_000 + int(ids[i] % 1000))
                lines.append(
                    f"P{ids[i]:07d};{rows + i};{days[i]:02d}-{months[i]:02d}-{years[i]};"
                    f"{CARE_TYPES[care[i]]};{code};{cents[i] // 100},{cents[i] % 100:02d};"
                    f"{note}\n"
                )
            text = "".join(lines)
            fh.write(text)
            written += len(text.encode())
            rows += n
    return rows


def measure(path: Path, how: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), how],
                         capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{how} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=50.0, help="size of the CSV in MB")
    parser.add_argument("--keep", type=Path, default=None,
                        help="write the CSV here and keep it (default: a temporary file)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "claims.csv"
        rows = write_csv(path, args.mb)
        size = path.stat().st_size / 2**20
        print(f"{path.name}: {size:.1f} MiB, {rows:,} data rows")
        print(f"{'reader':<12} {'baseline':>10} {'peak':>10} {'growth':>10} {'frame':>10} "
              f"{'growth/frame':>13}")
        for how in ("open_source", "read_table"):
            m = measure(path, how)
            growth = m["peak"] - m["base"]
            print(f"{how:<12} {m['base']:>8.0f}Mi {m['peak']:>8.0f}Mi {growth:>8.0f}Mi "
                  f"{m['frame']:>8.0f}Mi {growth / m['frame']:>13.1f}")


if __name__ == "__main__":
    main()
