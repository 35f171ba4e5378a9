"""Every option value of the analyses, declared once, and the one checker.

Each option that takes one of a fixed set of words is a ``Literal`` here and is listed in
:data:`CHOICES`; :func:`check_option` checks a value against it and raises a
:class:`~kbz_eval.errors.SpecificationError` in one style ("The value for `name` must be
one of [...], but 'x' was passed."). Numeric options have one checker each
(:func:`check_alpha`, :func:`check_n_boot`, :func:`check_seed`).
"""

from __future__ import annotations

from typing import Any, Literal, get_args

import numpy as np

from kbz_eval.errors import SpecificationError

#: Population of person-years: minima (municipal low-income policy) or all insured.
Population = Literal["minima", "all"]
#: Case-mix adjustment: none, or indirect standardisation on age band × sex.
Adjust = Literal["none", "age_sex"]
#: Reference rates of indirect standardisation.
Reference = Literal["pooled", "control"]
#: Bootstrap interval: bias-corrected and accelerated, or percentile.
Interval = Literal["bca", "percentile"]
#: Unit of inference. ``"practice"``: practices (the unit KBZ is assigned to) are the
#: independent units; ``"person"``: persons only — ignores variation between practices.
Inference = Literal["practice", "person"]
#: Practice-level method: wild cluster bootstrap-t with Webb weights (default), the
#: analytic CR2-type variance with Satterthwaite (Bell–McCaffrey) degrees of freedom, or
#: randomisation inference over practice assignments (p-value only).
PracticeMethod = Literal["wild", "cr2"]
#: Wild bootstrap weights.
WeightType = Literal["rademacher", "webb"]
#: Small-sample variance of a cluster sandwich.
Sandwich = Literal["CR1", "CR2"]
#: Placebo-in-space statistic of a synthetic control: the post/pre RMSPE ratio, the
#: post-period RMSPE, or ``"auto"`` (the ratio unless a pre-period fit is exact).
PlaceboStatistic = Literal["auto", "ratio", "post_rmspe"]

#: Wild cluster bootstrap of :func:`kbz_eval.did`: ``"auto"`` (when clusters are few),
#: always (``True``) or never (``False``).
WildBootstrap = Literal["auto", True, False]
#: Random intercept of the workforce change model: per respondent, per location
#: (practice), or ``"auto"`` (respondent when respondents answer repeatedly).
RandomIntercept = Literal["auto", "respondent", "location"]

#: option name → its Literal; :func:`check_option` reads the allowed values from here.
CHOICES: dict[str, Any] = {
    "population": Population,
    "adjust": Adjust,
    "reference": Reference,
    "interval": Interval,
    "inference": Inference,
    "practice_method": PracticeMethod,
    "weights": WeightType,
    "vcov": Sandwich,
    "wild_bootstrap": WildBootstrap,
    "random_intercept": RandomIntercept,
    "placebo_statistic": PlaceboStatistic,
}

#: Smallest and default number of bootstrap replicates.
MIN_N_BOOT = 99
DEFAULT_N_BOOT = 999


def allowed(name: str) -> tuple[str, ...]:
    """The allowed values of option ``name`` (see :data:`CHOICES`)."""
    return tuple(get_args(CHOICES[name]))


def check_option(name: str, value: Any, choices: Any = None) -> str:
    """Return ``value`` when it is an allowed value of option ``name``.

    Parameters
    ----------
    name
        The option's name, as the user wrote it (``"population"``, ``"inference"``...).
    value
        The value passed.
    choices
        The allowed values, when ``name`` is not in :data:`CHOICES` (a ``Literal`` or a
        sequence of values).

    Raises
    ------
    SpecificationError
        When ``value`` is not allowed; the message names the option, the allowed values
        and the value passed.
    """
    if choices is None:
        values = allowed(name)
    elif hasattr(choices, "__origin__") and get_args(choices):
        values = tuple(get_args(choices))
    else:
        values = tuple(choices)
    ok = any(value is v or (type(value) is type(v) and value == v) for v in values)
    if not ok:
        raise SpecificationError(
            f"The value for `{name}` must be one of {list(values)}, but {value!r} was "
            "passed."
        )
    return value


def check_alpha(alpha: Any) -> float:
    """``alpha`` as a float, or :class:`SpecificationError` unless 0 < alpha < 1."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) or not (
        0 < float(alpha) < 1
    ):
        raise SpecificationError(
            f"The value for `alpha` must be a number strictly between 0 and 1 (e.g. 0.05 "
            f"for 95% intervals), but {alpha!r} was passed."
        )
    return float(alpha)


def check_n_boot(n_boot: Any, *, minimum: int = MIN_N_BOOT,
                 default: int = DEFAULT_N_BOOT) -> int:
    """``n_boot`` as an integer of at least ``minimum``."""
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or (
        n_boot < minimum
    ):
        raise SpecificationError(
            f"The value for `n_boot` must be an integer of at least {minimum} "
            f"({default} is the default), but {n_boot!r} was passed."
        )
    return int(n_boot)


def check_int(name: str, value: Any, minimum: int) -> int:
    """``value`` as an integer of at least ``minimum`` (``bool`` is refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise SpecificationError(
            f"The value for `{name}` must be an integer of at least {minimum}, but "
            f"{value!r} was passed."
        )
    return int(value)


def check_seed(seed: Any) -> int | None:
    """``seed`` as a non-negative integer or ``None``."""
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0
    ):
        raise SpecificationError(
            f"The value for `seed` must be a non-negative integer or None, but {seed!r} "
            "was passed."
        )
    return None if seed is None else int(seed)


__all__ = [
    "Adjust", "CHOICES", "DEFAULT_N_BOOT", "Inference", "Interval", "MIN_N_BOOT",
    "Population", "PracticeMethod", "Reference", "Sandwich", "WeightType", "allowed",
    "PlaceboStatistic",
    "RandomIntercept", "WildBootstrap",
    "check_alpha", "check_int", "check_n_boot", "check_option", "check_seed",
]
