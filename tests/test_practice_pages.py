"""A page per practice (issue 13, point 5): complete, naming only its own practice,
never showing a cell under the threshold, reproducible; `--practice` writes one page."""

from __future__ import annotations

import hashlib
import html
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kbz_eval.errors import SpecificationError
from kbz_eval.report import practice_pages as pp
from kbz_eval.report import run_report
from kbz_eval.report.config import load_config
from kbz_eval.synth import load_sample

THRESHOLD = 10
#: A practice made tiny by keeping this many of its persons (fewer than THRESHOLD).
TINY = ("OV12", 6)


def _config(folder: Path, sample: Path, *, language: str = "en", extra: str = "",
            name: str = "kbz.toml") -> Path:
    """A report on the claims, the practices and the IVM scores of the sample."""
    path = folder / name
    path.write_text(f"""
[report]
title = "Practice pages test"
language = "{language}"
suppression_threshold = {THRESHOLD}

[inputs]
practices = "{sample.as_posix()}/practices.csv"
insured_periods = "{sample.as_posix()}/insured_periods.csv"
claim_lines = "{sample.as_posix()}/claim_lines.parquet"
practice_indicators = "{sample.as_posix()}/practice_indicators.csv"

[analysis]
years = [2012, 2016]
base_year = 2012
savings_year = 2015
ggz_base_year = 2013
ggz_follow_year = 2016
bootstrap_replicates = 99
seed = 20140101
{extra}
""", encoding="utf-8")
    return path


def _hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _text(page_html: str) -> str:
    """A page without its embedded images."""
    return re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page_html)


def _ids_in(text: str, ids: list[str]) -> set[str]:
    return {i for i in ids if re.search(rf"(?<![A-Za-z0-9]){re.escape(i)}(?![A-Za-z0-9])",
                                        text)}


@pytest.fixture(scope="module")
def sample(shared_sample) -> Path:
    return shared_sample


@pytest.fixture(scope="module")
def report(shared_report_en_plain) -> Path:
    """The sample report of kbz.toml (claims, practices and IVM scores among its
    inputs; threshold 10), built once for the run: its practice pages."""
    return shared_report_en_plain.folder


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    s = load_sample()
    return {k: s[k] for k in ("person_years", "practices", "practice_indicators")}


@pytest.fixture(scope="module")
def cfg(sample, tmp_path_factory):
    return load_config(_config(tmp_path_factory.mktemp("cfg"), sample))


@pytest.fixture(scope="module")
def built(tables, cfg):
    """Every sample practice's page object (the practice results computed once)."""
    res = pp.compute_practice_results(tables, cfg)
    cache: dict = {}
    return res, {p: pp.build_page(res, p, title="t", synthetic=True, cache=cache)
                 for p in res.practices["practice_id"]}


