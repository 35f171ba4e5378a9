"""The public API (DESIGN.md contract): every name resolves, lazily."""

from __future__ import annotations

import subprocess
import sys

import pytest

import kbz_eval as kbz

CONTRACT = ["read", "load_sample", "build_panel", "dbc_index", "savings", "ggz_change",
            "did", "cvg_trajectory", "population_health", "workforce_change"]


@pytest.mark.parametrize("name", sorted(kbz.__all__))
def test_every_public_name_resolves(name):
    assert getattr(kbz, name) is not None


def test_contract_names_are_callables():
    for name in CONTRACT:
        assert callable(getattr(kbz, name)), name
    assert kbz.tables.get_table("person_years").name == "person_years"
    assert callable(kbz.open_data.vektis)


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'savingz'"):
        kbz.savingz  # noqa: B018


def test_import_is_lazy_and_light():
    code = ("import sys, kbz_eval; heavy = [m for m in ('ibis', 'duckdb', 'matplotlib', "
            "'statsmodels') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "", f"`import kbz_eval` imports {out}"
