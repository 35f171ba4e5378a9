"""The synthetic sample generator: determinism, data contracts, claims consistency, files.

Every expectation is computed here from the raw tables with plain pandas; nothing is
taken from the generator's internals.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from kbz_eval import synth, tables
from kbz_eval.errors import SpecificationError

#: Rates of the data-quality features the claims engine must handle (share of lines).
DUPLICATE_SHARE = (0.01, 0.02)
OUTSIDE_PACKAGE_SHARE = (0.005, 0.02)
ORPHAN_SHARE = (0.001, 0.004)
#: Cost sums are compared after rounding to cents on both sides.
CENT_TOL = 0.006
#: Binomial tolerance on the share of positive 4D ratings (about 3 standard errors).
POSITIVE_SHARE_TOL = 0.08

SECOND_SEED = synth.DEFAULT_SEED + 1


@pytest.fixture(scope="module")
def sample() -> dict[str, pd.DataFrame]:
    return synth.load_sample()


@pytest.fixture(scope="module")
def fresh_default() -> dict[str, pd.DataFrame]:
    """The default sample generated afresh (its speed is measured in bench/loaders.py)."""
    return synth.generate(synth.DEFAULT_SEED)


# --- determinism and API ---------------------------------------------------------------
def test_same_seed_gives_equal_tables(sample, fresh_default):
    fresh = fresh_default
    assert list(fresh) == list(sample)
    for name in sample:
        pd.testing.assert_frame_equal(fresh[name], sample[name], check_exact=True)


def test_different_seed_gives_different_tables(sample):
    other = synth.generate(SECOND_SEED, calibrate=False)
    assert not other["person_years"].equals(sample["person_years"])
    assert not other["claim_lines"]["cost"].equals(sample["claim_lines"]["cost"])
    assert not other["cvg"].equals(sample["cvg"])


def test_load_sample_returns_copies():
    first = synth.load_sample()
    first["person_years"].loc[:, "poli_dbc_cost"] = -1.0
    first.pop("cvg")
    second = synth.load_sample()
    assert "cvg" in second
    assert (second["person_years"]["poli_dbc_cost"] >= 0).all()


def test_load_sample_is_the_lazy_public_name():
    import kbz_eval as kbz

    assert kbz.load_sample is synth.load_sample


@pytest.mark.parametrize("seed", [-1, 1.5, "7", True])
def test_bad_seed_is_refused(seed):
    with pytest.raises(SpecificationError, match="seed"):
        synth.generate(seed)


def test_planted_and_targets_are_exported():
    assert synth.PLANTED.best_ggz_practice in synth.PLANTED.kbz_practices
    assert synth.TARGETS.minima_kbz_2015 == 1641
    assert set(synth.PLANTED.as_dict()) >= {"poli_minima_rate_multiplier",
                                           "ggz_new_episode_cost_multiplier"}


# --- data contracts ----------------------------------------------------------------------
def _dtype_ok(series: pd.Series, col: tables.Column) -> bool:
    if col.dtype in ("str", "category"):
        return isinstance(series.dtype, pd.StringDtype)
    if col.dtype == "int":
        return str(series.dtype) == ("Int64" if col.nullable else "int64")
    if col.dtype == "float":
        return series.dtype == np.float64
    if col.dtype == "bool":
        return series.dtype == np.bool_
    if col.dtype == "date":
        return str(series.dtype) == "datetime64[us]"
    raise AssertionError(col.dtype)


@pytest.mark.parametrize("name", synth.TABLE_NAMES)
def test_table_follows_its_contract(sample, name):
    contract = tables.get_table(name)
    frame = sample[name]
    assert len(frame) > 0
    assert list(frame.columns) == [c for c in contract.names if c in frame.columns]
    assert set(contract.required) <= set(frame.columns)
    for group in contract.one_of:
        assert set(group) & set(frame.columns)
    for col in contract.columns:
        if col.name not in frame.columns:
            continue
        s = frame[col.name]
        assert _dtype_ok(s, col), (col.name, s.dtype)
        if not col.nullable:
            assert s.notna().all(), col.name
        values = s.dropna()
        if col.min is not None:
            assert (values >= col.min).all(), col.name
        if col.max is not None:
            assert (values <= col.max).all(), col.name
        if col.categories:
            assert set(values.unique()) <= set(col.categories), col.name
    if contract.key:
        assert not frame.duplicated(list(contract.key)).any()
    for fk in contract.foreign_keys:
        ref = sample[fk.table][fk.ref_column]
        assert frame[fk.column].isin(ref).all()


def test_person_years_has_every_column(sample):
    assert list(sample["person_years"].columns) == tables.PERSON_YEARS.names
    assert list(sample["insured_periods"].columns) == tables.INSURED_PERIODS.names
    assert list(sample["claim_lines"].columns) == tables.CLAIM_LINES.names


def _passes_eleven_test(digits: str) -> bool:
    weights = [9, 8, 7, 6, 5, 4, 3, 2, -1]
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 == 0


def test_no_value_could_be_a_bsn(sample):
    nine_digits = re.compile(r"^\d{9}$")
    for name, frame in sample.items():
        for col in frame.columns:
            if isinstance(frame[col].dtype, pd.StringDtype):
                values = frame[col].dropna().unique()
                hits = [v for v in values if nine_digits.match(v) and _passes_eleven_test(v)]
                assert not hits, (name, col, hits[:3])
                assert not any(nine_digits.match(v) for v in values), (name, col)


def test_person_ids_are_pseudonyms(sample):
    ids = sample["insured_periods"]["person_id"]
    assert ids.str.fullmatch(r"P\d{7}").all()
    assert sample["claim_lines"]["person_id"].str.fullmatch(r"P\d{7}").all()
    codes = sample["claim_lines"]["declaration_code"].dropna()
    assert codes.str.fullmatch(r"\d{6}").all()


# --- population ----------------------------------------------------------------------------
def test_practices_design(sample):
    pr = sample["practices"]
    assert (pr["group"] == "kbz").sum() == 6 and (pr["group"] == "control").sum() == 6
    assert (pr["city"] == "Utrecht").all() and (pr["neighbourhood"] == "Overvecht").all()
    kbz = pr[pr["group"] == "kbz"]
    assert kbz["kbz_start_year"].notna().all()
    assert set(kbz["kbz_start_year"]) <= {2014, 2015} and 2014 in set(kbz["kbz_start_year"])
    assert pr.loc[pr["group"] == "control", "kbz_start_year"].isna().all()


def test_population_size_and_exposure(sample):
    ip = sample["insured_periods"]
    group = ip["practice_id"].map(sample["practices"].set_index("practice_id")["group"])
    in2015 = ip[ip["year"] == 2015]
    g2015 = group[ip["year"] == 2015]
    iy = tables.insured_years(in2015["insured_days"].to_numpy(), in2015["year"].to_numpy())
    kbz_insured_years = iy[(g2015 == "kbz").to_numpy()].sum()
    # the seeds' EUR 356 x 1,641 minima = EUR 26 per person implies ~22,000 KBZ insured
    assert 20_000 < kbz_insured_years < 24_000
    assert 6_500 < (g2015 == "control").sum() < 9_000
    assert sorted(ip["year"].unique()) == [2012, 2013, 2014, 2015, 2016]
    assert (ip["insured_days"] <= tables.days_in_year(ip["year"].to_numpy())).all()
    assert ip.loc[ip["year"].isin([2012, 2016]), "insured_days"].max() == 366
    assert ip.loc[ip["year"].isin([2013, 2014, 2015]), "insured_days"].max() == 365
    partial = ip["insured_days"] < tables.days_in_year(ip["year"].to_numpy())
    assert 0.05 < partial.mean() < 0.3


def test_births_deaths_and_moves(sample):
    ip = sample["insured_periods"]
    births = ip[ip["birth_year"] == ip["year"]]
    assert len(births) > 100
    last = ip.groupby("person_id")["year"].max()
    first = ip.groupby("person_id")["year"].min()
    assert (last < 2016).mean() > 0.05       # persons leaving (moves, deaths)
    assert (first > 2012).mean() > 0.05      # persons entering (moves, births)
    old_leavers = ip[(ip["year"] == ip.groupby("person_id")["year"].transform("max"))
                     & (ip["year"] < 2016) & (ip["year"] - ip["birth_year"] >= 80)]
    assert len(old_leavers) > 20


def test_age_band_matches_birth_year(sample):
    ip = sample["insured_periods"]
    expected = tables.age_band((ip["year"] - ip["birth_year"]).to_numpy())
    assert (ip["age_band"].to_numpy() == expected).all()
    share_young = (ip["year"] - ip["birth_year"] < 20).mean()
    share_old = (ip["year"] - ip["birth_year"] >= 75).mean()
    assert share_young > 0.2 and share_old < 0.08   # a young, deprived neighbourhood


def test_minima_flag_is_persistent(sample):
    ip = sample["insured_periods"]
    wide = ip.pivot(index="person_id", columns="year", values="minima")
    pairs = [(wide[y].astype("boolean"), wide[y + 1].astype("boolean"))
             for y in range(2012, 2016)]
    stay = np.mean([b[a.eq(True) & b.notna()].mean() for a, b in pairs])
    enter = np.mean([b[a.eq(False) & b.notna()].mean() for a, b in pairs])
    assert stay > 0.7 and enter < 0.05


def test_costs_are_skewed_with_zeros_and_persistent(sample):
    py = sample["person_years"]
    assert 0.3 < (py["poli_dbc_cost"] == 0).mean() < 0.7
    assert (py["ggz_cost"] == 0).mean() > 0.9
    assert py["poli_dbc_cost"].skew() > 2 and py["total_cost"].skew() > 2
    wide = py.pivot(index="person_id", columns="year", values="total_cost")
    assert wide[[2012, 2013]].dropna().corr().iloc[0, 1] > 0.2
    # one frailty drives both: GGZ patients use more outpatient care
    ggz_user = py["ggz_cost"] > 0
    assert py.loc[ggz_user, "poli_dbc_cost"].mean() > 1.3 * py.loc[~ggz_user,
                                                                  "poli_dbc_cost"].mean()
    # minima are frailer
    assert py.loc[py["minima"], "total_cost"].mean() > 1.5 * py.loc[~py["minima"],
                                                                   "total_cost"].mean()


# --- claim lines → person-years ------------------------------------------------------------
def _aggregate(claim_lines: pd.DataFrame, insured_periods: pd.DataFrame) -> pd.DataFrame:
    """The engine's default rules, written independently with plain pandas."""
    lines = claim_lines.drop_duplicates("claim_id")
    outside = lines["declaration_code"].fillna("").str.match(r"1[67]")
    lines = lines[~outside].assign(year=lines["start_date"].dt.year)
    keys = insured_periods[["person_id", "year"]]
    lines = lines.merge(keys, on=["person_id", "year"], how="inner")
    agg = lines.groupby(["person_id", "year", "care_type"])["cost"].agg(["size", "sum"])
    wide = agg.unstack("care_type", fill_value=0)
    out = keys.copy()
    total = np.zeros(len(out))
    for care in tables.CARE_TYPES:
        prefix = tables.CARE_TYPE_PREFIX[care]
        cnt = wide["size"][care] if care in wide["size"] else pd.Series(dtype=float)
        cost = wide["sum"][care] if care in wide["sum"] else pd.Series(dtype=float)
        idx = pd.MultiIndex.from_frame(keys)
        out[f"{prefix}_count"] = cnt.reindex(idx, fill_value=0).to_numpy().astype(int)
        out[f"{prefix}_cost"] = np.round(cost.reindex(idx, fill_value=0).to_numpy(), 2)
        total = total + out[f"{prefix}_cost"].to_numpy()
    out["total_cost"] = np.round(total, 2)
    return out


