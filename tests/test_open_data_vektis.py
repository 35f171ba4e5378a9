"""The Vektis loader against the raw files: every quirk, every year, outside checks.

Expected values are computed here straight from the raw CSV files with the ``csv``
module (no pandas, no kbz_eval code), so a loader error cannot hide in both.

Outside check (issue 6, item 5): the crude 2018 national cost per insured year (rest row
excluded) and that of Utrecht and 's-Gravenhage are recomputed from the raw 2018 file as
sum(all KOSTEN_* columns) / sum(AANTAL_VERZEKERDEJAREN). No published Vektis figure was
compared: Vektis publishes no national cost per insured year for the municipality file,
and none was available offline; the check is an independent recomputation from the
publisher's file.
"""

from __future__ import annotations

import csv
import importlib
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

import kbz_eval as kbz
from kbz_eval.errors import DataValidationError, SpecificationError
from kbz_eval.tables import AGE_BANDS

# the package exposes the function ``vektis``; the module holds the tables
vk = importlib.import_module("kbz_eval.open_data.vektis")

pytestmark = pytest.mark.data

REL_TOL = 1e-9  # float sums of the same numbers in another order
YEARS = range(2011, 2024)


def raw_rows(folder: Path, year: int, *, original: bool = False):
    """Header (as in the file) and rows of one raw Vektis file."""
    name = (f"vektis_{year}_gemeente_original_release_cp1252.csv" if original
            else f"vektis_{year}_gemeente.csv")
    encoding = "cp1252" if original else "utf-8"
    with open(folder / "vektis" / name, encoding=encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter=";")
        header = next(reader)
        return header, list(reader)


def raw_totals(folder: Path, year: int):
    """Per municipality (and '' for the rest row): (total cost, insured years, persons)."""
    header, rows = raw_rows(folder, year)
    upper = [h.upper() for h in header]
    cost_idx = [i for i, h in enumerate(upper) if h.startswith("KOSTEN_")]
    iy, ip = upper.index("AANTAL_VERZEKERDEJAREN"), upper.index("AANTAL_BSN")
    out = defaultdict(lambda: [0.0, 0.0, 0.0])
    for r in rows:
        key = r[2].strip()
        out[key][0] += sum(float(r[i]) for i in cost_idx)
        out[key][1] += float(r[iy])
        out[key][2] += float(r[ip])
    return out


@pytest.fixture(scope="module")
def long_all(shared_data):
    return kbz.open_data.vektis(YEARS, folder=shared_data)


# --------------------------------------------------------------------------- outside checks
def test_crude_2018_national_and_two_cities_match_raw_file(shared_data):
    totals = raw_totals(shared_data, 2018)
    areas = {k: v for k, v in totals.items() if k != ""}  # rest row excluded
    national = sum(v[0] for v in areas.values()) / sum(v[1] for v in areas.values())
    utrecht = totals["UTRECHT"][0] / totals["UTRECHT"][1]
    den_haag = totals["S GRAVENHAGE"][0] / totals["S GRAVENHAGE"][1]

    res = kbz.open_data.cost_per_insured_year(
        years=[2018], folder=shared_data, areas=["Netherlands", "Utrecht", "Den Haag"],
        groups=["total"], methods=["crude"])
    got = res.estimates.set_index("area")["estimate"]
    assert got["NEDERLAND"] == pytest.approx(national, rel=REL_TOL)
    assert got["UTRECHT"] == pytest.approx(utrecht, rel=REL_TOL)
    assert got["S GRAVENHAGE"] == pytest.approx(den_haag, rel=REL_TOL)
    # the rest row really differs, so excluding it matters
    with_rest = sum(v[0] for v in totals.values()) / sum(v[1] for v in totals.values())
    assert abs(with_rest - national) > 1.0


def test_insured_counts_match_raw_file(shared_data, long_all):
    totals = raw_totals(shared_data, 2015)
    sel = long_all[(long_all["year"] == 2015) & (long_all["municipality"] == "UTRECHT")]
    years = sel.loc[sel["measure"] == vk.INSURED_YEARS, "value"].sum()
    persons = sel.loc[sel["measure"] == vk.INSURED_PERSONS, "value"].sum()
    assert years == pytest.approx(totals["UTRECHT"][1], rel=REL_TOL)
    assert persons == pytest.approx(totals["UTRECHT"][2], rel=REL_TOL)


# --------------------------------------------------------------------------- every year
def test_every_year_2011_2023_loads(long_all):
    assert sorted(long_all["year"].unique()) == list(YEARS)
    areas = long_all[~long_all["rest"]]
    assert set(areas["age_class"].unique()) == set(AGE_BANDS)
    assert set(areas["sex"].unique()) == {"M", "F"}
    per_year = areas.groupby("year")["municipality"].nunique()
    assert per_year.between(340, 360).all()
    assert long_all["value"].notna().all()


