"""The pipeline behind ``kbz-eval report`` and ``make report``.

Steps: read every configured input through :func:`kbz_eval.io.read_table` (mapping,
identifier guard, validation) → build the claims panel from claim lines → run every
analysis of :data:`kbz_eval.report.analyses.ANALYSES` whose inputs are present →
suppress small cells → write figures (PNG, SVG and the CSV behind each), tables (CSV
and one XLSX), a page per practice (``practices/``, see
:mod:`kbz_eval.report.practice_pages`), ``report.html`` and ``manifest.json``. With
``practice=ID`` only that practice's page and ``manifest.json`` are written.

Everything is written into a staging folder; only a complete run takes the place of
the output folder, and only an output folder a kbz report wrote is ever replaced (see
:mod:`kbz_eval.report.output`), so a failed run leaves the previous report untouched.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import dataclasses
import re
import warnings
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from kbz_eval import disclosure
from kbz_eval.errors import DataValidationError, IdentifierError, SpecificationError
from kbz_eval.report import html as html_report
from kbz_eval.report.analyses import AIMS, ANALYSES, Analysis, run_order
from kbz_eval.report.cells import declarations
from kbz_eval.report.config import ENGINE_TABLES, ReportConfig, load_config
from kbz_eval.report.engine_inputs import EngineInputs, uses_engine
from kbz_eval.report.figures import FigureSaver, worker_pool
from kbz_eval.report.formatting import localise_ticks
from kbz_eval.report.manifest import build_manifest, hash_inputs_meanwhile, write_manifest
from kbz_eval.report.memory import collect_new_only, heap_reuse, release_memory
from kbz_eval.report.messages import localise
from kbz_eval.report.overview import overview
from kbz_eval.report.practice_pages import (
    OWN_INDICATOR_CELLS,
    PAGE_INPUTS,
    PAGES_SELECTION,
    check_practice,
    pages_possible,
    start_practice_pages,
    write_practice_pages,
)
from kbz_eval.report.progress import Progress
from kbz_eval.report.quality import is_synthetic, panel_rows, quality_frame, quality_rows
from kbz_eval.report.workbook import write_workbook
from kbz_eval.results import Result
from kbz_eval.stats.multiplicity import mark_family


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame = frame.copy()
    for col in frame.columns:  # labelled tables mix text and floats in one column
        if frame[col].dtype == object:
            frame[col] = frame[col].map(
                lambda v: f"{v:.10g}" if isinstance(v, float) and v == v else v)
    frame.to_csv(path, index=False, lineterminator="\n", float_format="%.10g")


class InvalidInputsError(DataValidationError):
    """Several inputs break their data contracts; lists the problems of each, by file.

    Parameters
    ----------
    problems
        The error of each input, in reading order.
    note
        A closing remark (e.g. that references were not checked).

    Attributes
    ----------
    problems
        As given; ``violations`` holds all their violations together.
    """

    def __init__(self, problems: list[DataValidationError], note: str = "") -> None:
        self.problems = list(problems)
        self.note = note
        super().__init__(
            source=", ".join(e.source for e in self.problems),
            table=", ".join(e.table for e in self.problems),
            violations=[v for e in self.problems for v in e.violations],
        )

    @property
    def message(self) -> str:
        return _problems_text([(e.table, Path(e.source), e) for e in self.problems],
                              self.note)


def _problems_text(problems: list[tuple[str, Path, Exception]], note: str) -> str:
    lines = [f"{len(problems)} inputs cannot be used; the problems of each are listed:"]
    for table, path, exc in problems:
        lines.append(f"\n[{table}] {path.name}:")
        lines += [f"  {line}" for line in str(exc).splitlines()]
    if note:
        lines.append(f"\n{note}")
    return "\n".join(lines)


def _input_problems(problems: list[tuple[str, Path, Exception]], note: str
                    ) -> Exception:
    """One error for the problems of several inputs, of the most serious type found:
    identifiers before specification problems before contract violations."""
    if len(problems) == 1:
        return problems[0][2]
    errors = [exc for _, _, exc in problems]
    if all(isinstance(e, DataValidationError) for e in errors):
        return InvalidInputsError(errors, note)  # type: ignore[arg-type]
    if any(isinstance(e, IdentifierError) for e in errors):
        err = IdentifierError(_problems_text(problems, note))
        err.findings = [f for e in errors for f in getattr(e, "findings", [])]
        return err
    return SpecificationError(_problems_text(problems, note))


def _read_inputs(cfg: ReportConfig, progress: Progress, engine: EngineInputs | None = None
                 ) -> tuple[dict[str, pd.DataFrame], list[dict[str, Any]]]:
    """Read every input (the claims tables are checked in the ``engine`` when given);
    raise one error listing the problems of all inputs at once."""
    from kbz_eval.io import read_table

    tables: dict[str, pd.DataFrame] = {}
    rows: list[dict[str, Any]] = []
    problems: list[tuple[str, Path, Exception]] = []
    # practices first, so other tables can be checked against it
    order = sorted(cfg.inputs, key=lambda t: (t != "practices", t))
    for table in order:
        step = progress.step(f"reading {table}")
        path = cfg.inputs[table]
        refs = {"practices": tables["practices"]} if "practices" in tables else None
        try:
            if engine is not None and table in ENGINE_TABLES:
                rows += engine.check(table, refs)
                step.rows(engine.checked[table].rows_read)
                continue
            result = read_table(path, table, mapping=cfg.mappings.get(table),
                                references=refs, on_error=cfg.on_error)
        except (DataValidationError, IdentifierError, SpecificationError) as exc:
            problems.append((table, path, exc))
            continue
        tables[table] = result.data
        rows += quality_rows(table, path, result.report)
    if problems and engine is not None:
        # a rule left to the build is checked now: every problem at once
        for table in engine.deferred():
            try:
                engine.check_deferred(table)
            except (DataValidationError, IdentifierError, SpecificationError) as exc:
                problems.append((table, cfg.inputs[table], exc))
        problems.sort(key=lambda p: order.index(p[0]))
    if problems:
        unread = "practices" in cfg.inputs and "practices" not in tables
        note = ("The other tables were not checked against the practices table, which "
                "could not be read." if unread and len(order) > 1 else "")
        raise _input_problems(problems, note)
    return tables, rows


def check_inputs(config: str | Path, *, backend: str | None = None
                 ) -> tuple[ReportConfig, list[dict[str, Any]]]:
    """Check every input of a report configuration as the report does before it starts.

    Each input is read with its mapping, and checked against the practices table when
    the configuration names one (claim lines and insured periods on the engine). Nothing
    is written.

    Parameters
    ----------
    config
        Path of the report's TOML configuration (see :mod:`kbz_eval.report.config`).
    backend
        Engine backend overriding ``[engine] backend``: ``"duckdb"`` or ``"spark"``.

    Returns
    -------
    tuple of ReportConfig and list of dict
        The validated configuration and the data-quality rows of every input (table,
        file, rows read, kept and rejected, reason).

    Raises
    ------
    FileNotFoundError
        Naming every input and mapping of the configuration that is not found.
    DataValidationError, IdentifierError, SpecificationError
        One error listing the problems of all inputs at once.
    """
    cfg = load_config(config, backend=backend)
    progress = Progress(len(cfg.inputs), enabled=False)
    if uses_engine(cfg):
        with EngineInputs(cfg) as engine:
            _, rows = _read_inputs(cfg, progress, engine)
    else:
        _, rows = _read_inputs(cfg, progress)
    return cfg, rows


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


def _protected(result: Result, frames: dict[str, pd.DataFrame], cfg: ReportConfig
               ) -> tuple[dict[str, pd.DataFrame], dict[str, pd.Series], list[str]]:
    """The declared tables of ``frames`` with their suppression masks (one
    :func:`kbz_eval.disclosure.protect` pass over all of them, so linked tables are
    suppressed together), and the names of undeclared tables (never published)."""
    specs = declarations(result)
    undeclared = sorted(set(frames) - set(specs))
    kept = {k: v.reset_index(drop=True) for k, v in frames.items() if k in specs}
    masks = disclosure.protect(kept, {k: specs[k] for k in kept},
                               threshold=cfg.suppression_threshold)
    return kept, masks, undeclared


class _SuppressedPlotData:
    """The ``plot_data`` method of a suppressed copy of a result: the default view is
    the one protected with the result's other tables; any other view is protected
    again with them. An object rather than a closure, so the copy can be pickled (an
    analysis run in a worker process returns it)."""

    def __init__(self, result: Result, frames: dict[str, pd.DataFrame],
                 hidden: pd.DataFrame | None, cfg: ReportConfig) -> None:
        self.result, self.frames, self.hidden, self.cfg = result, frames, hidden, cfg

    def __call__(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        specs = declarations(self.result)
        if "plot_data" not in specs or self.hidden is None:
            raise KeyError("plot data without a disclosure declaration")
        if not args and not kwargs:  # the default view: already protected
            return self.hidden.copy()
        again = {**self.frames, "plot_data": self.result.plot_data(*args, **kwargs)}
        kept, masks, _ = _protected(self.result, again, self.cfg)
        return disclosure.apply_mask(kept["plot_data"], masks["plot_data"],
                                     specs["plot_data"])


def _suppressed_result(result: Result, cfg: ReportConfig
                       ) -> tuple[Result, dict[str, pd.DataFrame], pd.DataFrame, list[str]]:
    """A copy of ``result`` whose small cells are missing (for drawing and sentences),
    the published tables (small cells labelled), the published plot data and notes on
    tables withheld for lack of a disclosure declaration.

    The copy's ``plot_data()`` returns the suppressed plot data, so plotting functions
    that draw from it (all of them) never see a small cell, whatever the result keeps in
    its own attributes.
    """
    specs = declarations(result)
    frames = {"tidy": result.tidy(), **result.tables, "plot_data": result.plot_data()}
    kept, masks, undeclared = _protected(result, frames, cfg)
    hidden = {k: disclosure.apply_mask(v, masks[k], specs[k]) for k, v in kept.items()}
    published = {
        k: disclosure.publishable(hidden[k], masks[k], specs[k], language=cfg.language)
        for k in kept if k != "plot_data"}
    notes = [f"Table '{name}' withheld: it has no disclosure declaration."
             for name in undeclared]
    drawn = copy.copy(result)
    tidy = hidden.get("tidy")
    if tidy is None:  # undeclared: nothing of it may reach a sentence
        tidy = result.tidy().iloc[0:0]
    drawn.estimates = tidy
    drawn.tables = {k: v for k, v in hidden.items() if k not in ("tidy", "plot_data")}
    drawn.plot_data = _SuppressedPlotData(  # type: ignore[method-assign]
        result, frames, hidden.get("plot_data"), cfg)
    if "plot_data" in kept:
        plot_data = disclosure.publishable(hidden["plot_data"], masks["plot_data"],
                                           specs["plot_data"], language=cfg.language)
    else:
        plot_data = pd.DataFrame()
    return drawn, published, plot_data, notes


def _run_analysis(spec: Analysis, tables: dict[str, pd.DataFrame], cfg: ReportConfig,
                  work: Path, saver: FigureSaver
                  ) -> tuple[Result, html_report.Section, dict[str, pd.DataFrame]]:
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
                                         messages, cfg, work, saver)
    return drawn, section, published


#: From this many person-years on, memory freed by an analysis is given back to the
#: system before the next one (:func:`kbz_eval.report.memory.release_memory`).
LARGE_PANEL = 1_000_000

#: Inputs that never go to a worker process: the claims, which can be large.
_STAYS_HERE = frozenset({"person_years", *ENGINE_TABLES})


def _analysis_job(spec_key: str, tables: dict[str, pd.DataFrame], cfg: ReportConfig,
                  work: str) -> tuple[Result, html_report.Section, dict[str, pd.DataFrame]]:
    """Worker side of :func:`_submit_analyses`: run and publish one analysis (its figure
    saved here, in the worker)."""
    spec = next(s for s in ANALYSES if s.key == spec_key)
    return _run_analysis(spec, tables, cfg, Path(work), FigureSaver(None))


def _submit_analyses(pool: ProcessPoolExecutor | None, specs: list[Analysis],
                     tables: dict[str, pd.DataFrame], cfg: ReportConfig, work: Path
                     ) -> dict[str, Future[Any]]:
    """Hand the analyses of small inputs (the surveys, the indicators; never the claims)
    to ``pool``, each with only the tables it reads (its optional ones when given), while
    this process runs the claims analyses. Their results, tables and figures are the
    same wherever they run."""
    if pool is None:
        return {}
    return {spec.key: pool.submit(_analysis_job, spec.key,
                                  {n: tables[n] for n in spec.reads if n in tables},
                                  cfg, str(work))
            for spec in specs if not _STAYS_HERE.intersection(spec.reads)}


def _ready(tables: dict[str, pd.DataFrame]) -> list[Analysis]:
    """The analyses whose inputs are all in ``tables``, in report order."""
    return [spec for spec in ANALYSES if all(n in tables for n in spec.needs)]


def _collect_analysis(future: Future[Any], spec: Analysis, tables: dict[str, pd.DataFrame],
                      cfg: ReportConfig, work: Path, saver: FigureSaver
                      ) -> tuple[Result, html_report.Section, dict[str, pd.DataFrame]]:
    """The outcome of an analysis handed to a worker; if the worker failed for any
    reason, the analysis runs again here, so a genuine error is raised as it would be
    without workers and a lost worker costs time, not the section. The rerun is said
    (a ``RuntimeWarning`` naming the analysis and the worker's error), never silent."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - rerun here: the same error, or the outcome
        warnings.warn(f"analysis {spec.key!r} failed in a worker process "
                      f"({type(exc).__name__}: {exc}); it is run again in the report's "
                      f"process", RuntimeWarning, stacklevel=2)
        return _run_analysis(spec, tables, cfg, work, saver)


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
             work: Path, saver: FigureSaver
             ) -> tuple[html_report.Section, dict[str, pd.DataFrame], Result]:
    """Draw one result's figure (handed to ``saver``), write its plot data and tables;
    return its HTML section (its texts not yet localised, see :func:`_localised`; its
    image is filled in by :func:`_finish_figures`), the published tables and the
    small-cell-suppressed copy of the result (the overview reads only that copy)."""
    from kbz_eval.report.figures import new_figure

    drawn, published, plot_data, withheld = _suppressed_result(result, cfg)
    messages = [*messages, *withheld]

    fig, ax = new_figure()
    try:
        drawn.plot(ax=ax, language=cfg.language)
        localise_ticks(fig, cfg.language)
    except (ValueError, TypeError, KeyError, IndexError):
        fig = _withheld_figure(title, cfg)
        messages.append(_FIGURE_WITHHELD.format(threshold=cfg.suppression_threshold))
    saver.save(fig, work / "figures" / key)
    _write_csv(plot_data, work / "figures" / f"{key}.csv")
    for name, frame in published.items():
        _write_csv(frame, work / "tables" / f"{key}__{name}.csv")

    section = html_report.Section(
        title=title,
        key=key,
        paragraphs=[_headline(drawn, cfg)],
        tables=[html_report.display(published["tidy"], cfg.language, headers=True,
                                    table="tidy")] if "tidy" in published
        else [],
        method=result.method,
        warnings=messages,
        table_files=[f"tables/{key}__tidy.csv"] if "tidy" in published else [],
    )
    return section, published, drawn