def test_person_years_are_the_aggregation_of_claim_lines(sample):
    py = sample["person_years"]
    expected = _aggregate(sample["claim_lines"], sample["insured_periods"])
    assert len(expected) == len(py)
    assert (expected["person_id"].to_numpy() == py["person_id"].to_numpy()).all()
    assert (expected["year"].to_numpy() == py["year"].to_numpy()).all()
    for care in tables.CARE_TYPES:
        prefix = tables.CARE_TYPE_PREFIX[care]
        np.testing.assert_array_equal(py[f"{prefix}_count"], expected[f"{prefix}_count"])
        np.testing.assert_allclose(py[f"{prefix}_cost"], expected[f"{prefix}_cost"],
                                   rtol=0, atol=CENT_TOL)
    np.testing.assert_allclose(py["total_cost"], expected["total_cost"], rtol=0,
                               atol=CENT_TOL)
    assert (py["ggz_regime"] == "dbc").all()
    person_cols = tables.INSURED_PERIODS.names
    pd.testing.assert_frame_equal(py[person_cols], sample["insured_periods"])


def test_costs_are_in_cents(sample):
    for name, cols in (("claim_lines", ["cost"]),
                       ("person_years", [c for c in tables.PERSON_YEARS.names
                                         if c.endswith("_cost")])):
        values = sample[name][cols].to_numpy()
        np.testing.assert_allclose(values, np.round(values, 2), rtol=0, atol=1e-9)


