"""The identifier guard judges values: BSNs in any form, birth dates, postcodes, free text.

Each attack here passed the guard when it judged BSNs by a majority of whole values,
birth dates by column name only and postcodes in two spellings; the negatives pin down
what must keep passing (random claim numbers, service dates, categories, PC4, the
synthetic sample, Vektis open data) and the declarations of the mapping.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from _io_helpers import make_bsns, passes_eleven_test, write_text

from kbz_eval.errors import IdentifierError, SpecificationError
from kbz_eval.formats import open_source
from kbz_eval.io import load_mapping, read, read_table
from kbz_eval.privacy import Declarations, check_identifiers, find_identifiers

SEED = 20150101


def _rules(df: pd.DataFrame, **kwargs) -> dict[str, str]:
    return {f.column: f.rule for f in find_identifiers(df, **kwargs)}


def _refused_text(df: pd.DataFrame, **kwargs) -> str:
    with pytest.raises(IdentifierError) as info:
        check_identifiers(df, source="extract.csv", **kwargs)
    return str(info.value)


def _non_bsns(n: int, *, seed: int) -> list[str]:
    """``n`` distinct random nine-digit numbers that fail the eleven-test."""
    rng = np.random.default_rng(seed)
    out: set[str] = set()
    while len(out) < n:
        x = str(rng.integers(100_000_000, 1_000_000_000))
        if not passes_eleven_test(x):
            out.add(x)
    return sorted(out)


def _written(bsn: str, form: str) -> str:
    sep = form[-1]
    if form.startswith("4-2-3"):
        return sep.join((bsn[:4], bsn[4:6], bsn[6:]))
    return sep.join((bsn[:3], bsn[3:6], bsn[6:]))


WRITTEN_FORMS = ["4-2-3.", "4-2-3 ", "3-3-3.", "3-3-3 ", "3-3-3-"]


# --- BSNs -------------------------------------------------------------------------------


def test_bsns_inside_free_text_are_refused():
    bsns = make_bsns(12, seed=SEED)
    remarks = [f"pt {b} gebeld" for b in bsns] + ["terugbellen", "geen bijzonderheden"] * 40
    df = pd.DataFrame({"opmerking": remarks})
    text = _refused_text(df)
    assert _rules(df) == {"opmerking": "bsn-eleven-test"}
    assert "'opmerking'" in text and "12 of the 12 distinct" in text
    assert not any(b in text for b in bsns)


def test_declaring_free_text_does_not_hide_its_bsns():
    bsns = make_bsns(12, seed=SEED)
    df = pd.DataFrame({"opmerking": [f"pt {b} gebeld" for b in bsns]})
    assert _rules(df, declared={"free_text": ["opmerking"]}) == {
        "opmerking": "bsn-eleven-test"}


@pytest.mark.parametrize("form", WRITTEN_FORMS)
def test_one_written_out_bsn_in_a_remark_is_refused(form):
    bsn = make_bsns(1, seed=SEED + 1)[0]
    written = _written(bsn, form)
    df = pd.DataFrame({"opmerking": [f"zie {written} (moeder)"] + ["geen"] * 99})
    text = _refused_text(df)
    assert _rules(df) == {"opmerking": "bsn-in-text"}
    assert "1 of the 100 values checked" in text
    assert written not in text and bsn not in text


@pytest.mark.parametrize("form", WRITTEN_FORMS)
def test_written_out_bsns_as_whole_values_are_refused(form):
    bsns = make_bsns(30, seed=SEED + 2)
    df = pd.DataFrame({"ref": [_written(b, form) for b in bsns]})
    assert _rules(df) == {"ref": "bsn-eleven-test"}


def test_a_written_out_number_that_fails_the_eleven_test_passes():
    number = _non_bsns(1, seed=SEED)[0]
    df = pd.DataFrame({"opmerking": [f"factuur {_written(number, '4-2-3.')}"] + ["x"] * 9})
    assert find_identifiers(df) == []


def test_one_plain_nine_digit_number_in_text_is_not_enough():
    # one in eleven claim numbers passes by chance: a lone one proves nothing
    df = pd.DataFrame({"opmerking": ["pt 111222333 gebeld"] + ["geen"] * 50})
    assert find_identifiers(df) == []


def test_a_column_with_40_percent_bsns_is_refused():
    rng = np.random.default_rng(SEED)
    bsns = make_bsns(400, seed=SEED)
    ids = [str(x) for x in rng.integers(100_000_000, 1_000_000_000, 600)]
    values = list(rng.permutation(bsns + ids))
    df = pd.DataFrame({"klantnummer": values, "as_int": [int(v) for v in values]})
    assert _rules(df) == {"klantnummer": "bsn-eleven-test", "as_int": "bsn-eleven-test"}
    text = _refused_text(df)
    assert "pass the BSN eleven-test" in text and "binomial" in text
    assert not any(v in text for v in values)


@pytest.mark.parametrize(("n_pass", "n_fail", "refused"), [
    (1, 0, False), (2, 0, False), (3, 0, True), (4, 1, True), (3, 2, False),
])
def test_small_columns_need_most_numbers_passing(n_pass, n_fail, refused):
    values = make_bsns(n_pass, seed=SEED + 3) + _non_bsns(n_fail, seed=SEED)
    assert (_rules(pd.DataFrame({"nr": values})) != {}) is refused


def test_random_nine_digit_ids_are_never_refused():
    # 1,000 random ids: about 91 pass the eleven-test (sd 9); refusal needs 200
    refused = []
    for seed in range(200):
        rng = np.random.default_rng([SEED, seed])
        ids = rng.integers(100_000_000, 1_000_000_000, 1_000)
        df = pd.DataFrame({"claim_id": ids.astype(str), "factuurnr": ids})
        if find_identifiers(df):
            refused.append(seed)
    assert refused == []


def test_declared_claim_numbers_with_a_check_digit_pass():
    claim_numbers = make_bsns(200, seed=SEED + 4)  # an id scheme using the eleven-test
    df = pd.DataFrame({"claim_nr": claim_numbers, "jaar": 2015})
    assert _rules(df) == {"claim_nr": "bsn-eleven-test"}
    text = _refused_text(df)
    assert "not_bsn" in text  # the message says how to declare
    check_identifiers(df, declared={"not_bsn": ["claim_nr"]})
    check_identifiers(df, declared=Declarations(not_bsn=frozenset({"claim_nr"})))


def test_a_declaration_lifts_only_its_own_rule():
    bsns = make_bsns(20, seed=SEED + 5)
    df = pd.DataFrame({
        "bsn": bsns,  # refused by name whatever is declared
        "ref": bsns[:10] + ["3562 AB", "3511 CD"] * 5,  # postcodes are still checked
        "opmerking": [f"pt {b}" for b in bsns],  # free text is still checked for BSNs
    })
    declared = {"not_bsn": ["bsn", "ref"], "free_text": ["opmerking"]}
    assert _rules(df, declared=declared) == {
        "bsn": "name", "ref": "postcode", "opmerking": "bsn-eleven-test"}


def test_declared_names_must_be_columns_and_kinds_must_be_known():
    df = pd.DataFrame({"claim_nr": ["1"], "opmerking": ["x"]})
    with pytest.raises(SpecificationError) as info:
        check_identifiers(df, source="claims.csv", declared={"not_bsn": ["claim_no"]})
    assert str(info.value).startswith("claims.csv:")
    assert "'claim_no'" in str(info.value) and "claim_nr" in str(info.value)
    with pytest.raises(SpecificationError, match="unknown declaration"):
        check_identifiers(df, declared={"geen_bsn": ["claim_nr"]})
    with pytest.raises(SpecificationError, match="list of column names"):
        check_identifiers(df, declared={"not_bsn": [1]})


# --- birth dates ------------------------------------------------------------------------


def _birth_dates(n: int, *, seed: int) -> pd.DatetimeIndex:
    rng = np.random.default_rng(seed)
    days = rng.integers(0, (pd.Timestamp("2005-12-31") - pd.Timestamp("1925-01-01")).days, n)
    return pd.Timestamp("1925-01-01") + pd.to_timedelta(days, unit="D")


DATE_FORMS = {
    "iso": lambda d: d.strftime("%Y-%m-%d").tolist(),
    "dd-mm-yyyy": lambda d: d.strftime("%d-%m-%Y").tolist(),
    "dd/mm/yyyy": lambda d: d.strftime("%d/%m/%Y").tolist(),
    "d-m-yyyy": lambda d: [f"{x.day}-{x.month}-{x.year}" for x in d],
    "iso with time": lambda d: d.strftime("%Y-%m-%d 00:00:00").tolist(),
    "datetime64": lambda d: d,
    "python dates": lambda d: [x.date() for x in d],
}


@pytest.mark.parametrize("form", list(DATE_FORMS))
@pytest.mark.parametrize("name", ["datum", "d_1", "peildatum"])
def test_birth_dates_are_refused_whatever_the_column_name(form, name):
    dates = _birth_dates(300, seed=SEED)
    values = DATE_FORMS[form](dates)
    df = pd.DataFrame({"person_id": [f"P{i}" for i in range(300)], name: values})
    assert _rules(df) == {name: "birth-date-spread"}
    text = _refused_text(df)
    assert "birth year" in text
    assert not any(str(x.year) in text for x in dates)


@pytest.mark.parametrize("form", list(DATE_FORMS))
def test_service_dates_of_the_extract_pass(form):
    rng = np.random.default_rng(SEED)
    start = pd.Timestamp("2012-01-01") + pd.to_timedelta(rng.integers(0, 1826, 2_000),
                                                         unit="D")
    end = start + pd.to_timedelta(rng.integers(0, 120, 2_000), unit="D")
    df = pd.DataFrame({
        "start_date": DATE_FORMS[form](pd.DatetimeIndex(start)),
        "end_date": DATE_FORMS[form](pd.DatetimeIndex(end)),
        "date": DATE_FORMS[form](pd.DatetimeIndex(start[:100]).repeat(20)),
    })
    assert find_identifiers(df) == []


def test_insured_periods_pass():
    years = np.arange(2012, 2017)
    df = pd.DataFrame({
        "start_date": [f"{y}-01-01" for y in years] * 50,
        "end_date": [f"{y}-12-31" for y in years] * 50,
    })
    assert find_identifiers(df) == []


def test_a_birth_year_stored_as_a_date_passes():
    years = np.random.default_rng(SEED).integers(1925, 2005, 300)
    df = pd.DataFrame({"geboortejaar": pd.to_datetime([f"{y}-01-01" for y in years]),
                       "jaar_text": [f"01-01-{y}" for y in years]})
    assert find_identifiers(df) == []


def test_registration_dates_can_be_declared_not_birth_dates():
    dates = DATE_FORMS["iso"](_birth_dates(300, seed=SEED + 1))
    df = pd.DataFrame({"inschrijfdatum": dates, "datum_geboren": dates})
    assert _rules(df) == {"inschrijfdatum": "birth-date-spread",
                          "datum_geboren": "birth-date-name"}
    declared = {"not_birth_date": ["inschrijfdatum", "datum_geboren"]}
    assert _rules(df, declared=declared) == {"datum_geboren": "birth-date-name"}


# --- postcodes --------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["{} AB", "{}AB", "{}-AB", "{}ab", "{} ab",
                                      "{}  AB", "{} - ab"])
def test_six_character_postcodes_are_refused_in_any_spelling(spelling):
    df = pd.DataFrame({"pc": [spelling.format(d) for d in (3562, 3511, 1012, 9711)]})
    assert _rules(df) == {"pc": "postcode"}
    assert "3562" not in _refused_text(df)


@pytest.mark.parametrize("remark", ["verhuisd naar {} AB Utrecht", "adres: Laan 1, {}AB",
                                    "post naar {}-CD", "nieuw adres {}ab"])
def test_postcodes_inside_text_are_refused(remark):
    df = pd.DataFrame({"opmerking": [remark.format(3562), remark.format(3511)]
                       + ["geen"] * 20})
    assert _rules(df) == {"opmerking": "postcode"}


def test_pc4_and_lookalikes_pass():
    df = pd.DataFrame({
        "pc4": ["3562", "3511", "1012", "9711"] * 5,
        "dosis": ["1000 mg", "2000 IE", "1500 ml", "500 mg"] * 5,
        "opmerking": ["in 2015 en 2016 gezien", "sinds 2014 op de lijst", "1000 mg",
                      "2012JJ00"] * 5,
        "wijk": ["WK034403", "WK034401", "BU03440301", "GM0344"] * 5,
    })
    assert find_identifiers(df) == []


def test_a_single_postcode_in_a_large_column_of_text_is_not_enough():
    df = pd.DataFrame({"opmerking": ["verhuisd naar 3562 AB"] + ["geen"] * 50})
    assert find_identifiers(df) == []


# --- names and free text ----------------------------------------------------------------


FIRST = ["Jan", "Piet", "Anna", "Sara", "Mohamed", "Fatima", "Els", "Kees", "M.", "J.K."]
LAST = ["de Vries", "Jansen", "Bakker", "van den Berg", "El Amrani", "Visser", "Smit",
        "de Boer", "Yilmaz", "Mulder"]


def test_person_names_as_values_are_refused_unless_declared_free_text():
    names = [f"{f} {s}" for f in FIRST for s in LAST]
    df = pd.DataFrame({"x": names, "sex": ["M", "F"] * 50})
    assert _rules(df) == {"x": "free-text"}
    text = _refused_text(df)
    assert "free_text" in text and not any(s in text for s in LAST)
    assert find_identifiers(df, declared={"free_text": ["x"]}) == []


def test_surname_comma_initials_are_refused():
    names = [f"{s.split()[-1]}, {f[0]}." for f in FIRST for s in LAST]
    df = pd.DataFrame({"wie": names[:60] * 3})
    assert _rules(df) == {"wie": "free-text"}


def test_remarks_are_free_text():
    rng = np.random.default_rng(SEED)
    words = ["pt", "gebeld", "afspraak", "gemaakt", "klachten", "rug", "verwezen", "naar",
             "fysio", "controle", "over", "week"]
    remarks = [" ".join(rng.choice(words, 5)) for _ in range(200)]
    df = pd.DataFrame({"opmerking": remarks})
    assert _rules(df) == {"opmerking": "free-text"}
    assert find_identifiers(df, declared={"free_text": ["opmerking"]}) == []


def test_names_in_a_categorical_column_are_refused():
    names = [f"{f} {s}" for f in FIRST for s in LAST]
    df = pd.DataFrame({"x": pd.Categorical(names * 2)})
    assert _rules(df) == {"x": "free-text"}


def test_the_message_names_file_column_rule_and_count():
    bsns = make_bsns(12, seed=SEED + 7)
    df = pd.DataFrame({
        "opmerking": [f"pt {b} gebeld" for b in bsns] + ["geen"] * 88,
        "adres": ["3562 AB", "3511 CD"] * 50,
        "ok": range(100),
    })
    text = _refused_text(df)
    assert text.startswith("extract.csv: refused, the input holds direct identifiers "
                           "(2 columns):")
    assert ("column 'opmerking' (rule bsn-eleven-test): 12 of the 12 distinct BSN-shaped "
            "numbers of the 100 values checked (100%) pass the BSN eleven-test") in text
    assert "column 'adres' (rule name)" in text  # the name comes first
    assert "'ok'" not in text and "3562" not in text
    assert not any(b in text for b in bsns)


def test_codes_and_categories_pass():
    rng = np.random.default_rng(SEED)
    n = 5_000
    cities = ["Utrecht", "S GRAVENHAGE", "Bergen op Zoom", "Den Haag", "Amsterdam",
              "Alphen aan den Rijn", "Zeist", "Houten", "Nieuwegein", "IJsselstein"]
    df = pd.DataFrame({
        "sex": rng.choice(["M", "F"], n),
        "care_type": rng.choice(["gp", "poli_dbc", "ggz_basic", "clinical_dbc"], n),
        "practice_id": rng.choice([f"P{i:02d}" for i in range(1, 41)], n),
        "area": rng.choice([f"WK0344{i:02d}" for i in range(1, 11)], n),
        "city": rng.choice(cities, n),
        "specialism": rng.choice(["interne geneeskunde", "orthopedie", "cardiologie",
                                  "kindergeneeskunde", "keel neus oor"], n),
        "claim_id": [f"C{x:08d}" for x in rng.integers(0, 10**8, n)],
        "age_band": rng.choice(["0-4", "5-9", " 5 t/m  9 jaar", "90+"], n),
    })
    assert find_identifiers(df) == []


# --- through the readers ----------------------------------------------------------------


CLAIMS = "person_id;claim_nr;start_date;care_type;declaration_code;cost"


def _claims_file(tmp_path, claim_numbers):
    return write_text(tmp_path / "claims.csv", [
        CLAIMS, *[f"P{i};{c};2015-01-0{i % 9 + 1};gp;120001;10" for i, c in
                  enumerate(claim_numbers)],
    ])


def test_a_mapping_declares_claim_numbers_with_a_check_digit(tmp_path):
    path = _claims_file(tmp_path, make_bsns(30, seed=SEED + 6))
    columns = {"claim_nr": "claim_id"}
    with pytest.raises(IdentifierError, match="'claim_nr'"):
        read(path, "claim_lines", mapping={"columns": columns})
    toml_path = tmp_path / "mapping.toml"
    toml_path.write_text('[columns]\nclaim_nr = "claim_id"\n'
                         '[identifiers]\nnot_bsn = ["claim_nr"]\n', encoding="utf-8")
    result = read_table(path, "claim_lines", mapping=toml_path)
    assert len(result.data) == 30
    assert result.report.mapping["identifiers"] == {"not_bsn": ["claim_nr"]}
    from_dict = read(path, "claim_lines", mapping={
        "columns": columns, "identifiers": {"not_bsn": ["claim_nr"]}})
    pd.testing.assert_frame_equal(from_dict, result.data)


def test_a_mapping_may_only_declare_columns_of_the_file(tmp_path):
    path = _claims_file(tmp_path, ["C1", "C2"])
    mapping = {"columns": {"claim_nr": "claim_id"},
               "identifiers": {"not_bsn": ["claim_id"]}}  # the contract name, not the file's
    with pytest.raises(SpecificationError) as info:
        read(path, "claim_lines", mapping=mapping)
    assert "'claim_id'" in str(info.value) and "claims.csv" in str(info.value)
    with pytest.raises(SpecificationError, match="unknown declaration"):
        load_mapping({"identifiers": {"free": ["x"]}})


# --- real and synthetic data pass -------------------------------------------------------


def test_the_synthetic_sample_passes():
    from kbz_eval.synth import generate

    for name, frame in generate().items():
        check_identifiers(frame, source=name)
        check_identifiers(frame.astype("string"), source=f"{name} as text")


def test_service_dates_as_python_dates_in_a_spreadsheet_column_pass():
    dates = [dt.date(2015, 1, 1) + dt.timedelta(days=int(d))
             for d in np.random.default_rng(SEED).integers(0, 700, 500)]
    check_identifiers(pd.DataFrame({"datum": pd.Series(dates, dtype=object)}))


@pytest.mark.data
@pytest.mark.parametrize("year", [2011, 2023])
def test_vektis_open_data_passes(shared_data, year):
    raw = open_source(shared_data / "vektis" / f"vektis_{year}_gemeente.csv")
    check_identifiers(raw.frame)  # municipality names, age classes, counts, costs
