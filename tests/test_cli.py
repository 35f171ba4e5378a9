"""The `kbz-eval` command: validate, synth, report (exit codes and messages)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kbz_eval.cli import main


def _bsn(seed: int) -> str:
    """A nine-digit number passing the eleven-test (made up, not a real person's)."""
    import random

    rng = random.Random(seed)
    while True:
        d = [rng.randint(0, 9) for _ in range(9)]
        if d[0] == 0:
            continue
        if (sum(w * x for w, x in zip(range(9, 1, -1), d[:8], strict=True)) - d[8]) % 11 == 0:
            return "".join(map(str, d))


PY_HEADER = "person_id,year,practice_id,insured_days,sex,birth_year,minima,poli_dbc_count," \
            "poli_dbc_cost,ggz_cost\n"


def test_validate_refuses_a_bsn_column(tmp_path, capsys):
    rows = [f"P{i},{_bsn(i)},2015,A1,365,F,1960,true,0,0,0\n" for i in range(30)]
    path = tmp_path / "extract.csv"
    path.write_text(PY_HEADER.replace("person_id,", "person_id,bsn,") + "".join(rows))
    assert main(["validate", str(path), "--table", "person_years"]) == 1
    err = capsys.readouterr().err
    assert "bsn" in err and "salt" in err


def test_validate_refuses_a_negative_cost_naming_column_and_rows(tmp_path, capsys):
    body = "".join(
        f"P{i},2015,A1,365,F,1960,false,1,{-12.5 if i in (3, 7) else 80.0},0\n"
        for i in range(10)
    )
    path = tmp_path / "extract.csv"
    path.write_text(PY_HEADER + body)
    assert main(["validate", str(path), "--table", "person_years"]) == 1
    err = capsys.readouterr().err
    assert "poli_dbc_cost" in err
    # data rows start on line 2: persons 3 and 7 are on lines 5 and 9
    assert "row 5" in err and "row 9" in err
    assert "2 rows" in err


def test_validate_accepts_a_dutch_csv_with_a_mapping_file(tmp_path, capsys):
    (tmp_path / "mapping.toml").write_text(
        '[columns]\nverzekerde = "person_id"\njaar = "year"\npraktijk = "practice_id"\n'
        'dagen = "insured_days"\ngeslacht = "sex"\ngeboortejaar = "birth_year"\n'
        'minima_polis = "minima"\naantal_poli = "poli_dbc_count"\n'
        'kosten_poli = "poli_dbc_cost"\nkosten_ggz = "ggz_cost"\n'
        '[values.sex]\nV = "F"\nM = "M"\n[values.minima]\nja = true\nnee = false\n',
        encoding="utf-8",
    )
    text = (
        "verzekerde;jaar;praktijk;dagen;geslacht;geboortejaar;minima_polis;aantal_poli;"
        "kosten_poli;kosten_ggz\n"
        "P1;2015;A1;365;V;1960;ja;2;1.234,56;0\n"
        "P2;2015;A1;120;M;1988;nee;0;0;312,5\n"
    )
    path = tmp_path / "export.csv"
    path.write_bytes(text.encode("cp1252"))
    code = main(["validate", str(path), "--table", "person_years",
                 "--mapping", str(tmp_path / "mapping.toml")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "valid 'person_years'" in out and "2 of 2" in out
    assert "';'" in out  # the detected delimiter is shown


def test_console_script_is_installed_and_exits_2_on_usage_errors():
    exe = Path(sys.executable).with_name("kbz-eval")
    if not exe.exists():
        exe_found = shutil.which("kbz-eval")
        if exe_found is None:
            pytest.fail("the kbz-eval console script is not installed")
        exe = Path(exe_found)
    done = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "validate" in done.stdout and "report" in done.stdout
    done = subprocess.run([str(exe), "validate"], capture_output=True, text=True, check=False)
    assert done.returncode == 2


def test_claim_line_counts_accept_suffixes():
    from kbz_eval.cli import _parse_count

    assert _parse_count("10M") == 10_000_000
    assert _parse_count("250k") == 250_000
    assert _parse_count("1_000") == 1000


def test_synth_writes_the_labelled_sample(tmp_path, capsys):
    assert main(["synth", "--out", str(tmp_path / "s")]) == 0
    assert "SYNTHETIC" in capsys.readouterr().out
    first = (tmp_path / "s" / "practices.csv").read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# SYNTHETIC DATA")


def test_synth_claim_lines_at_scale_feed_the_engine(tmp_path, capsys):
    from kbz_eval.engine import build_panel

    out = tmp_path / "scale"
    assert main(["synth", "--out", str(out), "--claim-lines", "20k", "--seed", "7"]) == 0
    assert "claim lines" in capsys.readouterr().out
    panel = build_panel(out / "claim_lines", out / "insured_periods")
    report = panel.attrs["kbz_panel"]
    assert report["lines_in"] == 20_000
    assert len(panel) > 1_000 and panel["total_cost"].sum() > 0
