"""Vektis "Open Databestand Zorgverzekeringswet" per municipality, read into a tidy table.

Vektis publishes every year the costs paid under the Dutch basic health insurance
(Zorgverzekeringswet, Zvw) for all insured, per municipality × sex × five-year age class:
the number of insured persons (``aantal_bsn``), insured years
(``aantal_verzekerdejaren``) and one ``kosten_*`` column in euro per cost type.

The files change from year to year; :func:`vektis` handles every known quirk:

- **GGZ columns.** 2011–2013 ``tweedelijns_ggz`` and ``eerstelijns_psychologische_zorg``;
  the 2014 GGZ reform renames them ``specialistische_ggz`` and
  ``generalistische_basis_ggz``; ``langdurige_ggz`` is added in 2015 (long-term mental
  health care moved into the Zvw); ``innovatiegelden_ggz`` in 2021; from 2022 (the GGZ
  payment reform, *zorgprestatiemodel*) the split is ``consulten_ggz``,
  ``intramuraal_verblijf_ggz`` and ``overige_prestaties_ggz``. All of them form the
  harmonised cost group ``ggz``; rows from 2022 carry ``ggz_break = True`` because the
  specialist/basic split cannot be carried across the reform (the sub-groups
  ``ggz_specialist`` and ``ggz_basic`` end in 2021).
- **Column names** are upper-case up to 2018 and lower-case from 2019; three are cut to
  32 characters in 2023 (``kosten_medisch_specialistische_z``,
  ``kosten_paramedische_zorg_fysioth``, ``kosten_geriatrische_revalidatiez``): every
  name is lower-cased and cut names are restored (:data:`TRUNCATED_NAMES`).
- **The rest row** (empty sex, age class and municipality: groups under 10 persons and
  unknown characteristics) is kept, flagged ``rest = True`` with an empty
  municipality, and never added to an area. National figures in kbz_eval are sums over
  municipalities, rest row excluded.
- **Encoding**: UTF-8, except the original 2015 release (cp1252, e.g. ``SÚDWEST-FRYSLÂN``);
  the reader tries UTF-8 and falls back to cp1252.
- **Names**: ``S GRAVENHAGE`` for Den Haag (``'S-GRAVENHAGE`` in the original 2015
  release); :func:`find_municipality` resolves everyday spellings. Tables keep the
  published spelling as the key; what readers see comes from :func:`display_name`
  ("Den Haag", "Utrecht", "Netherlands", "Overvecht" for ``WK034403``).
- **Age classes** such as ``" 5 t/m  9 jaar"`` (double space) become ``"5-9"``
  (:data:`kbz_eval.tables.AGE_BANDS`); sex ``V`` becomes ``F``.
- **No codes, some negative cells**: the files carry municipality names only (no CBS
  ``GM`` codes), so ``municipality`` is the published name; a few cost cells are
  negative (insurers' corrections) and are kept as published.
- **Boundaries**: the 2011–2018 files use the municipal boundaries of 2020, the 2019 file
  those of 2021, 2020–2021 those of 2022 and 2022–2023 those of 2024/2025 (publisher's
  metadata). ``boundaries="latest"`` adds merged municipalities into their 2025
  successor in every year (:data:`MERGERS`), so a series is on one territory (e.g.
  Amsterdam includes Weesp in every year). Haaren (split in 2021 over Boxtel,
  Oisterwijk, Tilburg and Vught) cannot be allocated and stays a unit of its own that
  ends in 2018.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kbz_eval.errors import DataValidationError, SpecificationError, Violation
from kbz_eval.open_data.download import VEKTIS_YEARS, vektis_path
from kbz_eval.tables import AGE_BANDS

#: Measure names of the two insured counts.
INSURED_PERSONS = "aantal_bsn"
INSURED_YEARS = "aantal_verzekerdejaren"
#: First year of the GGZ payment reform (new GGZ columns; ``ggz_break`` is True from here).
GGZ_BREAK_YEAR = 2022

#: Harmonised cost groups (code -> English label).
COST_GROUPS = {
    "msz": "medical-specialist care",
    "gp": "GP care",
    "ggz": "mental health care (GGZ)",
    "pharmacy": "pharmacy",
    "medical_aids": "medical aids",
    "dental": "dental care",
    "paramedical": "paramedical care",
    "patient_transport": "patient transport",
    "maternity": "maternity and obstetric care",
    "cross_border": "care abroad",
    "first_line_support": "first-line support",
    "geriatric_rehab": "geriatric rehabilitation",
    "district_nursing": "district nursing",
    "first_line_stay": "first-line stay",
    "gzsp": "care for specific patient groups (GZSP)",
    "other": "other",
}
#: Derived groups: ``total`` (every cost column) and the GGZ sub-groups (until 2021).
DERIVED_GROUPS = {
    "total": "total (all cost columns)",
    "ggz_specialist": "specialist GGZ (2011-2013 second-line, 2014-2021 specialist; ends 2021)",
    "ggz_basic": "basic GGZ (2011-2013 first-line psychology, 2014-2021 generalist basic; "
                 "ends 2021)",
    "ggz_long_term": "long-term GGZ (2015-2021)",
}


@dataclass(frozen=True)
class CostColumn:
    """One Vektis cost column and where it goes.

    Attributes
    ----------
    name
        Canonical name: lower-case, full length (as in 2019–2022).
    group
        Harmonised cost group (:data:`COST_GROUPS`).
    first_year, last_year
        Years the column is published (``last_year`` ``None``: still published).
    ggz_sub
        GGZ sub-group (``ggz_specialist``, ``ggz_basic``, ``ggz_long_term``) or ``None``.
    """

    name: str
    group: str
    first_year: int
    last_year: int | None = None
    ggz_sub: str | None = None

    def published(self, year: int) -> bool:
        """Whether the column is in the file of ``year``."""
        return self.first_year <= year and (self.last_year is None or year <= self.last_year)


#: The harmonisation table: every cost column of 2011–2023, its years and cost group.
COST_COLUMNS: tuple[CostColumn, ...] = (
    CostColumn("kosten_medisch_specialistische_zorg", "msz", 2011),
    CostColumn("kosten_farmacie", "pharmacy", 2011),
    # GGZ: renamed by the 2014 reform, re-split by the 2022 payment reform
    CostColumn("kosten_tweedelijns_ggz", "ggz", 2011, 2013, "ggz_specialist"),
    CostColumn("kosten_eerstelijns_psychologische_zorg", "ggz", 2011, 2013, "ggz_basic"),
    CostColumn("kosten_specialistische_ggz", "ggz", 2014, 2021, "ggz_specialist"),
    CostColumn("kosten_generalistische_basis_ggz", "ggz", 2014, 2021, "ggz_basic"),
    CostColumn("kosten_langdurige_ggz", "ggz", 2015, 2021, "ggz_long_term"),
    CostColumn("kosten_innovatiegelden_ggz", "ggz", 2021),
    CostColumn("kosten_consulten_ggz", "ggz", 2022),
    CostColumn("kosten_intramuraal_verblijf_ggz", "ggz", 2022),
    CostColumn("kosten_overige_prestaties_ggz", "ggz", 2022),
    # GP care
    CostColumn("kosten_huisarts_inschrijftarief", "gp", 2011),
    CostColumn("kosten_huisarts_consult", "gp", 2011),
    CostColumn("kosten_huisarts_mdz", "gp", 2015),
    CostColumn("kosten_huisarts_overig", "gp", 2011),
    # the rest
    CostColumn("kosten_hulpmiddelen", "medical_aids", 2011),
    CostColumn("kosten_mondzorg", "dental", 2011),
    CostColumn("kosten_paramedische_zorg_fysiotherapie", "paramedical", 2011),
    CostColumn("kosten_paramedische_zorg_overig", "paramedical", 2011),
    CostColumn("kosten_ziekenvervoer_zittend", "patient_transport", 2011),
    CostColumn("kosten_ziekenvervoer_liggend", "patient_transport", 2011),
    CostColumn("kosten_kraamzorg", "maternity", 2011),
    CostColumn("kosten_verloskundige_zorg", "maternity", 2011),
    CostColumn("kosten_integrale_geboortezorg", "maternity", 2021),
    CostColumn("kosten_grensoverschrijdende_zorg", "cross_border", 2011),
    CostColumn("kosten_eerstelijns_ondersteuning", "first_line_support", 2011),
    CostColumn("kosten_geriatrische_revalidatiezorg", "geriatric_rehab", 2013),
    CostColumn("kosten_verpleging_en_verzorging", "district_nursing", 2015),
    CostColumn("kosten_eerstelijnsverblijf", "first_line_stay", 2018),
    CostColumn("kosten_gzsp", "gzsp", 2020),
    CostColumn("kosten_overig", "other", 2011),
)
_BY_NAME = {c.name: c for c in COST_COLUMNS}
#: Every measure of the tidy table, in file order (counts first).
MEASURES = (INSURED_PERSONS, INSURED_YEARS, *(c.name for c in COST_COLUMNS))

#: Names cut to 32 characters in the 2023 file -> full name.
TRUNCATED_NAMES = {
    "kosten_medisch_specialistische_z": "kosten_medisch_specialistische_zorg",
    "kosten_paramedische_zorg_fysioth": "kosten_paramedische_zorg_fysiotherapie",
    "kosten_geriatrische_revalidatiez": "kosten_geriatrische_revalidatiezorg",
}

#: Where a group's definition changes (year -> why); the year is the first one of the
#: new definition. Shown with every cost series.
SERIES_BREAKS: dict[str, dict[int, str]] = {
    "total": {
        2013: "geriatric rehabilitation enters the Zvw",
        2015: "district nursing and long-term GGZ move into the Zvw (from the AWBZ)",
        2018: "first-line stay appears as a column",
        2020: "GZSP enters the Zvw",
        2022: "GGZ payment reform (zorgprestatiemodel)",
    },
    "ggz": {
        2014: "GGZ reform: second-line -> specialist GGZ, first-line psychology -> "
              "generalist basic GGZ",
        2015: "long-term GGZ moves into the Zvw",
        2022: "GGZ payment reform: new split (consultations / inpatient stay / other)",
    },
    "ggz_specialist": {2014: "GGZ reform (renamed and re-scoped)"},
    "ggz_basic": {2014: "GGZ reform (renamed and re-scoped)"},
    "gp": {2015: "multidisciplinary care (huisarts_mdz) appears as a column"},
    "maternity": {2021: "integrated birth care appears as a column"},
}

#: Municipal mergers after 2020 (the boundaries of the 2011–2018 files) up to 2025:
#: old name (as in the files) -> successor. Used by ``boundaries="latest"``.
MERGERS = {
    "APPINGEDAM": "EEMSDELTA", "DELFZIJL": "EEMSDELTA", "LOPPERSUM": "EEMSDELTA",
    "WEESP": "AMSTERDAM",
    "BEEMSTER": "PURMEREND",
    "HEERHUGOWAARD": "DIJK EN WAARD", "LANGEDIJK": "DIJK EN WAARD",
    "BOXMEER": "LAND VAN CUIJK", "CUIJK": "LAND VAN CUIJK", "GRAVE": "LAND VAN CUIJK",
    "MILL EN SINT HUBERT": "LAND VAN CUIJK", "SINT ANTHONIS": "LAND VAN CUIJK",
    "LANDERD": "MAASHORST", "UDEN": "MAASHORST",
    "BRIELLE": "VOORNE AAN ZEE", "HELLEVOETSLUIS": "VOORNE AAN ZEE",
    "WESTVOORNE": "VOORNE AAN ZEE",
}
#: Municipalities split over several others (cannot be allocated by age and sex).
SPLITS = {"HAAREN": ("BOXTEL", "OISTERWIJK", "TILBURG", "VUGHT")}

#: Everyday spellings -> the spelling in the Vektis files.
ALIASES = {
    "DEN HAAG": "S GRAVENHAGE",
    "THE HAGUE": "S GRAVENHAGE",
    "GRAVENHAGE": "S GRAVENHAGE",
    "DEN BOSCH": "S HERTOGENBOSCH",
    "HERTOGENBOSCH": "S HERTOGENBOSCH",
}

#: Names shown to readers where the published spelling is not the one readers use, by
#: spelling-insensitive key (:func:`municipality_key`) or StatLine region code. Den Haag
#: is shown as "Den Haag" (the name everyone uses; officially ``'s-Gravenhage``), the
#: country as "Netherlands" (translated to "Nederland" in Dutch reports).
DISPLAY_NAMES = {
    "NEDERLAND": "Netherlands", "NETHERLANDS": "Netherlands",
    "THE NETHERLANDS": "Netherlands", "NL": "Netherlands", "NL01": "Netherlands",
    "S GRAVENHAGE": "Den Haag", "DEN HAAG": "Den Haag", "GM0518": "Den Haag",
    "S HERTOGENBOSCH": "'s-Hertogenbosch",
    "SUDWEST FRYSLAN": "Súdwest-Fryslân", "NOARDEAST FRYSLAN": "Noardeast-Fryslân",
    "GM0344": "Utrecht", "GM0363": "Amsterdam", "GM0599": "Rotterdam", "GM0392": "Haarlem",
    "WK034403": "Overvecht",
}
#: Words written in lower case inside a municipality name (e.g. "Bergen op Zoom").
_LOWER_WORDS = frozenset({"aan", "bij", "c.a.", "de", "den", "der", "en", "het", "in", "op",
                          "te", "ten", "ter", "van"})
_REGION_RE = re.compile(r"(GM\d{4}|WK\d{6}|BU\d{8})")

_KEYS = ("year", "municipality", "sex", "age_class")
_AGE_RE = re.compile(r"^(\d+) t/m (\d+) jaar$")
_SEX = {"M": "M", "V": "F"}


# --------------------------------------------------------------------------- names
def municipality_key(name: str) -> str:
    """A spelling-insensitive key: upper case, no accents, ``'``/``-``/``.`` as spaces.

    ``"'s-Gravenhage"``, ``"'S-GRAVENHAGE"`` and ``"S GRAVENHAGE"`` share the key
    ``"S GRAVENHAGE"``; ``"Súdwest-Fryslân"`` and ``"SUDWEST-FRYSLAN"`` share
    ``"SUDWEST FRYSLAN"``.
    """
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).upper()
    text = re.sub(r"[\'\-\.\(\),/`’]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _readable(name: str) -> str:
    """Upper-case Vektis spelling in the usual Dutch capitalisation ("ALPHEN AAN DEN
    RIJN" -> "Alphen aan den Rijn", "IJSSELSTEIN" -> "IJsselstein")."""
    out, first = [], True
    for part in re.split(r"(\s+|-)", name.lower()):
        if not part.strip() or part == "-":
            out.append(part)
            continue
        if not first and part in _LOWER_WORDS:
            out.append(part)
        elif part.startswith("("):
            out.append(part.upper())
        elif part.startswith("ij"):
            out.append("IJ" + part[2:])
        else:
            out.append(part[:1].upper() + part[1:])
        first = False
    return "".join(out)


def display_name(area: str, names: Mapping[str, str] | None = None) -> str:
    """The name shown to readers for a municipality, district, neighbourhood or the
    country, given its Vektis spelling, a StatLine region code or any common spelling.

    Parameters
    ----------
    area
        A Vektis name (``"S GRAVENHAGE"``, ``"NEDERLAND"``), a StatLine code
        (``"GM0344"``, ``"WK034403"``, ``"NL01"``) or a name already readable.
    names
        Optional region code -> published name (e.g. the RIVM ``municipality`` column of
        the country and municipality rows), used for codes not in
        :data:`DISPLAY_NAMES`.

    Returns
    -------
    str
        :data:`DISPLAY_NAMES` where listed (Den Haag, Netherlands, Overvecht, the KBZ
        cities' codes); a municipality code via ``names``; a district or neighbourhood
        code not listed as ``"<municipality> district 01"`` /
        ``"<municipality> neighbourhood 0311"`` (the open files carry no district
        names); an all-upper-case Vektis name in the usual capitalisation
        (``"ALPHEN AAN DEN RIJN"`` -> ``"Alphen aan den Rijn"``); anything else (e.g. a
        panel column, ``"donor pool mean"``) unchanged. Unknown codes stay codes.

    Examples
    --------
    >>> display_name("S GRAVENHAGE"), display_name("WK034403"), display_name("NEDERLAND")
    ('Den Haag', 'Overvecht', 'Netherlands')
    """
    text = str(area).strip()
    if text.upper() in DISPLAY_NAMES:
        return DISPLAY_NAMES[text.upper()]
    if _REGION_RE.fullmatch(text):
        if names and names.get(text):
            return display_name(names[text])
        if text.startswith("GM"):
            return text
        city = display_name("GM" + text[2:6], names)
        if city.startswith("GM"):
            return text
        kind = "district" if text.startswith("WK") else "neighbourhood"
        return f"{city} {kind} {text[6:]}"
    key = municipality_key(text)
    if key in DISPLAY_NAMES:
        return DISPLAY_NAMES[key]
    if text.isupper():
        return _readable(text)
    return text


def find_municipality(name: str, names: Iterable[str]) -> str:
    """The spelling in ``names`` of the municipality ``name`` (any common spelling).

    Parameters
    ----------
    name
        E.g. ``"Den Haag"``, ``"'s-Gravenhage"``, ``"utrecht"``.
    names
        The municipality names available (e.g. a loaded table's ``municipality``).

    Returns
    -------
    str
        The matching name as spelled in ``names``.

    Raises
    ------
    SpecificationError
        When nothing matches; the message suggests close names.
    """
    available = {municipality_key(n): n for n in names if isinstance(n, str)}
    key = municipality_key(name)
    key = municipality_key(ALIASES.get(key, key))
    if key in available:
        return available[key]
    import difflib

    close = difflib.get_close_matches(key, list(available), n=3, cutoff=0.6)
    raise SpecificationError(
        f"Municipality {name!r} is not in the data"
        + (f"; did you mean {[available[c] for c in close]}?" if close else ".")
        + " Names follow the Vektis files (e.g. 'S GRAVENHAGE' for Den Haag)."
    )


def _age_label(raw: str) -> str | None:
    text = re.sub(r"\s+", " ", raw.strip())
    m = _AGE_RE.match(text)
    if m:
        label = f"{int(m.group(1))}-{int(m.group(2))}"
    elif text.startswith("90"):
        label = "90+"
    else:
        return None
    return label if label in AGE_BANDS else None


# --------------------------------------------------------------------------- reading
_CACHE: dict[tuple, tuple[pd.DataFrame, str]] = {}


def _decode(raw: bytes) -> tuple[str, str]:
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("cp1252"), "cp1252"


def _canonical_column(name: str) -> str:
    low = name.strip().lower()
    return TRUNCATED_NAMES.get(low, low)


def read_vektis_file(path: str | Path, year: int) -> pd.DataFrame:
    """Read one Vektis municipality file into a wide frame, one row per stratum.

    Parameters
    ----------
    path
        The CSV file (``;``-separated, UTF-8 or cp1252).
    year
        Its data year (the files do not carry it).

    Returns
    -------
    DataFrame
        Columns ``year, municipality, sex, age_class, rest`` and every measure of the
        file under its canonical name (:data:`MEASURES`). ``attrs["encoding"]`` says how
        the file was decoded.

    Raises
    ------
    DataValidationError
        Unknown columns, unknown sex or age-class labels, or rows with some but not all
        keys empty.
    """
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, int(year))
    if key in _CACHE:
        frame, encoding = _CACHE[key]
        out = frame.copy()
        out.attrs["encoding"] = encoding
        return out
    text, encoding = _decode(path.read_bytes())
    header = text.split("\n", 1)[0].rstrip("\r").split(";")
    canon = [_canonical_column(c) for c in header]
    key_cols = {"geslacht": "sex", "leeftijdsklasse": "age_class", "gemeentenaam": "municipality"}
    violations: list[Violation] = []
    unknown = [h for h, c in zip(header, canon, strict=True)
               if c not in key_cols and c not in MEASURES]
    if unknown:
        violations.append(Violation(
            ",".join(unknown), "known Vektis column", len(unknown),
            detail="extend kbz_eval.open_data.vektis.COST_COLUMNS with the new column(s) "
                   "and their cost group",
        ))
    missing_keys = [k for k in key_cols if k not in canon]
    if missing_keys:
        violations.append(Violation(",".join(missing_keys), "required column"))
    if violations:
        raise DataValidationError(str(path), "vektis", violations)
    dtypes = {h: ("str" if c in key_cols else "float64")
              for h, c in zip(header, canon, strict=True)}
    raw = pd.read_csv(io.StringIO(text), sep=";", dtype=dtypes, keep_default_na=False,
                      na_values={h: [""] for h in header})
    raw.columns = canon
    raw = raw.rename(columns=key_cols)
    for col in ("sex", "age_class", "municipality"):
        raw[col] = raw[col].str.strip().replace("", np.nan)
    empty = raw[["sex", "age_class", "municipality"]].isna()
    rest = empty.all(axis=1).to_numpy()
    partial = empty.any(axis=1).to_numpy() & ~rest
    if partial.any():
        rows = tuple(int(i) + 2 for i in np.flatnonzero(partial)[:5])
        violations.append(Violation("gemeentenaam/geslacht/leeftijdsklasse",
                                    "all keys or none empty", int(partial.sum()), rows))
    sex = raw["sex"].map(_SEX)
    bad_sex = raw["sex"].notna() & sex.isna()
    if bad_sex.any():
        idx = np.flatnonzero(bad_sex.to_numpy())[:5]
        violations.append(Violation("geslacht", "M or V", int(bad_sex.sum()),
                                    tuple(int(i) + 2 for i in idx),
                                    tuple(str(raw["sex"].iloc[i]) for i in idx)))
    labels = {lab: _age_label(lab) for lab in raw["age_class"].dropna().unique()}
    bad_age = [lab for lab, v in labels.items() if v is None]
    if bad_age:
        violations.append(Violation("leeftijdsklasse", "known age class", len(bad_age),
                                    values=tuple(bad_age[:5])))
    if violations:
        raise DataValidationError(str(path), "vektis", violations)
    measures = [m for m in MEASURES if m in raw.columns]
    frame = pd.DataFrame({
        "year": np.full(len(raw), int(year), dtype="int64"),
        "municipality": raw["municipality"].str.upper(),
        "sex": sex,
        "age_class": raw["age_class"].map(labels),
        "rest": rest,
    })
    frame = pd.concat([frame, raw[measures]], axis=1)
    _CACHE[key] = (frame, encoding)
    out = frame.copy()
    out.attrs["encoding"] = encoding
    return out


