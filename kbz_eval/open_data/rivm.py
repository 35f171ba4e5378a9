"""RIVM/CBS/GGD health-monitor small-area estimates (StatLine 50090NED) as a tidy table.

The table "Gezondheid per wijk en buurt; 2012/2016/2020" gives model-based estimates
(percent of adults) for the country (``NL01``), every municipality (``GM....``), district
(*wijk*, ``WK......``) and neighbourhood (*buurt*, ``BU........``), on the 2019/2020
regional classification in all three years. Age groups: 18+ (``Leeftijd`` 20300),
18–64 (53115; file tag ``18_65``) and 65+ (80200). Only point estimates are published
(``Marges = MW00000``): no numbers of respondents, no margins. Values are text with
leading spaces in the spreadsheet export (``"    76.1"``); indicators not measured in a
year are empty (e.g. the exercise guideline in 2012). Every row carries the name of its
municipality (``Gemeentenaam_1``, e.g. ``'s-Gravenhage`` on the rows of its districts
too) but districts and neighbourhoods are not named; labels for readers come from
:func:`~kbz_eval.open_data.vektis.display_name` (``WK034403`` -> "Overvecht").
"""

from __future__ import annotations

import html
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from kbz_eval.errors import DataValidationError, SpecificationError, Violation
from kbz_eval.open_data.download import RIVM_AGE_GROUPS, RIVM_YEARS, rivm_path

#: The Aim 2 indicators: our name -> StatLine column.
HEALTH_INDICATORS = {
    "good_health": "ErvarenGezondheidGoedZeerGoed_4",
    "exercise_guideline": "VoldoetAanBeweegrichtlijn_5",
    "financial_strain": "MoeiteMetRondkomen_38",
    "loneliness": "Eenzaam_28",
}
#: Plain-language labels of the Aim 2 indicators.
INDICATOR_LABELS = {
    "good_health": "good or very good self-rated health (%)",
    "exercise_guideline": "meets the exercise guideline (%)",
    "financial_strain": "difficulty making ends meet (%)",
    "loneliness": "lonely (%)",
}
AREA_TYPES = {"Land": "country", "Gemeente": "municipality", "Wijk": "district",
              "Buurt": "neighbourhood"}
_ID_COLUMNS = ("ID", "Leeftijd", "Marges", "WijkenEnBuurten", "Perioden", "Gemeentenaam_1",
               "SoortRegio_2", "Codering_3")
_AGE_BY_CODE = {code: label for label, (code, _) in RIVM_AGE_GROUPS.items()}
_CACHE: dict[tuple, pd.DataFrame] = {}


_CELL_RE = re.compile(
    rb'<c r="([A-Z]+)(\d+)"([^>]*?)(?:/>|>(?:<f[^>]*>[^<]*</f>)?(?:<v>([^<]*)</v>)?'
    rb"(?:<is>(.*?)</is>)?</c>)", re.S)
_T_RE = re.compile(rb"<t[^>]*>(.*?)</t>", re.S)


def _col_index(letters: bytes) -> int:
    idx = 0
    for ch in letters:
        idx = idx * 26 + (ch - 64)
    return idx - 1


def _text(fragment: bytes) -> str:
    return html.unescape(b"".join(_T_RE.findall(fragment)).decode("utf-8"))


