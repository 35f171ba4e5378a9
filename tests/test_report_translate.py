"""Dutch reports have figures drawn in Dutch: every text of every figure of the sample
report (titles, axis labels, legends, annotations, tick labels) is Dutch or a name."""

from __future__ import annotations

import dataclasses
import re
import warnings

import pytest

from kbz_eval.report.analyses import ANALYSES
from kbz_eval.report.config import load_config
from kbz_eval.report.figures import new_figure
from kbz_eval.synth import load_sample

#: English words that have no place in a Dutch label (Dutch shares "per", "index",
#: "model", "start", "interval", "score", "professional", "later", "effect", "trend", ...).
ENGLISH = {"the", "of", "and", "vs", "with", "mean", "cost", "costs", "practices", "practice",
           "control", "year", "years", "change", "treated", "treatment", "all", "per cent",
           "observed", "expected", "limits", "before", "after", "estimate", "weight",
           "group", "groups", "measurement", "wave", "health", "rate", "ratio", "insured",
           "difference", "synthetic", "spread", "across", "patient", "agreement",
           "ratings", "workload", "satisfaction", "referrals", "avoided", "population",
           "target", "shrunken", "outpatient", "simultaneous", "pointwise", "event",
           "time", "periods", "since", "first", "earlier", "never", "other",
           "districts", "pairs", "size", "number", "mark", "bias", "consultations", "adults"}
#: Texts that read the same in both languages (names and codes).
NAMES = re.compile(r"^(Utrecht|Overvecht|Amsterdam|Rotterdam|Den Haag|Haarlem|OV\d+|"
                   r"[A-Z]{2}\d+|CVG \(1–10\))$")


@pytest.fixture(scope="module")
def results(repo):
    sample = load_sample()
    if not (repo / "data/sample/README.md").exists():
        pytest.skip("data/sample not written (make sample writes it before the tests)")
    cfg = load_config(repo / "kbz.toml")
    cfg = dataclasses.replace(cfg, analysis={**cfg.analysis, "bootstrap_replicates": 99})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {a.key: a.run(sample, cfg) for a in ANALYSES}


def _texts(fig) -> list[str]:
    out = []
    for ax in fig.axes:
        items = [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label,
                 *ax.texts, *ax.get_xticklabels(), *ax.get_yticklabels()]
        legend = ax.get_legend()
        if legend is not None:
            items += list(legend.get_texts())
        out += [t.get_text() for t in items if t.get_text().strip()]
    for legend in fig.legends:
        out += [t.get_text() for t in legend.get_texts()]
    return out


def _english(text: str) -> list[str]:
    if NAMES.match(text):
        return []
    return sorted({w for w in re.findall(r"[A-Za-z]+", text.lower()) if w in ENGLISH})


def test_every_figure_of_the_sample_report_is_drawn_in_dutch(results):
    left = {}
    drawn = 0
    for key, result in results.items():
        fig, ax = new_figure()
        result.plot(ax=ax, language="nl")
        fig.canvas.draw()  # tick labels are set at draw time
        for text in _texts(fig):
            drawn += 1
            if _english(text):
                left.setdefault(key, []).append(text)
    assert drawn > 100
    assert not left, f"labels left in English: {left}"


def test_english_figures_stay_english(results):
    """The check above can fail: the English figures trip it."""
    caught = 0
    for result in results.values():
        fig, ax = new_figure()
        result.plot(ax=ax, language="en")
        fig.canvas.draw()
        caught += sum(bool(_english(t)) for t in _texts(fig))
    assert caught > 30