def _apply_boundaries(frame: pd.DataFrame) -> pd.DataFrame:
    """Add merged municipalities into their 2025 successor (rest rows untouched)."""
    areas = frame[~frame["rest"]].copy()
    if not areas["municipality"].isin(list(MERGERS)).any():
        return frame
    areas["municipality"] = areas["municipality"].replace(MERGERS)
    measures = [c for c in frame.columns if c in MEASURES]
    summed = areas.groupby(list(_KEYS), sort=False, observed=True)[measures].sum(min_count=1)
    summed = summed.reset_index()
    summed["rest"] = False
    return pd.concat([summed[frame.columns], frame[frame["rest"]]], ignore_index=True)


def _years(years: int | Iterable[int] | None) -> list[int]:
    if years is None:
        return list(VEKTIS_YEARS)
    if isinstance(years, (int, np.integer)):
        return [int(years)]
    out = sorted({int(y) for y in years})
    if not out:
        raise SpecificationError("`years` is empty; give at least one year, e.g. [2018].")
    return out


def vektis_wide(years: int | Iterable[int] | None = None, folder: str | Path | None = None,
                *, release: str = "harmonised", boundaries: str = "published") -> pd.DataFrame:
    """The Vektis files as one wide frame (one row per year × stratum); see :func:`vektis`."""
    if boundaries not in ("published", "latest"):
        raise SpecificationError(
            f"The value for `boundaries` must be one of ['published', 'latest'], "
            f"but {boundaries!r} was passed."
        )
    if release == "original" and boundaries == "latest":
        raise SpecificationError(
            "boundaries='latest' needs the harmonised yearly files; the original release "
            "is on its own (2015) boundaries. Use release='harmonised'."
        )
    frames = []
    encodings = {}
    for year in _years(years):
        one = read_vektis_file(vektis_path(year, folder=folder, release=release), year)
        encodings[year] = one.attrs.get("encoding")
        if boundaries == "latest":
            one = _apply_boundaries(one)
        frames.append(one)
    wide = pd.concat(frames, ignore_index=True)
    wide = wide[["year", "municipality", "sex", "age_class", "rest",
                 *[m for m in MEASURES if m in wide.columns]]]
    wide.attrs = {"encodings": encodings, "boundaries": boundaries, "release": release}
    return wide


