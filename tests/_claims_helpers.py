"""Helpers shared by the claims-analysis tests."""

from __future__ import annotations

import warnings

import pandas as pd

from kbz_eval.errors import StatisticalWarning


def quiet(fn, *args, **kwargs):
    """Call ``fn`` with the expected few-practices ``StatisticalWarning`` silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        return fn(*args, **kwargs)


def term(result, name: str) -> pd.Series:
    """The tidy row called ``name``."""
    return result.tidy().set_index("term").loc[name]
