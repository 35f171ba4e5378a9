"""The result contract shared by every analysis.

Every analysis function (``kbz.savings``, ``kbz.ggz_change``, ``kbz.cvg_trajectory``...)
returns a subclass of :class:`Result`. They all offer the same surface:

- ``.tidy()``: one row per estimated quantity with the columns :data:`TIDY_COLUMNS`;
- ``.summary()``: a DataFrame for people (never printed-and-``None``);
- ``.plot(ax=None, language="en")``: draws on the given (or a new) Axes, with labels
  in English or Dutch, and returns it;
- ``.plot_data()``: the exact frame the plot draws, so users can redraw it;
- a one-line ``repr`` and ``_repr_html_`` for Jupyter;
- ``.method``: what the estimate is, how its variance was estimated and the
  assumptions, in plain words.

Results never import matplotlib at module level: drawing lives in
:mod:`kbz_eval.plotting`, imported only when ``.plot`` is called.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, ClassVar

import pandas as pd

#: Columns of every ``tidy()`` frame, in order.
TIDY_COLUMNS = ("term", "estimate", "std_error", "ci_lower", "ci_upper", "p_value", "n")


def tidy_frame(rows: list[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Build a ``tidy()`` frame from row dicts (or a frame of them), filling absent
    columns with NA.

    Extra keys are kept after the contract columns; a frame passed in is not changed.
    """
    frame = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    for col in TIDY_COLUMNS:
        if col not in frame.columns:
            frame[col] = pd.NA
    extra = [c for c in frame.columns if c not in TIDY_COLUMNS]
    frame = frame[[*TIDY_COLUMNS, *extra]]
    for col in ("estimate", "std_error", "ci_lower", "ci_upper", "p_value"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    frame["n"] = pd.to_numeric(frame["n"], errors="coerce").astype("Int64")
    frame["term"] = frame["term"].astype(str)
    return frame


@dataclass(repr=False)
class Result:
    """Base class of every analysis result.

    Subclasses set :attr:`title`, fill :attr:`estimates` (the tidy rows) and
    :attr:`tables` (named DataFrames), and name the plotting function in
    :attr:`plotter` (``"module:function"`` under :mod:`kbz_eval.plotting`) that takes
    ``(result, ax)`` and returns the Axes.

    Attributes
    ----------
    estimates
        The tidy frame (see :data:`TIDY_COLUMNS`).
    tables
        Named supporting tables (per year, per practice, ...).
    method
        Plain-language description of estimand, variance method and assumptions.
    settings
        The options the analysis was run with (seed, replicates, years, ...).
    warnings
        Messages of any :class:`~kbz_eval.errors.StatisticalWarning` raised.
    """

    title: ClassVar[str] = "result"
    plotter: ClassVar[str | None] = None

    estimates: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    method: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    # -- contract --------------------------------------------------------------
    def tidy(self) -> pd.DataFrame:
        """One row per estimated quantity: ``term, estimate, std_error, ci_lower,
        ci_upper, p_value, n`` (and any extra descriptive columns)."""
        return self.estimates.copy()

    def summary(self) -> pd.DataFrame:
        """The headline table for people; by default the tidy frame, rounded."""
        return self.tidy().round(4)

    def plot_data(self) -> pd.DataFrame:
        """The frame :meth:`plot` draws."""
        return self.tidy()

    def plot(self, ax: Any = None, *, language: str = "en") -> Any:
        """Draw the result on ``ax`` (a new figure when ``None``) and return the Axes.

        Parameters
        ----------
        ax
            Axes to draw on; a new figure when ``None``.
        language
            ``"en"`` or ``"nl"``: the language of the figure's labels.
        """
        if self.plotter is None:
            from kbz_eval.errors import SpecificationError

            raise SpecificationError(f"{type(self).__name__} has no plot.")
        module_name, func_name = self.plotter.split(":")
        func = getattr(import_module(f"kbz_eval.plotting.{module_name}"), func_name)
        return func(self, ax=ax, language=language)

    # -- display ---------------------------------------------------------------
    def headline(self) -> str:
        """One sentence with the main estimate; subclasses override."""
        row = self.estimates.iloc[0] if len(self.estimates) else None
        if row is None:
            return f"{self.title}: no estimates"
        return (
            f"{self.title}: {row['term']} = {row['estimate']:.4g} "
            f"(95% CI {row['ci_lower']:.4g} to {row['ci_upper']:.4g})"
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.headline()}>"

    def _repr_html_(self) -> str:
        parts = [
            f"<div class='kbz-result'><strong>{html.escape(type(self).__name__)}</strong>: "
            f"{html.escape(self.headline())}",
            self.summary().to_html(index=False, na_rep="—"),
        ]
        if self.method:
            parts.append(f"<p><em>Method.</em> {html.escape(self.method)}</p>")
        for w in self.warnings:
            parts.append(f"<p><strong>Warning.</strong> {html.escape(w)}</p>")
        parts.append("</div>")
        return "\n".join(parts)
