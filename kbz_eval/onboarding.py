"""Onboarding an insurer's export: ``kbz-eval init EXPORT... --out DIR``.

:func:`propose` opens the first rows of every export file (CSV with any delimiter and
decimal mark, Parquet, XLSX, SPSS; through :func:`kbz_eval.formats.open_source`),
recognises which data contract of :mod:`kbz_eval.tables` each file holds by its header,
and proposes a mapping per file from Dutch and English column names
(:data:`SYNONYMS`) and codes (:data:`VALUE_SYNONYMS`). :func:`write_proposal` writes
``kbz.toml`` and one mapping TOML per used file (``mappings/<table>.toml``, in the
format :func:`kbz_eval.io.load_mapping` reads), each commented with what was guessed
and what must be checked. Nothing is validated here: ``kbz-eval validate --config``
does that with the written files.

Recognition
-----------
Names are compared normalised: lower case, accents removed, every character that is
not a letter or digit dropped (``Verzekerde ID``, ``verzekerde_id`` and
``verzekerdeId`` are one name). For each contract a file column matches a contract
column when its name is the contract name or one of its synonyms (the first synonym
listed wins when several columns match one contract column). A file holds the contract
with the largest share of required columns found (a group of which one column is
enough counts once), then the most columns found, then the fewest columns left over;
it is recognised when at least half the required columns and two columns are found.
One file is used per table: the best recognised, then Parquet before text, then by
name; the others are listed as not used. ``person_years`` is not used when claim lines
and insured periods are given (the report builds the panel from them).

Output
------
The files depend on nothing but the export files' names, headers and first rows and
the output folder: the same export gives byte-identical files. An existing file is
never overwritten unless ``force=True``; a file whose content would not change is left
as it is. Every file is written to a temporary file in the output folder first and
then renamed over its name, so a file is never left half written.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from kbz_eval.errors import KbzEvalError, SpecificationError
from kbz_eval.formats import FORMATS, open_source
from kbz_eval.privacy import IDENTIFIER_NAMES
from kbz_eval.tables import CARE_TYPE_PREFIX, TABLES, Table

__all__ = [
    "FileGuess", "OnboardingError", "Proposal", "SYNONYMS", "TABLE_SYNONYMS",
    "VALUE_SYNONYMS", "guess_table", "propose", "write_proposal",
]

#: Rows read from the top of each file to recognise it and propose codes and years.
SAMPLE_ROWS = 500
#: The tables the report builds ``person_years`` from.
_PANEL_TABLES = ("claim_lines", "insured_periods")

# ---------------------------------------------------------------------------
# The synonym tables: the one place where export names and codes are known.

#: Dutch words for the care types of ``person_years`` (``{prefix}_count/_cost``).
_CARE_WORDS = {
    "poli_dbc": ("poli_dbc", "polikliniek_dbc", "dbc_poli", "poli"),
    "clinical_dbc": ("klinische_dbc", "klinisch_dbc", "dbc_klinisch", "klinisch"),
    "ggz": ("ggz", "sggz", "gespecialiseerde_ggz", "ggz_specialistisch"),
    "ggz_basic": ("basis_ggz", "bggz", "generalistische_basis_ggz", "ggz_basis"),
    "gp": ("huisarts", "huisartsenzorg", "ha"),
    "pharmacy": ("farmacie", "apotheek", "geneesmiddelen"),
    "other": ("overig", "overige", "overige_zorg"),
}


def _care_synonyms() -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for prefix in CARE_TYPE_PREFIX.values():
        words = _CARE_WORDS[prefix]
        out[f"{prefix}_count"] = tuple(
            s for w in words for s in (f"aantal_{w}", f"{w}_aantal", f"n_{w}", f"{w}_n"))
        out[f"{prefix}_cost"] = tuple(
            s for w in words for s in (f"kosten_{w}", f"{w}_kosten", f"bedrag_{w}",
                                       f"{w}_bedrag", f"schadelast_{w}"))
    return out


#: Contract column -> export names it is recognised by (Dutch and English), best first.
#: The contract name itself always matches.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "person_id": ("verzekerde_id", "verzekerdenummer", "verzekerde_nr", "pseudo_id",
                  "pseudoniem", "pseudo_verzekerde", "persoon_id", "persoonsnummer",
                  "patient_id", "patientnummer", "client_id", "clientnummer",
                  "relatienummer", "person", "insured_id", "member_id", "id_verzekerde"),
    "year": ("jaar", "declaratiejaar", "kalenderjaar", "verzekeringsjaar", "boekjaar",
             "meetjaar", "peiljaar", "jaartal", "calendar_year"),
    "practice_id": ("praktijk", "praktijk_id", "praktijkcode", "praktijknummer", "agb",
                    "agb_code", "agbcode", "praktijk_agb", "agb_praktijk",
                    "huisartspraktijk", "huisartsenpraktijk", "huisarts_agb", "practice",
                    "practice_code", "gp_practice"),
    "insured_days": ("verzekerde_dagen", "dagen_verzekerd", "verzekeringsdagen",
                     "aantal_verzekerde_dagen", "verzekerdedagen", "dagen", "days_insured",
                     "days"),
    "sex": ("geslacht", "gender", "sekse"),
    "birth_year": ("geboortejaar", "geb_jaar", "year_of_birth", "birthyear"),
    "age_band": ("leeftijdsklasse", "leeftijdscategorie", "leeftijdsgroep",
                 "leeftijdsband", "leeftijd_klasse", "age_group", "age_class", "leeftijd",
                 "age"),
    "minima": ("gemeentepolis", "minimapolis", "minimaregeling", "minima_polis",
               "laag_inkomen", "low_income"),
    "total_cost": ("totale_kosten", "kosten_totaal", "totaal_kosten", "totaalbedrag",
                   "schadelast_totaal", "total"),
    **_care_synonyms(),
    "ggz_regime": ("ggz_bekostiging", "bekostiging_ggz", "ggz_regime"),
    "claim_id": ("declaratie_id", "declaratienummer", "declaratie_nr", "declaratieregel",
                 "subtraject_id", "subtrajectnummer", "subtraject", "claimnummer",
                 "factuurregel_id", "factuurnummer", "claim", "claim_number"),
    "start_date": ("begindatum", "startdatum", "begin_datum", "start_datum",
                   "datum_begin", "ingangsdatum", "behandeldatum", "prestatiedatum",
                   "date_start", "begin_date"),
    "end_date": ("einddatum", "eind_datum", "datum_einde", "einde_datum", "datum_eind",
                 "date_end"),
    "care_type": ("zorgsoort", "soort_zorg", "zorgtype", "zorgcategorie", "type_zorg",
                  "zorgvorm", "kind_of_care"),
    "declaration_code": ("prestatiecode", "declaratiecode", "prestatie_code",
                         "declaratie_code", "zorgactiviteitcode", "code"),
    "cost": ("declaratiebedrag", "bedrag", "kosten", "schadelast", "vergoed_bedrag",
             "ingediend_bedrag", "gedeclareerd_bedrag", "costs", "amount"),
    "city": ("gemeente", "plaats", "stad", "vestigingsplaats", "municipality", "town"),
    "neighbourhood": ("wijk", "buurt", "wijknaam", "neighborhood", "district"),
    "group": ("groep", "kbz_groep", "interventiegroep", "onderzoeksgroep", "arm",
              "kbz_controle", "kbz"),
    "kbz_start_year": ("startjaar_kbz", "kbz_startjaar", "kbz_start", "startjaar",
                       "start_kbz", "jaar_start_kbz", "start_year"),
    "measurement": ("meting", "meetmoment", "metingnummer", "meting_nr", "meetnummer"),
    "date": ("datum", "meetdatum", "datum_meting", "invuldatum"),
    "cvg_patient": ("cvg_patient", "cvg_patiënt", "cijfer_patient", "cvg_pat", "cvg",
                    "cijfer_gezondheid"),
    "cvg_gp": ("cvg_huisarts", "cijfer_huisarts", "cvg_ha", "cvg_arts"),
    "respondent_id": ("respondent", "respondentnummer", "respondent_nr", "medewerker_id",
                      "deelnemer_id"),
    "wave": ("golf", "meetgolf", "ronde", "meting", "peiling"),
    "role": ("functie", "rol", "beroep", "discipline", "beroepsgroep"),
    "workload": ("werkdruk", "ervaren_werkdruk", "werkbelasting"),
    "job_satisfaction": ("werktevredenheid", "arbeidstevredenheid", "tevredenheid_werk",
                         "werkplezier", "tevredenheid", "satisfaction"),
    "area": ("gebied", "gebiedsnaam", "regio", "gebiedscode", "wijk"),
    "area_type": ("gebiedstype", "soort_gebied", "type_gebied", "niveau", "level"),
    "indicator": ("indicatornaam", "indicator_naam", "kenmerk", "onderwerp"),
    "percent": ("percentage", "procent", "perc", "pct", "waarde"),
    "n": ("aantal_respondenten", "respondenten", "aantal", "n_respondenten"),
    "n_is_assumed": ("n_aangenomen", "n_geschat", "n_is_aanname", "aantal_aangenomen"),
    "score_percent": ("score_percentage", "score_procent", "score", "percentage_score",
                      "score_pct"),
    "respondent_type": ("type_respondent", "respondenttype", "soort_respondent",
                        "respondent_soort"),
    "item": ("vraag", "stelling", "vraagnummer", "question"),
    "rating": ("waardering", "oordeel", "antwoord", "score", "beoordeling"),
    "consult_id": ("consultnummer", "consult", "consult_nr", "consultatie_id"),
    "specialism": ("specialisme", "specialisatie", "specialist", "specialty"),
    "referral_avoided": ("verwijzing_voorkomen", "verwijzing_vermeden",
                         "voorkomen_verwijzing", "vermeden_verwijzing", "referral_prevented"),
}

#: Extra export names that mean a contract column in one table only.
TABLE_SYNONYMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("monitor", "area"): ("wijk", "buurt", "gemeente"),
    ("workforce", "respondent_id"): ("medewerker", "medewerkernummer"),
}

#: Contract column -> {export code (normalised) -> contract value}: codes of category
#: columns that differ from the contract's (``bool`` columns read ja/nee already).
VALUE_SYNONYMS: dict[str, dict[str, str]] = {
    "sex": {"v": "F", "vrouw": "F", "vrouwelijk": "F", "female": "F", "f": "F",
            "m": "M", "man": "M", "mannelijk": "M", "male": "M"},
    "group": {"kbz": "kbz", "interventie": "kbz", "interventiegroep": "kbz",
              "krachtige_basiszorg": "kbz", "controle": "control",
              "controlegroep": "control", "control": "control"},
    "care_type": {"poli": "poli_dbc", "poli_dbc": "poli_dbc", "polikliniek": "poli_dbc",
                  "klinisch": "clinical_dbc", "klinische_dbc": "clinical_dbc",
                  "sggz": "ggz_specialist", "gespecialiseerde_ggz": "ggz_specialist",
                  "ggz": "ggz_specialist", "bggz": "ggz_basic", "basis_ggz": "ggz_basic",
                  "huisarts": "gp", "huisartsenzorg": "gp", "farmacie": "pharmacy",
                  "apotheek": "pharmacy", "overig": "other", "overige": "other"},
    "area_type": {"wijk": "neighbourhood", "buurt": "neighbourhood",
                  "gemeente": "city", "stad": "city", "land": "country",
                  "nederland": "country"},
    "respondent_type": {"patient": "patient", "client": "patient",
                        "professional": "professional", "zorgverlener": "professional",
                        "medewerker": "professional"},
    "ggz_regime": {"dbc": "dbc", "consult": "consult", "prestatie": "consult",
                   "zorgprestatiemodel": "consult"},
}


class OnboardingError(KbzEvalError):
    """``kbz-eval init`` cannot write its proposal (nothing was written)."""


def _norm(name: object) -> str:
    """A name as compared: lower case, no accents, letters and digits only."""
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", "", text)


def _code_norm(value: object) -> str:
    """A code as looked up in :data:`VALUE_SYNONYMS` (words joined by ``_``)."""
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def _names_for(table: Table, column: str) -> list[str]:
    """Normalised names of a contract column in ``table``, best first."""
    names = [column, *TABLE_SYNONYMS.get((table.name, column), ()),
             *SYNONYMS.get(column, ())]
    out: list[str] = []
    for n in names:
        k = _norm(n)
        if k not in out:
            out.append(k)
    return out


# ---------------------------------------------------------------------------
# Guessing


@dataclass
class FileGuess:
    """What :func:`propose` made of one export file.

    Attributes
    ----------
    path
        The file.
    columns
        Its column names, as in the file.
    table
        The contract it is recognised as (``None``: not recognised).
    renames
        Export name -> contract name, for the columns whose names differ.
    found
        Contract columns found (renamed or already named so), in contract order.
    missing
        Required contract columns (or ``a | b`` groups of which one is needed) not found.
    unmapped
        File columns not mapped to a contract column.
    values
        Contract column -> {export code -> contract value} for the codes seen.
    more_values
        The other known codes of the same columns, written like the seen ones, for
        rows further down the file.
    checks
        Things the user must check in the mapping (codes not understood, guesses).
    runner_up
        The next best contract and its share of required columns, for the record.
    error
        Why the file could not be opened (``None`` when it could).
    used
        Whether the file is the one used for its table in ``kbz.toml``.
    why_unused
        Why a recognised file is not used.
    coverage
        Share of the contract's required columns (or groups) found.
    sample
        The first rows read (not written anywhere).
    """

    path: Path
    columns: list[str] = field(default_factory=list)
    table: str | None = None
    renames: dict[str, str] = field(default_factory=dict)
    found: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    more_values: dict[str, dict[str, str]] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)
    runner_up: tuple[str, float] | None = None
    error: str | None = None
    used: bool = False
    why_unused: str = ""
    coverage: float = 0.0
    sample: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def format_rank(self) -> int:
        """Preference among files of one table: Parquet, text, XLSX, SPSS."""
        order = ("parquet", "csv", "xlsx", "sav")
        fmt = FORMATS.get(self.path.suffix.lower(), "")
        return order.index(fmt) if fmt in order else len(order)


def _match(table: Table, columns: Sequence[str]) -> tuple[dict[str, str], dict[str, int]]:
    """Contract column -> file column matched, and each match's rank (0 = the name)."""
    best: dict[str, tuple[int, int, str]] = {}
    claimed: dict[str, tuple[int, int, str]] = {}  # file column -> (rank, order, contract)
    for order, col in enumerate(table.names):
        names = _names_for(table, col)
        for fcol in columns:
            key = _norm(fcol)
            if key in names:
                rank = names.index(key)
                cur = claimed.get(fcol)
                if cur is None or (rank, order) < cur[:2]:
                    claimed[fcol] = (rank, order, col)
    for fcol, (rank, _, col) in claimed.items():
        pos = list(columns).index(fcol)
        cur = best.get(col)
        if cur is None or (rank, pos) < cur[:2]:
            best[col] = (rank, pos, fcol)
    return ({c: best[c][2] for c in table.names if c in best},
            {c: best[c][0] for c in best})


