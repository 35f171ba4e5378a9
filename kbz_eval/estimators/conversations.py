"""Ratings of the 4D conversation by patients and professionals (Aim 1).

:func:`conversation_ratings` tabulates the Likert ratings (1 = fully disagree, 5 = fully
agree) per item and respondent type, gives the share of positive ratings with a Wilson
interval and, when both respondent types rated an item, the difference between them
with Newcombe's interval. The figure is a diverging stacked bar chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from kbz_eval.errors import DataValidationError, SpecificationError, Violation
from kbz_eval.estimators.proportions import (
    check_alpha,
    newcombe_difference,
    wilson_interval,
)
from kbz_eval.results import Result, tidy_frame
from kbz_eval.validation import validate

#: The Likert scale.
RATINGS: tuple[int, ...] = (1, 2, 3, 4, 5)

#: The neutral middle of the scale: the centre of the diverging bars.
NEUTRAL = 3

#: Ratings counted as positive by default ("agree", "fully agree").
POSITIVE: tuple[int, ...] = (4, 5)

#: Respondent types in their display order.
RESPONDENT_TYPES: tuple[str, ...] = ("patient", "professional")


@dataclass(repr=False)
class ConversationRatingsResult(Result):
    """Result of :func:`conversation_ratings`.

    ``tidy()`` rows: ``share_positive:<respondent_type>:<item>`` (Wilson interval) and
    ``difference:<item>:patient-professional`` (Newcombe interval) when both types rated
    the item. Extra columns ``respondent_type`` and ``item``.

    ``tables``: ``distribution`` (count and share of each rating per respondent type ×
    item, with ``n``), ``share_positive`` (the shares with their intervals and ``n``).
    """

    title: ClassVar[str] = "4D-conversation ratings"
    plotter: ClassVar[str | None] = "surveys:plot_conversation_ratings"

    def plot_data(self) -> pd.DataFrame:
        """The bar segments of the diverging stacked bar chart.

        One row per respondent type × item × rating: ``respondent_type, item, rating,
        share, left, n`` and ``position`` (the bar's y position, top bar 0). Each
        segment spans ``left`` to ``left + share`` (shares as percent): negative ratings
        to the left of 0, the neutral rating centred on 0 and positive ratings to the
        right.
        """
        dist = self.tables["distribution"]
        neutral = self.settings["neutral"]
        negative = [r for r in RATINGS if r < neutral]
        rows = []
        bars = dist[["respondent_type", "item"]].drop_duplicates().reset_index(drop=True)
        for pos, (_, bar) in enumerate(bars.iterrows()):
            part = dist[(dist["respondent_type"] == bar["respondent_type"])
                        & (dist["item"] == bar["item"])].set_index("rating")
            share = 100 * part["share"]
            left = -(share.loc[negative].sum() + share.loc[neutral] / 2)
            for r in RATINGS:
                rows.append({"respondent_type": bar["respondent_type"], "item": bar["item"],
                             "rating": r, "share": float(share.loc[r]), "left": float(left),
                             "n": int(part.loc[r, "n"]), "position": pos})
                left += share.loc[r]
        out = pd.DataFrame(rows)
        out["rating"] = out["rating"].astype("int64")
        return out

    def headline(self) -> str:
        """Share positive per respondent type (range over items)."""
        sp = self.tables["share_positive"]
        parts = []
        for rtype, part in sp.groupby("respondent_type", sort=False):
            lo, hi = 100 * part["share"].min(), 100 * part["share"].max()
            span = f"{lo:.0f}%" if round(lo) == round(hi) else f"{lo:.0f}–{hi:.0f}%"
            n_lo, n_hi = int(part["n"].min()), int(part["n"].max())
            n_text = f"{n_lo}" if n_lo == n_hi else f"{n_lo}–{n_hi}"
            parts.append(f"{rtype}s {span} positive over {len(part)} items "
                         f"(n = {n_text} per item)")
        pos = "/".join(str(r) for r in self.settings["positive"])
        return "; ".join(parts) + f" (rating {pos} of 5)"


def conversation_ratings(
    conversations: pd.DataFrame, *, positive: Sequence[int] = POSITIVE,
    alpha: float = 0.05,
) -> ConversationRatingsResult:
    """Distribution and share of positive ratings of the 4D conversation.

    Parameters
    ----------
    conversations
        The ``conversations`` table (``respondent_type, item, rating``; see
        :data:`kbz_eval.tables.CONVERSATIONS`). Not changed.
    positive
        Ratings counted as positive, the top of the scale (default ``(4, 5)``).
    alpha
        ``1 - alpha`` is the coverage of every interval.

    Returns
    -------
    ConversationRatingsResult
        Distribution per item and respondent type, shares positive with intervals, the
        patient − professional difference per item; ``.plot()`` draws the diverging
        stacked bar chart.

    Raises
    ------
    DataValidationError
        If the table breaks its contract (a rating outside 1–5, an unknown respondent
        type, ...) or has no rows.
    SpecificationError
        For ``positive`` not a non-empty set of top ratings of the scale, or an invalid
        ``alpha``.

    Notes
    -----
    Each rating of an item counts once; the share positive of an item is a binomial
    proportion over the respondents who rated it, with a Wilson interval. The
    difference between patients and professionals is between independent groups,
    with Newcombe's hybrid score interval. A respondent rates several items, so the
    items are not independent of each other: no pooled interval over items is given.
    """
    alpha = check_alpha(alpha)
    pos = sorted({int(r) for r in positive}) if not isinstance(positive, (str, int)) else []
    if not pos or pos != list(range(pos[0], RATINGS[-1] + 1)) or pos[0] <= NEUTRAL:
        raise SpecificationError(
            "The value for `positive` must be the top ratings of the 1–5 scale above the "
            f"neutral {NEUTRAL}: (4, 5) or (5,), but {positive!r} was passed."
        )
    data = validate(conversations, "conversations", source="conversations").data
    if data.empty:
        raise DataValidationError("conversations", "conversations", [Violation(
            "rating", "no rows", detail="The conversations table has no rows.")])
    data = data.astype({"respondent_type": str})
    types = [t for t in RESPONDENT_TYPES if t in set(data["respondent_type"])]
    items = list(pd.unique(data["item"]))
    dist_rows = []
    share_rows = []
    tidy_rows: list[dict[str, Any]] = []
    for rtype in types:
        for item in items:
            ratings = data.loc[(data["respondent_type"] == rtype) & (data["item"] == item),
                               "rating"].to_numpy()
            n = int(ratings.size)
            if n == 0:
                continue
            counts = np.array([(ratings == r).sum() for r in RATINGS])
            for r, c in zip(RATINGS, counts, strict=True):
                dist_rows.append({"respondent_type": rtype, "item": item, "rating": r,
                                  "count": int(c), "share": c / n, "n": n})
            x = int(np.isin(ratings, pos).sum())
            lo, hi = wilson_interval(x, n, alpha=alpha)
            share_rows.append({"respondent_type": rtype, "item": item, "positive": x,
                               "n": n, "share": x / n, "ci_lower": float(lo),
                               "ci_upper": float(hi)})
            tidy_rows.append({"term": f"share_positive:{rtype}:{item}", "estimate": x / n,
                              "ci_lower": float(lo), "ci_upper": float(hi), "n": n,
                              "respondent_type": rtype, "item": item})
    shares = pd.DataFrame(share_rows)
    if set(types) == set(RESPONDENT_TYPES):
        for item in items:
            cells = shares[shares["item"] == item].set_index("respondent_type")
            if len(cells) < 2:
                continue
            a, b = cells.loc["patient"], cells.loc["professional"]
            d, lo, hi = newcombe_difference(a["positive"], a["n"], b["positive"], b["n"],
                                            alpha=alpha)
            tidy_rows.append({"term": f"difference:{item}:patient-professional",
                              "estimate": float(d), "ci_lower": float(lo),
                              "ci_upper": float(hi), "n": int(a["n"] + b["n"]),
                              "respondent_type": "patient − professional", "item": item})
    distribution = pd.DataFrame(dist_rows)
    method = (
        f"Share of ratings {'/'.join(map(str, pos))} per item and respondent type, a "
        "binomial proportion over the respondents who rated the item, with a Wilson "
        "interval; patient − professional differences per item with Newcombe's hybrid "
        "score interval (independent groups). Items are rated by the same respondents, "
        "so no pooled interval over items is given."
    )
    return ConversationRatingsResult(
        estimates=tidy_frame(tidy_rows),
        tables={"distribution": distribution, "share_positive": shares},
        method=method,
        settings={"positive": pos, "neutral": NEUTRAL,
                  "alpha": alpha, "items": items, "respondent_types": types},
    )