def _localised(section: html_report.Section, language: str) -> html_report.Section:
    """``section`` with its sentences, method and warnings in ``language``. Done in the
    pipeline's own process for every section, also those published by a worker."""
    return dataclasses.replace(
        section, paragraphs=[localise(t, language) for t in section.paragraphs],
        method=localise(section.method, language),
        warnings=[localise(m, language) for m in section.warnings])


_FIGURE_WITHHELD = ("Figure withheld: it would show cells resting on fewer than "
                    "{threshold} persons.")


def _withheld_figure(title: str, cfg: ReportConfig) -> Any:
    """The figure shown in place of one that cannot be drawn without suppressed cells."""
    from kbz_eval.report.figures import new_figure

    fig, ax = new_figure()
    ax.set_axis_off()
    ax.text(0.5, 0.5, f"{title}:\n{disclosure.SUPPRESSED_LABEL[cfg.language]}",
            ha="center", va="center")
    return fig


def _finish_figures(sections: list[html_report.Section], saver: FigureSaver,
                    cfg: ReportConfig, work: Path) -> None:
    """Wait for every figure; a figure that could not be saved is withheld (the
    section says so); each section gets its PNG."""
    from kbz_eval.report.figures import save_figure

    failed = saver.wait()
    for section in sections:
        stem = work / "figures" / section.key
        if stem in failed:
            save_figure(_withheld_figure(section.title, cfg), stem)
            section.warnings.append(localise(
                _FIGURE_WITHHELD.format(threshold=cfg.suppression_threshold), cfg.language))
        section.image = base64.b64encode(stem.with_suffix(".png").read_bytes()).decode("ascii")


