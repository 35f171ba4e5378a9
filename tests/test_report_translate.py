"""Dutch reports have Dutch figure labels."""

from __future__ import annotations

import dataclasses
import warnings

import pytest

from kbz_eval.report.analyses import ANALYSES
from kbz_eval.report.config import load_config
from kbz_eval.report.figures import new_figure
from kbz_eval.report.translate import translate, translate_figure
from kbz_eval.synth import load_sample

#: Labels that are names, the same in both languages.
NAMES = {"Utrecht", "Overvecht", "Amsterdam", "Rotterdam", "Den Haag", "Haarlem"}


def test_phrases_and_patterns():
    assert translate("year") == "jaar"
    assert translate("Utrecht: synthetic control (start 2014)") == \
        "Utrecht: synthetische controle (start 2014)"
    assert translate("workload: kbz") == "werkdruk: KBZ"
    assert translate("OV04") == "OV04"


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


def test_every_figure_of_the_sample_report_is_translated(results):
    left = {}
    for key, result in results.items():
        fig, ax = new_figure()
        result.plot(ax=ax)
        rest = [t for t in translate_figure(fig, "nl") if t not in NAMES]
        if rest:
            left[key] = rest
    assert not left, f"labels left in English: {left}"