def _required_units(table: Table) -> list[tuple[str, ...]]:
    """Required columns, and each group of which one column is enough."""
    grouped = {c for g in table.one_of for c in g}
    units = [(c,) for c in table.required if c not in grouped]
    return units + [tuple(g) for g in table.one_of]


def _score(table: Table, matched: dict[str, str], n_columns: int) -> tuple[float, int, int]:
    units = _required_units(table)
    hit = sum(any(c in matched for c in u) for u in units)
    coverage = hit / len(units) if units else 0.0
    return coverage, len(matched), -(n_columns - len(matched))


def guess_table(columns: Sequence[str], sample: pd.DataFrame | None = None,
                path: Path | str = "<columns>") -> FileGuess:
    """Recognise the contract of a file from its column names (and first rows).

    Parameters
    ----------
    columns
        The file's column names, as in the file.
    sample
        Its first rows (for codes, ages and years); optional.
    path
        The file, for the record.

    Returns
    -------
    FileGuess
        ``table`` is ``None`` when no contract has at least half its required columns
        and two columns in the file.
    """
    columns = [str(c) for c in columns]
    guess = FileGuess(path=Path(path), columns=columns, sample=sample)
    scored = []
    for i, table in enumerate(TABLES.values()):
        matched, _ = _match(table, columns)
        scored.append((_score(table, matched, len(columns)), -i, table, matched))
    scored.sort(key=lambda s: (s[0], s[1]), reverse=True)
    (coverage, n_found, _), _, table, matched = scored[0]
    if len(scored) > 1:
        guess.runner_up = (scored[1][2].name, scored[1][0][0])
    guess.coverage = coverage
    if coverage < 0.5 or n_found < 2:
        return guess
    guess.table = table.name
    _fill(guess, table, matched, sample)
    return guess