def _build(cfg: ReportConfig, work: Path, progress: Progress,
           practice: str | None = None) -> None:
    """Compute and write every report file into ``work``; with ``practice``, only that
    practice's page and ``manifest.json``."""
    if practice is None:
        (work / "figures").mkdir()
        (work / "tables").mkdir()
        pool = worker_pool(cfg.workers)
        try:
            _build_report(cfg, work, progress, pool)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        return
    _build_report(cfg, work, progress, None, practice)


#: Claim-line files of this many bytes or more (about 15 M lines of Parquet, 4 M of
#: CSV) make checks and a build that keep both cores busy: the workers' jobs (the survey
#: analyses, the open data) then start when the claims analyses do, which use one core,
#: instead of slowing the build by competing for its cores.
HEAVY_CLAIMS_BYTES = 256 * 2**20


def heavy_claims(cfg: ReportConfig) -> bool:
    """Whether the report builds its panel from claim-line files of at least
    :data:`HEAVY_CLAIMS_BYTES` (an unreadable input counts as light: its check says
    what is wrong)."""
    if not uses_engine(cfg):
        return False
    from kbz_eval.engine.sources import resolve_files

    try:
        files, _ = resolve_files(cfg.inputs["claim_lines"])
        return sum(Path(f).stat().st_size for f in files) >= HEAVY_CLAIMS_BYTES
    except (OSError, SpecificationError, DataValidationError):
        return False


