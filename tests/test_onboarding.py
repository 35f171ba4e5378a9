"""`kbz-eval init`: an insurer's Dutch export becomes a working kbz.toml and mappings."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from kbz_eval.onboarding import guess_table, propose, write_proposal

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"

#: How an insurer might name the sample's tables and columns (file stem, columns).
DUTCH = {
    "claim_lines": ("declaraties", {
        "person_id": "verzekerde_id", "claim_id": "declaratienummer",
        "start_date": "begindatum", "end_date": "einddatum", "care_type": "zorgsoort",
        "declaration_code": "prestatiecode", "cost": "declaratiebedrag"}),
    "insured_periods": ("verzekerden", {
        "person_id": "verzekerde_id", "year": "jaar", "practice_id": "praktijk",
        "insured_days": "verzekerde_dagen", "sex": "geslacht", "birth_year": "geboortejaar",
        "age_band": "leeftijdsklasse", "minima": "gemeentepolis"}),
    "practices": ("praktijken", {
        "practice_id": "agb_code", "city": "gemeente", "neighbourhood": "wijk",
        "group": "groep", "kbz_start_year": "startjaar_kbz"}),
    "cvg": ("cvg_metingen", {
        "person_id": "pseudo_id", "practice_id": "huisartspraktijk",
        "measurement": "meting", "date": "meetdatum", "cvg_patient": "cijfer_patient",
        "cvg_gp": "cvg_huisarts"}),
    "workforce": ("medewerkers", {
        "respondent_id": "respondent", "practice_id": "praktijk", "wave": "golf",
        "role": "functie", "workload": "werkdruk", "job_satisfaction": "werktevredenheid"}),
    "monitor": ("gezondheidsmonitor", {
        "area": "gebied", "area_type": "gebiedstype", "year": "jaar",
        "indicator": "indicator", "percent": "percentage", "n": "aantal_respondenten",
        "n_is_assumed": "n_aangenomen"}),
    "practice_indicators": ("ivm_scores", {
        "practice_id": "praktijk", "year": "jaar", "indicator": "indicator",
        "score_percent": "score"}),
    "conversations": ("4d_gesprekken", {
        "respondent_type": "type_respondent", "item": "stelling", "rating": "waardering"}),
    "consults": ("wijkspecialist", {
        "consult_id": "consultnummer", "specialism": "specialisme",
        "referral_avoided": "verwijzing_voorkomen"}),
}

#: Dutch codes written for the contract's codes.
CODES = {
    "sex": {"F": "V", "M": "M"},
    "group": {"kbz": "KBZ", "control": "controle"},
    "area_type": {"neighbourhood": "wijk", "city": "gemeente", "country": "land"},
    "care_type": {"gp": "huisarts", "poli_dbc": "poli", "clinical_dbc": "klinisch",
                  "ggz_specialist": "sggz", "ggz_basic": "bggz", "pharmacy": "farmacie",
                  "other": "overig"},
}


def _sample(table: str) -> pd.DataFrame:
    if table == "claim_lines":
        return pd.read_parquet(SAMPLE / "claim_lines.parquet")
    return pd.read_csv(SAMPLE / f"{table}.csv", comment="#", dtype=str,
                       keep_default_na=False)


def _dutch(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """The table as a Dutch export: Dutch codes, ja/nee, Dutch column names."""
    out = frame.copy()
    for col, codes in CODES.items():
        if col in out.columns:
            out[col] = out[col].astype(str).map(codes).fillna(out[col])
    for col in ("minima", "n_is_assumed", "referral_avoided"):
        if col in out.columns:
            out[col] = out[col].astype(str).map({"True": "ja", "False": "nee"})
    for col in out.columns:  # decimal comma, also in text read back from the sample
        if out[col].dtype == object or str(out[col].dtype) in ("str", "string"):
            text = out[col].astype(str)
            numeric = text.str.fullmatch(r"-?\d+\.\d+")
            out[col] = text.where(~numeric, text.str.replace(".", ",", regex=False))
    return out.rename(columns=DUTCH[table][1])


#: The claims tables; :func:`_write_export` can keep a share of their persons.
CLAIMS_TABLES = ("claim_lines", "insured_periods")


def _write_export(folder: Path, tables=tuple(DUTCH), rows: int | None = None,
                  persons: str | None = None) -> Path:
    """The sample ``tables`` as a Dutch export in ``folder``: their first ``rows`` rows,
    and with ``persons`` (digits) only the claim lines and insured periods of the persons
    whose pseudonym ends in one of them (the other tables whole)."""
    folder.mkdir(parents=True, exist_ok=True)
    for table in tables:
        stem, _ = DUTCH[table]
        frame = _sample(table)
        if persons is not None and table in CLAIMS_TABLES:
            frame = frame[frame["person_id"].astype(str).str[-1].isin(list(persons))]
        frame = _dutch(frame.head(rows), table)
        frame.to_csv(folder / f"{stem}.csv", sep=";", decimal=",", index=False,
                     date_format="%Y-%m-%d", lineterminator="\n")
    return folder


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kbz_eval", *args], capture_output=True,
                          text=True, check=False, cwd=cwd,
                          env={**__import__("os").environ, "MPLBACKEND": "Agg"})


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    """The first rows of every sample table as a Dutch export."""
    return _write_export(tmp_path_factory.mktemp("insurer") / "export", rows=3000)


#: The persons of the full export's claims tables: pseudonyms ending in these digits, a
#: fifth of the sample (every practice, year and care type; about 160,000 claim lines).
#: The report runs the same steps on it as on the whole sample, in a fifth of the time.
FULL_EXPORT_PERSONS = "27"


@pytest.fixture(scope="module")
def full_export(tmp_path_factory) -> Path:
    """Every sample table as a Dutch export, all their rows; the claim lines and insured
    periods of a fifth of the persons (:data:`FULL_EXPORT_PERSONS`)."""
    return _write_export(tmp_path_factory.mktemp("insurer_full") / "export",
                         persons=FULL_EXPORT_PERSONS)


@pytest.mark.slow
def test_a_dutch_export_runs_through_init_validate_and_report(full_export, tmp_path):
    """Init on a Dutch export, then validate and report with no hand-written file."""
    export = full_export
    head = (export / "declaraties.csv").read_text(encoding="utf-8").splitlines()[:2]
    assert head[0].startswith("verzekerde_id;declaratienummer;begindatum")
    assert "," in head[1].split(";")[-1]  # decimal comma

    setup = tmp_path / "setup"
    done = _cli("init", str(export), "--out", str(setup))
    assert done.returncode == 0, done.stderr
    assert "recognised (9)" in done.stdout and "PROBLEMS" not in done.stdout
    config = setup / "kbz.toml"
    cfg = tomllib.loads(config.read_text(encoding="utf-8"))
    assert set(cfg["inputs"]) == set(DUTCH)
    assert cfg["analysis"]["years"] == [2012, 2016]
    claims = tomllib.loads((setup / "mappings" / "claim_lines.toml").read_text("utf-8"))
    assert claims["columns"]["declaratiebedrag"] == "cost"
    assert claims["values"]["care_type"]["huisarts"] == "gp"
    periods = tomllib.loads((setup / "mappings" / "insured_periods.toml").read_text("utf-8"))
    assert periods["columns"]["verzekerde_id"] == "person_id"
    assert periods["values"]["sex"]["V"] == "F"

    done = _cli("validate", "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert "all 9 inputs can be used" in done.stdout

    out = tmp_path / "report"
    done = _cli("report", "--config", str(config), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert (out / "report.html").is_file()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert "savings_minima" in manifest["analyses"]


def test_init_is_deterministic_and_refuses_to_overwrite(export, tmp_path):
    setup = tmp_path / "setup"
    first = _cli("init", str(export), "--out", str(setup))
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in setup.rglob("*.toml")}
    again = _cli("init", str(export), "--out", str(setup))  # same content: left as it is
    assert again.returncode == 0 and "unchanged" in again.stdout
    assert {p.name: p.read_bytes() for p in setup.rglob("*.toml")} == before

    edited = "# my own edits\n" + (setup / "kbz.toml").read_text(encoding="utf-8")
    (setup / "kbz.toml").write_text(edited, encoding="utf-8")
    refused = _cli("init", str(export), "--out", str(setup))
    assert refused.returncode == 1
    assert "kbz.toml" in refused.stderr and "--force" in refused.stderr
    assert (setup / "kbz.toml").read_text(encoding="utf-8") == edited
    forced = _cli("init", str(export), "--out", str(setup), "--force")
    assert forced.returncode == 0, forced.stderr
    assert (setup / "kbz.toml").read_bytes() == before["kbz.toml"]
    assert not [p for p in setup.rglob("*") if p.name.endswith(".tmp")]


def test_unrecognised_files_and_missing_required_columns_are_reported(tmp_path):
    export = _write_export(tmp_path / "export", tables=("practices", "claim_lines"),
                           rows=2000)
    claims = pd.read_csv(export / "declaraties.csv", sep=";", dtype=str)
    claims.drop(columns=["declaratiebedrag"]).to_csv(export / "declaraties.csv", sep=";",
                                                      index=False)
    (export / "notities.csv").write_text("onderwerp;opmerking_tekst\na;b\nc;d\n",
                                         encoding="utf-8")
    (export / "leesmij.pdf").write_bytes(b"%PDF-1.4\n")
    done = _cli("init", str(export), "--out", str(tmp_path / "setup"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    problem = [ln for ln in lines if "required column 'cost' not found" in ln]
    assert problem and "declaraties.csv" in problem[0]
    assert any("notities.csv" in ln and "match no data contract" in ln for ln in lines)
    assert any("leesmij.pdf" in ln and "not a data file" in ln for ln in lines)
    mapping = (tmp_path / "setup" / "mappings" / "claim_lines.toml").read_text("utf-8")
    assert "PROBLEM: required column 'cost' not found" in mapping

    done = _cli("validate", "--config", str(tmp_path / "setup" / "kbz.toml"))
    assert done.returncode == 1
    assert "declaraties.csv" in done.stderr and "cost" in done.stderr


def test_nothing_recognised_writes_nothing(tmp_path):
    (tmp_path / "x.csv").write_text("a;b\n1;2\n", encoding="utf-8")
    done = _cli("init", str(tmp_path / "x.csv"), "--out", str(tmp_path / "setup"))
    assert done.returncode == 1 and "nothing was written" in done.stderr
    assert not (tmp_path / "setup").exists()


def test_guess_table_tells_the_panel_tables_apart():
    periods = ["verzekerde_id", "jaar", "praktijk", "verzekerde_dagen", "geslacht",
               "geboortejaar", "gemeentepolis"]
    assert guess_table(periods).table == "insured_periods"
    panel = [*periods, "aantal_poli_dbc", "kosten_poli_dbc", "kosten_ggz"]
    guess = guess_table(panel)
    assert guess.table == "person_years"
    assert guess.renames["kosten_ggz"] == "ggz_cost" and not guess.missing
    assert guess_table(["Verzekerde ID", "Declaratie-ID", "Begindatum", "Zorgsoort",
                        "Bedrag"]).table == "claim_lines"
    assert guess_table(["verzekerde_id", "jaar"]).table is None


def test_age_in_years_is_not_taken_for_an_age_band():
    sample = pd.DataFrame({"verzekerde_id": ["a", "b"], "jaar": ["2015", "2015"],
                           "praktijk": ["P1", "P1"], "verzekerde_dagen": ["365", "365"],
                           "geslacht": ["V", "M"], "leeftijd": ["34", "71"],
                           "gemeentepolis": ["ja", "nee"]})
    guess = guess_table(list(sample.columns), sample)
    assert guess.table == "insured_periods"
    assert "birth_year | age_band" in guess.missing
    assert any("ages in whole years" in c for c in guess.checks)


def test_write_proposal_output_reads_back_with_the_readers(export, tmp_path):
    from kbz_eval.io import read_table

    proposal = propose([export / "praktijken.csv"])
    write_proposal(proposal, tmp_path)
    mapping = tmp_path / "mappings" / "practices.toml"
    data = read_table(export / "praktijken.csv", "practices", mapping=mapping).data
    assert set(data["group"]) == {"kbz", "control"}


def test_an_output_folder_inside_the_export_is_not_read_as_export(tmp_path):
    export = _write_export(tmp_path / "export", tables=("practices", "insured_periods"),
                           rows=300)
    setup = export / "setup"
    first = _cli("init", str(export), "--out", str(setup))
    assert first.returncode == 0, first.stderr
    again = _cli("init", str(export), "--out", str(setup))
    assert again.returncode == 0, again.stderr
    assert "not recognised" not in again.stdout and "unchanged" in again.stdout
    cfg = tomllib.loads((setup / "kbz.toml").read_text(encoding="utf-8"))
    assert cfg["inputs"] == {"insured_periods": "../verzekerden.csv",
                             "practices": "../praktijken.csv"}


def test_parquet_xlsx_and_spss_exports_are_recognised(tmp_path):
    import pyreadstat

    practices = _dutch(_sample("practices"), "practices")
    practices.to_excel(tmp_path / "praktijken.xlsx", index=False)
    periods = _dutch(_sample("insured_periods").head(400), "insured_periods")
    periods.to_parquet(tmp_path / "verzekerden.parquet", index=False)
    consults = _dutch(_sample("consults"), "consults")
    pyreadstat.write_sav(consults, str(tmp_path / "wijkspecialist.sav"))
    proposal = propose([tmp_path])
    assert {g.path.name: g.table for g in proposal.files} == {
        "praktijken.xlsx": "practices", "verzekerden.parquet": "insured_periods",
        "wijkspecialist.sav": "consults"}
    assert proposal.used["insured_periods"].values["sex"] == {"V": "F"}
    assert not proposal.problems()