def _fill(guess: FileGuess, table: Table, matched: dict[str, str],
          sample: pd.DataFrame | None) -> None:
    """Renames, missing and unmapped columns, codes and checks of a recognised file."""
    if sample is not None and "age_band" in matched:
        fcol = matched["age_band"]
        ages = pd.to_numeric(sample[fcol].dropna().astype(str).str.strip(), errors="coerce")
        if len(ages) and ages.notna().all():
            del matched["age_band"]
            guess.checks.append(
                f"'{fcol}' holds ages in whole years; the contract takes birth_year or a "
                "five-year age_band (0-4, 5-9, ..., 90+): derive one at the source")
    guess.found = list(matched)
    guess.renames = {f: c for c, f in matched.items() if f != c}
    mapped = set(matched.values())
    guess.unmapped = [c for c in guess.columns if c not in mapped]
    for unit in _required_units(table):
        if not any(c in matched for c in unit):
            guess.missing.append(" | ".join(unit))
    for c in guess.unmapped:
        kind = IDENTIFIER_NAMES.get(_norm(c))
        if kind:
            guess.checks.append(f"'{c}' looks like {kind}: remove it at the source "
                                "(files with direct identifiers are refused)")
    if sample is None:
        return
    for col in matched:
        spec = table.column(col)
        if spec.dtype != "category":
            continue
        fcol = matched[col]
        seen = sorted({str(v).strip() for v in sample[fcol].dropna()} - {""})
        codes, unknown = {}, []
        for v in seen:
            if v in spec.categories:
                continue
            target = VALUE_SYNONYMS.get(col, {}).get(_code_norm(v))
            if target is None and v.lower() in spec.categories:
                target = v.lower()
            if target is None:
                unknown.append(v)
            else:
                codes[v] = target
        if codes:
            guess.values[col] = codes
            guess.more_values[col] = _other_codes(col, codes, spec.categories)
        if unknown:
            shown = ", ".join(repr(u) for u in unknown[:8])
            guess.checks.append(
                f"codes of '{fcol}' not understood: {shown}; add them under "
                f"[values.{col}] (allowed: {', '.join(spec.categories)})")