def _build_report(cfg: ReportConfig, work: Path, progress: Progress,
                  pool: ProcessPoolExecutor | None, practice: str | None = None) -> None:
    """:func:`_build`'s steps; figures are saved and the open data computed in ``pool``
    (when given) while this process goes on."""
    saver = FigureSaver(pool)
    folder = cfg.open_data_folder if practice is None else None
    open_job: Any = None
    heavy = heavy_claims(cfg)
    if folder is not None:
        from kbz_eval.open_data.areas import available, open_data_section

        found = available(folder)
        if all(found.values()) and pool is not None and not heavy:
            open_job = pool.submit(open_data_section, folder)
    known = {spec.key for spec in ANALYSES}
    for aim, value in sorted(cfg.primary.items()):
        if value.partition(":")[0] not in known:
            raise SpecificationError(
                f"[primary] {aim} = {value!r} names no analysis; the analyses are "
                f"{sorted(known)}.")
    early: dict[str, Future[Any]] = {}
    if uses_engine(cfg):
        with EngineInputs(cfg, defer_to_build=True) as engine:
            tables, rows = _read_inputs(cfg, progress, engine)
            if cfg.groups and "practices" in tables:
                tables["practices"] = _apply_groups(tables["practices"], cfg)
            if practice is not None:  # before the panel is built: an unknown id is cheap
                check_practice(practice, tables["practices"])
            elif not heavy:  # the workers run the survey analyses while the panel is built
                early = _submit_analyses(pool, _ready(tables), tables, cfg, work)
            panel = engine.panel(progress)
            rows = engine.updated(rows)  # of the tables checked again after the build
        if heavy and folder is not None and all(found.values()) and pool is not None:
            open_job = pool.submit(open_data_section, folder)  # beside the claims analyses
        rows += panel_rows(panel.attrs.get("kbz_panel", {}))
        tables["person_years"] = panel
    else:
        tables, rows = _read_inputs(cfg, progress)
        if cfg.groups and "practices" in tables:
            tables["practices"] = _apply_groups(tables["practices"], cfg)
    synthetic = any(is_synthetic(p) for p in cfg.inputs.values())
    if practice is not None:
        check_practice(practice, tables["practices"])
        _write_practice_only(cfg, work, progress, tables, practice, synthetic)
        return
    # the inputs are hashed for the manifest beside the analyses (after the build, which
    # has both cores)
    hashing = hash_inputs_meanwhile(cfg.inputs)

    results: dict[str, Result] = {}
    notes: list[str] = []
    sections: list[html_report.Section] = []
    sheets: dict[str, pd.DataFrame] = {}
    ready = _ready(tables)
    elsewhere = {**early, **_submit_analyses(
        pool, [spec for spec in ready if spec.key not in early], tables, cfg, work)}
    ran: dict[str, tuple[Result, html_report.Section, dict[str, pd.DataFrame]]] = {}
    large = len(tables.get("person_years", ())) >= LARGE_PANEL
    from kbz_eval.estimators.claims_common import shared_preparation

    # the claims analyses with the same selection run one after another and share it;
    # those of the practice pages' selection run last and leave it to the pages' trends
    with_pages = pages_possible(tables)
    pages_selection = PAGES_SELECTION if with_pages else ""
    here = [spec for spec in run_order(ready, last=pages_selection)
            if spec.key not in elsewhere]
    # the selection kept for the pages' trends is let go when this block ends
    with shared_preparation() as sharing:
        with (heap_reuse() if large else contextlib.nullcontext(),
              collect_new_only() if large else contextlib.nullcontext()):
            for i, spec in enumerate(here):
                # a selection is kept only for the next analysis (or the pages) sharing it
                after = here[i + 1].selection if i + 1 < len(here) else pages_selection
                sharing.keep = bool(spec.selection) and after == spec.selection
                progress.step(spec.key)
                ran[spec.key] = _run_analysis(spec, tables, cfg, work, saver)
                if large:  # the next analysis starts from the panel, not the last peak
                    release_memory()
        for spec in ready:
            if spec.key in elsewhere:
                progress.step(spec.key)
                ran[spec.key] = _collect_analysis(elsewhere[spec.key], spec, tables, cfg, work,
                                                  saver)
        for spec in ready:  # in report order, wherever each ran
            result, section, published = ran[spec.key]
            results[spec.key] = result
            section.aim = spec.aim
            sections.append(_localised(section, cfg.language))
            for name, frame in published.items():
                sheets[f"{spec.key}.{name}"] = frame

        open_inputs: dict[str, Path] = {}
        if folder is not None:
            if all(found.values()):
                progress.step("open data (Vektis, RIVM)")
                computed = open_job.result() if open_job is not None else \
                    open_data_section(folder)
                for key, result in computed.items():
                    title = OPEN_DATA_TITLES.get(key, {}).get(cfg.language, result.title)
                    section, published, drawn = _publish(f"open_data_{key}", title, result,
                                                         sorted(set(result.warnings)), cfg, work,
                                                         saver)
                    section.aim = OPEN_DATA_AIMS.get(key, 3)
                    sections.append(_localised(section, cfg.language))
                    results[f"open_data_{key}"] = drawn
                    for name, frame in published.items():
                        sheets[f"open_data_{key}.{name}"] = frame
                open_inputs = {
                    f"open_data/{p.relative_to(folder).as_posix()}": p
                    for p in sorted(folder.rglob("*")) if p.suffix in (".csv", ".xlsx")
                }
            else:
                missing = [k for k, ok in found.items() if not ok]
                notes.append(localise(f"open data section skipped: {', '.join(missing)} files "
                                      f"not found in {folder.name}/ (see kbz.open_data.download)",
                                      cfg.language))

        pending = None
        if with_pages:
            progress.step(f"practice pages ({len(tables['practices'])} practices)")
            with heap_reuse() if large else contextlib.nullcontext():
                pending = start_practice_pages(tables, cfg, work, synthetic=synthetic,
                                               report_link="../report.html",
                                               computed=results, pool=pool)

    _finish_figures(sections, saver, cfg, work)
    quality = quality_frame(rows)
    _write_csv(quality, work / "data_quality.csv")
    sheets = {"data_quality": quality, **sheets}
    progress.step("writing report.html, report.xlsx and manifest.json")
    write_workbook(work / "report.xlsx", sheets, about=_about(cfg, synthetic),
                   language=cfg.language)
    (work / "report.html").write_text(
        html_report.render(
            title=cfg.title, language=cfg.language, synthetic=synthetic,
            panels=overview(results, cfg.language), aims=AIMS, sections=sections,
            quality=html_report.display(quality, cfg.language, headers=True,
                                        table="data_quality"),
            threshold=cfg.suppression_threshold, notes=notes,
            practice_index=pending.index if pending is not None else None,
            facts=_facts(cfg, synthetic, tables),
        ),
        encoding="utf-8",
    )
    pages = pending.finish() if pending is not None else None  # built meanwhile
    manifest = _manifest(cfg, work, open_inputs, synthetic, records=hashing.result())
    manifest["disclosure"] = _disclosure_record(results, sheets, cfg)
    manifest["analyses"] = sorted(results)
    if pages is not None:
        manifest["practice_pages"] = _pages_record(pages)
    write_manifest(work / "manifest.json", manifest)


