"""The panel as the report reads it: person ids as an ordered categorical, persons
numbered from its codes, rows already in person-year order, memory given back.

Each fast path is compared with the general computation it replaces: the same person
codes, the same prepared selection and the same analysis results.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kbz_eval as kbz
from kbz_eval.estimators import claims_common as cc
from kbz_eval.report.engine_inputs import read_panel
from kbz_eval.report.memory import release_memory


def _general_codes(person_id: pd.Series) -> tuple[np.ndarray, int]:
    """Persons numbered in the text order of their ids, by sorting the texts."""
    text = person_id.astype(object).map(str).to_numpy(dtype=str)
    uniques, inverse = np.unique(text, return_inverse=True)
    return inverse.ravel().astype(np.int64), len(uniques)


def _ids(rng: np.random.Generator, n: int) -> pd.Series:
    # ids of varying length and digits, so text order differs from number order
    numbers = rng.integers(1, 5_000, size=n)
    return pd.Series([f"P{k}" if k % 3 else f"p-{k:06d}" for k in numbers])


@pytest.mark.parametrize("seed", range(6))
def test_person_codes_from_ordered_categories_equal_the_sorted_texts(seed):
    rng = np.random.default_rng(seed)
    ids = _ids(rng, 3_000)
    ordered = pd.Series(pd.Categorical(ids, categories=sorted(set(ids))))
    # a selection leaves some categories unused: they get no code
    for series in (ordered, ordered[rng.random(len(ordered)) < 0.4].reset_index(drop=True)):
        codes, n = cc._person_codes(series)
        want, n_want = _general_codes(series)
        assert n == n_want
        np.testing.assert_array_equal(codes, want)
    # categories out of text order, or numbers, take the general path: same codes
    shuffled = pd.Series(pd.Categorical(ids, categories=list(dict.fromkeys(ids))))
    numbers = pd.Series(pd.Categorical(rng.integers(1, 200, size=500)))
    for series in (shuffled, numbers, ids):
        codes, n = cc._person_codes(series)
        want, n_want = _general_codes(series)
        assert n == n_want
        np.testing.assert_array_equal(codes, want)


def test_person_year_order_is_the_sort_or_no_copy():
    rng = np.random.default_rng(3)
    person = np.sort(rng.integers(0, 50, size=400))
    year = np.concatenate([np.sort(rng.integers(2012, 2017, size=k))
                           for k in np.bincount(person, minlength=50)])
    assert cc._person_year_order(person, year) == slice(None)
    for p, y in ((person[::-1].copy(), year), (person, year[::-1].copy()),
                 (rng.permutation(person), year)):
        order = cc._person_year_order(p, y)
        np.testing.assert_array_equal(order, np.lexsort((y, p)))
    assert cc._person_year_order(person[:1], year[:1]) == slice(None)


def test_read_panel_gives_ordered_person_categories(tmp_path):
    s = kbz.load_sample()
    panel = s["person_years"].sample(frac=1.0, random_state=1)  # shuffled on disk
    path = tmp_path / "panel.parquet"
    panel.to_parquet(path, index=False)
    read = read_panel(path)
    cats = read["person_id"].cat.categories
    assert cats.is_monotonic_increasing and cats.inferred_type == "string"
    want = panel.sort_values(["person_id", "year"], ignore_index=True)
    np.testing.assert_array_equal(read["person_id"].astype(str).to_numpy(),
                                  want["person_id"].astype(str).to_numpy())


@pytest.mark.parametrize("population", ["all", "minima"])
def test_prepared_selection_is_the_same_from_the_report_panel(tmp_path, population):
    s = kbz.load_sample()
    path = tmp_path / "panel.parquet"
    s["person_years"].sample(frac=1.0, random_state=2).to_parquet(path, index=False)
    read = read_panel(path)
    plain = read.assign(person_id=read["person_id"].astype(str))
    a = cc.prepare_claims(read, s["practices"], population=population,
                          values=["poli_dbc_cost"], need_age_sex=True)
    b = cc.prepare_claims(plain, s["practices"], population=population,
                          values=["poli_dbc_cost"], need_age_sex=True)
    pd.testing.assert_frame_equal(a.frame, b.frame, check_exact=True)
    np.testing.assert_array_equal(a.strata, b.strata)
    assert a.n_persons == b.n_persons


def test_an_analysis_gives_the_same_result_on_the_report_panel(tmp_path):
    s = kbz.load_sample()
    path = tmp_path / "panel.parquet"
    s["person_years"].to_parquet(path, index=False)
    read = read_panel(path)
    plain = read.assign(person_id=read["person_id"].astype(str))
    kw = {"inference": "person", "n_boot": 99, "seed": 1}
    a = kbz.savings(read, s["practices"], year=2015, **kw)
    b = kbz.savings(plain, s["practices"], year=2015, **kw)
    pd.testing.assert_frame_equal(a.tidy(), b.tidy(), check_exact=True)


def test_prepared_frame_on_a_sorted_panel_never_writes_into_the_panel(tmp_path):
    """On a panel already in person-year order the prepared columns may be views of the
    panel's own; writing into the prepared frame must still leave the panel as it was."""
    s = kbz.load_sample()
    path = tmp_path / "panel.parquet"
    s["person_years"].to_parquet(path, index=False)
    panel = read_panel(path)
    panel["poli_dbc_cost"] = panel["poli_dbc_cost"].astype(float)
    before = panel.copy(deep=True)
    cp = cc.prepare_claims(panel, s["practices"], population="all",
                           values=["poli_dbc_cost"], need_age_sex=True)
    assert cc._person_year_order(cp.frame["person"].to_numpy(),
                                 cp.frame["year"].to_numpy()) == slice(None)
    cp.frame["poli_dbc_cost"] = cp.frame["poli_dbc_cost"] * 2.0
    cp.frame.loc[cp.frame.index[:50], "iy"] = -1.0
    cp.frame.iloc[:50, cp.frame.columns.get_loc("year")] = 0
    pd.testing.assert_frame_equal(panel, before, check_exact=True)