def _other_codes(col: str, codes: dict[str, str], categories: Sequence[str]
                 ) -> dict[str, str]:
    """The known codes of ``col`` not seen in the first rows, written like the seen ones
    (upper case, capitalised or lower case), so that rows further down are recoded too."""
    seen = list(codes)
    if all(s == s.upper() for s in seen):
        style = str.upper
    elif all(s[:1] == s[:1].upper() for s in seen):
        style = str.capitalize
    else:
        style = str.lower
    out = {}
    for key, value in VALUE_SYNONYMS.get(col, {}).items():
        for text in dict.fromkeys((key, key.replace("_", " "))):
            code = style(text)
            if code not in codes and code not in categories:
                out[code] = value
    return out


# ---------------------------------------------------------------------------
# Reading the top of a file


def _peek(path: Path, rows: int) -> pd.DataFrame:
    """The first ``rows`` rows of ``path`` as the format's opener reads them."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
            batch = next(pf.iter_batches(batch_size=rows), None)
            frame = (batch.to_pandas() if batch is not None
                     else pf.schema_arrow.empty_table().to_pandas())
        except Exception as exc:  # a damaged or misnamed file
            raise SpecificationError(
                f"{path}: cannot read the file as a Parquet file ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())[:200]}).") from None
        frame.columns = [str(c).strip() for c in frame.columns]
        return frame
    if fmt == "csv":
        # the opener reads a copy of the first lines: detection works as on the whole file
        with open(path, "rb") as fh:
            head = b"".join(line for _, line in zip(range(rows + 50), fh, strict=False))
        with tempfile.TemporaryDirectory(prefix="kbz_eval_init_") as tmp:
            part = Path(tmp) / f"head{path.suffix.lower()}"
            part.write_bytes(head)
            try:
                raw = open_source(part)
            except SpecificationError as exc:
                raise SpecificationError(str(exc).replace(str(part), str(path))) from None
        return raw.frame.head(rows)
    return open_source(path).frame.head(rows)


def _files(sources: Iterable[str | Path], exclude: Path | None = None
           ) -> tuple[list[Path], list[Path]]:
    """Export files (readable formats) and other files found in ``sources``; files in
    ``exclude`` (the output folder) are left out of a folder's files."""
    files: list[Path] = []
    others: list[Path] = []
    skip = exclude.resolve() if exclude is not None else None
    for src in sources:
        p = Path(src)
        if p.is_dir():
            for q in sorted(p.rglob("*")):
                if skip is not None and q.resolve().is_relative_to(skip):
                    continue
                if q.is_file() and not q.name.startswith("."):
                    (files if q.suffix.lower() in FORMATS else others).append(q)
        elif p.is_file():
            (files if p.suffix.lower() in FORMATS else others).append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    seen: set[Path] = set()
    unique = []
    for f in files:
        r = f.resolve()
        if r not in seen:
            seen.add(r)
            unique.append(f)
    return unique, others