def test_harmonisation_table_matches_every_header(shared_data):
    """Each year's cost columns are exactly those COST_COLUMNS says are published."""
    for year in YEARS:
        header, _ = raw_rows(shared_data, year)
        canon = {vk.TRUNCATED_NAMES.get(h.lower(), h.lower()) for h in header}
        costs = {c for c in canon if c.startswith("kosten_")}
        expected = {c.name for c in vk.COST_COLUMNS if c.published(year)}
        assert costs == expected, year


# --------------------------------------------------------------------------- quirks
def test_quirk_ggz_renamed_2014_harmonised(shared_data, long_all):
    h13, _ = raw_rows(shared_data, 2013)
    h14, _ = raw_rows(shared_data, 2014)
    assert "KOSTEN_TWEEDELIJNS_GGZ" in h13 and "KOSTEN_TWEEDELIJNS_GGZ" not in h14
    assert "KOSTEN_SPECIALISTISCHE_GGZ" in h14
    for year in (2013, 2014):
        header, rows = raw_rows(shared_data, year)
        idx = [i for i, h in enumerate(header) if "GGZ" in h or "PSYCHOLOGISCHE" in h]
        expected = sum(float(r[i]) for r in rows if r[2] == "UTRECHT" for i in idx)
        sel = long_all[(long_all["year"] == year) & (long_all["municipality"] == "UTRECHT")
                       & (long_all["cost_group"] == "ggz")]
        assert sel["value"].sum() == pytest.approx(expected, rel=REL_TOL)
    groups = {c.name: c.ggz_sub for c in vk.COST_COLUMNS}
    assert groups["kosten_tweedelijns_ggz"] == "ggz_specialist"
    assert groups["kosten_specialistische_ggz"] == "ggz_specialist"


def test_quirk_ggz_resplit_2022_flagged(shared_data, long_all):
    h21, _ = raw_rows(shared_data, 2021)
    h22, _ = raw_rows(shared_data, 2022)
    assert "kosten_specialistische_ggz" in h21 and "kosten_specialistische_ggz" not in h22
    assert {"kosten_consulten_ggz", "kosten_intramuraal_verblijf_ggz"} <= set(h22)
    ggz = long_all["cost_group"] == "ggz"
    assert (long_all.loc[ggz, "ggz_break"] == (long_all.loc[ggz, "year"] >= 2022)).all()
    assert not long_all.loc[~ggz, "ggz_break"].any()
    res = kbz.open_data.cost_per_insured_year(
        years=[2021, 2022], folder=shared_data, areas=["Utrecht"],
        groups=["ggz", "ggz_specialist"], methods=["crude"])
    est = res.estimates
    assert set(est.loc[est["cost_group"] == "ggz_specialist", "year"]) == {2021}
    assert set(est.loc[est["cost_group"] == "ggz", "year"]) == {2021, 2022}
    assert est.loc[est["cost_group"] == "ggz", "ggz_break"].tolist() == [False, True]
    assert any("2022" in w for w in res.warnings)


def test_quirk_lower_case_names_from_2019(shared_data, long_all):
    h18, _ = raw_rows(shared_data, 2018)
    h19, _ = raw_rows(shared_data, 2019)
    assert all(h == h.upper() for h in h18) and all(h == h.lower() for h in h19)
    m18 = set(long_all.loc[long_all["year"] == 2018, "measure"].astype(str))
    m19 = set(long_all.loc[long_all["year"] == 2019, "measure"].astype(str))
    assert m18 == m19  # no column added or dropped between 2018 and 2019


def test_quirk_names_cut_to_32_characters_2023(shared_data, long_all):
    header, rows = raw_rows(shared_data, 2023)
    cut = [h for h in header[3:] if h not in vk.MEASURES]
    assert set(cut) == set(vk.TRUNCATED_NAMES)
    assert all(len(h) == 32 for h in cut)
    i = header.index("kosten_medisch_specialistische_z")
    expected = sum(float(r[i]) for r in rows if r[2] == "AMSTERDAM")
    sel = long_all[(long_all["year"] == 2023) & (long_all["municipality"] == "AMSTERDAM")
                   & (long_all["measure"] == "kosten_medisch_specialistische_zorg")]
    assert sel["value"].sum() == pytest.approx(expected, rel=REL_TOL)
    assert not long_all["measure"].astype(str).isin(list(vk.TRUNCATED_NAMES)).any()


