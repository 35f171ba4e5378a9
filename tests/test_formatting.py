"""One locale-aware formatter for the report (Babel's nl_NL / en_GB) and the HTML page's
reading order, first screen and tables."""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pandas as pd
import pytest
from babel.numbers import format_currency, format_decimal

from kbz_eval.report import formatting as fmt
from kbz_eval.report import html as html_report

matplotlib.use("Agg")

MINUS = "\u2212"


@pytest.mark.parametrize(("value", "decimals", "nl", "en"), [
    (1234.5, 2, "1.234,50", "1,234.50"),
    (-6.0, 1, f"{MINUS}6,0", f"{MINUS}6.0"),
    (1_000_000, 0, "1.000.000", "1,000,000"),
    (-0.00001, 1, "0,0", "0.0"),  # no negative zero
    (0.5, 0, "0", "0"),  # half to even, as Babel rounds
])
def test_numbers_follow_the_locale_with_a_true_minus(value, decimals, nl, en):
    assert fmt.number(value, language="nl", decimals=decimals) == nl
    assert fmt.number(value, language="en", decimals=decimals) == en
    assert "-" not in fmt.number(value, language="nl", decimals=decimals)


def test_numbers_agree_with_babel_itself():
    """The formatter writes what Babel's CLDR patterns write (with a true minus), not a
    hand-made approximation: 6,000 values over 18 orders of magnitude, both signs,
    halves (ties) and whole numbers, 0–4 decimals, both languages."""
    rng = np.random.default_rng(20140101)
    values = [0.1234, 98765.4321, -42.5, 0.5, 1.5, 2.5, -2.5, 0.125, 0.375, 1e15,
              -999999.995, 12345678901.25, 0.0, -0.0, 7, -7]
    values += list(rng.choice([-1, 1], 2000) * 10.0 ** rng.uniform(-6, 12, 2000))
    values += list(np.round(rng.normal(0, 1e5, 1000), 1) + 0.05)  # near-ties
    values += list(rng.integers(-10**9, 10**9, 1000).astype(float))
    for decimals in range(5):
        for value in values[::2] if decimals % 2 else values[1::2]:
            for lang, loc in (("nl", "nl_NL"), ("en", "en_GB")):
                ours = fmt.number(value, language=lang, decimals=decimals)
                pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
                rounded = round(float(value), decimals) or 0.0
                theirs = format_decimal(rounded, format=pattern, locale=loc,
                                        decimal_quantization=True)
                assert ours == theirs.replace("-", MINUS), (value, decimals, lang)


def test_money_percent_p_values_years_and_interval_names():
    assert fmt.euro(356, language="nl") == "€ 356"
    assert fmt.euro(-1234.5, language="nl", decimals=2) == f"{MINUS}€ 1.234,50"
    assert fmt.euro(1234.5, language="en", decimals=2) == "€1,234.50"
    # Babel's own nl_NL currency writes the same digits
    assert format_currency(1234.5, "EUR", locale="nl_NL").endswith("1.234,50")
    assert fmt.percent(12.345, language="nl") == "12,3%"
    assert fmt.percent(-2.0, language="en") == f"{MINUS}2.0%"
    assert fmt.p_value(0.00001, language="nl") == "< 0,001"
    assert fmt.p_value(0.0234, language="en") == "0.023"
    assert fmt.p_value(0.41, language="nl") == "0,41"
    assert fmt.p_value(0.0, language="en") == "< 0.001"  # never 0
    assert fmt.year(2012.0) == "2012" and fmt.year(-2) == f"{MINUS}2"
    assert fmt.ci_label("nl") == "95%-BI" and fmt.ci_label("en") == "95% CI"
    assert fmt.number(None, language="nl") == fmt.MISSING
    with pytest.raises(ValueError, match="language"):
        fmt.number(1, language="de")


def test_figure_ticks_use_decimal_commas_and_true_minus_in_dutch():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([-0.4, 0.2, 0.9], [2012, 2014, 2016])
    fmt.localise_ticks(fig, "nl")
    fig.canvas.draw()
    x = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    y = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    plt.close(fig)
    assert any("," in t for t in x) and not any("." in t for t in x)
    assert any(t.startswith(MINUS) for t in x) and not any("-" in t for t in x)
    assert "2012" in y and not any("," in t or "." in t for t in y)  # whole years only