def _read_xlsx_fast(path: Path) -> pd.DataFrame:
    """The first worksheet of a plain .xlsx export, read with regular expressions.

    StatLine exports are flat tables (shared strings and numbers, no formulas), which
    this reads several times faster than openpyxl; the caller falls back to openpyxl on
    anything unexpected.
    """
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        sheets = sorted((n for n in names if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)),
                        key=lambda n: int(re.findall(r"\d+", n)[-1]))
        strings: list[str] = []
        if "xl/sharedStrings.xml" in names:
            raw = z.read("xl/sharedStrings.xml")
            strings = [_text(si) for si in re.findall(rb"<si>(.*?)</si>", raw, re.S)]
        sheet = z.read(sheets[0])
    cells = _CELL_RE.findall(sheet)
    if not cells:
        raise ValueError("no cells")
    letters, rows, attrs, vs, inline = zip(*cells, strict=True)
    col_of = {c: _col_index(c) for c in set(letters)}
    cols = np.fromiter((col_of[c] for c in letters), dtype=np.int64, count=len(cells))
    rows = np.array(rows, dtype="S12").astype(np.int64) - 1
    shared = np.fromiter((b't="s"' in a for a in attrs), dtype=bool, count=len(cells))
    is_inline = np.fromiter((b't="inlineStr"' in a for a in attrs), dtype=bool,
                            count=len(cells))
    values = np.empty(len(cells), dtype=object)
    has_v = np.fromiter((v != b"" for v in vs), dtype=bool, count=len(cells))
    pick = shared & has_v
    if pick.any():
        idx = np.array([vs[i] for i in np.flatnonzero(pick)], dtype="S12").astype(np.int64)
        values[pick] = np.asarray(strings, dtype=object)[idx]
    other = ~shared & has_v
    values[other] = [html.unescape(vs[i].decode("utf-8")) for i in np.flatnonzero(other)]
    for i in np.flatnonzero(is_inline):
        values[i] = _text(inline[i])
    grid = np.full((int(rows.max()) + 1, int(cols.max()) + 1), None, dtype=object)
    grid[rows, cols] = values
    header = [str(h).strip() if h is not None else "" for h in grid[0]]
    body = grid[1:]
    keep = (body != None).any(axis=1)  # noqa: E711 (element-wise comparison)
    return pd.DataFrame(body[keep], columns=header, dtype=object)


def _read_sheet(path: Path) -> pd.DataFrame:
    if path.suffix.lower() == ".csv":
        return pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)
    try:
        return _read_xlsx_fast(path)
    except (KeyError, IndexError, ValueError, zipfile.BadZipFile, UnicodeDecodeError):
        pass
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = wb.worksheets[0].iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows)]
        data = [r for r in rows if any(v is not None for v in r)]
    finally:
        wb.close()
    return pd.DataFrame(data, columns=header, dtype=object)


def read_rivm_file(path: str | Path) -> pd.DataFrame:
    """Read one 50090NED export (``.xlsx`` from StatLine or ``.csv`` from :func:`download`).

    Returns
    -------
    DataFrame
        Long: ``year, area_code, area_type, municipality, age_group, margin, measure,
        value`` (percent; missing estimates dropped).

    Raises
    ------
    DataValidationError
        When identifying columns are missing or labels are unknown.
    """
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _CACHE:
        return _CACHE[key].copy()
    raw = _read_sheet(path)
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in ("Leeftijd", "Marges", "WijkenEnBuurten", "Perioden",
                           "SoortRegio_2") if c not in raw.columns]
    if missing:
        raise DataValidationError(str(path), "rivm_health",
                                  [Violation(",".join(missing), "required column")])
    txt = {c: raw[c].astype("object").where(raw[c].notna(), "").astype(str).str.strip()
           for c in ("Leeftijd", "Marges", "WijkenEnBuurten", "Perioden", "SoortRegio_2")}
    name = (raw["Gemeentenaam_1"].astype("object").where(raw["Gemeentenaam_1"].notna(), "")
            .astype(str).str.strip() if "Gemeentenaam_1" in raw.columns else "")
    violations = []
    years = txt["Perioden"].str.slice(0, 4)
    if not years.str.fullmatch(r"\d{4}").all():
        bad = int((~years.str.fullmatch(r"\d{4}")).sum())
        violations.append(Violation("Perioden", "YYYYJJ00", bad))
    ages = txt["Leeftijd"].map(_AGE_BY_CODE)
    if ages.isna().any():
        violations.append(Violation("Leeftijd", f"one of {sorted(_AGE_BY_CODE)}",
                                    int(ages.isna().sum()),
                                    values=tuple(txt["Leeftijd"][ages.isna()].unique()[:5])))
    kinds = txt["SoortRegio_2"].map(AREA_TYPES)
    if kinds.isna().any():
        violations.append(Violation("SoortRegio_2", f"one of {sorted(AREA_TYPES)}",
                                    int(kinds.isna().sum()),
                                    values=tuple(txt["SoortRegio_2"][kinds.isna()].unique()[:5])))
    if violations:
        raise DataValidationError(str(path), "rivm_health", violations)
    measures = [c for c in raw.columns if c not in _ID_COLUMNS and c]
    ids = pd.DataFrame({
        "year": years.astype("int64").to_numpy(),
        "area_code": txt["WijkenEnBuurten"].to_numpy(),
        "area_type": kinds.to_numpy(),
        "municipality": np.asarray(name) if not isinstance(name, str) else name,
        "age_group": ages.to_numpy(),
        "margin": txt["Marges"].to_numpy(),
    })
    values = raw[measures].astype("object").where(raw[measures].notna(), "")
    values = values.apply(lambda s: pd.to_numeric(s.astype(str).str.strip().replace(
        {"": np.nan, ".": np.nan}), errors="coerce"))
    wide = pd.concat([ids, values.reset_index(drop=True)], axis=1)
    long = wide.melt(id_vars=list(ids.columns), value_vars=measures, var_name="measure",
                     value_name="value")
    long = long[long["value"].notna()].reset_index(drop=True)
    for col in ("area_code", "area_type", "municipality", "age_group", "margin", "measure"):
        long[col] = long[col].astype("category")
    long.attrs["measures"] = list(measures)
    _CACHE[key] = long
    return long.copy()


