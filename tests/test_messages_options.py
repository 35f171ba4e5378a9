"""Every option value of the report configuration is written in Dutch.

tests/test_messages.py keeps the Dutch *sample* report free of English sentences, but
the sample sets one value per option: a sentence that only another value writes
(``inference = "person"``, ``practice_method = "cr2"``, ``population = "all"``, no
``extra_financing_eur``, a GGZ base year without a year before it) would stay English
in a Dutch report. Here each such value is run on the sample, with only the analyses
that read it, and every method text, caveat and headline must have a catalogue
template and come out without English function words.

Texts that need data the sample does not have are reached by lowering their threshold:
the person-level jackknife, used instead of the bootstrap above
:data:`~kbz_eval.stats.bootstrap.JACKKNIFE_ABOVE` persons. The library options the
report leaves at their defaults (percentile intervals, age/sex adjustment, the control
practices as reference) are covered too, so that a report that sets them one day is
Dutch from the start.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from test_messages import ENGLISH_WORDS, PROPER_NAMES  # tests/ is on sys.path

from kbz_eval.report.analyses import ANALYSES
from kbz_eval.report.config import _ANALYSIS_KEYS, ReportConfig, load_config
from kbz_eval.report.messages import localise, untranslated
from kbz_eval.results import Result
from kbz_eval.stats.options import allowed
from kbz_eval.synth import load_sample

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

#: The analyses that read each option word of ``[analysis]`` (see
#: kbz_eval/report/analyses.py): the claims analyses through ``_level`` and the
#: configured population of the practice-year cells.
READS: dict[str, tuple[str, ...]] = {
    "population": ("dbc_index", "did_practices", "rollout", "twfe_decomposition"),
    "inference": ("savings_minima", "savings_all", "dbc_index", "ggz_change",
                  "risk_adjustment", "workforce_change"),
    "practice_method": ("savings_minima", "savings_all", "dbc_index", "ggz_change",
                        "risk_adjustment", "workforce_change"),
}
#: Other ``[analysis]`` keys whose value changes a sentence beyond its numbers and
#: names, with the analyses that read them (each has a test below: the amount left out,
#: the GGZ base year set to the panel's first year).
OTHER: dict[str, tuple[str, ...]] = {
    "extra_financing_eur": ("savings_minima", "savings_all"),
    "ggz_base_year": ("ggz_change",),
}
#: ``[analysis]`` keys that only fill numbers, years or names into the same sentences
#: (years, seeds, replicates, areas, a folder): every value is written by one template.
#: The other sections write no analysis text of their own ([report] threshold: a number
#: in the pipeline's notes; [groups], [primary], [practice_pages], [engine]: none).
FILLS_IN = {"years", "base_year", "savings_year", "ggz_follow_year", "bootstrap_replicates",
            "seed", "area", "reference_area", "open_data_folder"}


def test_every_analysis_option_is_covered_here():
    """A new ``[analysis]`` key has to be placed: varied here, or only filled in."""
    assert set(READS) | set(OTHER) | FILLS_IN == _ANALYSIS_KEYS
    known = {a.key for a in ANALYSES}
    assert {k for keys in (*READS.values(), *OTHER.values()) for k in keys} <= known


# ---------------------------------------------------------------- helpers
def _english(text: str) -> list[str]:
    for name in PROPER_NAMES:
        text = text.replace(name, " ")
    return [w for w in ENGLISH_WORDS
            if re.search(rf"(?<![\w'’./_-]){w}(?![\w'’/_-])", text)]


def _texts(result: Result, caught: list[warnings.WarningMessage]) -> list[str]:
    """What the report localises of one result: its method, its caveats (kept and
    emitted) and its headline."""
    return [result.method, *result.warnings, *(str(w.message) for w in caught),
            result.headline()]


def _run(fn: Callable[[], Result]) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return _texts(result, caught)


def _check(texts: list[str], must_hold: str | None = None) -> None:
    """Every sentence has a template and its Dutch holds no English function word."""
    missing = sorted({s for t in texts for s in untranslated(t)})
    assert not missing, f"{len(missing)} sentences without a Dutch template:\n" + "\n".join(
        missing)
    english = [(w, s) for t in texts for s in [localise(t, "nl")] if (w := _english(s))]
    assert not english, "\n".join(f"{w}: {s}" for w, s in english)
    if must_hold is not None:  # the variant really wrote the text it is about
        assert any(must_hold in t for t in texts), must_hold


@pytest.fixture(scope="module")
def sample():
    return load_sample()


@pytest.fixture(scope="module")
def cfg() -> ReportConfig:
    cfg = load_config(REPO / "kbz.toml")
    return dataclasses.replace(cfg, analysis={**cfg.analysis, "bootstrap_replicates": 99})


def _with(cfg: ReportConfig, key: str, value) -> ReportConfig:
    analysis = {k: v for k, v in cfg.analysis.items() if k != key}
    if value is not None:
        analysis[key] = value
    return dataclasses.replace(cfg, analysis=analysis)


def _analyses(sample, cfg: ReportConfig, keys: tuple[str, ...]) -> list[str]:
    texts: list[str] = []
    for spec in ANALYSES:
        if spec.key in keys:
            texts += _run(lambda spec=spec: spec.run(sample, cfg))
    return texts


# ---------------------------------------------------------------- (a) the configuration
def _option_variants() -> list[tuple[str, str]]:
    sample_cfg = load_config(REPO / "kbz.toml").analysis
    defaults = {"population": "minima", "inference": "practice", "practice_method": "wild"}
    return [(key, value) for key in READS for value in allowed(key)
            if value != sample_cfg.get(key, defaults[key])]


#: Words each option value writes (so a variant is known to reach its own texts).
WRITES = {("population", "all"): "all insured person-years",
          ("inference", "person"): "inference='person'",
          ("practice_method", "cr2"): "Satterthwaite"}


@pytest.mark.parametrize(("key", "value"), _option_variants())
def test_an_option_value_the_sample_does_not_use_is_written_in_dutch(sample, cfg, key,
                                                                     value):
    _check(_analyses(sample, _with(cfg, key, value), READS[key]),
           must_hold=WRITES.get((key, value)))


def test_an_assumed_extra_financing_is_written_in_dutch(sample, cfg):
    texts = _analyses(sample, _with(cfg, "extra_financing_eur", None),
                      OTHER["extra_financing_eur"])
    _check(texts, must_hold="(assumption)")


def test_a_ggz_base_year_without_an_earlier_year_is_written_in_dutch(sample, cfg):
    first = int(sample["person_years"]["year"].min())
    texts = _analyses(sample, _with(cfg, "ggz_base_year", first), OTHER["ggz_base_year"])
    _check(texts, must_hold="no placebo year")


# ---------------------------------------------------------------- (b) big data
@pytest.fixture
def jackknife(monkeypatch):
    """The person-level jackknife at any size: the bootstrap of the claims analyses
    (``claims_common.SumsBootstrap``) with its threshold lowered to 0 persons. The
    sentence still names :data:`JACKKNIFE_ABOVE`, as it does above it."""
    import kbz_eval.estimators.claims_common as cc
    from kbz_eval.stats.bootstrap import SumsBootstrap

    class Jackknife(SumsBootstrap):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **{**kwargs, "jackknife_above": 0})

    monkeypatch.setattr(cc, "SumsBootstrap", Jackknife)


@pytest.mark.parametrize("inference", ["practice", "person"])
def test_the_jackknife_above_the_bootstrap_threshold_is_written_in_dutch(
        sample, cfg, jackknife, inference):
    from kbz_eval.stats.bootstrap import JACKKNIFE_ABOVE

    texts = _analyses(sample, _with(cfg, "inference", inference),
                      ("savings_minima", "ggz_change"))
    _check(texts, must_hold=f"used instead of the bootstrap above {JACKKNIFE_ABOVE:,} "
                            "persons")


# ---------------------------------------------------------------- (c) library options
def _savings(**kw):
    from kbz_eval.estimators.savings import savings

    return lambda t: savings(t["person_years"], t["practices"], n_boot=99, **kw)


def _ggz(**kw):
    from kbz_eval.estimators.ggz_change import ggz_change

    return lambda t: ggz_change(t["person_years"], t["practices"], n_boot=99, **kw)


def _risk(**kw):
    from kbz_eval.estimators.risk_adjustment import risk_adjustment

    return lambda t: risk_adjustment(t["person_years"], t["practices"], **kw)


def _dbc(**kw):
    from kbz_eval.estimators.dbc_index import dbc_index

    return lambda t: dbc_index(t["person_years"], t["practices"], **kw)


@pytest.mark.parametrize(("run", "must_hold"), [
    (_savings(interval="percentile", inference="person"), "percentile intervals"),
    (_ggz(interval="percentile", inference="person"), "percentile intervals"),
    (_savings(adjust="age_sex", reference="control"), "the control person-years"),
    (_ggz(adjust="age_sex", reference="pooled"), "Age/sex-adjusted changes"),
    (_ggz(adjust="age_sex", reference="control"), "the control person-years"),
    (_risk(reference="control"), "the control person-years"),
    (_dbc(adjust="age_sex", years=[2013, 2014], base_year=2013), "age band × sex main"),
], ids=["savings-percentile", "ggz-percentile", "savings-age_sex-control",
        "ggz-age_sex-pooled", "ggz-age_sex-control", "risk-control", "dbc-age_sex"])
def test_library_options_the_report_leaves_at_their_defaults_are_written_in_dutch(
        sample, run, must_hold):
    _check(_run(lambda: run(sample)), must_hold=must_hold)
