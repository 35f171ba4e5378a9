"""kbz_eval: evaluate Krachtige basiszorg (integrated primary care) on the Quadruple Aim.

Use it as ``import kbz_eval as kbz``. The public functions are imported lazily, so
``import kbz_eval`` stays fast in a notebook; see ``__all__`` for what is offered.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from kbz_eval.errors import (
    DataValidationError,
    IdentifierError,
    KbzEvalError,
    SpecificationError,
    StatisticalWarning,
)

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "read": "kbz_eval.io",
    "read_table": "kbz_eval.io",
    "validate": "kbz_eval.validation",
    "check_identifiers": "kbz_eval.privacy",
    "load_sample": "kbz_eval.synth",
    "build_panel": "kbz_eval.engine",
    "check_ggz_window": "kbz_eval.engine",
    "write_sample": "kbz_eval.synth",
    "run_report": "kbz_eval.report",
    "tables": "kbz_eval.tables",
    "did": "kbz_eval.estimators.did",
    "dbc_index": "kbz_eval.estimators.dbc_index",
    "savings": "kbz_eval.estimators.savings",
    "ggz_change": "kbz_eval.estimators.ggz_change",
    "risk_adjustment": "kbz_eval.estimators.risk_adjustment",
    "open_data": "kbz_eval.open_data",
    "cvg_trajectory": "kbz_eval.estimators.cvg",
    "cvg_agreement": "kbz_eval.estimators.cvg",
    "conversation_ratings": "kbz_eval.estimators.conversations",
    "population_health": "kbz_eval.estimators.population_health",
    "workforce_change": "kbz_eval.estimators.workforce",
    "indicator_spread": "kbz_eval.estimators.indicators",
    "referrals_avoided": "kbz_eval.estimators.indicators",
    "funnel": "kbz_eval.estimators.funnel",
    "xmr": "kbz_eval.estimators.practice_trends",
    "practice_trends": "kbz_eval.estimators.practice_trends",
    "practice_ranking": "kbz_eval.estimators.ranking",
    "expected_by_regression": "kbz_eval.estimators.case_mix",
    "staggered_did": "kbz_eval.estimators.staggered",
    "trend_break": "kbz_eval.estimators.trend_break",
    "bacon_decomposition": "kbz_eval.estimators.bacon",
    "balance": "kbz_eval.estimators.balance",
    "comparison_units": "kbz_eval.estimators.balance",
    "practice_weights": "kbz_eval.estimators.balance",
    "pretrend_test": "kbz_eval.estimators.pretrends",
    "honest_sensitivity": "kbz_eval.estimators.pretrends",
    "mde_two_by_two": "kbz_eval.estimators.power",
    "mde_staggered": "kbz_eval.estimators.power",
    "icc_from_panel": "kbz_eval.estimators.power",
    "rollout_sample": "kbz_eval.synth.rollout",
}

# names that are whole modules (``kbz.tables``, ``kbz.open_data``), not functions
_MODULES = {"tables", "open_data"}

__all__ = [
    "DataValidationError",
    "IdentifierError",
    "KbzEvalError",
    "SpecificationError",
    "StatisticalWarning",
    "__version__",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = import_module(_LAZY[name])
        value = module if name in _MODULES else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kbz_eval' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
