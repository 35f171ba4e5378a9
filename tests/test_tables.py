"""The data contracts: internal consistency and the rendered document kept in sync."""

from __future__ import annotations

import numpy as np
import pytest

from kbz_eval import tables
from kbz_eval.errors import SpecificationError

DESIGN_TABLES = {
    "person_years", "claim_lines", "insured_periods", "practices", "cvg", "workforce",
    "monitor", "practice_indicators", "conversations", "consults",
}


def test_every_design_table_has_a_contract():
    assert set(tables.TABLES) == DESIGN_TABLES


@pytest.mark.parametrize("name", sorted(DESIGN_TABLES))
def test_contract_is_consistent(name):
    t = tables.TABLES[name]
    names = t.names
    assert len(names) == len(set(names)), "duplicate column names"
    for k in t.key:
        assert k in names and t.column(k).required and not t.column(k).nullable
    for group in t.one_of:
        assert all(g in names for g in group)
    for fk in t.foreign_keys:
        assert fk.column in names
        assert fk.ref_column in tables.TABLES[fk.table].names
    for c in t.columns:
        assert c.dtype in ("str", "int", "float", "bool", "date", "category")
        assert (c.dtype == "category") == bool(c.categories), c.name
        if c.min is not None and c.max is not None:
            assert c.min <= c.max


def test_person_years_has_a_column_per_care_type():
    names = tables.PERSON_YEARS.names
    for prefix in tables.CARE_TYPE_PREFIX.values():
        assert f"{prefix}_count" in names and f"{prefix}_cost" in names
    assert set(tables.CARE_TYPE_PREFIX) == set(tables.CARE_TYPES)


def test_insured_periods_are_the_person_columns_of_person_years():
    py = tables.PERSON_YEARS.names
    ip = tables.INSURED_PERIODS.names
    assert ip == [c for c in py if c in ip]
    assert not any(c.endswith("_cost") or c.endswith("_count") for c in ip)


def test_get_table_names_the_allowed_values():
    with pytest.raises(SpecificationError, match=r"must be one of .*'person_years'.*'persons'"):
        tables.get_table("persons")


def test_exposure_uses_days_in_that_year():
    years = np.array([2012, 2015, 2016, 2100, 2000])
    assert tables.days_in_year(years).tolist() == [366, 365, 366, 365, 366]
    np.testing.assert_allclose(tables.insured_years([366, 73], [2016, 2015]), [1.0, 0.2])


def test_age_bands_cover_all_ages():
    assert tables.age_band(np.array([0, 4, 5, 64, 89, 90, 104])).tolist() == [
        "0-4", "0-4", "5-9", "60-64", "85-89", "90+", "90+"
    ]


def test_rendered_contracts_document_is_in_sync(repo):
    doc = (repo / "docs" / "data-contracts.md").read_text(encoding="utf-8")
    assert doc == tables.render_markdown(), "run `make docs` to regenerate docs/data-contracts.md"
    for name in DESIGN_TABLES:
        assert f"## `{name}`" in doc
