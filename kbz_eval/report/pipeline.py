"""The pipeline behind ``kbz-eval report`` and ``make report``.

Steps: read every configured input through :func:`kbz_eval.io.read_table` (mapping,
identifier guard, validation) → build the claims panel from claim lines → run every
analysis of :data:`kbz_eval.report.analyses.ANALYSES` whose inputs are present →
suppress small cells → write figures (PNG, SVG and the CSV behind each), tables (CSV
and one XLSX), ``report.html`` and ``manifest.json``.

Everything is written into a temporary folder beside the target; only a complete run
is moved into place, so a failed run leaves the previous report untouched.
"""

from __future__ import annotations

import base64
import copy
import re
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from kbz_eval import disclosure
from kbz_eval.errors import SpecificationError
from kbz_eval.report import html as html_report
from kbz_eval.report.analyses import AIMS, ANALYSES, Analysis
from kbz_eval.report.config import ReportConfig, load_config
from kbz_eval.report.manifest import build_manifest, write_manifest
from kbz_eval.report.overview import overview
from kbz_eval.report.progress import Progress
from kbz_eval.report.quality import is_synthetic, panel_rows, quality_frame, quality_rows
from kbz_eval.report.translate import translate_figure
from kbz_eval.report.workbook import write_workbook
from kbz_eval.results import Result
from kbz_eval.stats.multiplicity import mark_family


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n", float_format="%.10g")


def _read_inputs(cfg: ReportConfig, progress: Progress
                 ) -> tuple[dict[str, pd.DataFrame], list[dict[str, Any]]]:
    from kbz_eval.io import read_table

    tables: dict[str, pd.DataFrame] = {}
    rows: list[dict[str, Any]] = []
    # practices first, so other tables can be checked against it
    order = sorted(cfg.inputs, key=lambda t: (t != "practices", t))
    for table in order:
        progress.step(f"reading {table}")
        path = cfg.inputs[table]
        refs = {"practices": tables["practices"]} if "practices" in tables else None
        result = read_table(path, table, mapping=cfg.mappings.get(table), references=refs,
                            on_error=cfg.on_error)
        tables[table] = result.data
        rows += quality_rows(table, path, result.report)
    return tables, rows


def _apply_groups(practices: pd.DataFrame, cfg: ReportConfig) -> pd.DataFrame:
    """``practices`` with ``group`` set from the configuration's ``[groups]``."""
    from kbz_eval.errors import SpecificationError

    out = practices.copy()
    known = set(out["practice_id"].astype(str))
    group = out["group"].astype(str).to_numpy(copy=True)
    for name, ids in cfg.groups.items():
        unknown = sorted(set(ids) - known)
        if unknown:
            raise SpecificationError(
                f"{cfg.path}: [groups] {name} names practices not in the practices table: "
                f"{unknown}.")
        group[out["practice_id"].astype(str).isin(ids).to_numpy()] = name
    out["group"] = pd.Categorical(group, categories=["kbz", "control"])
    return out


def _suppress(frame: pd.DataFrame, cfg: ReportConfig) -> tuple[pd.DataFrame, pd.Series]:
    by = ["year"] if "year" in frame.columns else None
    return disclosure.suppress_small_cells(frame, threshold=cfg.suppression_threshold, by=by)


def _suppressed_result(result: Result, cfg: ReportConfig
                       ) -> tuple[Result, dict[str, pd.DataFrame], pd.DataFrame]:
    """A copy of ``result`` whose small cells are NaN (for drawing), the published tables
    (small cells labelled) and the published plot data.

    The copy's ``plot_data()`` returns the suppressed plot data, so plotting functions
    that draw from it (all of them) never see a small cell, whatever the result keeps in
    its own attributes.
    """
    published: dict[str, pd.DataFrame] = {}
    est, mask = _suppress(result.tidy(), cfg)
    published["tidy"] = disclosure.publishable(est, mask, language=cfg.language)
    drawn = copy.copy(result)
    drawn.estimates = est
    drawn.tables = {}
    for name, frame in result.tables.items():
        sup, mask = _suppress(frame, cfg)
        drawn.tables[name] = sup
        published[name] = disclosure.publishable(sup, mask, language=cfg.language)
    plot_data, mask = _suppress(result.plot_data(), cfg)

    def suppressed_plot_data(*args: Any, **kwargs: Any) -> pd.DataFrame:
        return _suppress(result.plot_data(*args, **kwargs), cfg)[0]

    drawn.plot_data = suppressed_plot_data  # type: ignore[method-assign]
    return drawn, published, disclosure.publishable(plot_data, mask, language=cfg.language)


