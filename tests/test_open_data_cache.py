"""The parsed open-data table cache: keyed by the files' checksums, atomic, damage-proof,
only its own entries deleted, and the report section identical with and without it.

Every test points ``KBZ_EVAL_CACHE`` at a temporary folder; none touches the home folder.
"""

from __future__ import annotations

import io
import os
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from kbz_eval.errors import SpecificationError
from kbz_eval.open_data import OpenDataNotFoundError
from kbz_eval.open_data import cache as table_cache
from kbz_eval.open_data.areas import open_data_section, report_tables


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("KBZ_EVAL_CACHE", str(folder))
    return folder


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "data" / "vektis" / "vektis_2018_gemeente.csv"
    path.parent.mkdir(parents=True)
    path.write_text("gemeentenaam;aantal_bsn\nUTRECHT;10\nAMSTERDAM;20\n", encoding="utf-8")
    return path


def _parse(path):
    """A small parser with the dtypes the real tables have."""
    raw = pd.read_csv(path, sep=";")
    frame = pd.DataFrame({
        "year": np.full(len(raw), 2018, dtype="int64"),
        "municipality": pd.Categorical(raw["gemeentenaam"]),
        "name": raw["gemeentenaam"].astype("str"),
        "value": raw["aantal_bsn"].astype(float),
        "flag": raw["aantal_bsn"] > 15,
    })
    frame.loc[len(frame)] = [2018, np.nan, "REST", np.nan, False]
    frame.attrs["encoding"] = "utf-8"
    return frame


class Counter:
    def __init__(self, path):
        self.path, self.calls = path, 0

    def __call__(self):
        self.calls += 1
        return _parse(self.path)


def _entries(folder):
    """Names of the cache entries (``<table>-<64 hex>.kbzcache``) in a cache root."""
    entry = re.compile(r"[a-z0-9_]+-[0-9a-f]{64}\.kbzcache")
    return sorted(p.name for p in (folder / "parsed").glob("*") if entry.fullmatch(p.name))


