"""``shared_preparation``: a selection of the panel made once gives the same analyses.

Within the block, ``prepare_claims`` reuses the last selection of the same panel,
practices table, population and years, adding the columns it lacks. Everything an
analysis returns must be what it returns outside the block, whatever the order of the
calls; a change an analysis makes to its frame must not reach the next one; and only
one selection is held at a time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kbz_eval as kbz
from kbz_eval.estimators import claims_common as cc
from kbz_eval.report.analyses import ANALYSES, run_order


@pytest.fixture(scope="module")
def sample():
    return kbz.load_sample()


#: Calls of prepare_claims in an order that takes every path: a new selection, the
#: same selection with another value column, with age and sex added later, other years.
CALLS = (
    dict(population="all", values=["poli_dbc_cost"]),
    dict(population="all", values=["poli_dbc_cost"], need_age_sex=True),
    dict(population="all", values=["ggz_cost", "poli_dbc_count"], need_age_sex=True),
    dict(population="minima", values=["poli_dbc_count"]),
    dict(population="minima", values=["poli_dbc_cost"], need_age_sex=True),
    dict(population="all", values=["ggz_cost"], years=[2016, 2013], need_age_sex=True),
    dict(population="all", values=["poli_dbc_cost"], years=[2013, 2016]),
)


def _same(a: cc.ClaimsPanel, b: cc.ClaimsPanel) -> None:
    pd.testing.assert_frame_equal(a.frame, b.frame)
    np.testing.assert_array_equal(a.strata, b.strata)
    pd.testing.assert_frame_equal(a.practices, b.practices)
    assert (a.n_persons, a.n_rows_outside, a.population, a.years, a.notes) == \
        (b.n_persons, b.n_rows_outside, b.population, b.years, b.notes)


def _shuffled(panel: pd.DataFrame) -> pd.DataFrame:
    """Rows out of person-year order (the selection must then be sorted) and age bands
    from birth years only for some rows."""
    out = panel.sample(frac=1.0, random_state=3).reset_index(drop=True)
    if "age_band" in out.columns:
        out["age_band"] = out["age_band"].astype(object)
        out.loc[out.index % 3 == 0, "age_band"] = ""
    return out


@pytest.mark.parametrize("shuffle", [False, True])
def test_each_call_gives_what_it_gives_alone(sample, shuffle):
    panel = _shuffled(sample["person_years"]) if shuffle else sample["person_years"]
    practices = sample["practices"]
    alone = [cc.prepare_claims(panel, practices, **kw) for kw in CALLS]
    with cc.shared_preparation():
        shared = [cc.prepare_claims(panel, practices, **kw) for kw in CALLS]
        again = [cc.prepare_claims(panel, practices, **kw) for kw in reversed(CALLS)]
    for a, b in zip(alone, shared, strict=True):
        _same(a, b)
    for a, b in zip(reversed(alone), again, strict=True):
        _same(a, b)


def test_a_change_to_one_frame_does_not_reach_the_next(sample):
    panel, practices = sample["person_years"], sample["practices"]
    want = cc.prepare_claims(panel, practices, population="all", values=["poli_dbc_cost"])
    with cc.shared_preparation():
        first = cc.prepare_claims(panel, practices, population="all",
                                  values=["poli_dbc_cost"])
        first.frame.loc[:, "poli_dbc_cost"] = -1.0
        first.frame.loc[:, "iy"] = 0.0
        first.frame = first.frame.assign(extra=1.0)
        first.practices.loc[:, "group"] = "kbz"
        first.strata  # noqa: B018 - the array itself is shared; analyses only read it
        second = cc.prepare_claims(panel, practices, population="all",
                                   values=["poli_dbc_cost"])
    _same(want, second)


def test_one_selection_is_held_and_a_new_panel_replaces_it(sample):
    panel, practices = sample["person_years"], sample["practices"]
    with cc.shared_preparation():
        cc.prepare_claims(panel, practices, population="all", values=["poli_dbc_cost"])
        held = cc._SHARED[-1]
        assert held.selection is not None and held.selection.key[1:] == (
            "all", tuple(sorted(panel["year"].unique())))
        cc.prepare_claims(panel, practices, population="minima", values=["poli_dbc_cost"])
        assert held.selection.key[1] == "minima"
        other = panel.copy()
        other["poli_dbc_cost"] = other["poli_dbc_cost"] * 2  # same shape, other values
        got = cc.prepare_claims(other, practices, population="minima",
                                values=["poli_dbc_cost"])
        assert held.panel is other
    want = cc.prepare_claims(other, practices, population="minima", values=["poli_dbc_cost"])
    _same(want, got)
    assert not cc._SHARED  # the block lets everything go


def test_a_bad_value_is_still_refused_when_its_column_is_added_later(sample):
    panel = sample["person_years"].copy()
    panel.loc[panel.index[5], "ggz_cost"] = -3.0
    with cc.shared_preparation():
        cc.prepare_claims(panel, sample["practices"], population="all",
                          values=["poli_dbc_cost"])
        with pytest.raises(kbz.DataValidationError, match="ggz_cost") as info:
            cc.prepare_claims(panel, sample["practices"], population="all",
                              values=["ggz_cost"])
    assert info.value.violations[0].rows[0] == 5


def test_analyses_inside_the_block_equal_those_outside(sample):
    panel, practices = sample["person_years"], sample["practices"]
    calls = [
        lambda: kbz.savings(panel, practices, year=2015, population="all", n_boot=99,
                            seed=1),
        lambda: kbz.risk_adjustment(panel, practices),
        lambda: kbz.practice_ranking(panel, practices, outcome="poli_dbc_cost", seed=1),
    ]
    alone = [call().tidy() for call in calls]
    with cc.shared_preparation():
        shared = [call().tidy() for call in calls]
    for a, b in zip(alone, shared, strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_run_order_puts_analyses_of_one_selection_together():
    ordered = run_order(list(ANALYSES))
    assert sorted(s.key for s in ordered) == sorted(s.key for s in ANALYSES)
    keys = [s.key for s in ordered]
    for selection in {s.selection for s in ANALYSES if s.selection}:
        at = [i for i, s in enumerate(ordered) if s.selection == selection]
        assert at == list(range(at[0], at[0] + len(at))), (selection, keys)
    # the others keep the report order
    rest = [s.key for s in ordered if not s.selection]
    assert rest == [s.key for s in ANALYSES if not s.selection]
    assert {"savings_all", "risk_adjustment", "practice_ranking"} <= {
        s.key for s in ANALYSES if s.selection == "all"}


def test_keep_false_hands_the_selection_to_the_analysis_alone(sample):
    panel, practices = sample["person_years"], sample["practices"]
    with cc.shared_preparation() as sharing:
        cc.prepare_claims(panel, practices, population="all", values=["poli_dbc_cost"])
        held = sharing.selection
        assert held is not None
        sharing.keep = False
        last = cc.prepare_claims(panel, practices, population="all",
                                 values=["poli_dbc_cost"])
        assert sharing.selection is None  # the last user holds it alone
        np.testing.assert_array_equal(last.frame["iy"].to_numpy(),
                                      held.frame["iy"].to_numpy())
        cc.prepare_claims(panel, practices, population="minima", values=["poli_dbc_cost"])
        assert sharing.selection is None  # not kept either when made anew
