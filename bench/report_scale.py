"""Benchmark: ``kbz-eval report`` on insurer-scale claim lines, against ``build_panel``
alone on the same files.

For each size, synthetic claim lines and insured periods are written once as Parquet
parts (``kbz_eval.engine.scale.write_claim_lines``, cached in ``bench/out/``); the
report runs on them with the embedded sample's surveys and practices (no open data), in
a child process whose wall time and peak RSS are measured; then ``build_panel`` alone
runs on the same files, with the same engine settings, in another child. The ratio
report / build_panel is the figure recorded in ``bench/RESULTS.md``; both are measured
in the same run, so the ratio does not depend on the machine. The report's child also
samples its RSS every 20 ms and prints the steps with the highest peaks (the whole
record goes to ``bench/out/report_<n>_step_peaks.json``), and every 2 s the memory of
the report and its worker processes together: RSS summed (an upper bound, as pages
shared between the processes count once per process) and PSS summed (shared pages
divided among the processes that map them: what the run holds). ``build_panel`` alone
gets the report's engine settings, progress bars off as in the report, and runs the
same sampler (:data:`SAMPLER`), so that its small cost is in both times.

Usage::

    .venv/bin/python bench/report_scale.py --lines 10M,100M --memory-limit 3GB
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
SURVEYS = ("cvg", "workforce", "monitor", "practice_indicators", "conversations", "consults")

#: The memory sampler both children run, so that its cost is the same in both: the
#: process's RSS every 20 ms (``/proc/<pid>/statm``, cheap) under the running step label,
#: and every 2 s the RSS and PSS of the whole process tree from ``smaps_rollup`` (the
#: kernel's totals). Reading the full ``smaps`` (``psutil.memory_full_info``) every 0.2 s,
#: as this benchmark did until 2026-12-05, slowed the report's build by about 20 s at
#: 100 M lines (133 s against 109 s for the same build in an unsampled run): it walks
#: the page tables of the DuckDB process while DuckDB allocates.
SAMPLER = """
import os, threading, time
import psutil

me, label, peaks = psutil.Process(), ["start"], {}
tree = {"peak": 0, "step": "", "pss": 0, "pss step": ""}
PAGE = os.sysconf("SC_PAGE_SIZE")