# ---------------------------------------------------------------------------
# The proposal


@dataclass
class Proposal:
    """Everything ``kbz-eval init`` recognised, and the files it will write.

    Attributes
    ----------
    files
        One :class:`FileGuess` per export file, in path order.
    skipped
        Files that are not in a format kbz_eval reads (listed, not opened).
    rows
        Rows read from the top of each file.
    """

    files: list[FileGuess]
    skipped: list[Path] = field(default_factory=list)
    rows: int = SAMPLE_ROWS

    @property
    def used(self) -> dict[str, FileGuess]:
        """Table -> the file used for it, in contract order."""
        by = {g.table: g for g in self.files if g.used and g.table}
        return {t: by[t] for t in TABLES if t in by}

    def problems(self) -> list[str]:
        """Problems to fix before the report can run: one line each, naming the file."""
        out = []
        for g in self.files:
            if g.used:
                out += [f"{g.path.name} ({g.table}): required column '{m}' not found"
                        for m in g.missing]
        return out

    def summary(self, written: Sequence[tuple[Path, str]] = ()) -> str:
        """A short account: files recognised, columns mapped, problems, files not
        recognised, and what was written."""
        lines = [f"{len(self.files)} export file(s) read (first {self.rows} rows each)."]
        rec = [g for g in self.files if g.table]
        lines.append(f"recognised ({len(rec)}):")
        for g in rec:
            status = "" if g.used else f" -- not used: {g.why_unused}"
            lines.append(
                f"  {g.path.name} -> {g.table}: {len(g.found)} column(s) mapped "
                f"({len(g.renames)} renamed), {len(g.unmapped)} left as they are{status}")
            if g.used and g.renames:
                lines.append("    " + ", ".join(f"{f} -> {c}" for f, c in g.renames.items()))
        problems = self.problems()
        if problems:
            lines.append(f"PROBLEMS to fix ({len(problems)}; in the mapping files or at "
                         "the source):")
            lines += [f"  {p}" for p in problems]
        checks = [f"{g.path.name}: {c}" for g in self.files if g.used for c in g.checks]
        if checks:
            lines.append("to check:")
            lines += [f"  {c}" for c in checks]
        unrec = [g for g in self.files if not g.table]
        if unrec or self.skipped:
            lines.append(f"not recognised ({len(unrec) + len(self.skipped)}):")
            for g in unrec:
                if g.error:
                    lines.append(f"  {g.path.name}: cannot be opened: {g.error}")
                else:
                    best = (f"; closest: {g.runner_up[0] if g.runner_up else '-'}"
                            if g.columns else "")
                    cols = ", ".join(g.columns[:8]) + (" ..." if len(g.columns) > 8 else "")
                    lines.append(f"  {g.path.name}: columns ({cols}) match no data "
                                 f"contract{best}")
            lines += [f"  {p.name}: not a data file kbz_eval reads "
                      f"({', '.join(sorted(FORMATS))})" for p in self.skipped]
        for path, state in written:
            lines.append(f"{state} {path}")
        return "\n".join(lines)