def _manifest(cfg: ReportConfig, work: Path, open_inputs: dict[str, Path],
              synthetic: bool, records: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest of the files now in ``work`` (see :mod:`kbz_eval.report.manifest`);
    ``records``: the inputs' records hashed earlier (:func:`hash_inputs_meanwhile`)."""
    files = sorted(p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file())
    seeds = {"seed": int(cfg.analysis["seed"])} if "seed" in cfg.analysis else {}
    manifest = build_manifest(inputs={**cfg.inputs, **open_inputs}, config=cfg.raw,
                              seeds=seeds, files=files, records=records)
    manifest["synthetic_inputs"] = synthetic
    return manifest


def _pages_record(pages: dict[str, Any]) -> dict[str, Any]:
    """The manifest's record of the practice pages and what they rest on."""
    from kbz_eval.report.cells import DECLARATIONS

    rests_on = {}
    for name in ("FunnelResult", "PracticeTrendsResult", "RankingResult",
                 "IndicatorSpreadResult"):
        rests_on[name] = {table: {"counts": list(c.counts), "keys": list(c.keys),
                                  "margins": list(c.margins), "public": c.public}
                          for table, c in sorted(DECLARATIONS.get(name, {}).items())}
    own = OWN_INDICATOR_CELLS
    rests_on["own IVM score"] = {"own": {"counts": list(own.counts), "keys": list(own.keys),
                                         "margins": list(own.margins), "public": own.public}}
    return {**pages, "declarations": rests_on}


def _write_practice_only(cfg: ReportConfig, work: Path, progress: Progress,
                         tables: dict[str, pd.DataFrame], practice: str,
                         synthetic: bool) -> None:
    """``kbz-eval report --practice ID``: that practice's page and ``manifest.json``."""
    progress.step(f"practice page {practice}")
    pages = write_practice_pages(tables, cfg, work, practice=practice, synthetic=synthetic)
    progress.step("writing manifest.json")
    manifest = _manifest(cfg, work, {}, synthetic)
    manifest["disclosure"] = _disclosure_record({}, {}, cfg)
    manifest["analyses"] = []
    manifest["practice"] = practice
    manifest["practice_pages"] = _pages_record(pages)
    write_manifest(work / "manifest.json", manifest)


def _disclosure_record(results: dict[str, Result], sheets: dict[str, pd.DataFrame],
                       cfg: ReportConfig) -> dict[str, Any]:
    """The manifest's record of what every published table was declared to rest on."""
    tables: dict[str, Any] = {}
    for key, result in sorted(results.items()):
        specs = declarations(result)
        names = [s.partition(".")[2] for s in sheets if s.partition(".")[0] == key]
        files = {f"tables/{key}__{name}.csv": name for name in names}
        files[f"figures/{key}.csv"] = "plot_data"
        for path, name in sorted(files.items()):
            if name in specs:
                c = specs[name]
                tables[path] = {"counts": list(c.counts), "keys": list(c.keys),
                                "margins": list(c.margins),
                                "numerators": list(c.numerators),
                                "distribution": c.distribution, "public": c.public}
    return {"threshold": cfg.suppression_threshold,
            "method": "cell suppression: threshold rule, singleton-free lines along every "
                      "declared margin, linked tables, whole distributions "
                      "(kbz_eval.disclosure)",
            "tables": tables}


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


#: Open-data sections by aim (the rest are costs: aim 3).
OPEN_DATA_AIMS = {"overvecht_health": 2}


def report_date(language: str) -> str:
    """The report's date in ``language``: the day of ``SOURCE_DATE_EPOCH`` when set (for
    byte-identical rebuilds on another day), else today (UTC)."""
    import datetime as dt
    import os

    from babel.dates import format_date

    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        day = dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).date()
    else:
        day = dt.datetime.now(tz=dt.UTC).date()
    return format_date(day, format="long", locale="nl_NL" if language == "nl" else "en_GB")


