"""The report configuration is validated at the boundary with clear messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from kbz_eval.errors import SpecificationError
from kbz_eval.report.config import load_config


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "p.csv").write_text("practice_id\nA\n", encoding="utf-8")
    path = tmp_path / "kbz.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_config_in_the_repository_is_valid(repo):
    text = (repo / "kbz.toml").read_text(encoding="utf-8")
    assert "[inputs]" in text
    # inputs exist only after `make sample`; check the keys without resolving files
    import tomllib

    raw = tomllib.loads(text)
    assert raw["report"]["suppression_threshold"] >= 5
    assert set(raw["inputs"]) >= {"practices", "claim_lines", "insured_periods", "cvg"}


def test_inputs_resolve_relative_to_the_config_file(tmp_path):
    cfg = load_config(_write(tmp_path, '[inputs]\npractices = "p.csv"\n'))
    assert cfg.inputs == {"practices": (tmp_path / "p.csv").resolve()}
    assert cfg.language == "en" and cfg.suppression_threshold == 10
    assert cfg.on_error == "raise"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[inputs]\npractices = "p.csv"\n[report]\nlanguage = "de"\n',
         r"`language` must be one of \['en', 'nl'\], but 'de'"),
        ('[inputs]\npractices = "p.csv"\n[report]\nsuppression_threshold = 3\n',
         r"at least 5"),
        ('[inputs]\npatients = "p.csv"\n', r"names table 'patients'"),
        ('[inputs]\npractices = "p.csv"\n[analyses]\n', r"unknown key\(s\) \['analyses'\]"),
        ('[inputs]\npractices = "p.csv"\n[report]\non_error = "skip"\n',
         r"`on_error` must be one of"),
        ("[report]\n", r"names no input files"),
        ("[inputs\n", r"not valid TOML"),
    ],
)
def test_bad_configs_are_refused_with_a_reason(tmp_path, text, match):
    with pytest.raises(SpecificationError, match=match):
        load_config(_write(tmp_path, text))


def test_missing_input_file_names_the_table(tmp_path):
    with pytest.raises(FileNotFoundError, match="input for 'cvg' not found"):
        load_config(_write(tmp_path, '[inputs]\ncvg = "nope.csv"\n'))


def test_groups_are_validated(tmp_path):
    cfg = load_config(_write(tmp_path, '[inputs]\npractices = "p.csv"\n[groups]\n'
                                       'kbz = ["A"]\ncontrol = ["B"]\n'))
    assert cfg.groups == {"control": ("B",), "kbz": ("A",)}
    with pytest.raises(SpecificationError, match="in both"):
        load_config(_write(tmp_path, '[inputs]\npractices = "p.csv"\n[groups]\n'
                                     'kbz = ["A"]\ncontrol = ["A"]\n'))
    with pytest.raises(SpecificationError, match=r"unknown key\(s\) \['treated'\]"):
        load_config(_write(tmp_path, '[inputs]\npractices = "p.csv"\n[groups]\n'
                                     'treated = ["A"]\n'))


def test_inference_options_and_primary_outcomes_are_validated(tmp_path):
    base = '[inputs]\npractices = "p.csv"\n'
    cfg = load_config(_write(tmp_path, base + '[analysis]\ninference = "person"\n'
                                              'practice_method = "cr2"\n'))
    assert cfg.analysis["inference"] == "person"
    with pytest.raises(SpecificationError, match=r"\[analysis\].*inference"):
        load_config(_write(tmp_path, base + '[analysis]\ninference = "persons"\n'))
    with pytest.raises(SpecificationError, match=r"\[analysis\].*practice_method"):
        load_config(_write(tmp_path, base + '[analysis]\npractice_method = "bca"\n'))
    cfg = load_config(_write(tmp_path, base + '[primary]\naim3 = "savings_all:net_saving"\n'))
    assert cfg.primary["aim3"] == "savings_all:net_saving"
    assert cfg.primary_term("savings_all") == "net_saving"
    assert cfg.primary_term("savings_minima") is None
    assert cfg.primary["aim4"].startswith("workforce_change:")
    with pytest.raises(SpecificationError, match=r"\[primary\] aim3 must be"):
        load_config(_write(tmp_path, base + '[primary]\naim3 = "savings_all"\n'))
    with pytest.raises(SpecificationError, match=r"unknown key\(s\) \['aim5'\]"):
        load_config(_write(tmp_path, base + '[primary]\naim5 = "a:b"\n'))
