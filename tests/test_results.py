"""The shared result contract."""

from __future__ import annotations

import pandas as pd
import pytest

from kbz_eval.errors import SpecificationError
from kbz_eval.results import TIDY_COLUMNS, Result, tidy_frame


def _result() -> Result:
    est = tidy_frame([
        {"term": "saving_per_person", "estimate": 356.0, "std_error": 40.0,
         "ci_lower": 277.6, "ci_upper": 434.4, "p_value": 0.001, "n": 1641, "unit": "EUR"},
        {"term": "n_persons", "estimate": 1641, "n": 1641},
    ])
    return Result(estimates=est, method="person-level bootstrap")


def test_tidy_has_the_contract_columns_first_and_copies():
    r = _result()
    t = r.tidy()
    assert tuple(t.columns[: len(TIDY_COLUMNS)]) == TIDY_COLUMNS
    assert list(t.columns[len(TIDY_COLUMNS):]) == ["unit"]
    assert t["std_error"].isna().tolist() == [False, True]
    t.loc[0, "estimate"] = -1
    assert r.tidy().loc[0, "estimate"] == 356.0


def test_repr_is_one_line_and_html_shows_the_table():
    r = _result()
    text = repr(r)
    assert "\n" not in text and "saving_per_person" in text and "356" in text
    page = r._repr_html_()
    assert "<table" in page and "person-level bootstrap" in page


def test_summary_is_a_frame():
    assert isinstance(_result().summary(), pd.DataFrame)


def test_result_without_a_plot_says_so():
    with pytest.raises(SpecificationError, match="has no plot"):
        _result().plot()
