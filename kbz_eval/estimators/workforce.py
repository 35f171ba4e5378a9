"""Professionals (Aim 4): workload and job satisfaction over repeated staff surveys.

:func:`workforce_change` gives the mean of each measure per wave (overall, per location
and per role) with intervals, and the change from the first wave from a linear mixed
model with a random intercept per respondent (when respondents answer in several waves)
or per location (repeated cross-sections). With the ``practices`` table it also
compares KBZ and control practices: the change in each group and the difference.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, NoReturn

import numpy as np
import pandas as pd

from kbz_eval.errors import (
    DataValidationError,
    SpecificationError,
    StatisticalWarning,
    Violation,
)
from kbz_eval.estimators.cvg import fit_random_intercept, wald_contrasts
from kbz_eval.estimators.proportions import check_alpha, mean_interval
from kbz_eval.results import Result, tidy_frame
from kbz_eval.validation import validate

#: Allowed values of ``random_intercept``.
RandomIntercept = Literal["auto", "respondent", "location"]
RANDOM_INTERCEPTS: tuple[str, ...] = ("auto", "respondent", "location")

#: The measures of the ``workforce`` table.
MEASURES: tuple[str, ...] = ("workload", "job_satisfaction")

#: Group order when the practices table is given.
GROUPS: tuple[str, ...] = ("kbz", "control")


@dataclass(repr=False)
class WorkforceResult(Result):
    """Result of :func:`workforce_change`.

    ``tidy()`` rows: ``<measure>:change_wave_<k>_vs_<first>`` (all respondents) and,
    when ``practices`` was given, ``<measure>:change_wave_<k>_vs_<first>:<group>`` and
    ``<measure>:difference_wave_<k>:kbz-control`` (difference in change). Extra columns
    ``measure``, ``wave``, ``group``.

    ``tables``: ``means`` (measure × wave, and × group when given), ``means_by_location``
    (measure × wave × practice), ``means_by_role`` (measure × wave × role) — every one
    with ``n`` respondents —, and ``variance_components`` per measure.
    """

    title: ClassVar[str] = "workforce: workload and job satisfaction"
    plotter: ClassVar[str | None] = "surveys:plot_workforce"

    def plot_data(self, *, measure: str | None = None) -> pd.DataFrame:
        """Mean per wave with its interval: one line per measure (× group).

        Parameters
        ----------
        measure
            Only this measure; default all measures analysed.

        Returns
        -------
        pandas.DataFrame
            Columns ``measure, group, wave, n, mean, ci_lower, ci_upper`` (``group`` is
            ``"all"`` without the practices table) and ``x``, the horizontal position:
            the wave, shifted a little per group so the intervals do not overlap.
        """
        means = self.tables["means"]
        if measure is not None:
            _check_choice("measure", measure, self.settings["measures"])
            means = means[means["measure"] == measure]
        out = means[["measure", "group", "wave", "n", "mean", "ci_lower",
                     "ci_upper"]].reset_index(drop=True)
        groups = list(pd.unique(out["group"]))
        shift = {g: (i - (len(groups) - 1) / 2) * 0.06 for i, g in enumerate(groups)}
        out["x"] = out["wave"].astype(float) + out["group"].map(shift).astype(float)
        return out

    def plot(self, ax: Any = None, *, measure: str | None = None) -> Any:
        """Draw the means per wave (one measure, or every measure) and return the Axes."""
        from kbz_eval.plotting.surveys import plot_workforce

        return plot_workforce(self, ax=ax, measure=measure)

    def headline(self) -> str:
        """Change from the first to the last wave per measure (and group)."""
        s = self.settings
        est = self.estimates
        last = max(s["waves"])
        level = f"{100 * (1 - s.get('alpha', 0.05)):g}%"
        parts = []
        for m in s["measures"]:
            rows = est[(est["measure"] == m) & (est["wave"] == last)]
            bits = []
            for _, r in rows.iterrows():
                label = "all" if r["group"] == "all" else r["group"]
                if r["term"].startswith(f"{m}:difference"):
                    label = "kbz − control"
                bits.append(f"{label} {r['estimate']:+.2f} ({level} CI {r['ci_lower']:+.2f} "
                            f"to {r['ci_upper']:+.2f})")
            parts.append(f"{m} wave {last} vs {min(s['waves'])}: " + ", ".join(bits))
        return "; ".join(parts) + f" (random intercept per {s['random_intercept']})"


def _check_choice(name: str, value: Any, allowed: Sequence[Any]) -> None:
    if value not in allowed:
        raise SpecificationError(
            f"The value for `{name}` must be one of {list(allowed)}, but {value!r} was "
            "passed."
        )


def _fail(column: str, rule: str, detail: str) -> NoReturn:
    raise DataValidationError("workforce", "workforce", [Violation(column, rule,
                                                                   detail=detail)])


def workforce_change(
    workforce: pd.DataFrame,
    *,
    measures: str | Sequence[str] = MEASURES,
    practices: pd.DataFrame | None = None,
    random_intercept: RandomIntercept = "auto",
    alpha: float = 0.05,
) -> WorkforceResult:
    """Workload and job satisfaction per wave, and their change over the waves.

    Parameters
    ----------
    workforce
        The ``workforce`` table (``respondent_id, practice_id, wave, role, workload,
        job_satisfaction``; see :data:`kbz_eval.tables.WORKFORCE`). Not changed.
    measures
        Which measures: ``"workload"``, ``"job_satisfaction"`` or both (default).
    practices
        The ``practices`` table; when given, every result is also split by group
        (``kbz``/``control``) and the difference in change between the groups is
        estimated.
    random_intercept
        ``"respondent"`` (repeated respondents), ``"location"`` (repeated
        cross-sections: a random intercept per practice) or ``"auto"`` (default:
        ``"respondent"`` when any respondent answered in more than one wave, else
        ``"location"``).
    alpha
        ``1 - alpha`` is the coverage of every interval.

    Returns
    -------
    WorkforceResult
        Means per wave, location and role with ``n``; changes from the first wave;
        ``.plot(measure=...)`` draws one figure per measure.

    Raises
    ------
    DataValidationError
        If the table breaks its contract (a mark outside 1–10, a duplicate
        respondent × wave, a practice missing from ``practices``, ...), has no rows, a
        wave without respondents (waves must be numbered 1, 2, ... without gaps) or a
        wave in which nobody answered a measure.
    SpecificationError
        For an unknown measure or ``random_intercept``, only one wave, or an invalid
        ``alpha``.

    Notes
    -----
    Means per wave (and location, role, group) are over the respondents who answered
    that measure, with Student-t intervals. The change from the first wave to wave
    ``k`` is the fixed effect of wave ``k`` in the linear mixed model
    ``measure ~ C(wave) + (1 | respondent)`` (or ``(1 | practice)``) fitted by REML
    (statsmodels ``MixedLM``), with a Wald z interval. With ``practices`` the model is
    ``measure ~ C(wave) * group + (1 | ...)``; the change per group and the difference
    in change (KBZ minus control) are linear contrasts of its fixed effects. Respondents
    in one practice share that practice's circumstances; with a random intercept per
    respondent this practice-level correlation is not modelled, and with only a handful
    of practices per group the difference between groups should be read with care.

    Examples
    --------
    >>> import kbz_eval as kbz
    >>> s = kbz.load_sample()                                       # doctest: +SKIP
    >>> kbz.workforce_change(s["workforce"], practices=s["practices"])  # doctest: +SKIP
    """
    alpha = check_alpha(alpha)
    wanted = [measures] if isinstance(measures, str) else list(measures)
    if not wanted:
        raise SpecificationError("`measures` must name at least one measure.")
    for m in wanted:
        _check_choice("measures", m, MEASURES)
    _check_choice("random_intercept", random_intercept, RANDOM_INTERCEPTS)
    refs = {"practices": practices} if practices is not None else None
    data = validate(workforce, "workforce", source="workforce", references=refs).data
    if data.empty:
        _fail("wave", "no rows", "The workforce table has no rows.")
    waves = np.sort(np.unique(data["wave"].to_numpy()))
    gaps = sorted(set(range(1, int(waves.max()) + 1)) - set(waves.tolist()))
    if gaps:
        _fail("wave", "wave without respondents",
              f"Wave(s) {gaps} have no respondents while later waves do; waves must be "
              "numbered 1, 2, ... without gaps. Add the missing wave or renumber.")
    if waves.size < 2:
        raise SpecificationError("A change over the waves needs at least two waves; only "
                                 f"wave {int(waves[0])} is present.")
    for m in wanted:
        answered = data.dropna(subset=[m])["wave"].unique()
        empty = sorted(set(waves.tolist()) - set(answered.tolist()))
        if empty:
            _fail(m, "wave without respondents",
                  f"Nobody answered `{m}` in wave(s) {empty}; the change over the waves "
                  "cannot be estimated. Leave the measure out or the wave.")
    if practices is not None:
        prac = validate(practices, "practices", source="practices").data
        data = data.merge(prac[["practice_id", "group"]].astype({"group": str}),
                          on="practice_id", how="left", validate="many_to_one")
        present = set(data["group"].unique())
        if present != set(GROUPS):
            raise SpecificationError(
                "Comparing groups needs respondents at both kbz and control practices; "
                f"found only {sorted(present)}."
            )
    else:
        data["group"] = "all"
    repeated = bool(data.groupby("respondent_id").size().max() > 1)
    chosen = random_intercept
    if chosen == "auto":
        chosen = "respondent" if repeated else "location"
    group_col = "respondent_id" if chosen == "respondent" else "practice_id"

    messages: list[str] = []
    means = _means(data, wanted, ["group", "wave"], alpha)
    by_location = _means(data, wanted, ["wave", "practice_id"], alpha)
    by_role = _means(data, wanted, ["wave", "role"], alpha)
    tidy_rows: list[dict[str, Any]] = []
    components = []
    for m in wanted:
        sub = data.dropna(subset=[m])
        rows, fit = _change_rows(sub, m, waves, group_col, practices is not None, alpha)
        tidy_rows += rows
        if not fit.converged:
            messages.append(f"{m}: the mixed model did not converge; its estimates are "
                            "unreliable.")
        messages += [f"{m}: mixed model: {t}" for t in fit.messages]
        total = fit.group_var + fit.residual_var
        components.append({"measure": m, "random_intercept": chosen,
                           "between_var": fit.group_var, "within_var": fit.residual_var,
                           "between_share": fit.group_var / total if total > 0 else np.nan,
                           "n_groups": fit.n_groups, "n": fit.n_obs})
    estimates = tidy_frame(tidy_rows)
    estimates["wave"] = estimates["wave"].astype("int64")
    for text in messages:
        warnings.warn(text, StatisticalWarning, stacklevel=2)
    label = {"respondent": "respondent (repeated respondents)",
             "location": "location (practice; repeated cross-sections)"}[chosen]
    method = (
        "Means per wave (and location, role, group) over the respondents who answered, "
        "Student-t intervals. Change from the first wave: fixed effect of the wave in a "
        f"linear mixed model measure ~ C(wave){' * group' if practices is not None else ''}"
        f" + (1 | {chosen}), REML (statsmodels MixedLM), Wald z intervals; random "
        f"intercept per {label}."
    )
    if practices is not None:
        method += (" Change per group and the difference in change (kbz minus control) "
                   "are linear contrasts of the fixed effects; correlation within "
                   "practices is not modelled when the random intercept is per "
                   "respondent, and few practices per group make the group difference "
                   "fragile.")
    return WorkforceResult(
        estimates=estimates,
        tables={"means": means, "means_by_location": by_location, "means_by_role": by_role,
                "variance_components": pd.DataFrame(components)},
        method=method,
        settings={"measures": wanted, "waves": [int(w) for w in waves],
                  "random_intercept": chosen, "repeated_respondents": repeated,
                  "by_group": practices is not None, "alpha": alpha},
        warnings=messages,
    )


def _means(data: pd.DataFrame, measures: list[str], keys: list[str],
           alpha: float) -> pd.DataFrame:
    """Mean with t interval and ``n`` for each measure and cell of ``keys``."""
    rows = []
    for m in measures:
        for cell, part in data.groupby(keys, sort=True, observed=True):
            mi = mean_interval(part[m].to_numpy(dtype=float), alpha=alpha)
            if mi.n == 0:
                continue
            rows.append({"measure": m, **dict(zip(keys, cell, strict=True)), "n": mi.n,
                         "mean": mi.mean, "sd": mi.sd, "std_error": mi.std_error,
                         "ci_lower": mi.lower, "ci_upper": mi.upper})
    out = pd.DataFrame(rows)
    out["n"] = out["n"].astype("int64")
    out["wave"] = out["wave"].astype("int64")
    return out


def _change_rows(
    sub: pd.DataFrame, measure: str, waves: np.ndarray, group_col: str, by_group: bool,
    alpha: float,
) -> tuple[list[dict[str, Any]], Any]:
    """Fit the change model of one measure and return its tidy rows and the fit."""
    y = sub[measure].to_numpy(dtype=float)
    wave = sub["wave"].to_numpy()
    later = waves[1:]
    cols = [np.ones(y.size)] + [(wave == k).astype(float) for k in later]
    names = ["intercept"] + [f"wave_{k}" for k in later]
    if by_group:
        kbz = (sub["group"] == "kbz").to_numpy(dtype=float)
        cols += [kbz] + [kbz * (wave == k) for k in later]
        names += ["kbz"] + [f"kbz:wave_{k}" for k in later]
    fit = fit_random_intercept(y, np.column_stack(cols), sub[group_col].to_numpy(),
                               names=names)
    p = len(names)
    first = int(waves[0])
    rows: list[dict[str, Any]] = []

    def n_at(k: int, group: str | None = None) -> int:
        mask = sub["wave"] == k
        if group is not None:
            mask &= sub["group"] == group
        return int(mask.sum())

    specs: list[tuple[str, np.ndarray, int, str, int]] = []
    for i, k in enumerate(later):
        k = int(k)
        if not by_group:
            lvec = np.zeros(p)
            lvec[1 + i] = 1
            specs.append((f"{measure}:change_wave_{k}_vs_{first}", lvec, k, "all", n_at(k)))
            continue
        ctrl = np.zeros(p)
        ctrl[1 + i] = 1
        inter = np.zeros(p)
        inter[2 + len(later) + i] = 1
        specs.append((f"{measure}:change_wave_{k}_vs_{first}:kbz", ctrl + inter, k, "kbz",
                      n_at(k, "kbz")))
        specs.append((f"{measure}:change_wave_{k}_vs_{first}:control", ctrl, k, "control",
                      n_at(k, "control")))
        specs.append((f"{measure}:difference_wave_{k}:kbz-control", inter, k,
                      "kbz − control", n_at(k)))
    table = wald_contrasts(fit, np.vstack([s[1] for s in specs]), alpha=alpha)
    for (term, _, k, group, n), (_, r) in zip(specs, table.iterrows(), strict=True):
        rows.append({"term": term, "estimate": r["estimate"], "std_error": r["std_error"],
                     "ci_lower": r["ci_lower"], "ci_upper": r["ci_upper"],
                     "p_value": r["p_value"], "n": n, "measure": measure, "wave": k,
                     "group": group})
    return rows, fit