def _facts(cfg: ReportConfig, synthetic: bool, tables: dict[str, pd.DataFrame]
           ) -> list[tuple[str, str]]:
    """Period, data source, date and version for the report's first screen."""
    from kbz_eval import __version__

    years = cfg.analysis.get("years")
    if years:
        period = f"{int(years[0])}–{int(years[1])}"
    elif "person_years" in tables and len(tables["person_years"]):
        y = tables["person_years"]["year"]
        period = f"{int(y.min())}–{int(y.max())}"
    else:
        period = "—"
    nl = cfg.language == "nl"
    if synthetic:
        source = ("synthetische steekproef van kbz_eval (geen echte personen)" if nl
                  else "the synthetic sample of kbz_eval (no real persons)")
    else:
        source = ", ".join(sorted({p.name for p in cfg.inputs.values()}))
    if _open_data_found(cfg):
        source += "; open data: Vektis, RIVM"
    return html_report.report_facts(language=cfg.language, period=period, source=source,
                                    date=report_date(cfg.language), version=__version__)


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
         f"'{disclosure.SUPPRESSED_LABEL[cfg.language]}'; when one cell of a group, year, "
         "role, practice or category is suppressed, the next smallest of that line is too "
         "(secondary suppression), linked tables are suppressed alike, and a distribution "
         "with a small category is withheld whole (see kbz_eval.disclosure)"),
        ("kbz_eval version", __version__),
    ]