def test_tables_write_years_plainly_p_values_for_people_and_yes_no():
    frame = pd.DataFrame({"year": [2012, 2013], "event_time": [-1.0, 0.0],
                          "estimate": [-1234.567, 0.5], "p_value": [1e-9, 0.2],
                          "n": [12345, 10], "post": [False, True]})
    nl = html_report.display(frame, "nl")
    assert nl["year"].tolist() == ["2012", "2013"]
    assert nl["event_time"].tolist() == [f"{MINUS}1", "0"]
    assert nl["p_value"].tolist() == ["< 0,001", "0,20"]
    assert nl["n"].tolist() == ["12.345", "10"]
    assert nl["post"].tolist() == ["nee", "ja"]
    assert nl.loc[0, "estimate"] == f"{MINUS}1.234,6"


def test_long_tables_are_summarised_and_linked_wide_tables_scroll():
    long = pd.DataFrame({"a": np.arange(100)})
    text = html_report._table(long, "en", "tables/x__tidy.csv")
    assert text.count("<td>") == html_report.SHOWN_ROWS
    assert "href='tables/x__tidy.csv'" in text and "of 100 rows" in text
    short = html_report._table(long.head(5), "nl", "tables/x__tidy.csv")
    assert "href" not in short and short.startswith("<div class='scroll'>")


def _section(key: str, aim: int) -> html_report.Section:
    return html_report.Section(title=key, key=key, aim=aim)


def test_efficiency_comes_first_and_the_first_screen_has_the_facts():
    facts = html_report.report_facts(language="nl", period="2012–2016", source="x.csv",
                                     date="3 december 2026", version="1.0")
    page = html_report.render(
        title="t", language="nl", synthetic=False, panels=[],
        aims={1: {"nl": "a1"}, 2: {"nl": "a2"}, 3: {"nl": "a3"}, 4: {"nl": "a4"}},
        sections=[_section("health", 1), _section("costs", 3), _section("staff", 4)],
        quality=pd.DataFrame({"a": [1]}), threshold=10, facts=facts)
    ids = re.findall(r"<h2 id='([^']*)'", page)
    assert ids[1:4] == ["costs", "health", "staff"]
    cards = re.findall(r"Doel (\d)", page)
    assert cards == ["3", "1", "2", "4"]
    first = page[:page.index("<h2")]
    for word in ("Periode", "2012–2016", "Gegevens", "Datum", "3 december 2026", "1.0"):
        assert word in first


def test_long_labels_are_wrapped_and_nothing_is_cut_off(tmp_path):
    """A title, axis labels and a legend entry far wider than the figure are wrapped;
    every label lies inside the saved image."""
    from PIL import Image

    from kbz_eval.report.figures import fit_labels, new_figure, save_figure

    long = ("Kosten specialistische GGZ per verzekerde: verandering per groep en "
            "praktijk, werkelijk tegenover verwacht naar leeftijd en geslacht")
    fig, ax = new_figure()
    ax.plot([0, 1], [0, 1], label=long)
    ax.set_title(long)
    ax.set_xlabel(long)
    ax.set_ylabel(long)
    ax.legend()
    fit_labels(fig)
    fig.draw_without_rendering()  # the layout saving does
    renderer = fig.canvas.get_renderer()
    fig_box = fig.bbox
    for item in (ax.title, ax.xaxis.label, ax.yaxis.label):
        assert "\n" in item.get_text()
        box = item.get_window_extent(renderer)
        assert box.x0 >= fig_box.x0 - 1 and box.x1 <= fig_box.x1 + 1, item.get_text()
        assert box.y0 >= fig_box.y0 - 1 and box.y1 <= fig_box.y1 + 1, item.get_text()
    paths = save_figure(fig, tmp_path / "long")
    assert Image.open(paths[0]).size[0] > 0
    again = save_figure(fig, tmp_path / "again")
    assert paths[0].read_bytes() == again[0].read_bytes()
