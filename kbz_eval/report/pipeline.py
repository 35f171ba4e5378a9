"""The pipeline behind ``kbz-eval report`` and ``make report``.

It reads every configured input through :func:`kbz_eval.io.read_table` (mapping,
identifier guard, validation), builds the claims panel when claim lines are given, and
writes into a temporary folder beside the target; only a complete run is moved into
place, so a failed run leaves the previous report untouched.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from kbz_eval.report import html as html_report
from kbz_eval.report.config import ReportConfig, load_config
from kbz_eval.report.manifest import build_manifest, write_manifest
from kbz_eval.report.quality import is_synthetic, panel_rows, quality_frame, quality_rows


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n", float_format="%.6g")


def _read_inputs(cfg: ReportConfig) -> tuple[dict[str, pd.DataFrame], list[dict[str, Any]]]:
    from kbz_eval.io import read_table

    tables: dict[str, pd.DataFrame] = {}
    rows: list[dict[str, Any]] = []
    # practices first, so other tables can be checked against it
    order = sorted(cfg.inputs, key=lambda t: (t != "practices", t))
    for table in order:
        path = cfg.inputs[table]
        refs = {"practices": tables["practices"]} if "practices" in tables else None
        result = read_table(path, table, mapping=cfg.mappings.get(table), references=refs,
                            on_error=cfg.on_error)
        tables[table] = result.data
        rows += quality_rows(table, path, result.report)
    return tables, rows


def _build(cfg: ReportConfig, workdir: Path) -> list[str]:
    """Compute and write every report file into ``workdir``; returns their names."""
    tables, rows = _read_inputs(cfg)
    synthetic = any(is_synthetic(p) for p in cfg.inputs.values())
    sections: list[html_report.Section] = []

    if "claim_lines" in tables and "insured_periods" in tables:
        from kbz_eval.engine import build_panel

        panel = build_panel(tables["claim_lines"], tables["insured_periods"])
        rows += panel_rows(panel.attrs.get("kbz_panel", {}))
        tables["person_years"] = panel

    quality = quality_frame(rows)
    _write_csv(quality, workdir / "data_quality.csv")
    sections.append(html_report.Section(
        title=html_report.text(cfg.language, "quality"),
        paragraphs=[html_report.text(cfg.language, "quality_intro")],
        tables=[quality],
    ))
    (workdir / "report.html").write_text(
        html_report.render(title=cfg.title, language=cfg.language, synthetic=synthetic,
                           sections=sections),
        encoding="utf-8",
    )
    files = ["data_quality.csv", "report.html"]
    seeds = {"seed": int(cfg.analysis["seed"])} if "seed" in cfg.analysis else {}
    manifest = build_manifest(inputs=cfg.inputs, config=cfg.raw, seeds=seeds, files=files)
    manifest["synthetic_inputs"] = synthetic
    write_manifest(workdir / "manifest.json", manifest)
    return [*files, "manifest.json"]


def run_report(config: str | Path, out: str | Path) -> Path:
    """Run the configured report and write it to ``out``.

    Parameters
    ----------
    config
        Path of the report's TOML configuration (see :mod:`kbz_eval.report.config`).
    out
        Output folder. It is replaced only when the whole run succeeds.

    Returns
    -------
    Path
        The output folder.

    Raises
    ------
    DataValidationError, IdentifierError, SpecificationError
        When an input or the configuration is not acceptable; the previous report, if
        any, is left as it was.
    """
    cfg = load_config(config)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        _build(cfg, work)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            out.rename(old / out.name)
            work.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            work.rename(out)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return out