def _run_analysis(spec: Analysis, tables: dict[str, pd.DataFrame], cfg: ReportConfig,
                  work: Path) -> tuple[Result, html_report.Section, dict[str, pd.DataFrame]]:
    """Run one analysis, mark its primary term and Holm family, and publish it; the
    returned result is the suppressed copy."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = spec.run(tables, cfg)
    declared = cfg.primary_term(spec.key)
    if declared and declared not in set(result.tidy()["term"].astype(str)):
        raise SpecificationError(
            f"[primary] names term {declared!r} of analysis {spec.key!r}, but that analysis "
            f"reports no such term; its terms are {sorted(result.tidy()['term'].astype(str))}.")
    primary = (declared,) if declared else spec.primary_terms(result)
    if primary and "p_value" in result.estimates.columns:
        result.estimates = mark_family(result.estimates, primary)
    messages = sorted({str(w.message) for w in caught} | set(result.warnings))
    section, published, drawn = _publish(spec.key, spec.title[cfg.language], result,
                                         messages, cfg, work)
    return drawn, section, published


def _headline(drawn: Result, cfg: ReportConfig) -> str:
    """The section's headline sentence, written from the suppressed copy of the result.

    A headline that needs a withheld cell (it fails, or would print ``nan``) is replaced
    by a sentence saying so: no number that the tables hide reaches the text.
    """
    withheld = (f"Headline withheld: it rests on cells of fewer than "
                f"{cfg.suppression_threshold} persons "
                f"({disclosure.SUPPRESSED_LABEL[cfg.language]}).")
    try:
        text = drawn.headline()
    except (ValueError, TypeError, KeyError, IndexError):
        return withheld
    return withheld if re.search(r"\bnan\b|<NA>|\bNaN\b", text) else text


def _publish(key: str, title: str, result: Result, messages: list[str], cfg: ReportConfig,
             work: Path) -> tuple[html_report.Section, dict[str, pd.DataFrame], Result]:
    """Write one result's figure, plot data and tables; return its HTML section, the
    published tables and the small-cell-suppressed copy of the result (the overview
    reads only that copy)."""
    from kbz_eval.report.figures import new_figure, save_figure

    messages = list(messages)
    drawn, published, plot_data = _suppressed_result(result, cfg)

    fig, ax = new_figure()
    try:
        drawn.plot(ax=ax)
        translate_figure(fig, cfg.language)
        save_figure(fig, work / "figures" / key)
    except (ValueError, TypeError, KeyError):
        # the figure cannot be drawn without its suppressed cells: withhold it
        fig, ax = new_figure()
        ax.set_axis_off()
        ax.text(0.5, 0.5, f"{title}:\n{disclosure.SUPPRESSED_LABEL[cfg.language]}",
                ha="center", va="center")
        messages.append(f"Figure withheld: it would show cells resting on fewer than "
                        f"{cfg.suppression_threshold} persons.")
        save_figure(fig, work / "figures" / key)
    _write_csv(plot_data, work / "figures" / f"{key}.csv")
    for name, frame in published.items():
        _write_csv(frame, work / "tables" / f"{key}__{name}.csv")

    png = (work / "figures" / f"{key}.png").read_bytes()
    section = html_report.Section(
        title=title,
        key=key,
        image=base64.b64encode(png).decode("ascii"),
        paragraphs=[_headline(drawn, cfg)] if cfg.language == "en" else [],
        tables=[html_report.display(published["tidy"], cfg.language)],
        method=result.method,
        warnings=messages,
    )
    return section, published, drawn


def _build(cfg: ReportConfig, work: Path, progress: Progress) -> None:
    """Compute and write every report file into ``work``."""
    (work / "figures").mkdir()
    (work / "tables").mkdir()
    known = {spec.key for spec in ANALYSES}
    for aim, value in sorted(cfg.primary.items()):
        if value.partition(":")[0] not in known:
            raise SpecificationError(
                f"[primary] {aim} = {value!r} names no analysis; the analyses are "
                f"{sorted(known)}.")
    tables, rows = _read_inputs(cfg, progress)
    synthetic = any(is_synthetic(p) for p in cfg.inputs.values())
    if cfg.groups and "practices" in tables:
        tables["practices"] = _apply_groups(tables["practices"], cfg)

    if "claim_lines" in tables and "insured_periods" in tables:
        from kbz_eval.engine import build_panel

        progress.step("building the claims panel")
        panel = build_panel(tables["claim_lines"], tables["insured_periods"])
        rows += panel_rows(panel.attrs.get("kbz_panel", {}))
        tables["person_years"] = panel

    results: dict[str, Result] = {}
    notes: list[str] = []
    sections: list[html_report.Section] = []
    sheets: dict[str, pd.DataFrame] = {}
    for spec in ANALYSES:
        if not all(n in tables for n in spec.needs):
            continue
        progress.step(spec.key)
        result, section, published = _run_analysis(spec, tables, cfg, work)
        results[spec.key] = result
        sections.append(section)
        for name, frame in published.items():
            sheets[f"{spec.key}.{name}"] = frame

    open_inputs: dict[str, Path] = {}
    folder = cfg.open_data_folder
    if folder is not None:
        from kbz_eval.open_data.areas import available, open_data_section

        found = available(folder)
        if all(found.values()):
            progress.step("open data (Vektis, RIVM)")
            for key, result in open_data_section(folder).items():
                title = OPEN_DATA_TITLES.get(key, {}).get(cfg.language, result.title)
                section, published, drawn = _publish(f"open_data_{key}", title, result,
                                                     sorted(set(result.warnings)), cfg, work)
                sections.append(section)
                results[f"open_data_{key}"] = drawn
                for name, frame in published.items():
                    sheets[f"open_data_{key}.{name}"] = frame
            open_inputs = {
                f"open_data/{p.relative_to(folder).as_posix()}": p
                for p in sorted(folder.rglob("*")) if p.suffix in (".csv", ".xlsx")
            }
        else:
            missing = [k for k, ok in found.items() if not ok]
            notes.append(f"open data section skipped: {', '.join(missing)} files not found "
                         f"in {folder.name}/ (see kbz.open_data.download)")

    quality = quality_frame(rows)
    _write_csv(quality, work / "data_quality.csv")
    sheets = {"data_quality": quality, **sheets}
    progress.step("writing report.html, report.xlsx and manifest.json")
    write_workbook(work / "report.xlsx", sheets, about=_about(cfg, synthetic))
    (work / "report.html").write_text(
        html_report.render(
            title=cfg.title, language=cfg.language, synthetic=synthetic,
            panels=overview(results, cfg.language), aims=AIMS, sections=sections,
            quality=html_report.display(quality, cfg.language),
            threshold=cfg.suppression_threshold, notes=notes,
        ),
        encoding="utf-8",
    )
    files = sorted(p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file())
    seeds = {"seed": int(cfg.analysis["seed"])} if "seed" in cfg.analysis else {}
    manifest = build_manifest(inputs={**cfg.inputs, **open_inputs}, config=cfg.raw,
                              seeds=seeds, files=files)
    manifest["synthetic_inputs"] = synthetic
    manifest["analyses"] = sorted(results)
    write_manifest(work / "manifest.json", manifest)


#: Section titles of the open-data results, by language.
OPEN_DATA_TITLES = {
    "cost_per_insured_year": {
        "en": "Open data: cost per insured year, KBZ cities and the Netherlands (Vektis)",
        "nl": "Open data: kosten per verzekerdejaar, KBZ-steden en Nederland (Vektis)"},
    "kbz_cities_vs_references": {
        "en": "Open data: KBZ cities against the country and comparable municipalities",
        "nl": "Open data: KBZ-steden tegenover Nederland en vergelijkbare gemeenten"},
    "overvecht_health": {
        "en": "Open data: Overvecht health against Utrecht and the country (RIVM)",
        "nl": "Open data: gezondheid Overvecht tegenover Utrecht en Nederland (RIVM)"},
    **{
        f"synthetic_control_{key}": {
            "en": f"Open data: synthetic control for {city}",
            "nl": f"Open data: synthetische controle voor {city}"}
        for key, city in [("utrecht", "Utrecht"), ("amsterdam", "Amsterdam"),
                          ("rotterdam", "Rotterdam"), ("den_haag", "Den Haag"),
                          ("haarlem", "Haarlem")]
    },
}


def _about(cfg: ReportConfig, synthetic: bool) -> list[tuple[str, str]]:
    from kbz_eval import __version__

    years = cfg.analysis.get("years")
    return [
        ("report", cfg.title),
        ("sources", ", ".join(f"{t}: {p.name}" for t, p in cfg.inputs.items())),
        ("period", f"{years[0]}–{years[1]}" if years else "as in the inputs"),
        ("synthetic data", "yes: made-up sample, no real persons" if synthetic else "no"),
        ("suppression rule",
         f"cells resting on fewer than {cfg.suppression_threshold} persons read "
         f"'{disclosure.SUPPRESSED_LABEL[cfg.language]}'; when one cell of a year is "
         "suppressed, the next smallest is too (secondary suppression)"),
        ("kbz_eval version", __version__),
    ]


def run_report(config: str | Path, out: str | Path, *, progress: bool | None = None) -> Path:
    """Run the configured report and write it to ``out``.

    Parameters
    ----------
    config
        Path of the report's TOML configuration (see :mod:`kbz_eval.report.config`).
    out
        Output folder. It is replaced only when the whole run succeeds.
    progress
        Show progress (default: only in a terminal or Jupyter).

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
    n_steps = len(cfg.inputs) + 2 + sum(
        all(n in cfg.inputs or n == "person_years" for n in a.needs) for a in ANALYSES)
    tracker = Progress(n_steps, enabled=progress)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        _build(cfg, work, tracker)
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
