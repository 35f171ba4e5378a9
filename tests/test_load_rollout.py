"""``load_sample(name)``: the default Overvecht sample is unchanged, ``"rollout"`` gives the
synthetic staggered roll-out (``synth/rollout.py``), and a wrong name or seed is refused.
"""

from __future__ import annotations

import pandas as pd
import pytest

import kbz_eval as kbz
from kbz_eval import synth
from kbz_eval.errors import SpecificationError
from kbz_eval.synth import rollout
from kbz_eval.synth.rollout import rollout_sample


def _assert_same_tables(left: dict[str, pd.DataFrame], right: dict[str, pd.DataFrame]):
    assert list(left) == list(right)
    for name in left:
        pd.testing.assert_frame_equal(left[name], right[name], check_exact=True)


def test_default_is_the_overvecht_sample_unchanged():
    default = synth.load_sample()
    assert list(default) == list(synth.TABLE_NAMES)
    _assert_same_tables(default, synth.load_sample("overvecht"))
    _assert_same_tables(default, synth.load_sample(name="overvecht",
                                                   seed=synth.DEFAULT_SEED))
    _assert_same_tables(default, synth._cached_build()[0])
    assert kbz.load_sample is synth.load_sample


def test_rollout_is_the_labelled_synthetic_rollout_sample():
    sample = kbz.load_sample("rollout")
    expected = rollout_sample(seed=rollout.DEFAULT_SEED)
    assert sorted(sample) == ["person_years", "practice_years", "practices", "truth"]
    _assert_same_tables(sample, expected)
    for name, frame in sample.items():
        assert frame.attrs["synthetic"] is True, name
        assert frame.attrs["note"].startswith("SYNTHETIC DATA"), name
    assert sorted(sample["practices"]["kbz_start_year"].dropna().unique()) == [
        2014, 2019, 2020, 2022]


def test_rollout_seed_is_passed_on():
    sample = synth.load_sample(name="rollout", seed=3)
    _assert_same_tables(sample, rollout_sample(seed=3))
    assert sample["practices"].attrs["seed"] == 3
    assert not sample["practice_years"].equals(
        synth.load_sample("rollout")["practice_years"])


def test_rollout_returns_fresh_frames():
    first = synth.load_sample("rollout")
    first["practice_years"].loc[:, "total_cost_per_insured_year"] = -1.0
    assert (synth.load_sample("rollout")["practice_years"]
            ["total_cost_per_insured_year"] >= 0).all()


@pytest.mark.parametrize("name", ["roll-out", "Rollout", "", None, 1])
def test_unknown_name_is_refused_with_the_allowed_values(name):
    with pytest.raises(SpecificationError, match="`name`") as err:
        synth.load_sample(name)
    message = str(err.value)
    assert "'overvecht'" in message and "'rollout'" in message
    assert repr(name) in message


@pytest.mark.parametrize("seed", [-1, 1.5, "7", True])
def test_bad_seed_is_refused(seed):
    with pytest.raises(SpecificationError, match="seed"):
        synth.load_sample("rollout", seed=seed)