def propose(sources: Iterable[str | Path], *, rows: int = SAMPLE_ROWS,
            exclude: str | Path | None = None) -> Proposal:
    """Recognise every export file in ``sources`` and propose its mapping.

    Parameters
    ----------
    sources
        Files and folders (searched recursively, hidden files left out).
    rows
        Rows read from the top of each file.
    exclude
        A folder whose files are not export files (the output folder, when it lies
        inside a searched folder).

    Returns
    -------
    Proposal

    Raises
    ------
    FileNotFoundError
        If a source does not exist.
    """
    files, others = _files(sources, None if exclude is None else Path(exclude))
    guesses = []
    for path in sorted(files, key=lambda p: p.as_posix()):
        try:
            sample = _peek(path, rows)
        except (KbzEvalError, OSError) as exc:
            guesses.append(FileGuess(path=path, error=" ".join(str(exc).split())))
            continue
        guesses.append(guess_table(list(sample.columns), sample, path))
    _choose(guesses)
    return Proposal(files=guesses, skipped=sorted(others, key=lambda p: p.as_posix()),
                    rows=rows)


def _choose(guesses: list[FileGuess]) -> None:
    """Mark the file used for each table (see the module docstring)."""
    by: dict[str, list[FileGuess]] = {}
    for g in guesses:
        if g.table:
            by.setdefault(g.table, []).append(g)
    for table, group in by.items():
        group.sort(key=lambda g: (-g.coverage, len(g.missing), -len(g.found),
                                  g.format_rank, g.path.as_posix()))
        group[0].used = True
        for g in group[1:]:
            g.why_unused = f"{group[0].path.name} is used for {table}"
    if all(t in by for t in _PANEL_TABLES) and "person_years" in by:
        for g in by["person_years"]:
            g.used = False
            g.why_unused = "the report builds person_years from claim_lines and " \
                           "insured_periods"


# ---------------------------------------------------------------------------
# Writing


def _q(text: object) -> str:
    """A TOML basic string."""
    out = ['"']
    for ch in str(text):
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _mapping_text(g: FileGuess, rows: int) -> str:
    table = TABLES[g.table]  # type: ignore[index]
    lines = [
        f"# Mapping of {g.path.name} to the data contract '{table.name}' ({table.row}),",
        "# proposed by `kbz-eval init` from the file's header and first "
        f"{rows} rows.",
        f"# {len(g.found)} of {len(table.names)} contract columns found. CHECK every line;",
        "# the contract is in docs/data-contracts.md, the format in kbz_eval/io.py.",
        "",
        "[columns]            # export name -> contract name",
    ]
    by_contract = {c: f for f, c in g.renames.items()}
    for col in table.names:
        if col in by_contract:
            lines.append(f"{_q(by_contract[col])} = {_q(col)}")
    kept = [c for c in g.found if c not in by_contract]
    if kept:
        lines.append(f"# already named as in the contract: {', '.join(kept)}")
    if g.unmapped:
        lines.append("# not mapped (kept as they are, not used by the analyses): "
                     + ", ".join(g.unmapped))
    for m in g.missing:
        lines.append(f"# PROBLEM: required column '{m}' not found; add its export name "
                     f"here (\"<export name>\" = \"{m.split(' | ')[0]}\") or add the "
                     "column at the source")
    optional = [c.name for c in table.columns
                if not c.required and c.name not in g.found
                and not any(c.name in grp for grp in table.one_of)]
    if optional:
        lines.append(f"# optional columns not found: {', '.join(optional)}")
    for col, codes in g.values.items():
        lines += ["", f"[values.{col}]        # export code -> contract value; CHECK (codes "
                  f"seen in the first {rows} rows)"]
        lines += [f"{_q(k)} = {_q(v)}" for k, v in sorted(codes.items())]
        more = g.more_values.get(col, {})
        if more:
            lines.append("# other known codes, in case they occur further down the file:")
            lines += [f"{_q(k)} = {_q(v)}" for k, v in sorted(more.items())]
    for c in g.checks:
        lines.append(f"# CHECK: {c}")
    lines += [
        "",
        "# [identifiers]      # declarations for the identifier guard, if it refuses a",
        "# not_bsn = []       # column of numbers with an eleven-test check digit",
        "# free_text = []     # a column of running text checked to hold no names",
    ]
    return "\n".join(lines) + "\n"


