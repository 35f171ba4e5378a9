"""Synthetic control on yearly area series, with placebo-in-space inference.

A treated area's pre-period series is reproduced by a convex combination of donor areas
(weights non-negative, summing to one); the gap after the start year is the effect
estimate, and refitting with each donor as if it were treated gives the placebo
distribution (Abadie, Diamond & Hainmueller 2010).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from kbz_eval.errors import SpecificationError, StatisticalWarning
from kbz_eval.open_data.standardise import COUNTRY, CostPerInsuredYear, resolve_areas
from kbz_eval.results import Result, tidy_frame

#: The KBZ cities (spelled as in the Vektis files) and the first year of KBZ there.
#: Utrecht: Overvecht 2014 (the pilot, 2014–2016); a wider Utrecht wave followed in
#: 2019. Amsterdam, Rotterdam, Den Haag and Haarlem: 2019. These are the project's
#: working assumptions; pass ``treatment_year`` to use others.
KBZ_ROLLOUT = {"UTRECHT": 2014, "AMSTERDAM": 2019, "ROTTERDAM": 2019, "S GRAVENHAGE": 2019,
               "HAARLEM": 2019}
#: Every KBZ wave per city (for marking plots).
KBZ_WAVES = {"UTRECHT": (2014, 2019), "AMSTERDAM": (2019,), "ROTTERDAM": (2019,),
             "S GRAVENHAGE": (2019,), "HAARLEM": (2019,)}
#: Display names of the KBZ cities.
CITY_LABELS = {"UTRECHT": "Utrecht", "AMSTERDAM": "Amsterdam", "ROTTERDAM": "Rotterdam",
               "S GRAVENHAGE": "Den Haag", "HAARLEM": "Haarlem", COUNTRY: "Netherlands"}


# --------------------------------------------------------------------------- numerics
def simplex_weights(target: np.ndarray, donors: np.ndarray) -> np.ndarray:
    """Weights ``w >= 0``, ``sum(w) = 1`` minimising ``||target - donors @ w||²``.

    Parameters
    ----------
    target
        Shape ``(T,)``: the treated unit's pre-period values.
    donors
        Shape ``(T, J)``: the donors' pre-period values.

    Returns
    -------
    ndarray
        Shape ``(J,)``.

    Notes
    -----
    Non-negative least squares (Lawson–Hanson, :func:`scipy.optimize.nnls`) on the
    system augmented with one heavily weighted row of ones, ``[X; M·1'] w = [y; M]``:
    for large ``M`` its solution satisfies ``sum(w) = 1`` up to about ``1/M²`` relative
    error (checked: below 1e-8 on the Vektis panels) and is then rescaled to sum to one
    exactly. Series are scaled by their standard deviation first. When the pre-period is
    shorter than the number of donors the minimiser need not be unique; any minimiser
    reproduces the pre-period equally well.
    """
    y = np.asarray(target, dtype=float)
    x = np.asarray(donors, dtype=float)
    n_donors = x.shape[1]
    if n_donors == 1:
        return np.ones(1)
    scale = max(float(np.std(np.column_stack([y, x]))), 1e-12)
    ys, xs = y / scale, x / scale
    big = 1e4 * max(1.0, float(np.abs(xs).max()))
    a = np.vstack([xs, np.full((1, n_donors), big)])
    b = np.concatenate([ys, [big]])
    w, _ = nnls(a, b, maxiter=100 * n_donors)
    w = np.clip(w, 0.0, None)
    total = w.sum()
    return w / total if total > 0 else np.full(n_donors, 1.0 / n_donors)


def _rmspe(gaps: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(gaps)))) if gaps.size else float("nan")


def _fit(panel: np.ndarray, treated: int, donors: Sequence[int], pre: np.ndarray,
         demean: bool) -> tuple[np.ndarray, np.ndarray]:
    """Weights and synthetic series of column ``treated`` from columns ``donors``."""
    y = panel[:, treated]
    x = panel[:, list(donors)]
    if demean:
        y_c = y - y[pre].mean()
        x_c = x - x[pre].mean(axis=0)
        w = simplex_weights(y_c[pre], x_c[pre])
        synth = x_c @ w + y[pre].mean()
    else:
        w = simplex_weights(y[pre], x[pre])
        synth = x @ w
    return w, synth


@dataclass(repr=False)
class SyntheticControl(Result):
    """Synthetic control estimate with placebo-in-space inference.

    ``estimates``: one row per year (``gap <year>``: treated minus synthetic; ``period``
    pre/post) and the row ``average post-period gap`` whose ``p_value`` is the
    placebo-in-space rank p-value. Tables: ``series`` (treated, synthetic, gap per year),
    ``weights`` (donor weights), ``placebos`` (per unit: pre/post RMSPE, ratio, mean
    post gap) and ``placebo_gaps`` (year × unit).
    """

    title: ClassVar[str] = "Synthetic control"
    plotter: ClassVar[str | None] = "open_data:synthetic_control"

    def summary(self) -> pd.DataFrame:
        """The yearly series and the average post-period gap."""
        return self.tidy()[["term", "estimate", "p_value", "n", "year", "period",
                            "treated_value", "synthetic_value"]].round(3)

    def plot_data(self) -> pd.DataFrame:
        """Treated and synthetic series per year (what :meth:`plot` draws)."""
        return self.tables["series"].copy()

    def headline(self) -> str:
        row = self.estimates[self.estimates["term"] == "average post-period gap"]
        if row.empty:
            return f"{self.title}: no post period"
        r = row.iloc[0]
        return (f"{self.settings.get('treated')} vs synthetic control from "
                f"{self.settings.get('treatment_year')}: average gap {r['estimate']:.4g} "
                f"(placebo p = {r['p_value']:.3g}, {int(self.settings.get('n_placebos', 0))} "
                f"placebos)")


def _panel_from_costs(costs: CostPerInsuredYear, group: str, method: str) -> pd.DataFrame:
    est = costs.estimates
    sel = est[(est["cost_group"] == group) & (est["method"] == method)]
    if sel.empty:
        raise SpecificationError(
            f"The cost result has no rows for group {group!r} and method {method!r}; "
            f"compute it with groups=[{group!r}] and methods=[{method!r}]."
        )
    return sel.pivot(index="year", columns="area", values="estimate").sort_index()


def donor_pool(costs: CostPerInsuredYear, *, n_donors: int = 30,
               exclude: Iterable[str] = (), size_year: int | None = None) -> list[str]:
    """The ``n_donors`` largest municipalities by insured years, KBZ cities excluded.

    Size is measured in ``size_year`` (default the first year of the result); only
    municipalities with a value in every year qualify.
    """
    est = costs.estimates
    first = int(est["year"].min()) if size_year is None else int(size_year)
    sizes = est[(est["year"] == first) & (est["method"] == est["method"].iloc[0])
                & (est["cost_group"] == est["cost_group"].iloc[0])]
    sizes = sizes.groupby("area")["insured_years"].first()
    n_years = est["year"].nunique()
    complete = est.groupby("area")["year"].nunique()
    complete = set(complete[complete == n_years].index)
    skip = {COUNTRY, *KBZ_ROLLOUT, *exclude}
    ranked = [a for a in sizes.sort_values(ascending=False).index
              if a not in skip and a in complete]
    return ranked[:n_donors]


def synthetic_control(data: CostPerInsuredYear | pd.DataFrame | None = None, *,
                      treated: str = "Utrecht", treatment_year: int | None = None,
                      group: str = "total", method: str = "direct",
                      donors: Iterable[str] | None = None, n_donors: int = 30,
                      demean: bool = False, placebo: bool = True,
                      folder: str | None = None) -> SyntheticControl:
    """Synthetic control for one area on yearly series, with placebo-in-space p-value.

    Parameters
    ----------
    data
        A :class:`~kbz_eval.open_data.standardise.CostPerInsuredYear` result (default:
        computed from the Vektis files in ``folder``, all municipalities, boundaries
        harmonised to 2025), or a wide panel: index = year, one column per unit.
    treated
        The treated unit (any spelling of a municipality, e.g. ``"Den Haag"``; a panel
        column name when ``data`` is a panel).
    treatment_year
        First post-period year; default the KBZ start year of the city
        (:data:`KBZ_ROLLOUT`).
    group, method
        Cost group and standardisation method of the outcome (cost results only).
    donors
        Donor units; default :func:`donor_pool` (the ``n_donors`` largest non-KBZ
        municipalities) or, for a panel, every other column.
    n_donors
        Size of the default donor pool.
    demean
        Fit on series with their pre-period mean removed (adds a level shift to the
        synthetic control; Ferman & Pinto's demeaned variant). Default ``False``.
    placebo
        Run placebo-in-space (each donor treated in turn, the other donors as its
        pool).

    Returns
    -------
    SyntheticControl

    Raises
    ------
    SpecificationError
        Unknown unit, fewer than two pre-period years or no post period.

    Notes
    -----
    Weights solve :math:`\\min_w \\sum_{t < T_0} (y_{1t} - \\sum_j w_j y_{jt})^2` with
    :math:`w_j \\ge 0, \\sum_j w_j = 1` (:func:`simplex_weights`), on the pre-period
    outcome itself (no other predictors). Effect: the gap :math:`y_{1t} - \\hat y_{1t}` in
    each post year and its average. Inference: the post/pre RMSPE ratio of the treated
    unit is ranked among those of the placebos;
    :math:`p = \\#\\{j : r_j \\ge r_1\\} / (J + 1)` counting the treated unit, so
    :math:`p \\in (0, 1]` and its smallest value is :math:`1/(J+1)`. No standard errors.

    At city level KBZ touches a small share of residents (Overvecht is about a tenth of
    Utrecht), so city series can show at most a diluted effect; cost definitions change
    over the years (see :data:`kbz_eval.open_data.vektis.SERIES_BREAKS`), equally for
    treated and donors.
    """
    if isinstance(data, pd.DataFrame):
        panel = data.sort_index().astype(float)
        if treated not in panel.columns:
            raise SpecificationError(
                f"`treated` {treated!r} is not a column of the panel; columns: "
                f"{list(panel.columns)[:10]}..."
            )
        treated_name = treated
        pool = list(donors) if donors is not None else [c for c in panel.columns if c != treated]
        source = "panel"
    else:
        if data is None:
            from kbz_eval.open_data.standardise import cost_per_insured_year

            data = cost_per_insured_year(folder=folder, groups=[group], methods=[method])
        panel = _panel_from_costs(data, group, method)
        treated_name = resolve_areas([treated], panel.columns)[0]
        if donors is not None:
            pool = resolve_areas(list(donors), panel.columns)
        else:
            pool = donor_pool(data, n_donors=n_donors, exclude=[treated_name])
        source = f"{group} cost per insured year ({method})"
    pool = [d for d in pool if d != treated_name]
    if treatment_year is None:
        if treated_name not in KBZ_ROLLOUT:
            raise SpecificationError(
                f"No KBZ start year known for {treated_name!r}; pass treatment_year=..."
            )
        treatment_year = KBZ_ROLLOUT[treated_name]
    panel = panel[[treated_name, *pool]].dropna(axis=0, how="any")
    years = panel.index.to_numpy(dtype=int)
    pre = years < int(treatment_year)
    if pre.sum() < 2:
        raise SpecificationError(
            f"Only {int(pre.sum())} pre-period year(s) before {treatment_year}; need at least 2."
        )
    if pre.all():
        raise SpecificationError(f"No year from {treatment_year} on in the data.")
    if len(pool) < 2:
        raise SpecificationError(
            "The donor pool needs at least two units"
            + ("; compute the cost result without `areas=` so it holds every municipality."
               if source != "panel" else ".")
        )
    values = panel.to_numpy(dtype=float)
    w, synth = _fit(values, 0, range(1, values.shape[1]), pre, demean)
    gap = values[:, 0] - synth
    pre_rmspe, post_rmspe = _rmspe(gap[pre]), _rmspe(gap[~pre])
    warnings = []
    if pre.sum() < 5:
        warnings.append(
            f"Only {int(pre.sum())} pre-period years: the fit rests on very few points."
        )
    spread = float(np.std(values[pre, 0]))
    if pre_rmspe > 0.5 * max(spread, 1e-12) and not demean:
        warnings.append("The pre-period fit is poor (RMSPE above half the treated unit's "
                        "pre-period spread); consider demean=True or another donor pool.")
    placebo_rows = [{"unit": treated_name, "treated": True, "pre_rmspe": pre_rmspe,
                     "post_rmspe": post_rmspe, "mean_post_gap": float(gap[~pre].mean())}]
    placebo_gaps = {treated_name: gap}
    if placebo:
        donor_idx = list(range(1, values.shape[1]))
        for j in donor_idx:
            others = [k for k in donor_idx if k != j]
            _, s_j = _fit(values, j, others, pre, demean)
            g_j = values[:, j] - s_j
            placebo_gaps[pool[j - 1]] = g_j
            placebo_rows.append({"unit": pool[j - 1], "treated": False,
                                 "pre_rmspe": _rmspe(g_j[pre]), "post_rmspe": _rmspe(g_j[~pre]),
                                 "mean_post_gap": float(g_j[~pre].mean())})
    placebos = pd.DataFrame(placebo_rows)
    tiny = 1e-9 * max(1.0, float(np.abs(values).max()))
    placebos["ratio"] = placebos["post_rmspe"] / placebos["pre_rmspe"].clip(lower=tiny)
    if placebo:
        r1 = placebos["ratio"].iloc[0]
        p_value = float((placebos["ratio"] >= r1 - 1e-12 * abs(r1)).sum() / len(placebos))
    else:
        p_value = float("nan")
    series = pd.DataFrame({"year": years, "treated": values[:, 0], "synthetic": synth,
                           "gap": gap, "period": np.where(pre, "pre", "post")})
    rows = [{"term": f"gap {y}", "estimate": g, "year": int(y),
             "period": "pre" if p else "post", "treated_value": t, "synthetic_value": s}
            for y, g, p, t, s in zip(years, gap, pre, values[:, 0], synth, strict=True)]
    rows.append({"term": "average post-period gap", "estimate": float(gap[~pre].mean()),
                 "p_value": p_value, "n": len(placebos), "year": pd.NA, "period": "post",
                 "treated_value": float(values[~pre, 0].mean()),
                 "synthetic_value": float(synth[~pre].mean())})
    rows.append({"term": "pre-period RMSPE", "estimate": pre_rmspe, "period": "pre"})
    rows.append({"term": "post/pre RMSPE ratio", "estimate": float(placebos["ratio"].iloc[0]),
                 "p_value": p_value, "n": len(placebos), "period": "post"})
    weights = pd.DataFrame({"donor": pool, "weight": w}).sort_values(
        "weight", ascending=False, kind="stable").reset_index(drop=True)
    gaps_table = pd.DataFrame(placebo_gaps, index=pd.Index(years, name="year")).reset_index()
    if warnings:
        import warnings as _w

        for msg in warnings:
            _w.warn(msg, StatisticalWarning, stacklevel=2)
    if donors is not None:
        pool_text = "given"
    elif source != "panel":
        pool_text = "the largest non-KBZ municipalities by insured years"
    else:
        pool_text = "the other panel columns"
    demean_text = " after removing each series' pre-period mean" if demean else ""
    method_text = (
        f"Synthetic control for {treated_name} on {source}: donor weights on the simplex "
        f"(non-negative, summing to 1) fitted to the {int(pre.sum())} pre-period years "
        f"before {treatment_year}{demean_text}; "
        f"effect = treated minus synthetic in each later year. Donor pool: "
        f"{len(pool)} units ({pool_text}). "
        f"Inference: placebo-in-space, p = share of units (placebos and the treated) whose "
        f"post/pre RMSPE ratio is at least the treated one's; no standard errors."
    )
    return SyntheticControl(
        estimates=tidy_frame(rows),
        tables={"series": series, "weights": weights, "placebos": placebos,
                "placebo_gaps": gaps_table},
        method=method_text,
        settings={"treated": treated_name, "treatment_year": int(treatment_year),
                  "group": group, "outcome_method": method, "demean": demean,
                  "n_donors": len(pool), "n_placebos": len(placebos) - 1,
                  "outcome_label": ("EUR per insured year" if source != "panel" else "outcome"),
                  "waves": list(KBZ_WAVES.get(treated_name, (int(treatment_year),)))},
        warnings=warnings,
    )
