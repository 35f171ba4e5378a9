"""The RIVM health-monitor loader against the raw spreadsheets."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest

import kbz_eval as kbz
from kbz_eval.errors import SpecificationError

rivm = importlib.import_module("kbz_eval.open_data.rivm")

pytestmark = pytest.mark.data
YEARS = (2012, 2016, 2020)


@pytest.fixture(scope="module")
def health(shared_data):
    return kbz.open_data.rivm_health(YEARS, folder=shared_data)


def test_loads_2012_2016_2020_with_overvecht(health):
    assert sorted(health["year"].unique()) == list(YEARS)
    for y in YEARS:
        codes = set(health.loc[health["year"] == y, "area_code"])
        assert {"NL01", "GM0344", "WK034403"} <= codes
    one = health[health["year"] == 2016].drop_duplicates("area_code")
    counts = one["area_type"].value_counts().to_dict()
    # regions with every estimate suppressed have no rows
    assert counts["country"] == 1 and counts["municipality"] == 355
    assert 3000 < counts["district"] <= 3177 and 12000 < counts["neighbourhood"] <= 13808
    assert health["value"].between(0, 100).all()
    assert set(health["margin"]) == {"MW00000"}  # point estimates only
    assert set(health["age_group"]) == {"18+"}


def test_reader_matches_openpyxl(shared_data, health):
    """The fast reader against openpyxl on the raw 2016 file: every cell, and the tidy
    values of Overvecht, Utrecht and the country (codes padded with spaces, values as
    text with leading spaces in the file)."""
    import openpyxl

    path = shared_data / "rivm" / "2016_18+.xlsx"
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    header = [str(h) for h in rows[0]]
    slow = pd.DataFrame(rows[1:], columns=header, dtype=object)
    fast = rivm._read_xlsx_fast(path)
    assert list(fast.columns) == header and fast.shape == slow.shape

    def norm(v):
        return None if v is None else str(v)

    same = np.vectorize(norm, otypes=[object])(fast.to_numpy()) == np.vectorize(
        norm, otypes=[object])(slow.to_numpy())
    assert same.all()

    code = slow["WijkenEnBuurten"].astype(str).str.strip()
    got = health[health["year"] == 2016].set_index(["area_code", "measure"])["value"]
    checked = 0
    for area in ("NL01", "GM0344", "WK034403", "WK034401"):
        row = slow[code == area].iloc[0]
        for name in ("ErvarenGezondheidGoedZeerGoed_4", "MoeiteMetRondkomen_38",
                     "Eenzaam_28", "VoldoetAanBeweegrichtlijn_5"):
            assert got[(area, name)] == pytest.approx(float(row[name]), abs=1e-9)
            checked += 1
    assert checked == 16


def test_exercise_guideline_absent_in_2012(health):
    ex = health[health["indicator"] == "exercise_guideline"]
    assert sorted(ex["year"].unique()) == [2016, 2020]


def test_aim2_indicators_named(shared_data):
    sel = kbz.open_data.rivm_health(2020, folder=shared_data,
                                    measures=["good_health", "loneliness"],
                                    area_codes=["GM0344"])
    assert set(sel["indicator"]) == {"good_health", "loneliness"}
    assert set(sel["measure"]) == {"ErvarenGezondheidGoedZeerGoed_4", "Eenzaam_28"}
    with pytest.raises(SpecificationError):
        kbz.open_data.rivm_health(2020, folder=shared_data, measures=["no_such_measure"])
    with pytest.raises(SpecificationError):
        kbz.open_data.rivm_health(2014, folder=shared_data)


def test_65_plus_and_missing_2020_18_64(shared_data):
    old = kbz.open_data.rivm_health(2020, folder=shared_data, age_groups=["65+"],
                                    measures=["good_health"], area_codes=["NL01"])
    assert old["value"].iloc[0] < 75  # 65+ report worse health than all adults
    with pytest.raises(kbz.open_data.OpenDataNotFoundError, match="download"):
        kbz.open_data.rivm_health(2020, folder=shared_data, age_groups=["18-64"])


def test_csv_from_download_reads_like_xlsx(shared_data, tmp_path):
    """The download step writes the OData rows as CSV; the reader gives the same table."""
    path = shared_data / "rivm" / "2012_18+.xlsx"
    raw = rivm._read_xlsx_fast(path)
    code = raw["WijkenEnBuurten"].astype(str).str.strip()
    part = raw[code.str.startswith(("NL", "GM0344", "WK0344"))]
    (tmp_path / "rivm").mkdir()
    part.to_csv(tmp_path / "rivm" / "2012_18+.csv", sep=";", index=False)
    from_csv = kbz.open_data.rivm_health(2012, folder=tmp_path)
    from_xlsx = kbz.open_data.rivm_health(2012, folder=shared_data,
                                          area_codes=set(from_csv["area_code"]))
    key = ["area_code", "measure"]
    pd.testing.assert_frame_equal(from_csv.sort_values(key).reset_index(drop=True),
                                  from_xlsx.sort_values(key).reset_index(drop=True),
                                  check_categorical=False)