def _sample_column(g: FileGuess | None, col: str) -> pd.Series | None:
    if g is None or g.sample is None:
        return None
    fcol = {c: f for f, c in g.renames.items()}.get(col, col if col in g.found else None)
    if fcol is None or fcol not in g.sample.columns:
        return None
    return g.sample[fcol]


def _years(used: dict[str, FileGuess]) -> tuple[int, int] | None:
    """The span of claims years in the first rows of the panel's tables."""
    found: list[int] = []
    for table in ("insured_periods", "person_years"):
        s = _sample_column(used.get(table), "year")
        if s is not None:
            found += [int(y) for y in pd.to_numeric(s.astype(str).str.strip(),
                                                    errors="coerce").dropna()]
    if not found:
        s = _sample_column(used.get("claim_lines"), "start_date")
        if s is not None:
            years = s.astype(str).str.extract(r"((?:19|20)\d\d)")[0]
            found += [int(y) for y in years.dropna()]
    found = [y for y in found if 2000 <= y <= 2035]
    return (min(found), max(found)) if found else None


def _groups(used: dict[str, FileGuess]) -> tuple[dict[str, list[str]], int | None]:
    """Practice ids by group code seen, and the first KBZ start year seen."""
    g = used.get("practices")
    ids, groups = _sample_column(g, "practice_id"), _sample_column(g, "group")
    starts = _sample_column(g, "kbz_start_year")
    out: dict[str, list[str]] = {}
    first = None
    if ids is not None and groups is not None:
        codes = (g.values.get("group", {}) if g else {})
        for pid, grp in zip(ids.astype(str), groups.astype(str), strict=False):
            name = codes.get(grp.strip(), grp.strip())
            out.setdefault(name, []).append(pid.strip())
    if starts is not None:
        years = pd.to_numeric(starts.astype(str).str.strip(), errors="coerce").dropna()
        first = int(years.min()) if len(years) else None
    return out, first


def _monitor_areas(used: dict[str, FileGuess]) -> tuple[str | None, str | None]:
    g = used.get("monitor")
    areas, types = _sample_column(g, "area"), _sample_column(g, "area_type")
    if areas is None or types is None:
        return None, None
    codes = g.values.get("area_type", {}) if g else {}
    pick: dict[str, str] = {}
    for a, t in zip(areas.astype(str), types.astype(str), strict=False):
        pick.setdefault(codes.get(t.strip(), t.strip()), a.strip())
    return pick.get("neighbourhood"), pick.get("city")