def test_claim_lines_carry_every_data_quality_feature(sample):
    cl = sample["claim_lines"]
    n = len(cl)
    # re-sent lines are identical copies sharing the claim id
    dup_id = cl["claim_id"].duplicated()
    assert DUPLICATE_SHARE[0] < dup_id.mean() < DUPLICATE_SHARE[1]
    assert cl.duplicated().sum() == dup_id.sum()
    outside = cl["declaration_code"].fillna("").str.match(r"1[67]")
    assert OUTSIDE_PACKAGE_SHARE[0] < outside.mean() < OUTSIDE_PACKAGE_SHARE[1]
    keys = sample["insured_periods"][["person_id", "year"]].assign(insured=True)
    joined = cl.assign(year=cl["start_date"].dt.year).merge(keys, on=["person_id", "year"],
                                                            how="left")
    orphan = joined["insured"].isna()
    assert ORPHAN_SHARE[0] < orphan.mean() < ORPHAN_SHARE[1]
    never_insured = ~cl["person_id"].isin(keys["person_id"])
    assert never_insured.any() and (orphan.sum() > never_insured.sum())
    # end dates: never before the start, some in the next year
    assert (cl["end_date"] >= cl["start_date"]).all()
    next_year = cl["end_date"].dt.year > cl["start_date"].dt.year
    assert 0.005 < next_year.mean() < 0.2
    # in-package pharmacy lines have no declaration code; nothing else lacks one
    no_code = cl["declaration_code"].isna()
    assert (no_code == ((cl["care_type"] == "pharmacy") & ~outside)).all()
    assert set(cl["care_type"]) == set(tables.CARE_TYPES)
    assert 4 < n / len(sample["person_years"]) < 10


