"""validate(): every contract rule, row numbers, on_error='drop', and speed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _io_helpers import person_years, practices

from kbz_eval.errors import DataValidationError, SpecificationError
from kbz_eval.tables import YEAR_MAX, YEAR_MIN, get_table
from kbz_eval.validation import validate


def _violations(df, table="person_years", **kwargs):
    with pytest.raises(DataValidationError) as info:
        validate(df, table, **kwargs)
    return {(v.column, v.rule): v for v in info.value.violations}, info.value


def test_a_valid_table_passes_with_contract_types_and_order():
    df = person_years()
    df.insert(0, "extra_note", "x")  # outside the contract: kept, after the contract
    data, violations, dropped = validate(df, "person_years")
    assert violations == [] and dropped == {}
    contract = get_table("person_years")
    expected = [c for c in contract.names if c in df.columns] + ["extra_note"]
    assert list(data.columns) == expected
    assert data["year"].dtype == "int64"
    assert data["minima"].dtype == bool
    assert data["poli_dbc_cost"].dtype == "float64"
    assert list(data["sex"].cat.categories) == list(contract.column("sex").categories)
    assert data["person_id"].dtype == "str"
    pd.testing.assert_series_equal(
        data["poli_dbc_cost"], df["poli_dbc_cost"], check_names=True
    )


def test_input_is_not_changed():
    df = person_years().astype({"year": str})
    df.loc[0, "poli_dbc_cost"] = -1.0
    before = df.copy()
    validate(df, "person_years", on_error="drop")
    pd.testing.assert_frame_equal(df, before)


def test_missing_column_suggests_the_closest_name():
    df = person_years().rename(columns={"insured_days": "insured_dayz"})
    found, err = _violations(df)
    v = found[("insured_days", "missing column")]
    assert v.n_rows == 0 and "did you mean 'insured_dayz'" in v.detail


def test_missing_one_of_group_is_reported_once():
    df = person_years().drop(columns="birth_year")
    found, _ = _violations(df)
    assert ("birth_year or age_band", "missing column") in found
    validate(df.assign(age_band="60-64"), "person_years")  # either column will do


def test_every_problem_is_collected_in_one_error():
    df = person_years()
    df["year"] = df["year"].astype(str)
    df.loc[1, "year"] = "twintig"
    df.loc[2, "poli_dbc_cost"] = -5.0
    df.loc[[3, 4], "sex"] = ["X", "V"]
    df = df.drop(columns="ggz_cost")
    found, err = _violations(df, source="x.csv")
    assert set(found) == {
        ("ggz_cost", "missing column"), ("year", "wrong type"),
        ("poli_dbc_cost", "negative value"), ("sex", "unknown category"),
    }
    assert found[("sex", "unknown category")].n_rows == 2
    assert found[("sex", "unknown category")].values == ("X", "V")
    assert "Allowed: M, F" in found[("sex", "unknown category")].detail
    text = str(err)
    assert text.startswith("x.csv: table 'person_years' breaks its data contract (4 problems)")


def test_row_numbers_default_to_index_labels_and_follow_row_numbers():
    df = person_years()
    df.loc[[1, 4], "poli_dbc_cost"] = [-1.0, -2.5]
    found, _ = _violations(df)
    v = found[("poli_dbc_cost", "negative value")]
    assert (v.n_rows, v.rows, v.values) == (2, (1, 4), ("-1", "-2.5"))
    rows = np.arange(len(df)) + 10
    found, _ = _violations(df, row_numbers=rows)
    assert found[("poli_dbc_cost", "negative value")].rows == (11, 14)


def test_only_the_first_five_rows_are_listed():
    df = person_years(n_people=5)
    df["poli_dbc_count"] = -1
    v = _violations(df)[0][("poli_dbc_count", "negative value")]
    assert v.n_rows == len(df) and v.rows == (0, 1, 2, 3, 4)


def test_wrong_types_list_the_unreadable_values():
    df = person_years().astype({"insured_days": object, "minima": object})
    df.loc[0, "insured_days"] = "365,5"
    df.loc[1, "insured_days"] = 200.5  # not a whole number
    df.loc[2, "minima"] = "misschien"
    found, _ = _violations(df)
    days = found[("insured_days", "wrong type")]
    assert (days.n_rows, days.rows, days.values) == (2, (0, 1), ("365,5", "200.5"))
    assert found[("minima", "wrong type")].values == ("misschien",)


def test_missing_values_in_non_nullable_columns():
    df = person_years()
    df.loc[3, "person_id"] = None
    df.loc[5, "practice_id"] = "  "  # blank text is missing
    found, _ = _violations(df)
    assert found[("person_id", "missing value")].rows == (3,)
    assert found[("practice_id", "missing value")].rows == (5,)
    assert ("person_id", "wrong type") not in found


def test_unreadable_values_are_not_also_reported_as_missing():
    df = person_years().astype({"year": str})
    df.loc[0, "year"] = "abc"
    found, _ = _violations(df)
    assert set(found) == {("year", "wrong type")}


@pytest.mark.parametrize(("column", "value", "rule"), [
    ("insured_days", 0, "below minimum"),
    ("insured_days", 367, "above maximum"),
    ("year", YEAR_MIN - 1, "below minimum"),
    ("year", YEAR_MAX + 1, "above maximum"),
    ("birth_year", 1899, "below minimum"),
    ("ggz_cost", -0.01, "negative value"),
])
def test_ranges_of_person_years(column, value, rule):
    df = person_years()
    df.loc[2, column] = value
    v = _violations(df)[0][(column, rule)]
    assert (v.n_rows, v.rows) == (1, (2,))
    assert v.values == (str(value),)
    if column == "year":
        assert "Implausible year" in v.detail


@pytest.mark.parametrize(("value", "rule"), [(0, "below minimum"), (11, "above maximum")])
def test_cvg_marks_must_lie_between_1_and_10(value, rule):
    cvg = pd.DataFrame({"person_id": ["a", "b", "c"], "practice_id": "p",
                        "measurement": [1, 1, 1], "cvg_patient": [5, value, 10]})
    v = _violations(cvg, "cvg")[0][("cvg_patient", rule)]
    assert (v.n_rows, v.rows, v.values) == (1, (1,), (str(value),))


def test_duplicate_keys_report_every_duplicated_row():
    df = person_years()
    df = pd.concat([df, df.iloc[[1, 1, 4]]], ignore_index=True)
    expected = df.duplicated(["person_id", "year"], keep=False)
    v = _violations(df)[0][("person_id + year", "duplicate key")]
    assert v.n_rows == expected.sum() == 5
    assert v.rows == tuple(np.flatnonzero(expected)[:5])
    assert v.values[0] == f"{df.loc[1, 'person_id']} / {df.loc[1, 'year']}"
    assert v.detail.startswith("2 key values")


def test_foreign_keys_are_checked_when_the_reference_is_given():
    df = person_years()
    df.loc[[0, 3], "practice_id"] = "elsewhere"
    validate(df, "person_years")  # no reference, no check
    v = _violations(df, references={"practices": practices()})[0][
        ("practice_id", "foreign key")]
    assert (v.n_rows, v.rows, v.values) == (2, (0, 3), ("elsewhere", "elsewhere"))
    assert "Not in the practices table" in v.detail


def test_references_must_be_table_names_and_unused_ones_are_ignored():
    with pytest.raises(SpecificationError, match="keys of `references` must be table"):
        validate(person_years(), "person_years", references={"praktijken": practices()})
    claims = pd.DataFrame({"person_id": ["a"], "claim_id": ["1"], "start_date": ["2015-01-01"],
                           "care_type": ["gp"], "cost": [1.0]})
    validate(claims, "claim_lines", references={"practices": practices()})
    with pytest.raises(SpecificationError, match="no column 'practice_id'"):
        validate(person_years(), "person_years",
                 references={"practices": practices().rename(columns={"practice_id": "x"})})


def test_on_error_must_be_raise_or_drop():
    with pytest.raises(SpecificationError) as info:
        validate(person_years(), "person_years", on_error="ignore")
    assert str(info.value) == (
        "The value for `on_error` must be one of ['raise', 'drop'], but 'ignore' was passed."
    )


def test_drop_removes_bad_rows_and_counts_them_by_rule():
    df = person_years(n_people=4)
    df.loc[1, "ggz_cost"] = -3.0
    df.loc[1, "insured_days"] = 400  # same row, second rule
    df.loc[5, "sex"] = "?"
    df = pd.concat([df, df.iloc[[6]]], ignore_index=True)  # duplicate of row 6
    result = validate(df, "person_years", on_error="drop")
    bad = {1, 5, 6, len(df) - 1}
    assert result.rows_dropped == len(bad)
    assert list(result.data.index) == [i for i in range(len(df)) if i not in bad]
    assert result.dropped == {
        "insured_days: above maximum": 1, "sex: unknown category": 1,
        "ggz_cost: negative value": 1, "person_id + year: duplicate key": 2,
    }
    assert [v.rule for v in result.violations] == [
        "above maximum", "unknown category", "negative value", "duplicate key"]
    assert result.data["insured_days"].dtype == "int64"


def test_drop_still_raises_on_a_missing_column():
    df = person_years().drop(columns="year")
    df.loc[0, "ggz_cost"] = -1.0
    with pytest.raises(DataValidationError) as info:
        validate(df, "person_years", on_error="drop")
    assert {v.rule for v in info.value.violations} == {"missing column", "negative value"}


def test_text_values_are_coerced_with_the_given_notation():
    df = person_years().astype(str)
    df["poli_dbc_cost"] = ["1.234,56", "0,5", "12", "1.000.000", "3,25", "7"]
    df["ggz_cost"] = ["0", "0", "10,0", "10", "20", "2.000"]
    df["minima"] = ["ja", "Nee", "J", "n", "TRUE", "0"]
    data = validate(df, "person_years", decimal=",").data
    np.testing.assert_allclose(data["poli_dbc_cost"],
                               [1234.56, 0.5, 12, 1_000_000, 3.25, 7], rtol=0, atol=0)
    np.testing.assert_allclose(data["ggz_cost"], [0, 0, 10, 10, 20, 2000], rtol=0, atol=0)
    assert data["minima"].tolist() == [True, False, True, False, True, False]
    assert data["year"].tolist() == person_years()["year"].tolist()


def test_misplaced_thousands_marks_are_wrong_types():
    df = person_years()
    df["poli_dbc_cost"] = ["0", "0", "1.234,5", "12", "7,25", "0"]
    df.loc[0, "poli_dbc_cost"] = "12.34,5"  # '.' only in groups of three digits
    df.loc[1, "poli_dbc_cost"] = "3.5"  # a decimal point in a decimal-comma table
    found, _ = _violations(df, decimal=",")
    assert found[("poli_dbc_cost", "wrong type")].rows == (0, 1)


def test_dates_in_iso_and_dutch_forms():
    lines = pd.DataFrame({"person_id": ["a", "b", "c"], "claim_id": ["1", "2", "3"],
                          "care_type": ["poli_dbc"] * 3, "cost": [1.0, 2.0, 3.0]})
    expected = pd.to_datetime(["2015-03-01", "2015-12-31", "2016-01-05"])
    for values, label in [
        (["2015-03-01", "2015-12-31", "2016-01-05"], "YYYY-MM-DD (ISO 8601)"),
        (["01-03-2015", "31-12-2015", "5-1-2016"], "DD-MM-YYYY"),
        (["1/3/2015", "31/12/2015", "05/01/2016"], "DD/MM/YYYY"),
    ]:
        result = validate(lines.assign(start_date=values), "claim_lines")
        assert result.date_formats == {"start_date": label}
        np.testing.assert_array_equal(result.data["start_date"].to_numpy(),
                                      expected.to_numpy().astype("datetime64[ns]"))


def test_nullable_integers_stay_nullable():
    data = validate(practices(), "practices").data
    assert data["kbz_start_year"].dtype == "Int64"
    assert data["kbz_start_year"].isna().tolist() == [False, True]
    assert data["group"].tolist() == ["kbz", "control"]


def test_validating_300k_person_years_rows_completes():
    n_people, years = 60_000, (2012, 2013, 2014, 2015, 2016)
    rng = np.random.default_rng(7)
    n = n_people * len(years)
    df = pd.DataFrame({
        "person_id": np.repeat([f"P{i:06d}" for i in range(n_people)], len(years)),
        "year": np.tile(years, n_people),
        "practice_id": rng.choice(["prac0", "prac1"], n),
        "insured_days": rng.integers(1, 366, n),
        "sex": rng.choice(["M", "F"], n),
        "birth_year": rng.integers(1920, 2010, n),
        "minima": rng.random(n) < 0.1,
        "poli_dbc_count": rng.poisson(0.3, n),
        "poli_dbc_cost": rng.gamma(0.3, 900.0, n),
        "ggz_cost": rng.gamma(0.1, 2000.0, n),
    })
    df.loc[[17, 250_000], "ggz_cost"] = -1.0
    result = validate(df, "person_years", on_error="drop",
                      references={"practices": practices()})
    assert len(result.data) == n - 2
    assert result.dropped == {"ggz_cost: negative value": 2}


def _schema_only(contract, present, work, type_bad):
    """``_schema_checks`` with the quick pass switched off: the pandera schema decides."""
    import kbz_eval.validation as validation

    saved = validation._surely_clean
    validation._surely_clean = lambda *_: False
    try:
        return validation._schema_checks(contract, present, work, type_bad)
    finally:
        validation._surely_clean = saved


@pytest.mark.parametrize("seed", range(40))
def test_the_quick_pass_never_hides_what_the_schema_finds(seed):
    """Over tables with random out-of-range, unknown and missing values (and clean ones),
    the quick pass only answers "clean" when the pandera schema finds nothing, and the
    rules found with it are those found without it."""
    import kbz_eval.validation as validation

    rng = np.random.default_rng(seed)
    name = ["person_years", "cvg", "workforce", "practices"][seed % 4]
    contract = get_table(name)
    if name == "person_years":
        df = person_years(4)
    elif name == "practices":
        df = practices()
    elif name == "cvg":
        df = pd.DataFrame({"person_id": list("abcdef"), "practice_id": "p",
                           "measurement": [1, 1, 1, 2, 2, 2],
                           "cvg_patient": rng.integers(1, 11, 6).astype(float)})
    else:
        df = pd.DataFrame({"respondent_id": ["a", "b", "c"], "practice_id": ["p", "q", "r"],
                           "wave": [1, 1, 2], "role": "GP", "workload": [5.0, np.nan, 7.0],
                           "job_satisfaction": rng.integers(1, 11, 3).astype(float)})
    present = [c for c in contract.columns if c.name in df.columns]
    for _ in range(int(rng.integers(0, 3)) if seed % 5 else 0):
        col = present[int(rng.integers(len(present)))]
        row = int(rng.integers(len(df)))
        choices: list[object] = [None]
        if col.min is not None:
            choices.append(col.min - 1)
        if col.max is not None:
            choices.append(col.max + 1)
        if col.categories:
            choices.append("not a category")
        df.loc[row, col.name] = choices[int(rng.integers(len(choices)))]
    work = df.copy()
    type_bad = {c.name: np.zeros(len(df), dtype=bool) for c in present}
    for c in present:
        if c.categories:
            work[c.name] = work[c.name].astype(object)
        elif c.min is not None or c.max is not None:
            work[c.name] = pd.to_numeric(work[c.name], errors="coerce")
    with_pass = validation._schema_checks(contract, present, work, type_bad)
    without = _schema_only(contract, present, work, type_bad)
    if validation._surely_clean(present, work):
        assert without == [] and with_pass == []
    assert [(f.column, f.rule) for f in with_pass] == [(f.column, f.rule) for f in without]
    for a, b in zip(with_pass, without, strict=True):
        assert (a.mask == b.mask).all()
