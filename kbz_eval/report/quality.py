"""The data-quality section: rows read, kept and rejected (and why) per input.

Only counts and rule names are published here, never row values: a rejected value can
be a person id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

QUALITY_COLUMNS = ("table", "file", "rows_read", "rows_kept", "rows_rejected", "reason")


def is_synthetic(path: Path) -> bool:
    """Whether an input file carries the synthetic-data label of :mod:`kbz_eval.synth`.

    CSV files start with a ``# SYNTHETIC DATA`` comment line; Parquet files carry it in
    their key-value metadata.
    """
    if not path.is_file():  # a folder or glob of files: the label of its first file
        from kbz_eval.engine.sources import resolve_files

        files, _ = resolve_files(str(path))
        return is_synthetic(Path(files[0]))
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        meta = pq.read_schema(path).metadata or {}
        return any(b"synthetic" in k.lower() or b"SYNTHETIC" in v for k, v in meta.items())
    with open(path, "rb") as fh:
        head = fh.read(256)
    return head.lstrip(b"\xef\xbb\xbf").startswith(b"# SYNTHETIC DATA")


def quality_rows(table: str, path: Path, report: Any) -> list[dict[str, Any]]:
    """Rows of the data-quality table for one read input.

    ``report`` is the :class:`kbz_eval.io.ReadReport` of the read.
    """
    base = {"table": table, "file": path.name, "rows_read": report.rows_read,
            "rows_kept": report.rows_kept}
    dropped = dict(sorted(report.dropped.items())) if report.dropped else {}
    # a fallback (e.g. a text file read as cp1252 because it is not UTF-8) is shown as
    # a row of its own: the reader had to guess, and the reader of the report should know
    fallbacks = [{**base, "rows_rejected": 0, "reason": f"{key} {d.value} (fallback: {d.note})"}
                 for key, d in report.detected.items() if d.how == "fallback"]
    if not dropped:
        return [{**base, "rows_rejected": 0, "reason": ""}] if not fallbacks else fallbacks
    return [{**base, "rows_rejected": n, "reason": reason}
            for reason, n in dropped.items()] + fallbacks


def panel_rows(panel_report: dict[str, Any]) -> list[dict[str, Any]]:
    """Data-quality rows for the claims engine: where every claim line went.

    ``panel_report`` is ``panel.attrs["kbz_panel"]`` (see
    :class:`kbz_eval.engine.PanelReport`). Credit notes (negative costs) get four rows:
    the credit lines netted against their claim, the claims withdrawn because their
    credits leave nothing, the over-credited claims (credits exceeding the claim; the
    excess is floored at 0) and the credit notes without a matching claim in the
    extract, each with its amount in EUR in the reason (a total over many claims,
    never a single line's value).
    """
    def eur(key: str) -> str:
        return f"EUR {float(panel_report.get(key) or 0.0):,.2f}"

    labels = {
        "duplicate_lines_removed": "re-sent duplicate claim lines counted once",
        "excluded_claims": "declaration code outside the basic package (16/17)",
        "orphan_claims": "claims of persons without an insured period that year",
        "unassignable_claims": "claims without the date the year rule needs",
        "unknown_care_type_claims": "claims of an unknown care type",
        "credit_lines_netted": "credit-note lines (negative cost) netted against their "
                               f"claim ({eur('credit_amount_netted')})",
        "withdrawn_claims": "claims netted to nothing by credit notes (fully reversed, "
                            "over-credited or without their claim)",
        "over_credited_claims": "claims whose credit notes exceed them, floored at 0 "
                                f"({eur('over_credit_cost')} not deducted)",
        "unmatched_credit_claims": "credit notes without a matching claim in the extract "
                                   f"({eur('unmatched_credit_cost')} not deducted)",
    }
    n_in = panel_report.get("lines_in", pd.NA)
    rows = []
    for key, reason in labels.items():
        if key in panel_report:
            rows.append({"table": "claim_lines", "file": "(claims engine)",
                         "rows_read": n_in, "rows_kept": panel_report.get("panel_claims", pd.NA),
                         "rows_rejected": int(panel_report[key]), "reason": reason})
    return rows


def quality_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The data-quality table, sorted, with fixed columns."""
    frame = pd.DataFrame(rows, columns=list(QUALITY_COLUMNS))
    for col in ("rows_read", "rows_kept", "rows_rejected"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Int64")
    return frame.sort_values(["table", "file", "reason"], kind="stable").reset_index(drop=True)