def test_quirk_rest_row_kept_apart(shared_data, long_all):
    rest = long_all[long_all["rest"]]
    assert rest["municipality"].isna().all()
    assert rest.groupby("year").size().index.tolist() == list(YEARS)
    # one rest row per year: one value per measure
    assert (rest.groupby(["year", "measure"], observed=True).size() == 1).all()
    raw = raw_totals(shared_data, 2020)[""]
    got = rest[(rest["year"] == 2020) & (rest["measure"] == vk.INSURED_YEARS)]["value"].sum()
    assert got == pytest.approx(raw[1], rel=REL_TOL)
    res = kbz.open_data.cost_per_insured_year(years=[2020], folder=shared_data,
                                              areas=["NL"], groups=["total"], methods=["crude"])
    table = res.tables["rest"].set_index("year")
    assert table.loc[2020, "rest_insured_years"] == pytest.approx(raw[1], rel=REL_TOL)
    assert table.loc[2020, "rest_cost"] == pytest.approx(raw[0], rel=REL_TOL)


def test_quirk_original_2015_release_cp1252_and_2015_boundaries(shared_data):
    raw = (shared_data / "vektis" / "vektis_2015_gemeente_original_release_cp1252.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    header, rows = raw_rows(shared_data, 2015, original=True)
    expected_names = {r[2] for r in rows if r[2]}
    orig = kbz.open_data.vektis(2015, folder=shared_data, release="original")
    assert orig.attrs["encodings"] == {2015: "cp1252"}
    names = set(orig.loc[~orig["rest"], "municipality"].astype(str))
    assert names == expected_names
    assert len(names) == 388  # 2015 boundaries, versus 355 in the harmonised 2015 file
    assert "SÚDWEST-FRYSLÂN" in names and "'S-GRAVENHAGE" in names
    harmonised = kbz.open_data.vektis(2015, folder=shared_data)
    assert harmonised["municipality"].nunique() == 355
    assert orig["rest"].sum() > 0


def test_quirk_s_gravenhage_spelling(shared_data, long_all):
    names = long_all["municipality"].dropna().unique()
    assert "S GRAVENHAGE" in set(names)
    for spelling in ("Den Haag", "'s-Gravenhage", "S GRAVENHAGE", "the hague"):
        assert vk.find_municipality(spelling, names) == "S GRAVENHAGE"
    assert vk.find_municipality("Den Haag", ["'S-GRAVENHAGE", "UTRECHT"]) == "'S-GRAVENHAGE"
    with pytest.raises(SpecificationError, match="did you mean"):
        vk.find_municipality("Utrekht", names)


def test_quirk_age_class_double_spaces(shared_data, long_all):
    _, rows = raw_rows(shared_data, 2018)
    labels = {r[1] for r in rows if r[1]}
    assert " 5 t/m  9 jaar" in labels
    assert len(labels) == len(AGE_BANDS)
    for year in YEARS:
        got = set(long_all.loc[(long_all["year"] == year) & ~long_all["rest"], "age_class"])
        assert got == set(AGE_BANDS), year
    assert list(long_all["age_class"].cat.categories) == list(AGE_BANDS)


def test_boundaries_latest_adds_weesp_to_amsterdam(shared_data):
    totals = raw_totals(shared_data, 2019)
    expected = totals["AMSTERDAM"][1] + totals["WEESP"][1]
    latest = kbz.open_data.vektis(2019, folder=shared_data, boundaries="latest")
    sel = latest[(latest["municipality"] == "AMSTERDAM") & (latest["measure"] == vk.INSURED_YEARS)]
    assert sel["value"].sum() == pytest.approx(expected, rel=REL_TOL)
    assert "WEESP" not in set(latest["municipality"].dropna().astype(str))
    # national totals do not depend on the boundaries
    published = kbz.open_data.vektis(2019, folder=shared_data)
    for frame in (latest, published):
        tot = frame[(frame["measure"] == vk.INSURED_YEARS) & ~frame["rest"]]["value"].sum()
        assert tot == pytest.approx(sum(v[1] for k, v in totals.items() if k), rel=REL_TOL)


def test_unknown_column_is_refused(shared_data, tmp_path):
    header, rows = raw_rows(shared_data, 2018)
    folder = tmp_path / "vektis"
    folder.mkdir()
    with open(folder / "vektis_2018_gemeente.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow([*header, "KOSTEN_NIEUW"])
        for r in rows[:5]:
            w.writerow([*r, "1.0"])
    with pytest.raises(DataValidationError, match="KOSTEN_NIEUW"):
        kbz.open_data.vektis(2018, folder=tmp_path)


def test_loading_does_not_share_state(shared_data):
    """A cold read of all 13 files; changing the result leaves the cache untouched.
    (Loading speed is measured in bench/loaders.py, not asserted here.)"""
    vk._CACHE.clear()
    a = kbz.open_data.vektis(YEARS, folder=shared_data)
    assert sorted(a["year"].unique()) == list(YEARS)
    a.loc[a.index[:10], "value"] = -1.0
    b = kbz.open_data.vektis(YEARS, folder=shared_data)
    assert not np.any(b["value"].to_numpy()[:10] == -1.0)
