"""Plain area names: what the open-data section shows names Den Haag, Utrecht and
Overvecht, never a StatLine code or an upper-case Vektis spelling (the keys stay in the
``area_code`` column and the settings)."""

from __future__ import annotations

import re
import warnings

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from kbz_eval.errors import StatisticalWarning  # noqa: E402
from kbz_eval.open_data.areas import KBZ_CITIES, display_name, open_data_section  # noqa: E402
from kbz_eval.open_data.standardise import COUNTRY  # noqa: E402

#: A StatLine region code.
CODE = re.compile(r"\b(?:WK\d{6}|GM\d{4}|BU\d{8}|NL01)\b")
#: Upper-case Vektis spellings of the KBZ cities and the country.
VEKTIS_NAMES = re.compile(r"\b(?:S GRAVENHAGE|UTRECHT|AMSTERDAM|ROTTERDAM|HAARLEM|NEDERLAND)\b")


def _offending(text: str) -> list[str]:
    return CODE.findall(text) + VEKTIS_NAMES.findall(text)


def test_display_name_spellings():
    assert display_name("S GRAVENHAGE") == "Den Haag"
    assert display_name("'s-Gravenhage") == "Den Haag"
    assert display_name("GM0518") == "Den Haag"
    assert display_name("WK034403") == "Overvecht"
    assert display_name("NEDERLAND") == display_name("NL01") == "Netherlands"
    assert [display_name(c) for c in KBZ_CITIES] == [
        "Utrecht", "Amsterdam", "Rotterdam", "Den Haag", "Haarlem"]
    assert display_name("ALPHEN AAN DEN RIJN") == "Alphen aan den Rijn"
    assert display_name("CAPELLE AAN DEN IJSSEL") == "Capelle aan den IJssel"
    assert display_name("S HERTOGENBOSCH") == "'s-Hertogenbosch"
    # names from the data for other codes; districts without a listed name by number
    assert display_name("GM0014", {"GM0014": "Groningen"}) == "Groningen"
    assert display_name("WK001401", {"GM0014": "Groningen"}) == "Groningen district 01"
    # readable names and other labels pass unchanged; unknown codes stay codes
    for text in ("Utrecht", "donor pool mean", "treated", "GM9999"):
        assert display_name(text) == text


def _axes_texts(ax) -> list[str]:
    texts = [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
    texts += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
    texts += [line.get_label() for line in ax.get_lines()]
    legend = ax.get_legend()
    if legend is not None:
        texts += [t.get_text() for t in legend.get_texts()]
    return texts


def _table_texts(name: str, frame: pd.DataFrame) -> list[tuple[str, str]]:
    """(where, text) for every text cell and column name outside the code columns."""
    out = [(f"{name} column name", str(c)) for c in frame.columns]
    for col in frame.columns:
        if str(col).endswith("_code"):
            continue
        values = frame[col]
        if values.dtype == object or isinstance(values.dtype, (pd.CategoricalDtype,
                                                               pd.StringDtype)):
            out += [(f"{name}.{col}", str(v)) for v in values.dropna().unique()]
    return out


@pytest.fixture(scope="module")
def section(shared_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        return open_data_section(shared_data)


def test_no_codes_or_vektis_spellings_in_what_is_shown(section):
    import matplotlib.pyplot as plt

    found: list[tuple[str, str]] = []
    shown: list[str] = []
    for key, res in section.items():
        texts = [(f"{key} headline", res.headline()), (f"{key} method", res.method)]
        texts += [(f"{key} warning", w) for w in res.warnings]
        frames = {"tidy": res.tidy(), "summary": res.summary(), "plot_data": res.plot_data(),
                  **res.tables}
        for name, frame in frames.items():
            texts += _table_texts(f"{key}.{name}", frame)
        ax = res.plot()
        texts += [(f"{key} figure", t) for t in _axes_texts(ax)]
        plt.close("all")
        shown += [t for _, t in texts]
        found += [(where, text) for where, text in texts if _offending(text)]
    assert not found, found[:10]
    everything = "\n".join(shown)
    assert "Overvecht" in everything
    assert "Den Haag" in everything
    assert "Utrecht" in everything and "Netherlands" in everything
    assert "Overvecht" in section["overvecht_health"].headline()
    assert section["synthetic_control_den_haag"].headline().startswith("Den Haag vs ")


def test_keys_kept_for_traceability(section):
    costs = section["cost_per_insured_year"].estimates
    assert set(costs["area_code"]) == {COUNTRY, *KBZ_CITIES}
    assert set(costs["area"]) == {"Netherlands", "Utrecht", "Amsterdam", "Rotterdam",
                                  "Den Haag", "Haarlem"}
    assert (costs["area"] == costs["area_code"].map(display_name)).all()
    health = section["overvecht_health"].tidy()
    assert set(health["area_code"]) == {"WK034403"} and set(health["area"]) == {"Overvecht"}
    refs = section["overvecht_health"].settings["references"]
    assert set(health["reference"]) == set(refs)
    assert refs["Utrecht"] == ["GM0344"] and refs["Netherlands"] == ["NL01"]
    assert len(refs["other districts of Utrecht"]) == 9
    den_haag = section["synthetic_control_den_haag"]
    assert den_haag.settings["treated"] == "S GRAVENHAGE"  # the key selects the area
    placebos = den_haag.tables["placebos"]
    assert placebos["unit"].iloc[0] == "Den Haag"
    assert placebos["area_code"].iloc[0] == "S GRAVENHAGE"
    assert (den_haag.tables["weights"]["donor"]
            == den_haag.tables["weights"]["area_code"].map(display_name)).all()