# --------------------------------------------------------------------------- where
def test_cache_folder_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("KBZ_EVAL_CACHE", str(tmp_path / "mine"))
    assert table_cache.tables_folder() == tmp_path / "mine" / "parsed"
    monkeypatch.delenv("KBZ_EVAL_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert table_cache.tables_folder() == tmp_path / "xdg" / "kbz_eval" / "parsed"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert table_cache.tables_folder() == tmp_path / "home" / ".cache" / "kbz_eval" / "parsed"
    for off in ("off", "OFF", " off "):
        monkeypatch.setenv("KBZ_EVAL_CACHE", off)
        assert table_cache.tables_folder() is None and not table_cache.enabled()


# --------------------------------------------------------------------------- hits
def test_second_call_reads_the_cache_and_gives_the_same_table(cache_dir, source):
    build = Counter(source)
    first = table_cache.cached_table("demo", {"vektis 2018": source}, build)
    second = table_cache.cached_table("demo", {"vektis 2018": source}, build)
    assert build.calls == 1
    expected = _parse(source)
    for got in (first, second):
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        assert got.attrs == {}
        assert list(got["municipality"].cat.categories) == ["AMSTERDAM", "UTRECHT"]
    [name] = _entries(cache_dir)
    assert name.startswith("demo-") and len(name) == len("demo-") + 64 + len(".kbzcache")
    content = (cache_dir / "parsed" / name).read_bytes()
    _magic, head, payload = content.split(b"\n", 2)
    assert payload.startswith(b"ARROW1")  # Arrow IPC, no pickle
    assert b"UTRECHT" not in head  # the header names files and checksums, not data


def test_the_key_covers_sources_parameters_and_parser_version(cache_dir, source, monkeypatch):
    build = Counter(source)
    table_cache.cached_table("demo", {"vektis 2018": source}, build, params={"a": 1})
    table_cache.cached_table("demo", {"vektis 2018": source}, build, params={"a": 2})
    table_cache.cached_table("demo", {"vektis 2019": source}, build, params={"a": 1})
    monkeypatch.setattr(table_cache, "PARSER_VERSION", table_cache.PARSER_VERSION + 1)
    table_cache.cached_table("demo", {"vektis 2018": source}, build, params={"a": 1})
    assert build.calls == 4


def test_a_changed_file_is_parsed_again(cache_dir, source):
    build = Counter(source)
    table_cache.cached_table("demo", {"f": source}, build)
    source.write_text("gemeentenaam;aantal_bsn\nUTRECHT;11\nAMSTERDAM;20\n", encoding="utf-8")
    os.utime(source, ns=(1, 1))  # the key follows the content, not the time stamp
    got = table_cache.cached_table("demo", {"f": source}, build)
    assert build.calls == 2
    assert got["value"].tolist()[0] == 11.0


def test_same_bytes_elsewhere_share_the_entry(cache_dir, source, tmp_path):
    copy = tmp_path / "other" / "vektis" / source.name
    copy.parent.mkdir(parents=True)
    copy.write_bytes(source.read_bytes())
    build = Counter(source)
    table_cache.cached_table("demo", {"f": source}, build)
    table_cache.cached_table("demo", {"f": copy}, build)
    assert build.calls == 1


# --------------------------------------------------------------------------- damage
@pytest.mark.parametrize("damage", ["empty", "truncated", "flipped", "garbage", "other_key",
                                    "directory"])
def test_a_damaged_entry_is_rebuilt_never_an_error(cache_dir, source, damage):
    build = Counter(source)
    table_cache.cached_table("demo", {"f": source}, build)
    [name] = _entries(cache_dir)
    entry = cache_dir / "parsed" / name
    content = entry.read_bytes()
    if damage == "empty":
        entry.write_bytes(b"")
    elif damage == "truncated":
        entry.write_bytes(content[: len(content) - 40])
    elif damage == "flipped":
        entry.write_bytes(content[:-20] + bytes([content[-20] ^ 0xFF]) + content[-19:])
    elif damage == "garbage":
        entry.write_bytes(os.urandom(len(content)))
    elif damage == "other_key":
        entry.write_bytes(content.replace(name[5:69].encode(), b"0" * 64, 1))
    else:
        entry.unlink()
        entry.mkdir()
    got = table_cache.cached_table("demo", {"f": source}, build)
    assert build.calls == 2
    pd.testing.assert_frame_equal(got, _parse(source), check_exact=True)
    if damage != "directory":  # rebuilt in place, valid again
        table_cache.cached_table("demo", {"f": source}, build)
        assert build.calls == 2


def test_an_unwritable_cache_is_no_error(tmp_path, monkeypatch, source):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("KBZ_EVAL_CACHE", str(blocker))
    build = Counter(source)
    got = table_cache.cached_table("demo", {"f": source}, build)
    pd.testing.assert_frame_equal(got, _parse(source), check_exact=True)
    assert blocker.read_text() == "not a folder"


def test_off_parses_every_time_and_writes_nothing(tmp_path, monkeypatch, source):
    monkeypatch.setenv("KBZ_EVAL_CACHE", "off")
    monkeypatch.chdir(tmp_path)
    build = Counter(source)
    for _ in range(2):
        got = table_cache.cached_table("demo", {"f": source}, build)
    assert build.calls == 2 and got.attrs == {}
    assert not (tmp_path / "off").exists()


def test_a_file_changing_while_parsed_is_not_stored(cache_dir, source):
    def build():
        frame = _parse(source)
        source.write_text("gemeentenaam;aantal_bsn\nUTRECHT;99\n", encoding="utf-8")
        return frame

    table_cache.cached_table("demo", {"f": source}, build)
    assert _entries(cache_dir) == []


@pytest.mark.parametrize("values", [[1, "a"], ["a", "b"]], ids=["not_arrow", "object_dtype"])
def test_a_table_that_does_not_read_back_identically_is_not_stored(cache_dir, source, values):
    frame = pd.DataFrame({"x": pd.Series(values, dtype=object)})
    got = table_cache.cached_table("demo", {"f": source}, lambda: frame)
    pd.testing.assert_frame_equal(got, frame, check_exact=True)
    assert _entries(cache_dir) == []


# --------------------------------------------------------------------------- scope
def test_only_open_data_files_are_cached(cache_dir, tmp_path):
    private = tmp_path / "extracts" / "claim_lines.csv"
    private.parent.mkdir()
    private.write_text("person_id\n1\n")
    with pytest.raises(SpecificationError, match="open-data"):
        table_cache.cached_table("claims", {"claims": private}, lambda: pd.DataFrame())
    with pytest.raises(SpecificationError, match="name"):
        table_cache.cached_table("../x", {}, lambda: pd.DataFrame())
    assert not cache_dir.exists()


def test_only_its_own_entries_are_ever_deleted(cache_dir, source, monkeypatch):
    folder = cache_dir / "parsed"
    folder.mkdir(parents=True)
    foreign = {"notes.txt": b"mine", "demo-notahexkey.kbzcache": b"x",
               "demo-" + "a" * 64 + ".parquet": b"x"}
    for name, content in foreign.items():
        (folder / name).write_bytes(content)
    (cache_dir / "vektis").mkdir()  # the download cache beside it
    (cache_dir / "vektis" / "vektis_2018_gemeente.csv").write_bytes(b"downloaded")
    build = Counter(source)
    table_cache.cached_table("keep", {"f": source}, build)
    for version in range(table_cache.KEEP_PER_TABLE + 2):
        monkeypatch.setattr(table_cache, "PARSER_VERSION", 100 + version)
        table_cache.cached_table("demo", {"f": source}, build)
    names = _entries(cache_dir)
    assert sum(n.startswith("demo-") for n in names) == table_cache.KEEP_PER_TABLE
    assert sum(n.startswith("keep-") for n in names) == 1
    assert table_cache.clear() == table_cache.KEEP_PER_TABLE + 1
    assert _entries(cache_dir) == []
    for name, content in foreign.items():
        assert (folder / name).read_bytes() == content
    assert (cache_dir / "vektis" / "vektis_2018_gemeente.csv").read_bytes() == b"downloaded"
    assert not list(folder.glob("*.tmp"))


def test_missing_files_are_still_reported(cache_dir, tmp_path):
    with pytest.raises(OpenDataNotFoundError):
        report_tables(tmp_path / "nothing here")


# --------------------------------------------------------------------------- real data
def _published_bytes(results) -> dict[str, bytes]:
    """Every table a result publishes, as CSV bytes, plus its method and warnings."""
    out = {}
    for key, res in results.items():
        frames = {"tidy": res.tidy(), "summary": res.summary(), "plot_data": res.plot_data(),
                  **res.tables}
        for name, frame in frames.items():
            buf = io.StringIO()
            frame.to_csv(buf, index=False, lineterminator="\n", float_format=None)
            out[f"{key}.{name}"] = buf.getvalue().encode("utf-8")
        out[f"{key}.text"] = repr((res.method, res.warnings, res.headline(),
                                   sorted(map(str, res.settings.items())))).encode("utf-8")
    return out


@pytest.mark.data
def test_report_section_is_identical_with_and_without_the_cache(shared_data, tmp_path,
                                                                monkeypatch):
    monkeypatch.setenv("KBZ_EVAL_CACHE", "off")
    plain_tables = report_tables(shared_data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = open_data_section(shared_data)
    monkeypatch.setenv("KBZ_EVAL_CACHE", str(tmp_path / "cache"))
    cold_tables = report_tables(shared_data)
    assert {n.split("-")[0] for n in _entries(tmp_path / "cache")} == {
        "vektis_wide_latest", "rivm_health_aim2"}
    warm_tables = report_tables(shared_data)
    for plain_t, cold_t, warm_t in zip(plain_tables, cold_tables, warm_tables, strict=True):
        pd.testing.assert_frame_equal(cold_t, plain_t, check_exact=True)
        pd.testing.assert_frame_equal(warm_t, plain_t, check_exact=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warm = open_data_section(shared_data)
    assert list(warm) == list(plain)
    for key in plain:
        pd.testing.assert_frame_equal(warm[key].tidy(), plain[key].tidy(), check_exact=True)
    assert _published_bytes(warm) == _published_bytes(plain)
