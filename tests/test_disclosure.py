"""Small-cell suppression: primary, secondary, labels, threshold floor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kbz_eval.disclosure import (
    Cells,
    apply_mask,
    protect,
    publishable,
    suppress_small_cells,
    suppression_mask,
)
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
    out, mask = suppress_small_cells(frame, threshold=10, counts=["n_persons"],
                                     by=["year", "practice"])
    assert mask.tolist() == [False, True, False, False, False, False]
    assert np.isnan(out.loc[1, "cost_per_person"]) and np.isnan(out.loc[1, "n_persons"])
    assert out.loc[1, "year"] == 2015 and out.loc[1, "practice"] == "B"
    assert frame.loc[1, "cost_per_person"] == 95.0, "caller's frame modified"


def test_secondary_suppression_protects_totals():
    mask = suppression_mask(_table(), threshold=10, counts=["n_persons"], by=["year"])
    # in 2015 B (7) is primary; C (40) is the next smallest and goes too
    assert mask.tolist() == [False, True, True, False, False, False]


def test_published_cells_read_too_few_observations_never_zero():
    frame = _table()
    out, mask = suppress_small_cells(frame, threshold=10, counts=["n_persons"], by=["year"])
    pub_nl = publishable(out, mask, language="nl")
    assert pub_nl.loc[1, "cost_per_person"] == "onvoldoende waarnemingen"
    assert pub_nl.loc[1, "n_persons"] == "onvoldoende waarnemingen"
    assert publishable(out, mask).loc[2, "cost_per_person"] == "too few observations"
    assert 0 not in pub_nl.loc[mask, "cost_per_person"].tolist()


def test_threshold_is_configurable_but_never_below_five():
    assert suppression_mask(_table(), threshold=40, counts=["n_persons"]).tolist() == [
        False, True, False, False, False, True
    ]
    with pytest.raises(SpecificationError, match="at least 5"):
        suppression_mask(_table(), threshold=3, counts=["n_persons"])


def test_frames_without_person_counts_are_left_alone():
    frame = pd.DataFrame({"term": ["a"], "estimate": [1.0]})
    out, mask = suppress_small_cells(frame, counts=())
    assert not mask.any() and out.equals(frame)


def _roles() -> pd.DataFrame:
    # workforce-like: measure x wave x role, one role small in wave 2
    return pd.DataFrame({
        "wave": [1, 1, 1, 2, 2, 2],
        "role": ["gp", "nurse", "assistant"] * 2,
        "n": [30, 25, 40, 28, 7, 38],
        "mean": [6.5, 7.0, 6.8, 6.9, 5.0, 7.1],
    })


def test_secondary_runs_along_every_margin_of_a_two_way_table():
    cells = Cells(counts=("n",), keys=("wave", "role"), margins=("wave", "role"))
    mask = protect({"t": _roles()}, {"t": cells}, threshold=10)["t"]
    # nurse wave 2 (7) is primary; along role the wave-2 line needs a partner
    # (the smallest other: gp 28), along wave the nurse and gp lines need partners
    # (nurse 1 = 25, gp 1 = 30): a rectangle, no line with a single suppression
    assert mask.tolist() == [True, True, False, True, True, False]
    table = _roles()[mask.to_numpy()]
    assert table.groupby("wave").size().min() >= 2
    assert table.groupby("role").size().min() >= 2


def test_a_line_of_a_margin_never_holds_a_single_suppression():
    rng = np.random.default_rng(3)
    for _ in range(40):
        frame = pd.DataFrame({
            "a": np.repeat(np.arange(4), 5), "b": np.tile(np.arange(5), 4),
            "n": rng.integers(1, 40, 20)})
        cells = Cells(counts=("n",), keys=("a", "b"), margins=("a", "b"))
        mask = protect({"t": frame}, {"t": cells}, threshold=10)["t"]
        assert mask[frame["n"] < 10].all()
        for margin, other in (("a", "b"), ("b", "a")):
            per_line = mask.groupby(frame[other]).sum()
            assert not (per_line == 1).any(), (margin, per_line.tolist())


def test_numerator_and_its_complement_are_counts_too():
    shares = pd.DataFrame({"item": ["x", "y", "z"], "positive": [78, 40, 3],
                           "n": [80, 60, 90]})
    cells = Cells(counts=("n",), numerators=("positive",), keys=("item",))
    mask = protect({"s": shares}, {"s": cells}, threshold=10)["s"]
    # x: 2 negatives; z: 3 positives; y: 40 / 20 is fine
    assert mask.tolist() == [True, False, True]


def test_a_distribution_with_a_small_category_is_withheld_whole():
    dist = pd.DataFrame({"difference": [-2, -1, 0, 1, 2], "n": [2, 28, 51, 28, 2]})
    cells = Cells(counts=("n",), keys=("difference",), distribution="difference")
    mask = protect({"d": dist}, {"d": cells}, threshold=10)["d"]
    assert mask.all()
    ok = dist.assign(n=[12, 28, 51, 28, 12])
    assert not protect({"d": ok}, {"d": cells}, threshold=10)["d"].any()


def test_linked_tables_are_suppressed_together_and_labels_stay():
    means = pd.DataFrame({"measurement": [1, 2, 3], "n": [50, 44, 6],
                          "mean": [4.7, 5.7, 6.8]})
    tidy = pd.DataFrame({"term": ["mean_1", "mean_3", "change_3_vs_1", "icc"],
                         "measurement": [1, 3, 3, None], "estimate": [4.7, 6.8, 0.8, 0.2],
                         "n": [50, 50, 50, 100]})
    specs = {"means": Cells(counts=("n",), keys=("measurement",)),
             "tidy": Cells(counts=("n",), keys=("measurement",))}
    masks = protect({"means": means, "tidy": tidy}, specs, threshold=10)
    assert masks["means"].tolist() == [False, False, True]
    # every tidy row at measurement 3 rests on the 6 patients, whatever its own n says
    assert masks["tidy"].tolist() == [False, True, True, False]
    out = publishable(apply_mask(tidy, masks["tidy"], specs["tidy"]), masks["tidy"],
                      specs["tidy"])
    assert out["term"].tolist() == tidy["term"].tolist()
    assert out.loc[1, "estimate"] == "too few observations"
    assert out.loc[1, "measurement"] == 3


def test_rows_of_individual_values_can_be_left_out_instead_of_labelled():
    points = pd.DataFrame({"series": ["individual"] * 3 + ["mean"],
                           "measurement": [1, 2, 3, 1], "n": [1, 1, 1, 50],
                           "value": [4.0, 5.0, 6.0, 4.7]})
    cells = Cells(counts=("n",), keys=("series", "measurement"), drop_suppressed=True)
    mask = protect({"p": points}, {"p": cells}, threshold=10)["p"]
    out = publishable(apply_mask(points, mask, cells), mask, cells)
    assert out["series"].tolist() == ["mean"]


def test_every_table_needs_a_declaration():
    with pytest.raises(SpecificationError, match="declaration"):
        protect({"t": _roles()}, {}, threshold=10)
    with pytest.raises(SpecificationError, match="not in the table"):
        protect({"t": _roles()}, {"t": Cells(counts=("n_persons",))}, threshold=10)
