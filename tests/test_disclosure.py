"""Small-cell suppression: primary, secondary, labels, threshold floor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kbz_eval.disclosure import publishable, suppress_small_cells, suppression_mask
from kbz_eval.errors import SpecificationError


def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "year": [2015, 2015, 2015, 2016, 2016, 2016],
        "practice": ["A", "B", "C", "A", "B", "C"],
        "n_persons": [120, 7, 40, 118, 60, 35],
        "cost_per_person": [310.0, 95.0, 280.0, 300.0, 250.0, 260.0],
    })


def test_primary_suppression_hides_count_and_values():
    frame = _table()
    out, mask = suppress_small_cells(frame, threshold=10)
    assert mask.tolist() == [False, True, False, False, False, False]
    assert np.isnan(out.loc[1, "cost_per_person"]) and np.isnan(out.loc[1, "n_persons"])
    assert out.loc[1, "year"] == 2015 and out.loc[1, "practice"] == "B"
    assert frame.loc[1, "cost_per_person"] == 95.0, "caller's frame modified"


def test_secondary_suppression_protects_totals():
    mask = suppression_mask(_table(), threshold=10, by=["year"])
    # in 2015 B (7) is primary; C (40) is the next smallest and goes too
    assert mask.tolist() == [False, True, True, False, False, False]


def test_published_cells_read_too_few_observations_never_zero():
    frame = _table()
    out, mask = suppress_small_cells(frame, threshold=10, by=["year"])
    pub_nl = publishable(out, mask, language="nl")
    assert pub_nl.loc[1, "cost_per_person"] == "onvoldoende waarnemingen"
    assert pub_nl.loc[1, "n_persons"] == "onvoldoende waarnemingen"
    assert publishable(out, mask).loc[2, "cost_per_person"] == "too few observations"
    assert 0 not in pub_nl.loc[mask, "cost_per_person"].tolist()


def test_threshold_is_configurable_but_never_below_five():
    assert suppression_mask(_table(), threshold=40).tolist() == [
        False, True, False, False, False, True
    ]
    with pytest.raises(SpecificationError, match="at least 5"):
        suppression_mask(_table(), threshold=3)


def test_frames_without_person_counts_are_left_alone():
    frame = pd.DataFrame({"term": ["a"], "estimate": [1.0]})
    out, mask = suppress_small_cells(frame)
    assert not mask.any() and out.equals(frame)