def _open_data_found(cfg: ReportConfig) -> bool:
    """Whether the report will have its open-data step (the files are found)."""
    if cfg.open_data_folder is None:
        return False
    from kbz_eval.open_data.areas import available

    return all(available(cfg.open_data_folder).values())


def run_report(config: str | Path, out: str | Path, *, progress: bool | None = None,
               backend: str | None = None, practice: str | None = None) -> Path:
    """Run the configured report and write it to ``out``.

    Parameters
    ----------
    config
        Path of the report's TOML configuration (see :mod:`kbz_eval.report.config`).
    out
        Output folder: absent, empty, or a report folder kbz_eval wrote. It is replaced
        only when the whole run succeeds, in one step (see :mod:`kbz_eval.report.output`).
    progress
        Show progress (default: only in a terminal or Jupyter).
    backend
        Engine backend for the claims panel, overriding ``[engine] backend``:
        ``"duckdb"`` or ``"spark"``.
    practice
        Write only this practice's own page, ``practices/<id>.html`` (self-contained),
        and ``manifest.json``: what a practice manager is given. The practice results
        are still computed over all practices (its peers), but no other practice's
        page, no ``report.html``, tables or figures are written. Default: the whole
        report, with a page per practice (``practices/``, linked from ``report.html``)
        whenever the inputs hold the claims panel and the practices.

    Returns
    -------
    Path
        The output folder.

    Raises
    ------
    DataValidationError, IdentifierError, SpecificationError
        When an input or the configuration is not acceptable (the problems of all
        inputs at once), or ``practice`` is not a practice of the practices table (the
        message lists the known ids) or the inputs hold no claims panel; the previous
        report, if any, is left as it was.
    OutputFolderError
        When ``out`` is a file, a folder holding anything a kbz report did not write, or
        is or contains the working directory, the configuration or an input; raised
        before any work is done.
    ReportBusyError
        When another run is writing ``out``.
    KeyboardInterrupt
        On Ctrl-C, or :class:`~kbz_eval.report.output.Terminated` on SIGTERM; the
        staging folder is removed and ``out`` is left as it was.
    """
    from kbz_eval.report.output import ReportFolder

    cfg = load_config(config, backend=backend)
    if practice is not None and not (isinstance(practice, str) and practice):
        raise SpecificationError(
            f"The value for `practice` must be a practice id (a non-empty string), but "
            f"{practice!r} was passed.")
    if practice is not None and not pages_possible(cfg.inputs):
        raise SpecificationError(
            f"{cfg.path}: a practice page needs the claims panel (claim_lines and "
            "insured_periods, or person_years) and practices in [inputs]; the inputs are "
            f"{sorted(cfg.inputs)}.")
    full_inputs = dict(cfg.inputs)
    if practice is not None:  # a practice page reads only what it shows
        cfg = dataclasses.replace(cfg, inputs={
            t: p for t, p in cfg.inputs.items() if t in PAGE_INPUTS})
    protected = {
        "the working directory": Path.cwd(),
        "the configuration file": cfg.path,
        **{f"the input for '{t}'": p for t, p in full_inputs.items()},
        **{f"the mapping for '{t}'": p for t, p in cfg.mappings.items()},
    }
    if cfg.open_data_folder is not None:
        protected["the open data folder"] = cfg.open_data_folder
    input_folders = [p for p in full_inputs.values() if p.is_dir()]
    if cfg.open_data_folder is not None:
        input_folders.append(cfg.open_data_folder)
    folder = ReportFolder(out, protected=protected, input_folders=input_folders)
    pages = pages_possible(cfg.inputs)
    if practice is not None:  # reading, the panel (on the engine), the page, the manifest
        n_steps = len(cfg.inputs) + 2 + int(uses_engine(cfg))
    else:
        n_steps = len(cfg.inputs) + 2 + int(pages) + int(_open_data_found(cfg)) + sum(
            all(n in cfg.inputs or n == "person_years" for n in a.needs)
            for a in ANALYSES)
    tracker = Progress(n_steps, enabled=progress)
    with folder:
        assert folder.work is not None
        if practice is None:
            _build(cfg, folder.work, tracker)
        else:
            _build(cfg, folder.work, tracker, practice=practice)
        folder.commit()
    tracker.finish()
    return Path(out)