# --------------------------------------------------------------------------- complete
def test_every_sample_practice_has_a_page_linked_from_the_report(report):
    manifest = json.loads((report / "manifest.json").read_text(encoding="utf-8"))
    pages = manifest["practice_pages"]["pages"]
    ids = sorted(pages)
    assert ids == [f"OV{i:02d}" for i in range(1, 13)]
    for pid, rel in pages.items():
        assert rel == f"practices/{pid}.html"
        assert (report / rel).is_file()
        assert rel in manifest["files"]
    assert "practices/index.html" in manifest["files"]
    index = (report / "practices" / "index.html").read_text(encoding="utf-8")
    assert all(f"href='{pid}.html'" in index for pid in ids)
    main = (report / "report.html").read_text(encoding="utf-8")
    assert "href='practices/index.html'" in main
    assert manifest["practice_pages"]["not_computed"] == {}
    page = (report / "practices" / "OV03.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 4
    assert "<script" not in page and "http" not in _text(page).split("<body>")[1]
    for anchor in ("id='funnel'", "id='trends'", "id='ranking'", "id='ivm'"):
        assert anchor in page
    assert "Synthetic data." in page
    assert "lies inside the 95% limits" in page or "limits" in page


def test_the_pages_reuse_the_reports_funnel_and_ranking(report):
    """The funnel and ranking of report.html are the ones on the pages (computed once)."""
    units = pd.read_csv(report / "tables" / "practice_funnel__units.csv")
    row = units[units["unit"] == "OV03"].iloc[0]
    page = (report / "practices" / "OV03.html").read_text(encoding="utf-8")
    assert f"(O/E) {row['value']:.2f}" in page
    assert f"{row['observed']:,.0f} outpatient DBCs" in page


def test_page_says_in_plain_words_where_the_practice_stands(built):
    res, pages = built
    page = pages["OV03"]
    units = res.funnel.tables["units"].set_index("unit")
    oe = units.loc["OV03", "value"]
    assert any(f"Your O/E {oe:.2f} lies" in s for s in page.sentences["funnel"])
    assert len(page.sentences["trends"]) == len(res.indicators) + 1
    assert all("per insured year in 2016" in s for s in page.sentences["trends"][:-1])
    assert page.sentences["ranking"][0].startswith("Rank ")
    assert page.sentences["ivm"][0].startswith("IVM score 2016: ")


# --------------------------------------------------------------------------- names
def _drawn_texts(page: pp.PracticePage, res: pp.PracticeResults,
                 language: str = "en") -> list[str]:
    """Every text the page's figures draw (labels, ticks, legends, annotations)."""
    from matplotlib.figure import Figure

    from kbz_eval.plotting import practice_page as draw

    texts: list[str] = []
    for key, data in page.figure_data.items():
        fig = Figure()
        ax = fig.add_subplot()
        if key == "funnel":
            draw.plot_practice_funnel(data, ax, language=language)
        elif key == "ranking":
            draw.plot_practice_ranking(data, ax, language=language)
        elif key == "ivm":
            draw.plot_practice_indicator(data, ax, language=language)
        else:
            draw.plot_practice_trend(data, ax, language=language)
        texts += [t.get_text() for t in ax.texts]
        texts += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
        texts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        if ax.get_legend() is not None:
            texts += [t.get_text() for t in ax.get_legend().get_texts()]
    return texts


def test_page_figures_are_drawn_in_the_language(built):
    res, pages = built
    english = _drawn_texts(pages["OV03"], res)
    dutch = _drawn_texts(pages["OV03"], res, language="nl")
    assert "this practice" in english and "this practice" not in dutch
    assert {"deze praktijk", "werkelijk / verwacht", "jaar"} <= set(dutch)


def test_a_page_names_only_its_own_practice(report, built):
    res, pages = built
    ids = list(res.practices["practice_id"])
    for pid in ids:
        others = [i for i in ids if i != pid]
        text = _text((report / "practices" / f"{pid}.html").read_text(encoding="utf-8"))
        assert pid in text
        assert not _ids_in(text, others), (pid, _ids_in(text, others))
        page = pages[pid]
        for key, frame in page.figure_data.items():
            cells = " ".join(map(str, frame.to_numpy(dtype=object).ravel()))
            assert not _ids_in(cells, others), (pid, key)
        drawn = " ".join(_drawn_texts(page, res))
        assert pid in drawn
        assert not _ids_in(drawn, others), (pid, _ids_in(drawn, others))


def test_label_others_names_the_other_practices(tables, sample, tmp_path):
    cfg = load_config(_config(tmp_path, sample,
                              extra="[practice_pages]\nlabel_others = true\n"))
    res = pp.compute_practice_results(tables, cfg)
    page = pp.build_page(res, "OV03", title="t", synthetic=True)
    named = set(page.figure_data["funnel"]["label"]) - {""}
    assert named == {f"OV{i:02d}" for i in range(1, 13)}
    assert set(page.figure_data["ranking"]["label"]) == named
    assert _ids_in(_text(page.html), ["OV01", "OV12"]) == {"OV01", "OV12"}


def test_label_others_must_be_true_or_false(sample, tmp_path):
    with pytest.raises(SpecificationError, match="label_others"):
        load_config(_config(tmp_path, sample, extra="[practice_pages]\nlabel_others = 1\n"))
    with pytest.raises(SpecificationError, match="unknown key"):
        load_config(_config(tmp_path, sample, extra="[practice_pages]\nlabels = true\n"))


def test_no_person_id_on_any_page(report, tables):
    ids = set(tables["person_years"]["person_id"].astype(str))
    for path in sorted((report / "practices").glob("*.html")):
        tokens = set(re.findall(r"[A-Za-z0-9_]+", _text(path.read_text(encoding="utf-8"))))
        assert not ids & tokens, path.name


# --------------------------------------------------------------------------- disclosure
def _numbers(frame: pd.DataFrame) -> np.ndarray:
    """Every number of a frame (text cells that are numbers too)."""
    out = []
    for col in frame.columns:
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        out.append(values[np.isfinite(values)])
    return np.concatenate(out) if out else np.array([])


def _artist_numbers(ax) -> np.ndarray:
    """Every coordinate the Axes draws (lines, markers, collections)."""
    out = []
    for line in ax.get_lines():
        out += [np.asarray(line.get_xdata(), dtype=float),
                np.asarray(line.get_ydata(), dtype=float)]
    for coll in ax.collections:
        out.append(np.asarray(coll.get_offsets(), dtype=float).ravel())
        if hasattr(coll, "get_segments"):
            out += [np.asarray(s, dtype=float).ravel() for s in coll.get_segments()]
    values = np.concatenate(out) if out else np.array([])
    return values[np.isfinite(values)]


@pytest.fixture(scope="module")
def tiny(tables, cfg):
    """The sample with practice TINY[0] cut to TINY[1] persons; the raw (unsuppressed)
    results as the pages computed them, and every page."""
    py = tables["person_years"]
    pid, n = TINY
    keep = py.loc[py["practice_id"] == pid, "person_id"].drop_duplicates().iloc[:n]
    small = {**tables, "person_years": py[(py["practice_id"] != pid)
                                          | py["person_id"].isin(keep)]}
    raw: dict = {}
    original = pp._suppress

    def spy(name, result, cfg_, problems):
        raw[name] = result
        return original(name, result, cfg_, problems)

    mp = pytest.MonkeyPatch()
    mp.setattr(pp, "_suppress", spy)
    try:
        res = pp.compute_practice_results(small, cfg)
    finally:
        mp.undo()
    cache: dict = {}
    pages = {p: pp.build_page(res, p, title="t", synthetic=True, cache=cache)
             for p in res.practices["practice_id"]}
    return small, raw, res, pages


def _hidden_practices(res: pp.PracticeResults) -> set[str]:
    units = res.funnel.tables["units"]
    return set(units.loc[units["value"].isna(), "unit"].astype(str))


def _secret_values(raw: dict, hidden: set[str], small: dict) -> np.ndarray:
    """Every non-integer number the raw results hold about the hidden practices."""
    values = []
    units = raw["funnel"].tables["units"]
    values.append(_numbers(units[units["unit"].isin(hidden)].drop(
        columns=["n_persons", "observed"])))
    ranking = raw["ranking"].tables["practices"]
    values.append(_numbers(ranking[ranking["practice"].isin(hidden)][[
        "insured_years", "observed", "expected", "crude_rate", "estimate", "std_error",
        "ci_lower", "ci_upper", "shrunken", "shrunken_lower", "shrunken_upper"]]))
    series = raw["trends"].tables["series"]
    values.append(_numbers(series[series["practice"].isin(hidden)][[
        "insured_years", "total", "value", "moving_range", "centre", "mean_moving_range",
        "lower", "upper", "lower_2sigma", "upper_2sigma"]]))
    # the peers of a hidden practice in its own group leave it out (the other group's
    # peers are the same for every practice of its group, and published)
    peers = raw["trends"].tables["peers"]
    groups = dict(zip(ranking["practice"], ranking["group"], strict=True))
    own_group = peers["peer_group"] == peers["practice"].map(groups)
    values.append(_numbers(peers[peers["practice"].isin(hidden) & own_group][[
        "value", "practice_mean", "insured_years"]]))
    out = np.concatenate(values)
    return out[out != np.round(out)]


def test_a_tiny_practice_is_withheld_with_its_partner(tiny):
    _, _, res, pages = tiny
    hidden = _hidden_practices(res)
    assert TINY[0] in hidden and len(hidden) == 2, hidden  # and one partner of its group
    groups = set(res.practices.set_index("practice_id").loc[sorted(hidden), "group"])
    assert groups == {"control"}
    for pid in sorted(hidden):
        page = pages[pid]
        for part in ("funnel", "ranking"):
            assert page.sentences[part] == [
                f"Withheld for practice {pid}: it would rest on fewer than {THRESHOLD} "
                f"persons (too few observations)."]
        assert all("Withheld" in s for s in page.sentences["trends"][:-1])
        assert not (page.figure_data["funnel"]["own"]).any()
        assert not page.figure_data["ranking"]["own"].any()
    tiny_page = pages[TINY[0]]
    assert tiny_page.sentences["ivm"][0].startswith("Withheld")
    words = " ".join(s for v in tiny_page.sentences.values() for s in v)
    numbers = set(re.findall(r"\d[\d,.]*", words.replace(TINY[0], "")))
    assert numbers <= {str(THRESHOLD)}, numbers


def test_no_number_resting_on_a_tiny_practice_reaches_any_page(tiny):
    """The attacker's check: every number the raw results hold about the withheld
    practices (the tiny one and its partner) is looked for, exactly, in every page's
    figure data and in every coordinate its figures draw; and no person count under
    the threshold is published."""
    from matplotlib.figure import Figure

    from kbz_eval.plotting import practice_page as draw

    small, raw, res, pages = tiny
    hidden = _hidden_practices(res)
    secrets = _secret_values(raw, hidden, small)
    assert len(secrets) > 50
    pi = small["practice_indicators"]
    tiny_scores = pi.loc[pi["practice_id"] == TINY[0], "score_percent"].to_numpy(float)
    for pid, page in pages.items():
        for key, frame in page.figure_data.items():
            shown = _numbers(frame)
            assert not np.isin(shown, secrets).any(), (pid, key, shown[np.isin(shown, secrets)])
            if "n_persons" in frame.columns:
                counts = pd.to_numeric(frame["n_persons"], errors="coerce").dropna()
                assert (counts >= THRESHOLD).all(), (pid, key)
            fig = Figure()
            ax = fig.add_subplot()
            {"funnel": draw.plot_practice_funnel, "ranking": draw.plot_practice_ranking,
             "ivm": draw.plot_practice_indicator}.get(key, draw.plot_practice_trend)(
                frame, ax)
            drawn = _artist_numbers(ax)
            assert not np.isin(drawn, secrets).any(), (pid, key)
        ivm = page.figure_data["ivm"]
        if pid == TINY[0]:
            assert ivm.loc[ivm["element"] == "own", "value"].isna().all()
    # the IVM spread rests only on the published scores, so its minimum, quartiles and
    # maximum cannot give the withheld scores away (11 of 12 scores are on their pages)
    spread = res.ivm.tables["spread"]
    assert (spread["n"] == 11).all()
    scores = pi.assign(year=pi["year"].astype(int))
    shown = scores[scores["practice_id"] != TINY[0]].groupby("year")["score_percent"]
    np.testing.assert_allclose(spread.set_index("year")["max"].sort_index(),
                               shown.max().sort_index())
    np.testing.assert_allclose(spread.set_index("year")["min"].sort_index(),
                               shown.min().sort_index())
    assert len(tiny_scores) == 5


# --------------------------------------------------------------------------- runs
def test_practice_option_writes_only_that_page(report, shared_report_en_plain, tmp_path):
    # the configuration of the full report
    config = tmp_path / shared_report_en_plain.config.name
    config.write_bytes(shared_report_en_plain.config.read_bytes())
    out = run_report(config, tmp_path / "one", progress=False, practice="OV05")
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == ["manifest.json", "practices/OV05.html"]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["practice"] == "OV05" and manifest["analyses"] == []
    assert manifest["practice_pages"]["pages"] == {"OV05": "practices/OV05.html"}
    alone = (out / "practices" / "OV05.html").read_text(encoding="utf-8")
    full = (report / "practices" / "OV05.html").read_text(encoding="utf-8")
    assert "<p class='nav'>" not in alone  # no links to pages that are not there
    # the same page as in the full report, but for the links
    assert re.sub(r"<p class='nav'>.*?</p>\n", "", full) == alone


def test_an_unknown_practice_is_refused_with_the_known_ids(sample, tmp_path, capsys):
    from kbz_eval.cli import main

    with pytest.raises(SpecificationError, match=r"one of \['OV01', 'OV02'.*'OV99'"):
        run_report(_config(tmp_path, sample), tmp_path / "x", progress=False,
                   practice="OV99")
    assert not (tmp_path / "x").exists()
    code = main(["report", "--config", str(_config(tmp_path, sample)), "--out",
                 str(tmp_path / "y"), "--practice", "OV99"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("ERROR: ") and "OV12" in err and "Traceback" not in err
    assert not (tmp_path / "y").exists()


def test_the_cli_writes_one_practice_page(sample, tmp_path, capsys):
    from kbz_eval.cli import main

    code = main(["report", "--config", str(_config(tmp_path, sample)), "--out",
                 str(tmp_path / "z"), "--practice", "OV07"])
    assert code == 0
    assert "practices/OV07.html" in capsys.readouterr().out
    assert (tmp_path / "z" / "practices" / "OV07.html").is_file()


def test_a_practice_page_needs_the_claims(sample, tmp_path):
    path = tmp_path / "k.toml"
    path.write_text(f'[inputs]\npractices = "{sample.as_posix()}/practices.csv"\n',
                    encoding="utf-8")
    with pytest.raises(SpecificationError, match="needs the claims panel"):
        run_report(path, tmp_path / "out", progress=False, practice="OV01")


def test_pages_are_byte_identical_on_a_second_run(tables, cfg, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = pp.write_practice_pages(tables, cfg, tmp_path / "a", synthetic=True)
        second = pp.write_practice_pages(tables, cfg, tmp_path / "b", synthetic=True)
    assert first == second
    a, b = _hashes(tmp_path / "a"), _hashes(tmp_path / "b")
    assert len(a) == 13 and a == b


def test_dutch_pages(tiny, sample, tmp_path):
    small = tiny[0]
    cfg = load_config(_config(tmp_path, sample, language="nl"))
    res = pp.compute_practice_results(small, cfg)
    page = pp.build_page(res, TINY[0], title="t", synthetic=True)
    assert "<html lang='nl'>" in page.html
    assert "onvoldoende waarnemingen" in page.html and "Synthetische gegevens." in page.html
    other = pp.build_page(res, "OV03", title="t", synthetic=True)
    assert "Uw W/V " in other.html and "per verzekerdejaar" in other.html


def test_file_names_are_safe_and_distinct():
    names = pp.page_filenames(["OV01", "ov01", "a/b", "a_b", "index", "../x", "ü"])
    assert names["OV01"] == "OV01.html" and names["a_b"] == "a_b.html"
    assert len(set(n.lower() for n in names.values())) == len(names)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+\.html", n) for n in names.values())
    assert names["index"] != "index.html"


def test_a_practice_without_insured_persons_gets_a_page_saying_so(tables, cfg):
    extra = pd.DataFrame({"practice_id": ["OV13"], "city": ["Utrecht"],
                          "neighbourhood": ["Overvecht"], "group": ["control"],
                          "kbz_start_year": [pd.NA]})
    practices = pd.concat([tables["practices"], extra.astype(
        tables["practices"].dtypes.to_dict())], ignore_index=True)
    res = pp.compute_practice_results({**tables, "practices": practices}, cfg)
    page = pp.build_page(res, "OV13", title="t", synthetic=True)
    no_data = "Practice OV13 has no insured persons in the claims panel for this part."
    assert page.sentences["funnel"] == [no_data]
    assert page.sentences["ranking"] == [no_data]
    assert no_data in page.html and "id='trends'" in page.html


def test_a_part_that_could_not_be_computed_names_no_other_practice(built):
    import dataclasses

    res, _ = built
    broken = dataclasses.replace(res, ranking=None,
                                 problems={"ranking": "no estimate for OV05 and OV03"})
    page = pp.build_page(broken, "OV03", title="t", synthetic=True)
    assert "Not computed for this report: no estimate for … and OV03" in page.html
    assert not _ids_in(_text(page.html), ["OV05"])


def test_dutch_pages_write_their_method_texts_in_dutch(tables, sample, tmp_path):
    """Every method text of a page has a catalogue entry, and the Dutch page shows it in
    Dutch (no "(Engelstalig)" block, no English sentence)."""
    from kbz_eval.report.messages import localise, untranslated

    cfg = load_config(_config(tmp_path, sample, language="nl"))
    res = pp.compute_practice_results(tables, cfg)
    methods = [r.method for r in (res.funnel, res.trends, res.ranking, res.ivm)
               if r is not None]
    assert len(methods) == 4
    for method in methods:
        assert untranslated(method) == [], untranslated(method)
    page = pp.build_page(res, "OV03", title="t", synthetic=True)
    assert "Engelstalig" not in page.html
    for method in methods:
        dutch = localise(method, "nl")
        assert dutch != method and html.escape(dutch) in page.html
