"""Benchmark of the claims engine: claim lines -> person-year panel at 10 M, 30 M and 100 M lines.

Contenders, each run in its own subprocess so its peak memory (RSS) is its own:

* ``build_panel`` — ``kbz_eval.build_panel`` on DuckDB, reading the Parquet folders and
  writing the panel to Parquet (no pandas on the way);
* ``hand_sql`` — a hand-written DuckDB SQL script doing the same work (the floor): the
  same rules (re-sends, credit notes netted per ``claim_id``, 16/17 codes, withdrawn
  claims; see ``kbz_eval.engine.panel``), the report figures of ``REPORT_FIGURES``,
  the same output file;
* ``pandas`` — the straightforward pandas implementation
  (``kbz_eval.engine.reference.reference_panel``) on DataFrames read from the same files;
* ``polars`` — the hand_sql rules written with Polars' lazy API (``scan_parquet`` on the
  same folders, the streaming engine, ``sink_parquet``), with ``POLARS_MAX_THREADS`` set
  to ``--threads``. Polars has no memory limit: ``--memory-limit`` does not apply to it.

Input data come from ``kbz_eval.engine.scale.write_claim_lines`` and are cached under
``bench/out/claims_<n>`` (git-ignored), keyed by size, seed, chunking, the generator's
parameters and its source (:func:`data_key`): stale inputs are written again. Every
contender's output is summarised (rows, sums) and its report figures compared with the
floor's; up to 30 M lines its panel is also compared row by row with the hand_sql panel
of the same run (column names, types and order too). Run ``make bench`` or::

    python bench/engine.py --sizes 10M,30M,100M --contenders hand_sql,build_panel,polars

This is a benchmark, not a test: it prints figures (see ``bench/RESULTS.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
CONTENDERS = ("hand_sql", "build_panel", "pandas", "polars")
CARE = {
    "poli_dbc": "poli_dbc", "clinical_dbc": "clinical_dbc", "ggz_specialist": "ggz",
    "ggz_basic": "ggz_basic", "gp": "gp", "pharmacy": "pharmacy", "other": "other",
}
#: Panel columns after the insured-period ones (person_years contract order).
CLAIM_COLUMNS = ["poli_dbc_count", "poli_dbc_cost", "ggz_cost", "total_cost", "ggz_count"] + [
    f"{p}_{k}" for p in ("clinical_dbc", "ggz_basic", "gp", "pharmacy", "other")
    for k in ("count", "cost")]
#: Insured-period columns of the panel (counts and years as BIGINT).
INSURED_COLUMNS = ["person_id", "year", "practice_id", "insured_days", "sex", "birth_year",
                   "minima"]
#: Order in which the kept line of a re-sent claim is chosen (smallest first, nulls last).
DEDUP_ORDER = ["start_date", "cost", "end_date", "care_type", "declaration_code", "person_id"]
#: Sizes up to which the panels are compared row by row with the floor's.
COMPARE_UP_TO = 30_000_000
#: Report figures every contender returns; compared with the floor's at every size.
REPORT_FIGURES = ("duplicate_lines_removed", "excluded_claims", "withdrawn_claims",
                  "orphan_claims")
#: Below this net (EUR) a claim with a credit note is withdrawn
#: (``kbz_eval.tables.NETTING_TOLERANCE``, half a cent).
NETTING_TOLERANCE = 0.005
#: Claim lines per generated Parquet file (``write_claim_lines``' default).
CHUNK_LINES = 5_000_000


def parse_size(text: str) -> int:
    text = text.strip().upper().replace("_", "")
    factor = {"K": 10**3, "M": 10**6, "G": 10**9}.get(text[-1], 1)
    return int(float(text.rstrip("KMG")) * factor)


def label(n: int) -> str:
    return f"{n // 10**6}M" if n % 10**6 == 0 else f"{n:,}"


# --------------------------------------------------------------------------------------
# data


def data_key(n_lines: int, *, seed: int) -> dict:
    """What the cached lines depend on: size, seed, chunking, every generator parameter
    and the generator's source (a change to ``kbz_eval/engine/scale.py`` or to
    :class:`~kbz_eval.engine.scale.ScaleParams` makes the cached files stale)."""
    import hashlib
    from dataclasses import asdict

    from kbz_eval.engine import scale

    source = Path(scale.__file__).read_bytes()
    return {"n_lines": n_lines, "seed": seed, "chunk_lines": CHUNK_LINES,
            "params": json.loads(json.dumps(asdict(scale.ScaleParams()), default=list)),
            "generator_sha256": hashlib.sha256(source).hexdigest()}


def ensure_data(n_lines: int, *, seed: int) -> Path:
    """Generate ``n_lines`` claim lines under ``bench/out/claims_<n>`` unless cached.

    The cache is reused only when its ``info.json`` holds the same :func:`data_key`;
    otherwise the lines are written again (the marker is removed first, so an
    interrupted write is never taken for a complete one).
    """
    from kbz_eval.engine.scale import write_claim_lines

    folder = OUT / f"claims_{label(n_lines)}"
    marker = folder / "info.json"
    key = data_key(n_lines, seed=seed)
    if marker.exists() and json.loads(marker.read_text()).get("key") == key:
        return folder
    marker.unlink(missing_ok=True)
    print(f"generating {label(n_lines)} claim lines in {folder} ...", flush=True)
    info = write_claim_lines(folder, n_lines=n_lines, seed=seed, chunk_lines=CHUNK_LINES)
    marker.write_text(json.dumps({**info, "key": key}, indent=1))
    print(f"  done in {info['seconds']} s", flush=True)
    return folder


# --------------------------------------------------------------------------------------
# contenders (run inside a child process)


def run_build_panel(data: Path, out: Path, memory_limit: str, threads: int) -> dict:
    import kbz_eval as kbz

    res = kbz.build_panel(data / "claim_lines", data / "insured_periods", output=out,
                          return_report=True, memory_limit=memory_limit, threads=threads)
    return {k: getattr(res.report, k) for k in REPORT_FIGURES}


def hand_sql(data: Path, out: Path) -> list[str]:
    """The hand-written DuckDB SQL: same rules as ``build_panel``.

    1. ``resent``: the lines of every ``claim_id`` seen more than once (one hash
       aggregation on ``claim_id`` over all lines; a few per cent of the lines).
    2. ``kept``: one row per re-sent id, from its distinct lines in one window sort
       (credit lines last, then ``DEDUP_ORDER``, nulls last): the first line's fields;
       its cost, or with a credit line the sum of the distinct lines (the net);
       ``withdrawn`` when credited and the net is below half a cent; ``n_kept`` the
       lines that are not re-sends (1, or the distinct lines of a credited id).
    3. ``py``: the other lines (anti join; a negative line alone is a credit without
       its claim, hence withdrawn) and ``kept`` classified once per claim (16/17 codes
       first, then withdrawn, then the care type) and pivoted per person-year.
    4. The insured periods left-joined to ``py``, sorted and written; the report
       figures from ``py``, ``resent`` and ``kept``.
    """
    lines = f"read_parquet('{data}/claim_lines/*.parquet')"
    periods = f"read_parquet('{data}/insured_periods/*.parquet')"
    fields = "person_id, start_date, end_date, care_type, declaration_code"
    n = len(CARE)
    unknown, excluded, withdrawn = n, n + 1, n + 2
    piv = ",\n  ".join(
        f"count(*) FILTER (WHERE k = {i}) AS {p}_count, "
        f"sum(cost) FILTER (WHERE k = {i}) AS {p}_cost"
        for i, p in enumerate(CARE.values())
    )
    kind = "CASE care_type " + " ".join(
        f"WHEN '{c}' THEN {i}" for i, c in enumerate(CARE)) + f" ELSE {unknown} END"
    order = ", ".join(f"{c} NULLS LAST" for c in DEDUP_ORDER)
    cols = ",\n  ".join(
        f"coalesce(c.{p}_count, 0) AS {p}_count, round(coalesce(c.{p}_cost, 0), 2) AS {p}_cost"
        for p in CARE.values()
    )
    total = " + ".join(f"round(coalesce(c.{p}_cost, 0), 2)" for p in CARE.values())
    return [
        f"""CREATE TEMP TABLE resent AS