# --- survey tables -------------------------------------------------------------------------
def test_workforce_has_repeats_dropout_and_roles(sample):
    wf = sample["workforce"]
    assert sorted(wf["wave"].unique()) == [1, 2, 3]
    waves = wf.groupby("respondent_id")["wave"].agg(["min", "max", "size"])
    assert (waves["size"] >= 2).any()                      # repeated respondents
    assert ((waves["max"] < 3) & (waves["min"] == 1)).any()  # dropout
    assert (waves["min"] > 1).any()                        # new staff
    assert {"huisarts", "POH-GGZ", "POH-somatiek", "doktersassistent"} <= set(wf["role"])
    assert set(wf["practice_id"]) == set(sample["practices"]["practice_id"])
    marks = wf[["workload", "job_satisfaction"]].to_numpy()
    finite = marks[np.isfinite(marks)]
    np.testing.assert_array_equal(finite, np.round(finite))


def test_conversations_are_mostly_positive(sample):
    conv = sample["conversations"]
    assert set(conv["respondent_type"]) == {"patient", "professional"}
    assert conv["item"].nunique() >= 4
    share = conv.assign(pos=conv["rating"] >= 4).groupby("respondent_type")["pos"].mean()
    for rtype, planted in synth.PLANTED.conversation_positive_share.items():
        assert abs(share[rtype] - planted) < POSITIVE_SHARE_TOL
        assert share[rtype] > 0.5