def vektis(years: int | Iterable[int] | None = None, folder: str | Path | None = None, *,
           release: str = "harmonised", boundaries: str = "published") -> pd.DataFrame:
    """Read Vektis municipality files into one tidy long table.

    Parameters
    ----------
    years
        A year or years (2011–2023); ``None`` reads all.
    folder
        Folder holding ``vektis/``; when ``None`` see
        :func:`kbz_eval.open_data.download.candidate_folders`.
    release
        ``"harmonised"`` (default) or ``"original"`` (the first 2015 release, cp1252,
        2015 boundaries).
    boundaries
        ``"published"`` (as in each file) or ``"latest"`` (merged municipalities added
        into their 2025 successor in every year; see :data:`MERGERS`).

    Returns
    -------
    DataFrame
        One row per year × municipality × sex × age class × measure, columns:

        ``year`` (int), ``municipality`` (category; empty on the rest row), ``sex``
        (``M``/``F``), ``age_class`` (ordered, :data:`kbz_eval.tables.AGE_BANDS`),
        ``measure`` (canonical Vektis column: ``aantal_bsn`` insured persons,
        ``aantal_verzekerdejaren`` insured years, ``kosten_*`` euro), ``value``,
        ``cost_group`` (harmonised group of a cost measure, empty for the counts),
        ``rest`` (bool: the rest row), ``ggz_break`` (bool: a GGZ measure from 2022).

        Measures a year does not publish have no rows in that year (no zeros are made
        up). ``attrs`` records the encodings, boundaries and release.

    Raises
    ------
    OpenDataNotFoundError
        A file is not found (the message says where it looked and how to download).
    DataValidationError
        A file has unknown columns or labels.

    Notes
    -----
    See the module docstring for the quirks handled and :data:`COST_COLUMNS` for the
    harmonisation table. Source: Vektis open data ("Bron: Vektis").

    Examples
    --------
    >>> import kbz_eval as kbz
    >>> v = kbz.open_data.vektis([2018])  # doctest: +SKIP
    """
    wide = vektis_wide(years, folder, release=release, boundaries=boundaries)
    measures = [m for m in MEASURES if m in wide.columns]
    values = wide[measures].to_numpy(dtype=float)
    year_of_row = wide["year"].to_numpy(dtype="int64")
    # a measure is published in a year when the year's file has the column
    published = pd.DataFrame(~np.isnan(values)).groupby(year_of_row).any()
    keep = published.loc[year_of_row].to_numpy().ravel()
    n_rows, n_measures = values.shape
    rows = np.repeat(np.arange(n_rows), n_measures)[keep]
    cols = np.tile(np.arange(n_measures), n_rows)[keep]
    group_of = {c.name: c.group for c in COST_COLUMNS}
    measure_codes = np.array([MEASURES.index(m) for m in measures])[cols]
    group_codes = np.array([list(COST_GROUPS).index(group_of[m]) if m in group_of else -1
                            for m in measures])[cols]
    muni = pd.Categorical(wide["municipality"])
    sex = pd.Categorical(wide["sex"], categories=["M", "F"])
    age = pd.Categorical(wide["age_class"], categories=list(AGE_BANDS), ordered=True)
    year = year_of_row[rows]
    cost_group = pd.Categorical.from_codes(group_codes, categories=list(COST_GROUPS))
    long = pd.DataFrame({
        "year": year,
        "municipality": pd.Categorical.from_codes(muni.codes[rows], categories=muni.categories),
        "sex": pd.Categorical.from_codes(sex.codes[rows], categories=sex.categories),
        "age_class": pd.Categorical.from_codes(age.codes[rows], categories=age.categories,
                                               ordered=True),
        "measure": pd.Categorical.from_codes(measure_codes, categories=list(MEASURES)),
        "value": values.ravel()[keep],
        "cost_group": cost_group,
        "rest": wide["rest"].to_numpy(dtype=bool)[rows],
        "ggz_break": (group_codes == list(COST_GROUPS).index("ggz")) & (year >= GGZ_BREAK_YEAR),
    })
    long.attrs = dict(wide.attrs)
    return long
