"""Command-line conventions: --version, python -m kbz_eval, help on every option,
validate --config and mapped references."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from kbz_eval.cli import _build_parser, main
from kbz_eval.report.config import load_config

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kbz_eval", *args], capture_output=True,
                          text=True, check=False,
                          env={**os.environ, "MPLBACKEND": "Agg"})


def test_version_comes_from_the_package_metadata():
    done = _run("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"kbz-eval {version('kbz_eval')}"


def test_python_dash_m_runs_the_command():
    done = _run("--help")
    assert done.returncode == 0
    for command in ("init", "validate", "synth", "report"):
        assert command in done.stdout
    assert _run("validate").returncode == 2  # usage error, as with the console script


def _parsers(parser: argparse.ArgumentParser, path: str = "kbz-eval"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}")


def test_every_option_of_every_subcommand_has_help():
    parsers = list(_parsers(_build_parser()))
    assert {p for p, _ in parsers} >= {"kbz-eval init", "kbz-eval validate",
                                        "kbz-eval synth", "kbz-eval report"}
    missing = [f"{path}: {action.option_strings or action.dest}"
               for path, parser in parsers for action in parser._actions
               if not isinstance(action, argparse._HelpAction)
               and not (action.help and action.help.strip())]
    assert not missing, f"options without help: {missing}"


def test_validate_takes_the_mapping_of_a_referenced_practices_file(tmp_path, capsys):
    practices = tmp_path / "praktijken.csv"
    practices.write_text("agb_code;gemeente;wijk;groep;startjaar_kbz\n"
                         "A1;Utrecht;Overvecht;kbz;2014\nA2;Utrecht;Overvecht;control;\n",
                         encoding="utf-8")
    mapping = tmp_path / "praktijken.toml"
    mapping.write_text('[columns]\nagb_code = "practice_id"\ngemeente = "city"\n'
                       'wijk = "neighbourhood"\ngroep = "group"\n'
                       'startjaar_kbz = "kbz_start_year"\n', encoding="utf-8")
    cvg = tmp_path / "cvg.csv"
    cvg.write_text("person_id;practice_id;measurement;cvg_patient\nX1;A1;1;7\nX2;A9;1;6\n",
                   encoding="utf-8")
    args = ["validate", str(cvg), "--table", "cvg", "--references", f"practices={practices}"]
    # without its mapping the practices file cannot be read as a reference
    assert main(args) == 1
    assert "practice_id" in capsys.readouterr().err
    # with it, the reference is read and the unknown practice A9 is found
    assert main([*args, "--reference-mapping", f"practices={mapping}"]) == 1
    err = capsys.readouterr().err
    assert "A9" in err and "cvg.csv" in err
    cvg.write_text("person_id;practice_id;measurement;cvg_patient\nX1;A1;1;7\n",
                   encoding="utf-8")
    assert main([*args, "--reference-mapping", f"practices={mapping}"]) == 0
    assert "valid 'cvg' table" in capsys.readouterr().out
    # a mapping for a reference that is not given is a usage error
    assert main(["validate", str(cvg), "--table", "cvg",
                 "--reference-mapping", f"practices={mapping}"]) == 2


def test_validate_needs_a_path_and_table_or_a_config(tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["validate", "x.csv"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["validate", "x.csv", "--table", "cvg", "--config", "kbz.toml"])
    assert exc.value.code == 2


def test_validate_config_lists_every_problem_of_every_input(tmp_path, capsys):
    (tmp_path / "practices.csv").write_text(
        "practice_id,city,neighbourhood,group,kbz_start_year\n"
        "A1,Utrecht,Overvecht,kbz,2014\nA2,Utrecht,Overvecht,placebo,\n", encoding="utf-8")
    (tmp_path / "cvg.csv").write_text(
        "person_id,practice_id,measurement,cvg_patient\nX1,A1,1,12\nX2,A1,1,6\n",
        encoding="utf-8")
    (tmp_path / "consults.csv").write_text(
        "consult_id,specialism,referral_avoided\nW1,orthopedie,ja\nW1,cardiologie,nee\n",
        encoding="utf-8")
    config = tmp_path / "kbz.toml"
    config.write_text('[inputs]\npractices = "practices.csv"\ncvg = "cvg.csv"\n'
                      'consults = "consults.csv"\n', encoding="utf-8")
    assert main(["validate", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "3 inputs cannot be used" in err
    assert "practices.csv" in err and "placebo" in err
    assert "cvg.csv" in err and "cvg_patient" in err
    assert "consults.csv" in err and "consult_id" in err


def test_validate_config_reports_success_per_input(tmp_path, capsys):
    (tmp_path / "consults.csv").write_text(
        "consult_id,specialism,referral_avoided\nW1,orthopedie,ja\nW2,cardiologie,nee\n",
        encoding="utf-8")
    config = tmp_path / "kbz.toml"
    config.write_text('[inputs]\nconsults = "consults.csv"\n', encoding="utf-8")
    assert main(["validate", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "all 1 inputs can be used" in out and "consults.csv: 2 of 2 rows" in out


def test_every_missing_input_and_mapping_is_named_at_once(tmp_path):
    config = tmp_path / "kbz.toml"
    config.write_text('[inputs]\ncvg = "nope.csv"\nworkforce = "gone.csv"\n'
                      '[mappings]\ncvg = "nomap.toml"\n', encoding="utf-8")
    with pytest.raises(FileNotFoundError) as exc:
        load_config(config)
    text = str(exc.value)
    assert "3 files" in text
    for name in ("input for 'cvg'", "input for 'workforce'", "mapping for 'cvg'"):
        assert name in text


def test_readme_documents_the_commands():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    for phrase in ("make report CONFIG=", "kbz-eval init", "kbz-eval validate --config",
                   "--reference-mapping", "python -m kbz_eval", "kbz-eval --version"):
        assert phrase in text, phrase