def test_consults_cover_the_five_specialisms(sample):
    consults = sample["consults"]
    assert set(consults["specialism"]) == {"neurologie", "kindergeneeskunde",
                                           "interne geneeskunde", "orthopedie",
                                           "longziekten"}


def test_monitor_sample_sizes_are_flagged_as_assumed(sample):
    mon = sample["monitor"]
    assert mon["n_is_assumed"].all()
    assert set(mon["area_type"]) == {"neighbourhood", "city"}


# --- writing -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def written(tmp_path_factory):
    a = tmp_path_factory.mktemp("sample_a") / "sample"
    b = tmp_path_factory.mktemp("sample_b") / "sample"
    return synth.write_sample(a), synth.write_sample(b)


def test_write_sample_is_byte_identical(written):
    first, second = written
    assert [p.name for p in first] == [p.name for p in second]
    for p, q in zip(first, second, strict=True):
        assert p.read_bytes() == q.read_bytes(), p.name


def test_written_files_are_labelled_synthetic(written, sample):
    paths = {p.name: p for p in written[0]}
    expected = {f"{n}.csv" for n in sample} | {"claim_lines.parquet", "README.md"}
    assert set(paths) == expected
    label = (f"# SYNTHETIC DATA — generated by kbz_eval.synth (seed {synth.DEFAULT_SEED}); "
             "not real persons. See README.md.")
    for name, path in paths.items():
        if name.endswith(".csv"):
            with open(path, encoding="utf-8") as fh:
                assert fh.readline().rstrip("\n") == label
    meta = pq.read_schema(paths["claim_lines.parquet"]).metadata
    assert meta[b"kbz_eval.synthetic"] == b"true"
    readme = paths["README.md"].read_text(encoding="utf-8")
    assert "SYNTHETIC DATA" in readme and "planted" in readme.lower()
    for name in sample:
        assert f"`{name}.csv`" in readme


def test_written_csv_reads_back_to_the_tables(written, sample):
    paths = {p.name: p for p in written[0]}
    for name in ("claim_lines", "person_years", "cvg", "practices", "monitor"):
        contract = tables.get_table(name)
        text_cols = {c.name: "str" for c in contract.columns if c.dtype in ("str", "category")}
        back = pd.read_csv(paths[f"{name}.csv"], skiprows=1, dtype=text_cols)
        frame = sample[name]
        assert list(back.columns) == list(frame.columns)
        assert len(back) == len(frame)
        for col in frame.columns:
            a, b = frame[col], back[col]
            if a.dtype.kind == "M":
                assert (pd.to_datetime(b).to_numpy() == a.to_numpy()).all(), (name, col)
            elif a.dtype.kind in "fiub" or str(a.dtype) == "Int64":
                np.testing.assert_allclose(b.astype(float), a.astype(float), rtol=0,
                                           atol=1e-9, err_msg=f"{name}.{col}")
            else:
                assert (b.astype("str").fillna("").to_numpy()
                        == a.fillna("").to_numpy()).all(), (name, col)
    parquet = pd.read_parquet(paths["claim_lines.parquet"])
    pd.testing.assert_frame_equal(parquet, sample["claim_lines"], check_dtype=False)


def test_money_has_two_decimals_in_csv(written):
    path = next(p for p in written[0] if p.name == "person_years.csv")
    with open(path, encoding="utf-8") as fh:
        fh.readline()
        header = fh.readline().rstrip("\n").split(",")
        row = fh.readline().rstrip("\n").split(",")
    for col, value in zip(header, row, strict=True):
        if col.endswith("_cost"):
            assert re.fullmatch(r"\d+\.\d{2}", value), (col, value)


def test_failed_write_leaves_the_folder_untouched(tmp_path, monkeypatch):
    from kbz_eval.synth import export

    out = tmp_path / "sample"
    out.mkdir()
    (out / "practices.csv").write_text("old", encoding="utf-8")
    (out / "keep.txt").write_text("mine", encoding="utf-8")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(export, "_parquet", boom)
    with pytest.raises(OSError, match="disk full"):
        synth.write_sample(out)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt", "practices.csv"]
    assert (out / "practices.csv").read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample"]  # no temp folder left
