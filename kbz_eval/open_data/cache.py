"""Parsed open-data tables kept on disk, keyed by the checksums of the files they came from.

Parsing the public files (13 Vektis CSVs, the RIVM spreadsheets) takes seconds on every
report; the tables they give change only when a file, kbz_eval or a library changes.
:func:`cached_table` stores a parsed table once and returns it on later calls without
parsing again.

Where
    ``$KBZ_EVAL_CACHE/parsed/`` when the variable is set, else
    ``$XDG_CACHE_HOME/kbz_eval/parsed/`` or ``~/.cache/kbz_eval/parsed/``.
    ``KBZ_EVAL_CACHE=off`` turns the cache off (every call parses). The download cache
    of :func:`kbz_eval.open_data.download.download` lives beside it, never inside.
Key
    SHA-256 over the SHA-256 of every source file (with its role), the table's name and
    parameters, :data:`PARSER_VERSION`, the kbz_eval, pandas and pyarrow versions and the
    source code of the modules that parse the files (:data:`PARSER_MODULES`). Editing a
    file, a reader or upgrading a library gives a new key, so a stale table is never
    returned.
Entry
    One file ``<name>-<key>.kbzcache``: a magic line, a one-line JSON header (key,
    table name, source checksums, payload length and SHA-256) and the table as an Arrow
    IPC file (zstd-compressed; no pickle). An entry is used only when its header names
    the expected key and the payload has the recorded length and SHA-256; anything else
    (truncated, corrupt, unreadable, another format) counts as absent and is rebuilt.
Writing
    To a temporary file in the same folder, then :func:`os.replace`, so readers and
    concurrent runs see a whole entry or none. A table is stored only when it reads
    back identical (values, dtypes, categories, index) and the source files did not
    change while it was built. Failures to write (read-only home, full disk) are
    ignored: the parsed table is returned all the same.
Deleting
    Only files named like this module's entries, in its own folder: older entries of
    the same table beyond :data:`KEEP_PER_TABLE`, and everything on :func:`clear`.

The cache is for public open data only: every source must sit in a ``vektis/`` or
``rivm/`` folder (:data:`OPEN_DATA_FOLDERS`); person-level inputs are never cached.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from kbz_eval.errors import SpecificationError
from kbz_eval.open_data.download import CACHE_ENV

#: Bump when the parsed tables change in a way the source-code fingerprint cannot see
#: (e.g. a change of how a reader is called).
PARSER_VERSION = 1
#: Version of the entry layout (magic line, header, Arrow IPC payload).
FORMAT_VERSION = 1
#: Modules whose source code shapes the parsed tables; part of every key.
PARSER_MODULES = ("kbz_eval.open_data.vektis", "kbz_eval.open_data.rivm",
                  "kbz_eval.open_data.download", "kbz_eval.tables")
#: Folders (by name) that source files must sit in: the open-data layout.
OPEN_DATA_FOLDERS = ("vektis", "rivm")
#: Entries kept per table name (the most recently used); older ones are deleted.
KEEP_PER_TABLE = 3
#: Value of ``$KBZ_EVAL_CACHE`` that turns the cache off.
OFF = "off"
#: Sub-folder of the cache root holding the parsed tables.
SUBFOLDER = "parsed"

_MAGIC = f"KBZ-EVAL PARSED TABLE {FORMAT_VERSION}\n".encode("ascii")
_SUFFIX = ".kbzcache"
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_]*")
_ENTRY_RE = re.compile(r"(?P<name>[a-z0-9][a-z0-9_]*)-(?P<key>[0-9a-f]{64})" + re.escape(_SUFFIX))
_MAX_HEADER = 1 << 20


def cache_root() -> Path | None:
    """The cache root folder, or ``None`` when ``KBZ_EVAL_CACHE=off``.

    Returns
    -------
    Path or None
        ``$KBZ_EVAL_CACHE`` when set (and not ``off``), else
        ``$XDG_CACHE_HOME/kbz_eval`` (an absolute ``XDG_CACHE_HOME`` only, as the XDG
        specification asks) or ``~/.cache/kbz_eval``.
    """
    env = os.environ.get(CACHE_ENV, "").strip()
    if env.lower() == OFF:
        return None
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "kbz_eval"
    return Path.home() / ".cache" / "kbz_eval"


def tables_folder() -> Path | None:
    """The folder of the parsed tables (``<root>/parsed``), or ``None`` when off."""
    root = cache_root()
    return None if root is None else root / SUBFOLDER


def enabled() -> bool:
    """Whether the cache is on (``KBZ_EVAL_CACHE`` is not ``off``)."""
    return cache_root() is not None


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as 64 hex digits."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _code_fingerprint() -> dict[str, str]:
    out = {}
    for name in PARSER_MODULES:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        try:
            out[name] = hashlib.sha256(Path(origin).read_bytes()).hexdigest() if origin else ""
        except OSError:
            out[name] = ""
    return out


def _library_versions() -> dict[str, str]:
    import pyarrow

    from kbz_eval import __version__

    return {"kbz_eval": __version__, "pandas": pd.__version__, "pyarrow": pyarrow.__version__}


def _check_sources(sources: Mapping[str, str | Path]) -> dict[str, Path]:
    if not sources:
        raise SpecificationError("A cached table needs at least one source file.")
    paths = {}
    for role, path in sources.items():
        p = Path(path)
        if p.parent.name not in OPEN_DATA_FOLDERS:
            raise SpecificationError(
                f"Only open-data files (in a {' or '.join(OPEN_DATA_FOLDERS)} folder) are "
                f"cached; {role!r} is {p}."
            )
        paths[str(role)] = p
    return paths


def _signature(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns, st.st_ino


def table_key(name: str, checksums: Mapping[str, str],
              params: Mapping[str, Any] | None = None) -> str:
    """The key of a table: SHA-256 (hex) over everything its content depends on.

    Parameters
    ----------
    name
        Table name (lower case, digits and ``_``).
    checksums
        Role of each source file -> its SHA-256.
    params
        JSON-serialisable parameters the table was built with.

    Returns
    -------
    str
        64 hex digits.
    """
    material = {
        "format": FORMAT_VERSION, "parser": PARSER_VERSION, "table": name,
        "params": params or {}, "sources": sorted(checksums.items()),
        "versions": _library_versions(), "code": _code_fingerprint(),
    }
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entry_path(folder: Path, name: str, key: str) -> Path:
    """Path of the entry of table ``name`` under ``key`` in ``folder``."""
    return folder / f"{name}-{key}{_SUFFIX}"


# --------------------------------------------------------------------------- encoding
def _to_bytes(frame: pd.DataFrame) -> bytes:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    table = pa.Table.from_pandas(frame, preserve_index=None)
    sink = io.BytesIO()
    options = ipc.IpcWriteOptions(compression="zstd")
    with ipc.new_file(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _from_bytes(payload: bytes) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    return ipc.open_file(pa.BufferReader(payload)).read_all().to_pandas()


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    try:
        pd.testing.assert_frame_equal(a, b, check_exact=True, check_dtype=True,
                                      check_index_type=True, check_column_type=True,
                                      check_categorical=True, check_names=True)
    except AssertionError:
        return False
    return True


def _encode_entry(header: dict[str, Any], payload: bytes) -> bytes:
    head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return _MAGIC + head + b"\n" + payload


def _read_entry(path: Path, key: str) -> pd.DataFrame | None:
    """The table in an entry, or ``None`` when it is absent, foreign or damaged."""
    try:
        with open(path, "rb") as fh:
            if fh.read(len(_MAGIC)) != _MAGIC:
                return None
            head = fh.readline(_MAX_HEADER)
            payload = fh.read()
        header = json.loads(head)
        if (not isinstance(header, dict) or header.get("key") != key
                or header.get("payload_bytes") != len(payload)
                or header.get("payload_sha256") != hashlib.sha256(payload).hexdigest()):
            return None
        return _from_bytes(payload)
    except Exception:  # noqa: BLE001 -- any damaged entry is a miss, never an error
        return None


def _write_entry(folder: Path, path: Path, content: bytes) -> bool:
    """Write ``content`` to ``path`` atomically; ``False`` when that is not possible."""
    tmp: str | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.stem}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.replace(tmp, path)
        tmp = None
        return True
    except OSError:
        return False
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _entries(folder: Path, name: str | None = None) -> list[Path]:
    try:
        children = list(folder.iterdir())
    except OSError:
        return []
    out = []
    for p in children:
        m = _ENTRY_RE.fullmatch(p.name)
        if m and (name is None or m["name"] == name) and p.is_file() and not p.is_symlink():
            out.append(p)
    return out


def _prune(folder: Path, name: str, keep: Path) -> None:
    """Delete entries of ``name`` beyond the :data:`KEEP_PER_TABLE` most recently used."""

    def used(p: Path) -> int:
        try:
            return p.stat().st_mtime_ns
        except OSError:
            return 0

    others = sorted((p for p in _entries(folder, name) if p != keep), key=used, reverse=True)
    for p in others[max(KEEP_PER_TABLE - 1, 0):]:
        try:
            p.unlink()
        except OSError:
            pass


def clear() -> int:
    """Delete every parsed-table entry of this cache (nothing else in the folder).

    Returns
    -------
    int
        The number of entries deleted.
    """
    folder = tables_folder()
    if folder is None:
        return 0
    n = 0
    for p in _entries(folder):
        try:
            p.unlink()
            n += 1
        except OSError:
            pass
    return n


# --------------------------------------------------------------------------- the cache
def cached_table(name: str, sources: Mapping[str, str | Path],
                 build: Callable[[], pd.DataFrame], *,
                 params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """A parsed open-data table: from the cache when its sources are unchanged, else
    built by ``build()`` and stored.

    Parameters
    ----------
    name
        Table name (lower case, digits and ``_``), e.g. ``"vektis_wide_latest"``.
    sources
        Role -> path of every file ``build`` reads (each in a ``vektis/`` or ``rivm/``
        folder). Their SHA-256 checksums are part of the key.
    build
        Reads and parses the files; returns the table.
    params
        JSON-serialisable parameters ``build`` uses, part of the key.

    Returns
    -------
    DataFrame
        The table, identical with and without the cache (values, dtypes, categories,
        index). ``attrs`` are not kept: the returned frame has none either way.

    Raises
    ------
    SpecificationError
        When ``name`` is not a plain name or a source is not an open-data file.
    OSError
        When a source file cannot be read (as when parsing it).

    Notes
    -----
    A hit costs hashing the sources and reading one compressed Arrow file. When the
    cache is off (``KBZ_EVAL_CACHE=off``) this is ``build()`` with ``attrs`` removed.
    """
    if not _NAME_RE.fullmatch(name):
        raise SpecificationError(
            f"A cached table's name must be lower case letters, digits and '_', got {name!r}."
        )
    paths = _check_sources(sources)
    folder = tables_folder()
    if folder is None:
        return _plain(build())
    before = {role: _signature(p) for role, p in paths.items()}
    checksums = {role: file_sha256(p) for role, p in paths.items()}
    key = table_key(name, checksums, params)
    path = entry_path(folder, name, key)
    found = _read_entry(path, key)
    if found is not None:
        try:
            os.utime(path)  # most recently used: kept by pruning
        except OSError:
            pass
        return found
    frame = _plain(build())
    try:
        unchanged = all(_signature(p) == before[role] for role, p in paths.items())
    except OSError:
        unchanged = False
    if not unchanged:
        return frame
    try:
        payload = _to_bytes(frame)
        back = _from_bytes(payload)
    except Exception:  # noqa: BLE001 -- a table Arrow cannot hold is simply not cached
        return frame
    if not _same(frame, back):
        return frame
    header = {
        "key": key, "table": name, "params": params or {},
        "sources": {role: {"file": p.name, "sha256": checksums[role]}
                    for role, p in sorted(paths.items())},
        "parser_version": PARSER_VERSION, "versions": _library_versions(),
        "payload_bytes": len(payload), "payload_sha256": hashlib.sha256(payload).hexdigest(),
    }
    if _write_entry(folder, path, _encode_entry(header, payload)):
        _prune(folder, name, keep=path)
    return back


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise SpecificationError(f"`build` must return a DataFrame, got {type(frame).__name__}.")
    frame = frame.copy(deep=False)
    frame.attrs = {}
    return frame


__all__ = ["KEEP_PER_TABLE", "OPEN_DATA_FOLDERS", "PARSER_MODULES", "PARSER_VERSION",
           "cache_root", "cached_table", "clear", "enabled", "entry_path", "file_sha256",
           "table_key", "tables_folder"]
