"""Words on the figures, in the figure's language.

Every drawing function takes ``language="en"`` (or ``"nl"``) and writes each title, axis
label, legend entry and annotation through :func:`say`, so a Dutch figure is drawn in
Dutch from the start. The templates are English and may hold named fields
(``"Outpatient DBCs, KBZ vs control ({population})"``); each drawing module keeps its own
Dutch templates beside its code in a module constant ``NL`` (English template → Dutch
template with the same fields). :func:`catalogue` gathers them into the one catalogue the
tests check: every template a drawing function passes to :func:`say` has a Dutch entry
with the same fields, and no drawing function writes a label without :func:`say`.

Field values are data: names of variables, groups, places and numbers. :func:`term`
gives a variable's or group's plain name in the language (the report's column labels,
:mod:`kbz_eval.report.labels`), and :func:`number` writes a number with the language's
decimal mark and a true minus.
"""

from __future__ import annotations

import string
from functools import lru_cache
from importlib import import_module
from typing import Any

#: The drawing modules whose ``NL`` constants make up the catalogue.
MODULES = ("balance", "claims", "did", "funnel", "open_data", "power", "practice_page",
           "ranking", "sensitivity", "spc", "staggered", "surveys", "trend_break", "words")

LANGUAGES = ("en", "nl")

#: Templates shared by several drawing modules.
NL: dict[str, str] = {
    "year": "jaar",
    "KBZ practices": "KBZ-praktijken",
    "control practices": "controlepraktijken",
    "treated": "behandeld",
    "control": "controle",
    "mean (95% CI)": "gemiddelde (95%-BI)",
    "practice": "praktijk",
}

#: Values (groups, populations, methods, ...) that appear inside labels.
VALUES_NL: dict[str, str] = {
    "kbz": "KBZ",
    "control": "controle",
    "treated": "behandeld",
    "all": "alle",
    "minima": "minima",
    "direct": "direct",
    "indirect": "indirect",
    "crude": "ruw",
    "workload": "werkdruk",
    "job satisfaction": "werkplezier",
    "job_satisfaction": "werkplezier",
    "patient": "patiënt",
    "professional": "professional",
    "period": "periode",
    "outcome": "uitkomst",
    "ivm": "IVM-voorschrijfscore",
}

#: English spelling of the values whose code is not their name.
VALUES_EN: dict[str, str] = {"kbz": "KBZ", "ivm": "IVM prescribing score"}


def check_language(language: str) -> None:
    """Raise :class:`ValueError` unless ``language`` is ``"en"`` or ``"nl"``."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, not {language!r}.")


@lru_cache(maxsize=1)
def catalogue() -> dict[str, str]:
    """Every figure template with its Dutch text (all drawing modules' ``NL``)."""
    merged: dict[str, str] = {}
    for name in MODULES:
        module = import_module(f"kbz_eval.plotting.{name}")
        for en, nl in getattr(module, "NL", {}).items():
            if merged.get(en, nl) != nl:
                raise ValueError(f"Figure text {en!r} has two Dutch translations: "
                                 f"{merged[en]!r} and {nl!r}.")
            merged[en] = nl
    return merged


def fields(template: str) -> set[str]:
    """The named fields of a template (``{population}`` → ``"population"``)."""
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def say(template: str, language: str = "en", /, **values: Any) -> str:
    """``template`` in ``language``, with ``values`` filled in.

    Parameters
    ----------
    template
        The English text, a literal with optional named fields.
    language
        ``"en"`` or ``"nl"``.
    **values
        The fields' values, already in the language (see :func:`term`, :func:`number`).

    Returns
    -------
    str
        The text. A template without a Dutch entry is written in English (the catalogue
        test makes sure none is left).
    """
    check_language(language)
    text = catalogue().get(template, template) if language == "nl" else template
    return text.format(**values) if values else text


def term(name: Any, language: str = "en", *, capital: bool = False) -> str:
    """The plain name of a variable, group or category value in ``language``.

    Column names get their report label in lower case for use inside a sentence
    (``poli_dbc_cost`` → "outpatient DBC costs" / "kosten poliklinische DBC's"; with
    ``capital=True`` as a label on its own); group and method words get
    :data:`VALUES_NL` in Dutch; anything else (place and practice names) is returned as
    it is.
    """
    check_language(language)
    text = str(name)
    from kbz_eval.report.labels import COLUMNS

    if text in VALUES_NL:  # group and method words before column names ("control")
        return VALUES_NL[text] if language == "nl" else VALUES_EN.get(
            text, text.replace("_", " "))
    if text in COLUMNS:
        label = COLUMNS[text].text(language)
        if not capital and len(label) > 1 and label[1].islower():
            label = label[0].lower() + label[1:]
        return label
    return text


def number(value: float, language: str = "en", decimals: int = 2) -> str:
    """``value`` with the language's decimal mark and a true minus (``−0,95``)."""
    from kbz_eval.report.formatting import number as _number

    return _number(value, language=language, decimals=decimals)


def group_style(style: dict[str, dict[str, Any]], group: str, language: str) -> dict[str, Any]:
    """A copy of ``style[group]`` with its ``label`` in ``language``."""
    out = dict(style[group])
    if "label" in out:
        out["label"] = say(out["label"], language)
    return out