def rivm_health(years: int | Iterable[int] | None = None, folder: str | Path | None = None,
                *, age_groups: Iterable[str] = ("18+",),
                measures: Iterable[str] | None = None,
                area_codes: Iterable[str] | None = None) -> pd.DataFrame:
    """Read RIVM health-monitor small-area estimates into one tidy long table.

    Parameters
    ----------
    years
        Any of 2012, 2016, 2020 (default all three).
    folder
        Folder holding ``rivm/``; when ``None`` see
        :func:`kbz_eval.open_data.download.candidate_folders`.
    age_groups
        ``"18+"`` (default), ``"18-64"`` (2012 and 2016 only in the shared copy),
        ``"65+"``.
    measures
        StatLine columns or Aim 2 names (:data:`HEALTH_INDICATORS`); default all 35.
    area_codes
        Keep only these regions (e.g. ``["NL01", "GM0344", "WK034403"]``).

    Returns
    -------
    DataFrame
        ``year, area_code, area_type`` (``country``/``municipality``/``district``/
        ``neighbourhood``), ``municipality`` (name), ``age_group``, ``margin``
        (``MW00000`` = point estimate, the only one published), ``measure`` (StatLine
        column), ``indicator`` (Aim 2 name or the StatLine column), ``value`` (percent).
        There is no sex split in this table.

    Raises
    ------
    OpenDataNotFoundError
        A file is missing (the message says where it looked and how to download).

    Notes
    -----
    The estimates come from a small-area model (RIVM, fitted on the GGD health monitor
    and register data); they carry model uncertainty that the open table does not
    publish. Source: RIVM/CBS/GGD'en, StatLine 50090NED.
    """
    if years is None:
        years = list(RIVM_YEARS)
    elif isinstance(years, (int, np.integer)):
        years = [int(years)]
    years = sorted({int(y) for y in years})
    unknown = [y for y in years if y not in RIVM_YEARS]
    if unknown:
        raise SpecificationError(
            f"The value for `years` must be among {list(RIVM_YEARS)}, but {unknown} was passed."
        )
    wanted = None
    if measures is not None:
        wanted = [HEALTH_INDICATORS.get(m, m) for m in measures]
    parts = []
    columns: set[str] = set()
    for year in years:
        for age in age_groups:
            part = read_rivm_file(rivm_path(year, age, folder=folder))
            columns |= set(part.attrs.get("measures", []))
            part = part[(part["year"] == year) & (part["age_group"] == age)]
            if wanted is not None:
                part = part[part["measure"].isin(wanted)]
            if area_codes is not None:
                part = part[part["area_code"].isin(list(area_codes))]
            parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    for col in ("area_code", "area_type", "municipality", "age_group", "margin", "measure"):
        out[col] = out[col].astype("category")  # categories differ between files
    if wanted is not None:
        absent = sorted(set(wanted) - columns)
        if absent:
            raise SpecificationError(f"Measure(s) {absent} are not in the RIVM files.")
    names = {v: k for k, v in HEALTH_INDICATORS.items()}
    measure = out["measure"].astype(str)
    out["indicator"] = measure.map(names).fillna(measure).astype("category")
    out = out[["year", "area_code", "area_type", "municipality", "age_group", "margin",
               "measure", "indicator", "value"]]
    out.attrs = {}
    return out