def test_release_memory_keeps_objects_and_says_whether_it_trimmed():
    kept = np.arange(1_000_000, dtype=float)
    total = kept.sum()
    done = release_memory()
    assert isinstance(done, bool)
    assert kept.sum() == total


def _encoded(col):
    """The general path: Arrow's dictionary encoding converted to pandas."""
    from kbz_eval.report.engine_inputs import _compact

    return _compact("person_id", col).to_pandas()


@pytest.mark.parametrize("seed", range(4))
def test_sorted_ids_as_runs_equal_the_dictionary_encoding(seed):
    import pyarrow as pa

    from kbz_eval.report.engine_inputs import _sorted_text_categorical

    rng = np.random.default_rng(seed)
    ids = np.sort(_ids(rng, 5_000).to_numpy(dtype=str))  # repeated ids, text order
    for col in (pa.array(ids), pa.chunked_array([ids[:1234], ids[1234:]]),
                pa.array(ids, type=pa.large_string())):
        runs = _sorted_text_categorical(col)
        assert runs is not None
        got, want = pd.Series(runs), pd.Series(_encoded(col))
        pd.testing.assert_series_equal(got, want, check_exact=True)
        assert got.cat.categories.dtype == want.cat.categories.dtype
        assert got.cat.categories.equals(want.cat.categories)
        np.testing.assert_array_equal(got.cat.codes, want.cat.codes)
    # not sorted, missing values or numbers: left to the general path
    assert _sorted_text_categorical(pa.array(ids[::-1])) is None
    assert _sorted_text_categorical(pa.array([*ids[:10], None])) is None
    assert _sorted_text_categorical(pa.array(np.arange(10))) is None


def test_read_panel_of_a_sorted_file_equals_the_general_read(tmp_path, monkeypatch):
    from kbz_eval.report import engine_inputs

    s = kbz.load_sample()
    path = tmp_path / "panel.parquet"
    s["person_years"].sort_values(["person_id", "year"]).to_parquet(path, index=False)
    fast = read_panel(path)
    monkeypatch.setattr(engine_inputs, "_sorted_text_categorical", lambda col, **kw: None)
    general = read_panel(path)
    pd.testing.assert_frame_equal(fast, general, check_exact=True)
    assert fast["person_id"].cat.categories.equals(general["person_id"].cat.categories)
    assert fast["person_id"].cat.categories.dtype == general["person_id"].cat.categories.dtype


def test_read_panel_few_valued_text_as_used_categories_in_first_appearance_order(tmp_path):
    """Practice, sex and age band are read as the file's dictionaries, which differ per
    row group (other orders, a value no row uses); the categories are still the values
    the rows use, in the order the rows first show them, as encoding the text gives."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    practices = ["P07", "P01", "P12", "P03", "P99"]  # P99: in a dictionary, in no row
    used_by_group = [[2, 2, 0], [1, 0, 1], [3, 0, 2]]
    chunks = []
    for k, (order, used) in enumerate([((4, 3, 2, 0, 1), used_by_group[0]),
                                       ((3, 1, 0, 2), used_by_group[1]),
                                       ((0, 1, 2, 3), used_by_group[2])]):
        dictionary = pa.array([practices[i] for i in order])
        index = [order.index(u) for u in used]
        chunks.append(pa.table({
            "person_id": pa.array([f"Q{k}{j}" for j in range(3)]),
            "year": pa.array([2014] * 3, pa.int64()),
            "practice_id": pa.DictionaryArray.from_arrays(pa.array(index, pa.int32()),
                                                          dictionary),
            "sex": pa.array(["F", "M", "F"] if k else ["M", "M", "F"]),
        }))
    path = tmp_path / "panel.parquet"
    with pq.ParquetWriter(path, chunks[0].schema) as writer:
        for chunk in chunks:  # one row group each, with its own dictionary
            writer.write_table(chunk)
    assert pq.read_metadata(path).num_row_groups == 3
    read = read_panel(path)
    texts = [practices[u] for used in used_by_group for u in used]
    assert read["practice_id"].astype(str).tolist() == texts
    assert list(read["practice_id"].cat.categories) == list(dict.fromkeys(texts))
    assert list(read["sex"].cat.categories) == ["M", "F"]
    assert read["sex"].astype(str).tolist() == ["M", "M", "F", "F", "M", "F", "F", "M", "F"]
