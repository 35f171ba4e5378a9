"""Claims engine: claim lines + insured periods -> the ``person_years`` panel.

The transformation is written once as Ibis expressions (:mod:`.panel`) and runs on
DuckDB (default: in-process, out-of-core) or unchanged on PySpark. :func:`build_panel`
is the front door; :mod:`.reference` is a plain pandas implementation of the same rules
used to check the engine; :mod:`.scale` writes synthetic claim lines at insurer scale.
"""

from kbz_eval.engine.build import (
    ATTRS_KEY,
    BACKENDS,
    PanelReport,
    PanelResult,
    build_panel,
    check_ggz_window,
)
from kbz_eval.engine.panel import DEDUP_ORDER, YEAR_RULES, claim_columns, panel_columns

__all__ = [
    "ATTRS_KEY",
    "BACKENDS",
    "DEDUP_ORDER",
    "YEAR_RULES",
    "PanelReport",
    "PanelResult",
    "build_panel",
    "check_ggz_window",
    "claim_columns",
    "panel_columns",
]