def _config_text(p: Proposal, out: Path, mapping_paths: dict[str, str]) -> str:
    used = p.used
    lines = [
        "# kbz_eval report configuration proposed by `kbz-eval init` from "
        f"{len(used)} export file(s).",
        "# Paths are relative to this file. CHECK every line marked CHECK, then run",
        "#   kbz-eval validate --config kbz.toml",
        "#   kbz-eval report --config kbz.toml --out <new folder>",
        "",
        "[report]",
        'title = "Krachtige basiszorg evaluation"',
        'language = "en"               # "en" or "nl"',
        "suppression_threshold = 10    # published cells never rest on fewer persons "
        "(minimum 5)",
        'on_error = "raise"            # "drop": drop rows that break the contract and '
        "report them",
        "",
        "[inputs]                      # table -> export file",
    ]
    for table, g in used.items():
        rel = Path(os.path.relpath(g.path.resolve(), out.resolve())).as_posix()
        lines.append(f"{table} = {_q(rel)}   # {len(g.found)} column(s) found"
                     + (f"; {len(g.missing)} required missing" if g.missing else ""))
    for g in p.files:
        if g.table and not g.used:
            rel = Path(os.path.relpath(g.path.resolve(), out.resolve())).as_posix()
            lines.append(f"# {g.table} = {_q(rel)}   # not used: {g.why_unused}")
    lines += ["", "[mappings]                    # table -> mapping (export names and "
              "codes -> contract)"]
    lines += [f"{t} = {_q(m)}" for t, m in mapping_paths.items()]

    groups, first_start = _groups(used)
    lines += ["", "[groups]                      # optional: override the practices "
              "table's group column"]
    if "practices" in used:
        lines.append("# CHECK which practices are KBZ and which are controls: the "
                     "practices file says (first rows):")
        for name in sorted(groups):
            ids = ", ".join(_q(i) for i in groups[name])
            lines.append(f"# {name} = [{ids}]")
    else:
        lines.append("# CHECK: no practices file recognised; the claims analyses need "
                     "one (practice_id, city, neighbourhood, group, kbz_start_year)")

    span = _years(used)
    lines += ["", "[analysis]"]
    if span is not None:
        lo, hi = span
        start = first_start if first_start is not None and lo < first_start <= hi else None
        base_ggz = max(lo, start - 1) if start else lo
        saving = min(hi, start + 1) if start else hi
        lines += [
            f"# CHECK the period: guessed from the years in the first {p.rows} rows"
            + (f" and the first KBZ start year ({start})" if start else "") + ".",
            f"years = [{lo}, {hi}]          # claims years analysed",
            f"base_year = {lo}             # index base year and savings base year",
            f"savings_year = {saving}          # the year the saving is computed for",
            f"ggz_base_year = {base_ggz}",
            f"ggz_follow_year = {hi}",
        ]
    else:
        lines += [
            "# CHECK the period: no years found in the first rows; set them:",
            "# years = [first, last]",
            "# base_year = first",
            "# savings_year = ...",
            "# ggz_base_year = ...",
            "# ggz_follow_year = ...",
        ]
    area, reference = _monitor_areas(used)
    lines += [
        'population = "minima"         # "minima" or "all" for the DBC index and the DiD '
        "section",
    ]
    if "monitor" in used:
        if area and reference:
            lines += [f"area = {_q(area)}             # CHECK: the KBZ area in the "
                      "health monitor",
                      f"reference_area = {_q(reference)}   # CHECK: the area it is compared "
                      "with"]
        else:
            lines += ['# area = "..."                # CHECK: the KBZ area in the health '
                      "monitor", '# reference_area = "..."      # and the area it is '
                      "compared with"]
    lines += [
        "# extra_financing_eur = ...   # CHECK: the extra KBZ financing in euros (the "
        "savings are shown net of it)",
        "bootstrap_replicates = 999",
        "seed = 20140101               # any fixed number: the same seed gives the same "
        "report",
        'inference = "practice"        # unit of inference: "practice" or "person"',
        'practice_method = "wild"      # "wild" or "cr2"',
        '# open_data_folder = "../shared/data"   # Vektis/RIVM open data, if you have it',
    ]
    return "\n".join(lines) + "\n"


def _planned(p: Proposal, out: Path) -> dict[Path, str]:
    """Output path -> content, in writing order (mappings, then ``kbz.toml``)."""
    files: dict[Path, str] = {}
    mapping_paths: dict[str, str] = {}
    for table, g in p.used.items():
        rel = f"mappings/{table}.toml"
        files[out / rel] = _mapping_text(g, p.rows)
        mapping_paths[table] = rel
    files[out / "kbz.toml"] = _config_text(p, out, mapping_paths)
    return files


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_proposal(p: Proposal, out: str | Path, *, force: bool = False
                   ) -> list[tuple[Path, str]]:
    """Write ``kbz.toml`` and the mapping files of ``p`` into ``out``.

    Parameters
    ----------
    p
        The proposal (:func:`propose`).
    out
        The folder (made when missing); paths in ``kbz.toml`` are relative to it.
    force
        Overwrite existing files whose content differs.

    Returns
    -------
    list of (Path, str)
        Each file and ``"wrote"``, ``"overwrote"`` or ``"unchanged"``.

    Raises
    ------
    OnboardingError
        When no file was recognised, ``out`` is a file, or (without ``force``) files
        with other content exist; nothing is written then.
    """
    out = Path(out)
    if not p.used:
        raise OnboardingError(
            "no export file was recognised as a kbz_eval table, so nothing was written.\n"
            + p.summary())
    if out.exists() and not out.is_dir():
        raise OnboardingError(f"{out}: --out must be a folder, but it is a file.")
    planned = _planned(p, out)
    states: list[tuple[Path, str]] = []
    clash = []
    for path, text in planned.items():
        if path.exists() and not path.is_file():
            raise OnboardingError(f"{path}: exists and is not a file; nothing was written.")
        if not path.exists():
            states.append((path, "wrote"))
        elif path.read_text(encoding="utf-8", errors="replace") == text:
            states.append((path, "unchanged"))
        else:
            clash.append(path)
            states.append((path, "overwrote"))
    if clash and not force:
        raise OnboardingError(
            "these files exist and would change; nothing was written (pass --force to "
            "overwrite them, or choose another --out):\n"
            + "\n".join(f"  {c}" for c in clash))
    for (path, state), text in zip(states, planned.values(), strict=True):
        if state != "unchanged":
            _write_atomic(path, text)
    return states
