"""Folder resolution, publisher URLs and the download step.

The machine running the tests has no network, so the download itself is exercised with
an opener that serves local copies of the real files (and once through urllib with a
``file://`` URL); the publishers' URLs are checked for their documented form only.
"""

from __future__ import annotations

import importlib
import json
import urllib.parse
from pathlib import Path

import pytest

import kbz_eval as kbz
from kbz_eval.errors import KbzEvalError, SpecificationError

dl = importlib.import_module("kbz_eval.open_data.download")


def test_vektis_urls_follow_publisher_layout():
    base = "https://www.vektis.nl/uploads/Docs%20per%20pagina/Open%20Data%20Bestanden/"
    u2014 = kbz.open_data.vektis_url(2014)
    assert u2014.startswith(base + "Gemeentebestanden%202011-2016/")
    assert u2014.endswith("Zorgverzekeringswet%202014%20-%20gemeente.csv")
    assert kbz.open_data.vektis_url(2018).startswith(base + "2018/")
    assert kbz.open_data.vektis_url(2020).endswith("gemeente_versie2.csv")


def test_rivm_url_filters_year_age_and_point_estimates():
    url = kbz.open_data.rivm_url(2016, "65+")
    assert url.startswith("https://dataderden.cbs.nl/ODataApi/odata/50090NED/UntypedDataSet?")
    query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    assert query["$filter"] == [
        "Perioden eq '2016JJ00' and Leeftijd eq '80200' and Marges eq 'MW00000'"]
    with pytest.raises(SpecificationError, match="age_group"):
        kbz.open_data.rivm_url(2016, "70+")


def test_folder_resolution_order(monkeypatch, tmp_path):
    monkeypatch.setenv("KBZ_EVAL_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("KBZ_EVAL_CACHE", str(tmp_path / "cache"))
    found = kbz.open_data.candidate_folders()
    assert found[0] == tmp_path / "env"
    assert found[-1] == tmp_path / "cache"
    assert kbz.open_data.candidate_folders(tmp_path / "given") == [tmp_path / "given"]


def test_missing_file_says_where_and_how(monkeypatch, tmp_path):
    monkeypatch.setenv("KBZ_EVAL_CACHE", str(tmp_path / "cache"))
    with pytest.raises(kbz.open_data.OpenDataNotFoundError) as info:
        kbz.open_data.vektis(2018, folder=tmp_path)
    err = info.value
    assert isinstance(err, FileNotFoundError) and isinstance(err, KbzEvalError)
    text = str(err)
    assert str(tmp_path) in text and "vektis_2018_gemeente.csv" in text
    assert "kbz.open_data.download('vektis', years=[2018])" in text
    assert "made-up" in text


@pytest.mark.data
def test_download_vektis_with_local_opener(shared_data, tmp_path):
    requested = []

    def opener(url: str, timeout: float) -> bytes:
        requested.append(url)
        year = int(urllib.parse.unquote(url).split("Zorgverzekeringswet ")[1][:4])
        return (shared_data / "vektis" / f"vektis_{year}_gemeente.csv").read_bytes()

    paths = kbz.open_data.download("vektis", years=[2018, 2023], folder=tmp_path, opener=opener)
    assert requested == [kbz.open_data.vektis_url(2018), kbz.open_data.vektis_url(2023)]
    for p, year in zip(paths, (2018, 2023), strict=True):
        assert p == tmp_path / "vektis" / f"vektis_{year}_gemeente.csv"
        assert p.read_bytes() == (shared_data / "vektis" / p.name).read_bytes()
    # already there: not fetched again
    kbz.open_data.download("vektis", years=[2018], folder=tmp_path, opener=opener)
    assert len(requested) == 2
    a = kbz.open_data.vektis(2018, folder=tmp_path)
    b = kbz.open_data.vektis(2018, folder=shared_data)
    assert a["value"].sum() == pytest.approx(b["value"].sum(), rel=1e-12)


@pytest.mark.data
def test_download_rivm_follows_pages(shared_data, tmp_path):
    """The OData feed answers in pages; rows of all pages land in one CSV that reads
    like the spreadsheet export."""
    rivm = importlib.import_module("kbz_eval.open_data.rivm")
    raw = rivm._read_xlsx_fast(shared_data / "rivm" / "2016_18+.xlsx")
    code = raw["WijkenEnBuurten"].astype(str).str.strip()
    part = raw[code.isin(["NL01", "GM0344"]) | code.str.startswith("WK0344")]
    records = [{k: (None if v is None else str(v)) for k, v in r.items()}
               for r in part.to_dict("records")]
    half = len(records) // 2
    pages = {
        "first": {"odata.metadata": "x", "value": records[:half],
                  "odata.nextLink": "https://example.invalid/page2"},
        "https://example.invalid/page2": {"value": records[half:]},
    }
    seen = []

    def opener(url: str, timeout: float) -> bytes:
        seen.append(url)
        key = url if url in pages else "first"
        return json.dumps(pages[key]).encode("utf-8")

    paths = kbz.open_data.download("rivm", years=[2016], age_groups=["18+"],
                                   folder=tmp_path, opener=opener)
    assert paths == [tmp_path / "rivm" / "2016_18+.csv"]
    assert seen == [kbz.open_data.rivm_url(2016, "18+"), "https://example.invalid/page2"]
    got = kbz.open_data.rivm_health(2016, folder=tmp_path)
    ref = kbz.open_data.rivm_health(2016, folder=shared_data, area_codes=set(got["area_code"]))
    assert len(got) == len(ref) > 0
    assert got["value"].sum() == pytest.approx(ref["value"].sum(), rel=1e-12)


@pytest.mark.data
def test_default_opener_reads_file_urls(shared_data):
    path = (shared_data / "vektis" / "vektis_2011_gemeente.csv").resolve()
    assert dl._urlopen(path.as_uri(), 10) == path.read_bytes()


def test_download_failure_names_url_and_manual_route(tmp_path):
    def opener(url: str, timeout: float) -> bytes:
        raise OSError("network unreachable")

    with pytest.raises(KbzEvalError, match="vektis.nl/open-data") as info:
        kbz.open_data.download("vektis", years=[2012], folder=tmp_path, opener=opener)
    assert kbz.open_data.vektis_url(2012) in str(info.value)
    assert not any(Path(tmp_path).rglob("*.csv"))
    with pytest.raises(SpecificationError, match="source"):
        kbz.open_data.download("cbs", folder=tmp_path)
