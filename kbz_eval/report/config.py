"""The report configuration (TOML), validated once at the boundary.

Example (``kbz.toml`` at the repository root runs the embedded synthetic sample)::

    [report]
    title = "Krachtige basiszorg — Overvecht (synthetic sample)"
    language = "en"               # "en" or "nl"
    suppression_threshold = 10    # smallest number of persons a published cell may rest on
    on_error = "raise"            # or "drop": drop bad rows and report them
    workers = 2                   # processes: figures and open data beside the analyses

    [inputs]                      # table name -> file (relative to this file)
    practices = "data/sample/practices.csv"
    claim_lines = "data/sample/claim_lines.parquet"

    [mappings]                    # optional: table name -> mapping TOML file
    # person_years = "mappings/insurer_x.toml"

    [groups]                      # optional: override practices.group
    # kbz = ["OV01", "OV03"]
    # control = ["OV02"]

    [analysis]
    years = [2012, 2016]
    base_year = 2012
    extra_financing_eur = 60000
    bootstrap_replicates = 999
    seed = 20140101
    inference = "practice"        # or "person": persons only — ignores practice variation
    practice_method = "wild"      # or "cr2" (analytic, Satterthwaite df)

    [primary]                     # optional: the primary outcome per aim ("analysis:term")
    # aim3 = "savings_minima:saving_per_person"

    [practice_pages]              # optional: the page per practice (practices/*.html)
    label_others = false          # true: name the other practices on every page too

    [engine]                      # optional: where claim lines become the panel
    backend = "duckdb"            # "duckdb" (embedded, default) or "spark" (local PySpark)
    memory_limit = "3GB"          # DuckDB: beyond it, work spills to temp_directory
    threads = 2                   # DuckDB worker threads (default: all cores)
    temp_directory = "/scratch"   # DuckDB spill folder (default: the system temp folder)
    spark_master = "local[*]"     # Spark: "local[N]" executor threads, or a cluster's
                                  # "spark://host:7077" (default local[*])

Claim lines and insured periods may be a file, a folder or a glob of Parquet/CSV files;
they are validated and turned into the panel by the engine, never read into pandas.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kbz_eval.errors import SpecificationError
from kbz_eval.stats.options import check_option
from kbz_eval.tables import TABLES

LANGUAGES = ("en", "nl")
_SECTIONS = {"report", "inputs", "mappings", "analysis", "groups", "primary", "engine",
             "practice_pages"}
_PRACTICE_PAGE_KEYS = {"label_others"}
_ENGINE_KEYS = {"backend", "memory_limit", "threads", "temp_directory", "spark_master"}
#: Engine backend names accepted in ``[engine] backend`` and ``--backend``.
BACKEND_NAMES = {"duckdb": "duckdb", "spark": "pyspark", "pyspark": "pyspark"}
#: Tables the engine reads straight from their files (file, folder or glob).
ENGINE_TABLES = ("claim_lines", "insured_periods")
_REPORT_KEYS = {"title", "language", "suppression_threshold", "on_error", "workers"}
_ANALYSIS_KEYS = {
    "years", "base_year", "savings_year", "ggz_base_year", "ggz_follow_year",
    "extra_financing_eur", "bootstrap_replicates", "seed", "population", "area",
    "reference_area", "open_data_folder", "inference", "practice_method",
}

#: The primary outcome of each aim (``"analysis key:term"``): the overview leads with
#: it, and every other test of its analysis is secondary (Holm-adjusted ``p_adjusted``).
#: ``[primary]`` in the configuration overrides any of them (keys ``aim1`` ... ``aim4``).
DEFAULT_PRIMARY = {
    "aim1": "cvg_trajectory:change_3_vs_1",
    "aim2": "population_health:difference_in_change:good_self_rated_health",
    "aim3": "savings_minima:saving_per_person",
    "aim4": "workforce_change:job_satisfaction:difference_wave_3:kbz-control",
}


@dataclass(frozen=True)
class EngineConfig:
    """The ``[engine]`` options (see the module docstring).

    Attributes
    ----------
    backend
        ``"duckdb"`` or ``"pyspark"``.
    memory_limit, threads, temp_directory
        DuckDB settings; ``None`` leaves DuckDB's defaults.
    spark_master
        The Spark master URL for ``backend = "spark"`` (``local[*]``, ``local[2]``,
        ``spark://host:7077``).
    """

    backend: str = "duckdb"
    memory_limit: str | None = None
    threads: int | None = None
    temp_directory: Path | None = None
    spark_master: str = "local[*]"


@dataclass(frozen=True)
class PracticePagesConfig:
    """The ``[practice_pages]`` options.

    Attributes
    ----------
    label_others
        Name the other practices on every practice's page too (default ``False``: a
        page names only its own practice; the others are drawn unlabelled).
    """

    label_others: bool = False


@dataclass(frozen=True)
class ReportConfig:
    """A validated report configuration.

    Attributes
    ----------
    path
        The TOML file it came from (inputs are resolved relative to its folder).
    title, language, suppression_threshold
        From ``[report]``; the threshold is never below 5.
    workers
        From ``[report]``: processes the report runs in. With 2 or more, figures are
        saved and the open data computed in worker processes beside the analyses (the
        files are the same); 1 keeps everything in one process. Default: 2 when the
        machine has at least 2 cores, else 1.
    inputs
        Table name → resolved input path.
    mappings
        Table name → resolved mapping file.
    analysis
        The ``[analysis]`` options as given.
    raw
        The parsed TOML, recorded in ``manifest.json``.
    """

    path: Path
    title: str
    language: str
    suppression_threshold: int
    inputs: dict[str, Path]
    on_error: str = "raise"
    workers: int = 1
    open_data_folder: Path | None = None
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    mappings: dict[str, Path] = field(default_factory=dict)
    analysis: dict[str, Any] = field(default_factory=dict)
    primary: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PRIMARY))
    raw: dict[str, Any] = field(default_factory=dict)
    engine: EngineConfig = field(default_factory=EngineConfig)
    practice_pages: PracticePagesConfig = field(default_factory=PracticePagesConfig)

    def primary_term(self, analysis_key: str) -> str | None:
        """The declared primary term of analysis ``analysis_key``, if an aim names it."""
        for value in self.primary.values():
            key, _, term = value.partition(":")
            if key == analysis_key:
                return term
        return None


def _unknown(keys: set[str], allowed: set[str], where: str, path: Path) -> None:
    extra = sorted(keys - allowed)
    if extra:
        raise SpecificationError(
            f"{path}: unknown key(s) {extra} in {where}; allowed: {sorted(allowed)}."
        )


def _engine(raw: dict[str, Any], base: Path, path: Path, backend: str | None) -> EngineConfig:
    """The validated ``[engine]`` section; ``backend`` (from the command line) wins."""
    section = raw.get("engine", {})
    _unknown(set(section), _ENGINE_KEYS, "[engine]", path)
    name = backend if backend is not None else section.get("backend", "duckdb")
    if name not in BACKEND_NAMES:
        raise SpecificationError(
            f"{path}: the engine backend must be one of {sorted(BACKEND_NAMES)}, but "
            f"{name!r} was passed.")
    threads = section.get("threads")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                or threads < 1):
        raise SpecificationError(
            f"{path}: [engine] threads must be a positive integer, but {threads!r} was "
            "passed.")
    memory = section.get("memory_limit")
    if memory is not None and not (isinstance(memory, str) and memory.strip()[:1].isdigit()):
        raise SpecificationError(
            f"{path}: [engine] memory_limit must be a size such as \"3GB\", but {memory!r} "
            "was passed.")
    temp = section.get("temp_directory")
    master = section.get("spark_master", "local[*]")
    if not (isinstance(master, str) and re.fullmatch(
            r"local(\[(\*|[1-9][0-9]*)\])?|(spark|yarn|k8s)(://\S+)?", master.strip())):
        raise SpecificationError(
            f"{path}: [engine] spark_master must be a Spark master URL such as "
            f"\"local[2]\" or \"spark://host:7077\", but {master!r} was passed.")
    return EngineConfig(backend=BACKEND_NAMES[name], memory_limit=memory, threads=threads,
                        temp_directory=(base / temp).resolve() if temp else None,
                        spark_master=master.strip())


def _practice_pages(raw: dict[str, Any], path: Path) -> PracticePagesConfig:
    """The validated ``[practice_pages]`` section."""
    section = raw.get("practice_pages", {})
    _unknown(set(section), _PRACTICE_PAGE_KEYS, "[practice_pages]", path)
    label = section.get("label_others", False)
    if not isinstance(label, bool):
        raise SpecificationError(
            f"{path}: the value for [practice_pages] `label_others` must be one of "
            f"[true, false], but {label!r} was passed.")
    return PracticePagesConfig(label_others=label)


def _input_path(base: Path, rel: str, table: str) -> tuple[Path, str | None]:
    """An input's resolved path (the engine's tables may also be a glob), and why it
    cannot be found (``None`` when it exists)."""
    p = (base / rel).resolve() if not any(ch in rel for ch in "*?[") else base / rel
    if table in ENGINE_TABLES and not p.exists():
        from kbz_eval.engine.sources import resolve_files

        try:
            resolve_files(str(p))
            return p, None
        except SpecificationError as exc:
            return p, f"input for '{table}' not found: {exc}"
    if not p.exists():
        return p, f"input for '{table}' not found: {p}"
    return p, None


def _raise_missing(missing: list[str], path: Path) -> None:
    """One error naming every missing input and mapping of the configuration."""
    if len(missing) == 1:
        raise FileNotFoundError(f"{path}: {missing[0]}")
    if missing:
        raise FileNotFoundError(
            f"{path}: {len(missing)} files named in the configuration are not found:\n"
            + "\n".join(f"  - {m}" for m in missing))


def load_config(path: str | Path, *, backend: str | None = None) -> ReportConfig:
    """Read and validate a report configuration file.

    Parameters
    ----------
    path
        The TOML file.
    backend
        Engine backend overriding ``[engine] backend`` (``--backend`` on the command
        line): ``"duckdb"`` or ``"spark"``.

    Returns
    -------
    ReportConfig

    Raises
    ------
    FileNotFoundError
        If the file does not exist, or inputs or mappings it names do not (all of
        them are listed in one message).
    SpecificationError
        On an unknown section, key, table, language, or a threshold below 5.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"report configuration not found: {path}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecificationError(f"{path}: not valid TOML: {exc}") from None
    _unknown(set(raw), _SECTIONS, "the top level", path)
    report = raw.get("report", {})
    _unknown(set(report), _REPORT_KEYS, "[report]", path)
    analysis = raw.get("analysis", {})
    _unknown(set(analysis), _ANALYSIS_KEYS, "[analysis]", path)

    language = report.get("language", "en")
    if language not in LANGUAGES:
        raise SpecificationError(
            f"{path}: the value for `language` must be one of {list(LANGUAGES)}, "
            f"but {language!r} was passed."
        )
    threshold = report.get("suppression_threshold", 10)
    if not isinstance(threshold, int) or threshold < 5:
        raise SpecificationError(
            f"{path}: `suppression_threshold` must be an integer of at least 5 "
            f"(published cells never rest on fewer persons), but {threshold!r} was passed."
        )

    workers = report.get("workers", 2 if (os.cpu_count() or 1) >= 2 else 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 64:
        raise SpecificationError(
            f"{path}: [report] workers must be an integer from 1 to 64 (processes the "
            f"report runs in), but {workers!r} was passed.")

    on_error = report.get("on_error", "raise")
    if on_error not in ("raise", "drop"):
        raise SpecificationError(
            f"{path}: the value for `on_error` must be one of ['raise', 'drop'], "
            f"but {on_error!r} was passed."
        )

    base = path.parent
    inputs: dict[str, Path] = {}
    missing: list[str] = []  # every missing input and mapping, reported together
    for table, rel in raw.get("inputs", {}).items():
        if table not in TABLES:
            raise SpecificationError(
                f"{path}: [inputs] names table {table!r}; known tables: {sorted(TABLES)}."
            )
        inputs[table], problem = _input_path(base, str(rel), table)
        if problem:
            missing.append(problem)
    if not inputs:
        raise SpecificationError(f"{path}: [inputs] names no input files.")
    mappings = {}
    for table, rel in raw.get("mappings", {}).items():
        if table not in inputs:
            raise SpecificationError(
                f"{path}: [mappings] names {table!r}, which is not in [inputs]."
            )
        p = (base / rel).resolve()
        if not p.is_file():
            missing.append(f"mapping for '{table}' not found: {p}")
        mappings[table] = p
    _raise_missing(missing, path)
    groups = raw.get("groups", {})
    _unknown(set(groups), {"kbz", "control"}, "[groups]", path)
    for name, ids in groups.items():
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise SpecificationError(
                f"{path}: [groups] {name} must be a list of practice ids (strings).")
    both = sorted(set(groups.get("kbz", [])) & set(groups.get("control", [])))
    if both:
        raise SpecificationError(f"{path}: practices in both [groups] kbz and control: {both}.")
    for key in ("inference", "practice_method"):
        if key in analysis:
            try:
                check_option(key, analysis[key])
            except SpecificationError as exc:
                raise SpecificationError(f"{path}: [analysis] {exc}") from None
    primary = raw.get("primary", {})
    _unknown(set(primary), set(DEFAULT_PRIMARY), "[primary]", path)
    for aim, value in primary.items():
        if not isinstance(value, str) or ":" not in value:
            raise SpecificationError(
                f"{path}: [primary] {aim} must be \"analysis key:term\" (e.g. "
                f"{DEFAULT_PRIMARY[aim]!r}), but {value!r} was passed.")
    open_data = analysis.get("open_data_folder")
    open_data_folder = (base / open_data).resolve() if open_data else None
    return ReportConfig(
        path=path,
        title=str(report.get("title", "Krachtige basiszorg evaluation")),
        language=language,
        suppression_threshold=threshold,
        inputs=dict(sorted(inputs.items())),
        on_error=on_error,
        workers=workers,
        open_data_folder=open_data_folder,
        groups={k: tuple(v) for k, v in sorted(groups.items())},
        mappings=mappings,
        analysis=analysis,
        primary={**DEFAULT_PRIMARY, **primary},
        raw=raw,
        engine=_engine(raw, base, path, backend),
        practice_pages=_practice_pages(raw, path),
    )