def _rollup(pid):
    rss = pss = 0
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("Rss:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
    return rss, pss

def sample():
    k = 0
    with open(f"/proc/{os.getpid()}/statm", encoding="ascii") as statm:
        while True:
            statm.seek(0)
            rss = int(statm.read().split()[1]) * PAGE
            peaks[label[0]] = max(peaks.get(label[0], 0), rss)
            if k % 100 == 0:
                total = pss = 0
                for proc in [me, *me.children(recursive=True)]:
                    try:
                        r, p = _rollup(proc.pid)
                    except OSError:  # a worker that has just ended
                        continue
                    total, pss = total + r, pss + p
                if total > tree["peak"]:
                    tree.update(peak=total, step=label[0])
                if pss > tree["pss"]:
                    tree.update({"pss": pss, "pss step": label[0]})
            k += 1
            time.sleep(0.02)

threading.Thread(target=sample, daemon=True).start()

def record(path):
    import json
    with open(path, "w", encoding="utf-8") as f:
        json.dump({**peaks, "process tree": tree["peak"], "process tree step": tree["step"],
                   "process tree pss": tree["pss"], "process tree pss step": tree["pss step"]},
                  f)
"""

CHILD_REPORT = SAMPLER + """
import sys
from kbz_eval.report import progress, run_report

step = progress.Progress.step

def labelled(self, text):
    label[0] = text
    return step(self, text)

progress.Progress.step = labelled
run_report(sys.argv[1], sys.argv[2], progress=True)
record(sys.argv[3])
"""
CHILD_PANEL = SAMPLER + """
import sys
import kbz_eval as kbz
from kbz_eval.engine.build import connect_backend
# the report's settings: the same limit and threads, and no DuckDB progress bars
label[0] = "build_panel"
con = connect_backend("duckdb", memory_limit=sys.argv[4], threads=int(sys.argv[5]))
con.raw_sql("SET enable_progress_bar = false")
kbz.build_panel(sys.argv[1], sys.argv[2], output=sys.argv[3], con=con)
record(sys.argv[6])
"""


def _count(text: str) -> int:
    units = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}
    t = text.strip().lower()
    return int(float(t[:-1]) * units[t[-1]]) if t[-1] in units else int(t)


def _child(code: str, *args: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (GiB) of ``python -c code args`` in a child process."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT,
                             env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin",
                                  "KBZ_EVAL_CACHE": str(OUT / "cache")})
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if child.returncode != 0:
        raise SystemExit(f"child failed with exit code {child.returncode}")
    return wall, usage.ru_maxrss / 1024**2  # KiB -> GiB


def _data(n: int) -> Path:
    from kbz_eval.engine.scale import write_claim_lines

    folder = OUT / f"scale_{n}"
    if not (folder / "claim_lines").is_dir():
        write_claim_lines(folder, n_lines=n)
    return folder


def _sample() -> Path:
    from kbz_eval.synth import write_sample

    folder = OUT / "sample"
    if not (folder / "practices.csv").is_file():
        write_sample(folder)
    return folder


def _config(n: int, folder: Path, sample: Path, memory: str, threads: int) -> Path:
    lines = ["[report]", f'title = "Scale benchmark ({n:,} claim lines, synthetic)"',
             "[inputs]", f'practices = "{sample / "practices.csv"}"',
             f'claim_lines = "{folder / "claim_lines"}"',
             f'insured_periods = "{folder / "insured_periods"}"',
             *[f'{t} = "{sample / f"{t}.csv"}"' for t in SURVEYS],
             "[analysis]", "bootstrap_replicates = 199", "seed = 1",
             "[engine]", f'memory_limit = "{memory}"', f"threads = {threads}"]
    path = OUT / f"report_scale_{n}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", default="10M", help="comma-separated sizes, e.g. 10M,100M")
    parser.add_argument("--memory-limit", default="3GB")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    sample = _sample()
    rows = []
    for n in (_count(s) for s in args.lines.split(",")):
        folder = _data(n)
        config = _config(n, folder, sample, args.memory_limit, args.threads)
        report = OUT / f"report_{n}"
        steps = OUT / f"report_{n}_step_peaks.json"
        wall_r, rss_r = _child(CHILD_REPORT, str(config), str(report), str(steps))
        record = json.loads(steps.read_text())
        tree_peak, tree_step = record.pop("process tree"), record.pop("process tree step")
        pss_peak, pss_step = record.pop("process tree pss"), record.pop("process tree pss step")
        top = sorted(record.items(), key=lambda kv: -kv[1])[:5]
        print("highest step peaks (GiB): " + ", ".join(
            f"{k} {v / 1024**3:.2f}" for k, v in top), flush=True)
        print(f"process tree (report and workers) peak: RSS summed {tree_peak / 1024**3:.2f} "
              f"GiB during {tree_step}; PSS summed {pss_peak / 1024**3:.2f} GiB during "
              f"{pss_step}", flush=True)
        wall_p, rss_p = _child(CHILD_PANEL, str(folder / "claim_lines"),
                               str(folder / "insured_periods"), str(OUT / f"panel_{n}.parquet"),
                               args.memory_limit, str(args.threads),
                               str(OUT / f"build_panel_{n}_peaks.json"))
        rows.append({"lines": n, "report_s": round(wall_r, 1), "report_peak_gib": round(rss_r, 2),
                     "tree_peak_gib": round(tree_peak / 1024**3, 2),
                     "tree_pss_gib": round(pss_peak / 1024**3, 2),
                     "build_panel_s": round(wall_p, 1),
                     "build_panel_peak_gib": round(rss_p, 2),
                     "ratio": round(wall_r / wall_p, 2)})
        print(json.dumps(rows[-1]), flush=True)
    print("\nlines        report (s)  peak (GiB)  tree RSS  tree PSS  build_panel (s)  "
          "peak (GiB)  ratio")
    for r in rows:
        print(f"{r['lines']:>11,}  {r['report_s']:>9}  {r['report_peak_gib']:>10}  "
              f"{r['tree_peak_gib']:>8}  {r['tree_pss_gib']:>8}  {r['build_panel_s']:>15}  "
              f"{r['build_panel_peak_gib']:>10}  {r['ratio']:>5}")


if __name__ == "__main__":
    main()