SELECT l.* FROM {lines} l
JOIN (SELECT claim_id FROM {lines} WHERE claim_id IS NOT NULL
      GROUP BY claim_id HAVING count(*) > 1) r USING (claim_id)""",
        f"""CREATE TEMP TABLE kept AS
SELECT {fields},
  CASE WHEN credited THEN net ELSE cost END AS cost,
  credited AND coalesce(net, 0) < {NETTING_TOLERANCE} AS withdrawn,
  CASE WHEN credited THEN versions ELSE 1 END AS n_kept
FROM (
  SELECT *,
    coalesce(bool_or(cost < 0) OVER w, false) AS credited, sum(cost) OVER w AS net,
    count(*) OVER w AS versions, row_number() OVER w AS rn
  FROM (SELECT DISTINCT claim_id, {fields}, cost FROM resent)
  WINDOW w AS (PARTITION BY claim_id ORDER BY coalesce(cost < 0, false), {order}
               ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
)
WHERE rn = 1""",
        f"""CREATE TEMP TABLE py AS
WITH claims AS (
  SELECT {fields}, cost, coalesce(cost < 0, false) AS withdrawn
  FROM {lines} ANTI JOIN resent USING (claim_id)
  UNION ALL
  SELECT {fields}, cost, withdrawn FROM kept
), c AS (
  SELECT person_id, year(start_date) AS year, cost,
    CASE WHEN coalesce(starts_with(declaration_code, '16')
                       OR starts_with(declaration_code, '17'), false) THEN {excluded}
         WHEN withdrawn THEN {withdrawn} ELSE {kind} END AS k
  FROM claims
)
SELECT person_id, year,
  {piv},
  count(*) FILTER (WHERE k = {excluded}) AS n_excluded,
  count(*) FILTER (WHERE k = {withdrawn}) AS n_withdrawn,
  count(*) FILTER (WHERE k = {unknown}) AS n_unknown
FROM c GROUP BY person_id, year""",
        f"""COPY (
SELECT i.person_id, i.year::BIGINT AS year, i.practice_id, i.insured_days::BIGINT AS
  insured_days, i.sex, i.birth_year::BIGINT AS birth_year, i.minima, {', '.join(CLAIM_COLUMNS)},
  ggz_regime, insured_years
FROM (
  SELECT i.*, {cols}, round({total}, 2) AS total_cost,
    CASE WHEN i.year <= 2021 THEN 'dbc' ELSE 'consult' END AS ggz_regime,
    i.insured_days / (CASE WHEN (i.year % 4 = 0 AND i.year % 100 <> 0) OR i.year % 400 = 0
                      THEN 366 ELSE 365 END) AS insured_years
  FROM {periods} i LEFT JOIN py c USING (person_id, year)
) i ORDER BY person_id, year
) TO '{out}' (FORMAT parquet)""",
        f"""SELECT sum(n_excluded) AS excluded_claims,
  (SELECT count(*) FROM resent) - (SELECT sum(n_kept) FROM kept) AS duplicate_lines_removed,
  sum(n_withdrawn) AS withdrawn_claims,
  (SELECT sum({' + '.join(f'{p}_count' for p in CARE.values())} + n_unknown)
   FROM py ANTI JOIN {periods} USING (person_id, year)) AS orphan_claims
FROM py""",
    ]


def run_hand_sql(data: Path, out: Path, memory_limit: str, threads: int) -> dict:
    import duckdb

    con = duckdb.connect(config={"threads": threads, "memory_limit": memory_limit,
                                 "preserve_insertion_order": False,
                                 "temp_directory": str(OUT / "duckdb_tmp")})
    *work, report = hand_sql(data, out)
    for statement in work:
        con.execute(statement)
    row = con.execute(report).fetchone()
    return {"excluded_claims": int(row[0]), "duplicate_lines_removed": int(row[1]),
            "withdrawn_claims": int(row[2]), "orphan_claims": int(row[3])}


def run_pandas(data: Path, out: Path, memory_limit: str, threads: int) -> dict:
    import pandas as pd

    from kbz_eval.engine.reference import reference_panel

    claims = pd.read_parquet(data / "claim_lines")
    periods = pd.read_parquet(data / "insured_periods")
    panel, rep = reference_panel(claims, periods)
    panel.to_parquet(out, index=False)
    return {k: rep[k] for k in REPORT_FIGURES}


def run_polars(data: Path, out: Path, memory_limit: str, threads: int) -> dict:
    """The hand_sql rules in Polars' lazy API, on the streaming engine.

    Same steps as the SQL: the lines of re-sent claim ids are collected (a small share);
    their distinct lines are reduced to one row per claim (credit lines last, then
    ``DEDUP_ORDER``), with the first line's cost or, for a claim with a credit line, the
    net of its distinct lines, and withdrawn when that net is below half a cent. The
    other lines stream past them (anti join; a negative line alone is withdrawn) into
    one aggregation per person-year with a count and a cost per care type, collected as
    ``py``; the insured periods are left-joined to ``py``, sorted and sunk to Parquet;
    the report figures come from ``py`` and the re-sent lines. ``memory_limit`` does not
    apply (Polars has none); the thread count comes from ``POLARS_MAX_THREADS``, set by
    the parent to ``threads``.
    """
    import polars as pl

    lines = pl.scan_parquet(data / "claim_lines" / "*.parquet")
    periods = pl.scan_parquet(data / "insured_periods" / "*.parquet").with_columns(
        pl.col("year", "insured_days", "birth_year").cast(pl.Int64))
    fields = ["person_id", "start_date", "end_date", "care_type", "declaration_code", "cost"]

    # 1. re-sends and credit notes: the lines of every claim_id seen more than once,
    #    reduced to one row per id
    resent_ids = (lines.select("claim_id").drop_nulls().group_by("claim_id").len()
                  .filter(pl.col("len") > 1).drop("len"))
    resent = lines.join(resent_ids, on="claim_id", how="semi").collect(engine="streaming")
    credit = (pl.col("cost") < 0).fill_null(False)
    kept = (
        resent.unique(["claim_id", *fields])
        .with_columns(_credit=credit)
        .with_columns(_credited=pl.col("_credit").any().over("claim_id"),
                      _net=pl.col("cost").sum().over("claim_id"),
                      _versions=pl.len().over("claim_id"))
        .sort(["claim_id", "_credit", *DEDUP_ORDER], nulls_last=True)
        .unique("claim_id", keep="first", maintain_order=False)
        .select("claim_id", *fields[:-1],
                cost=pl.when("_credited").then("_net").otherwise("cost"),
                withdrawn=pl.col("_credited") & (pl.col("_net") < NETTING_TOLERANCE),
                n_kept=pl.when("_credited").then("_versions").otherwise(1))
    )
    claims = pl.concat([
        lines.join(kept.lazy().select("claim_id"), on="claim_id", how="anti")
        .select(*fields, withdrawn=credit),
        kept.lazy().select(*fields, "withdrawn"),
    ])

    # 2. per person-year: a count and a cost per care type, excluded, withdrawn and
    #    unknown claims
    n = len(CARE)
    unknown, excluded, withdrawn = n, n + 1, n + 2
    code = pl.col("declaration_code")
    kind = (pl.when(code.str.starts_with("16") | code.str.starts_with("17")).then(excluded)
            .when("withdrawn").then(withdrawn)
            .otherwise(pl.col("care_type").replace_strict(list(CARE), list(range(n)),
                                                          default=unknown))
            .cast(pl.UInt8))
    k = pl.col("k")
    py = (
        claims.select("person_id", "cost", year=pl.col("start_date").dt.year().cast(pl.Int64),
                      k=kind)
        .group_by("person_id", "year")
        .agg(*[e for i, p in enumerate(CARE.values()) for e in (
                 (k == i).sum().alias(f"{p}_count"),
                 pl.when(k == i).then(pl.col("cost")).sum().alias(f"{p}_cost"))],
             n_excluded=(k == excluded).sum(), n_withdrawn=(k == withdrawn).sum(),
             n_unknown=(k == unknown).sum())
        .collect(engine="streaming")
    )

    # 3. every insured person-year with its claims, zeros where there are none
    year = pl.col("year")
    leap = (year % 4 == 0) & (year % 100 != 0) | (year % 400 == 0)
    counts = [f"{p}_count" for p in CARE.values()]
    costs = [f"{p}_cost" for p in CARE.values()]
    (
        periods.join(py.lazy(), on=["person_id", "year"], how="left")
        .with_columns(pl.col(counts).fill_null(0).cast(pl.Int64),
                      pl.col(costs).fill_null(0.0).round(2, mode="half_away_from_zero"))
        .with_columns(
            total_cost=pl.sum_horizontal(costs).round(2, mode="half_away_from_zero"),
            ggz_regime=pl.when(year <= 2021).then(pl.lit("dbc")).otherwise(pl.lit("consult")),
            insured_years=pl.col("insured_days") / pl.when(leap).then(366).otherwise(365))
        .select(*INSURED_COLUMNS, *CLAIM_COLUMNS, "ggz_regime", "insured_years")
        .sort("person_id", "year")
        .sink_parquet(out, engine="streaming")
    )

    # 4. report figures
    orphans = (py.lazy().join(periods, on=["person_id", "year"], how="anti")
               .select(pl.sum_horizontal(*counts, "n_unknown").sum())
               .collect(engine="streaming").item())
    return {"excluded_claims": int(py["n_excluded"].sum()),
            "duplicate_lines_removed": resent.height - int(kept["n_kept"].sum()),
            "withdrawn_claims": int(py["n_withdrawn"].sum()),
            "orphan_claims": int(orphans), "polars_threads": pl.thread_pool_size(),
            "polars_env": {k: v for k, v in os.environ.items() if k.startswith("POLARS_")}}


RUNNERS = {"build_panel": run_build_panel, "hand_sql": run_hand_sql, "pandas": run_pandas,
           "polars": run_polars}


def child(contender: str, data: Path, out: Path, memory_limit: str, threads: int) -> None:
    """Run one contender, then print one JSON line: seconds, peak RSS, output summary.

    Libraries are imported before the clock starts: the time is the work, not the
    interpreter's start-up (about 0.7 s for kbz_eval with Ibis, the same for pandas).
    """
    import duckdb
    import ibis  # noqa: F401
    import pandas  # noqa: F401

    import kbz_eval.engine  # noqa: F401
    import kbz_eval.engine.reference  # noqa: F401

    if contender == "polars":
        import polars  # noqa: F401

    started = time.perf_counter()
    extra = RUNNERS[contender](data, out, memory_limit, threads)
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    summary = duckdb.connect().execute(
        f"SELECT count(*) AS rows, round(sum(total_cost), 2) AS total_cost, "
        f"sum(poli_dbc_count) AS poli_dbc_count, round(sum(ggz_cost), 2) AS ggz_cost "
        f"FROM read_parquet('{out}')").fetchone()
    print(json.dumps({
        "contender": contender, "seconds": seconds, "peak_rss": rss,
        "panel_rows": summary[0], "sum_total_cost": summary[1],
        "sum_poli_dbc_count": int(summary[2]), "sum_ggz_cost": summary[3], **extra,
    }))


# --------------------------------------------------------------------------------------
# parent


def pandas_memory_estimate(n_lines: int, measured: dict | None) -> float:
    """Peak RSS the pandas contender would need for ``n_lines`` (bytes).

    Scales a measured run linearly; without one, assumes 450 bytes per line (the
    DataFrame holds strings and dates per line, and the sort and merges copy it).
    """
    if measured:
        return measured["peak_rss"] / measured["n_lines"] * n_lines
    return 450.0 * n_lines


def available_memory() -> int:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def run_child(contender: str, data: Path, n_lines: int, memory_limit: str, threads: int,
              timeout: int) -> dict:
    out = OUT / f"panel_{contender}_{label(n_lines)}.parquet"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, __file__, "--child", contender, "--data", str(data),
           "--out", str(out), "--memory-limit", memory_limit, "--threads", str(threads)]
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PYTHONWARNINGS": "ignore",
                                   "POLARS_MAX_THREADS": str(threads)})
    except subprocess.TimeoutExpired:
        return {"contender": contender, "n_lines": n_lines,
                "error": f"timed out after {timeout} s"}
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"contender": contender, "n_lines": n_lines,
                "error": f"exit {proc.returncode}: " + " | ".join(tail)}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return {**result, "n_lines": n_lines, "process_seconds": wall}


def panel_difference(a: Path, b: Path) -> str | None:
    """How panel file ``a`` differs from ``b``; None when they are the same panel.

    The same panel: the same columns (names, DuckDB types, order) and exactly the same
    rows (costs compared in cents).
    """
    import duckdb

    con = duckdb.connect(config={"memory_limit": "3GB",
                                 "temp_directory": str(OUT / "duckdb_tmp")})
    schema_a, schema_b = (
        [r[:2] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{f}')").fetchall()]
        for f in (a, b))
    if schema_a != schema_b:
        return ("columns differ: " + ", ".join(f"{x[0]} {x[1]}" for x in schema_a) + " vs "
                + ", ".join(f"{x[0]} {x[1]}" for x in schema_b))
    sel = ", ".join(f"round({c} * 100)::BIGINT AS {c}" if c.endswith("_cost") else c
                    for c, _ in schema_a)
    diff = con.execute(
        f"SELECT count(*) FROM ((SELECT {sel} FROM read_parquet('{a}') EXCEPT ALL "
        f"SELECT {sel} FROM read_parquet('{b}')) UNION ALL (SELECT {sel} FROM "
        f"read_parquet('{b}') EXCEPT ALL SELECT {sel} FROM read_parquet('{a}')))"
    ).fetchone()[0]
    return f"{diff} rows in one panel but not the other" if diff else None


def machine() -> dict:
    cpu = "unknown"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    from importlib.metadata import PackageNotFoundError, version

    import duckdb
    import ibis
    import pandas as pd

    try:
        polars_version: str | None = version("polars")
    except PackageNotFoundError:
        polars_version = None
    return {
        "nproc": os.cpu_count(), "cpu": cpu,
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(), "duckdb": duckdb.__version__,
        "ibis": ibis.__version__, "pandas": pd.__version__, "polars": polars_version,
        "load_average": os.getloadavg(),
    }


def print_table(rows: list[dict]) -> None:
    head = (f"{'lines':>6} {'contender':<12} {'wall s':>8} {'lines/s':>12} {'peak RSS':>9} "
            f"{'vs floor':>8} {'panel rows':>11} {'sum total_cost':>16}  same panel as floor")
    print(head)
    print("-" * len(head))
    floors = {r["n_lines"]: r["seconds"] for r in rows
              if r["contender"] == "hand_sql" and "seconds" in r}
    for r in rows:
        if "seconds" not in r:
            print(f"{label(r['n_lines']):>6} {r['contender']:<12} {'-':>8} {'-':>12} {'-':>9} "
                  f"{'-':>8} {'-':>11} {'-':>16}  {r.get('error') or r.get('skipped')}")
            continue
        floor = floors.get(r["n_lines"])
        ratio = f"{r['seconds'] / floor:.2f}x" if floor else "-"
        print(f"{label(r['n_lines']):>6} {r['contender']:<12} {r['seconds']:8.1f} "
              f"{r['n_lines'] / r['seconds']:12,.0f} {r['peak_rss'] / 2**30:7.2f}GB "
              f"{ratio:>8} {r['panel_rows']:>11,} {r['sum_total_cost']:>16,.2f}  "
              f"{ {True: 'yes', False: 'NO'}.get(r.get('same_panel_as_floor'), '-') }")
    for r in rows:
        for key in ("panel_difference", "report_difference"):
            if r.get(key):
                print(f"{label(r['n_lines'])} {r['contender']}: {r[key]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10M,30M,100M",
                    help="comma-separated numbers of claim lines such as 1M,10M,30M,100M "
                         "(default 10M,30M,100M)")
    ap.add_argument("--contenders", default=",".join(CONTENDERS),
                    help="comma-separated subset of " + ",".join(CONTENDERS) + " (default all)")
    ap.add_argument("--memory-limit", default="3GB",
                    help="DuckDB memory limit of both DuckDB contenders (default 3GB); "
                         "polars and pandas have none")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--seed", type=int, default=20140101)
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per contender run")
    ap.add_argument("--json", type=Path, default=OUT / "results.json")
    ap.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.data, args.out, args.memory_limit, args.threads)
        return 0

    try:
        sizes = sorted({parse_size(s) for s in args.sizes.split(",") if s.strip()})
    except ValueError:
        ap.error(f"--sizes: expected numbers of lines such as 10M,30M,100M, got {args.sizes!r}")
    if not sizes or min(sizes) < 1:
        ap.error(f"--sizes: expected positive numbers of lines, got {args.sizes!r}")
    contenders = list(dict.fromkeys(c.strip() for c in args.contenders.split(",") if c.strip()))
    unknown = [c for c in contenders if c not in CONTENDERS]
    if unknown or not contenders:
        ap.error(f"--contenders: unknown {', '.join(unknown) or '(none given)'}; choose from "
                 + ", ".join(CONTENDERS))
    OUT.mkdir(parents=True, exist_ok=True)
    info = machine()
    print("machine:", json.dumps(info))
    rows: list[dict] = []
    pandas_measured: dict | None = None
    for n in sizes:
        data = ensure_data(n, seed=args.seed)
        done: dict[str, dict] = {}
        for contender in contenders:
            if contender == "pandas":
                need = pandas_memory_estimate(n, pandas_measured)
                have = available_memory()
                if need > 0.8 * have:
                    how = ("scaled from the measured smaller run" if pandas_measured
                           else "estimated at 450 bytes per line")
                    rows.append({"contender": contender, "n_lines": n, "skipped": (
                        f"not run: needs ~{need / 2**30:.0f} GB ({how}), "
                        f"{have / 2**30:.0f} GB available")})
                    print(f"{label(n)} pandas: {rows[-1]['skipped']}", flush=True)
                    continue
            print(f"{label(n)} {contender} ...", flush=True)
            result = run_child(contender, data, n, args.memory_limit, args.threads,
                               args.timeout)
            rows.append(result)
            if "seconds" in result:
                done[contender] = result
            if contender == "pandas" and "seconds" in result:
                pandas_measured = result
            print("  ", json.dumps(result), flush=True)
        # every panel and report of this size against the floor's of this same run
        floor = done.get("hand_sql")
        for contender, result in done.items():
            if floor is None or contender == "hand_sql":
                continue
            report = [f"{k} {result.get(k)} vs {floor[k]}" for k in REPORT_FIGURES
                      if result.get(k) != floor[k]]
            result["same_report_as_floor"] = not report
            if report:
                result["report_difference"] = "; ".join(report)
            said = f"same report figures: {'yes' if not report else 'NO, ' + '; '.join(report)}"
            if n <= COMPARE_UP_TO:
                diff = panel_difference(OUT / f"panel_{contender}_{label(n)}.parquet",
                                        OUT / f"panel_hand_sql_{label(n)}.parquet")
                result["same_panel_as_floor"] = diff is None
                if diff:
                    result["panel_difference"] = diff
                said = f"same panel: {'yes' if diff is None else 'NO, ' + diff}; {said}"
            print(f"{label(n)} {contender} vs hand_sql: {said}", flush=True)
    print()
    print_table(rows)
    args.json.write_text(json.dumps({"machine": info, "results": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
