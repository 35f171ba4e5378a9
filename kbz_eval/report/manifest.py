"""``manifest.json``: what a report was made from (inputs, config, versions, seeds)."""

from __future__ import annotations

import hashlib
import json
import platform
from concurrent.futures import Future, ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

#: Distributions whose versions are recorded in every manifest.
RECORDED_PACKAGES = (
    "kbz_eval", "pandas", "numpy", "scipy", "statsmodels", "matplotlib", "pyarrow",
    "duckdb", "ibis-framework", "openpyxl", "xlsxwriter", "pyreadstat", "pandera",
)

#: Key set to ``true`` in every manifest: marks a folder as a report kbz_eval wrote, the
#: only kind of folder ``kbz-eval report --out`` replaces (see :mod:`kbz_eval.report.output`).
REPORT_MARKER = "kbz_eval_report"


def sha256_file(path: Path, *, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, read in chunks (bounded memory for large extracts)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    """Installed versions of :data:`RECORDED_PACKAGES` (``"not installed"`` if absent)."""
    out = {}
    for name in RECORDED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _input_record(path: Path) -> dict[str, Any]:
    """Name and SHA-256 of an input file; for a folder or glob, of every file in it."""
    if path.is_file():
        return {"file": path.name, "sha256": sha256_file(path)}
    from kbz_eval.engine.sources import resolve_files

    files, _ = resolve_files(str(path))
    root = path if path.is_dir() else path.parent
    return {"file": path.name,
            "files": [{"file": Path(f).relative_to(root.resolve()).as_posix()
                       if Path(f).is_relative_to(root.resolve()) else Path(f).name,
                       "sha256": sha256_file(Path(f))} for f in files]}


def input_records(inputs: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """The manifest's ``inputs``: name and SHA-256 of every file of every input table."""
    return {table: _input_record(Path(path)) for table, path in sorted(inputs.items())}


def hash_inputs_meanwhile(inputs: dict[str, Path]) -> Future[dict[str, dict[str, Any]]]:
    """:func:`input_records` of ``inputs`` in a thread of its own, while the caller goes
    on: SHA-256 lets go of the interpreter while it hashes, so a report's gigabytes of
    claim lines are hashed on a core its one-core analyses leave free. The thread ends
    when the hashing is done (an error is raised by the future's ``result``)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kbz-hash")
    try:
        return pool.submit(input_records, dict(inputs))
    finally:
        pool.shutdown(wait=False)


def build_manifest(
    *, inputs: dict[str, Path], config: dict[str, Any], seeds: dict[str, int],
    files: list[str], records: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The manifest as a dict; only stable facts (no timestamps, no absolute paths).

    ``records``: :func:`input_records` of some of ``inputs``, made earlier (see
    :func:`hash_inputs_meanwhile`); the other inputs are hashed here.
    """
    records = records or {}
    return {
        REPORT_MARKER: True,
        "inputs": {table: records[table] if table in records else _input_record(path)
                   for table, path in sorted(inputs.items())},
        "config": config,
        "seeds": dict(sorted(seeds.items())),
        "python": platform.python_version(),
        "packages": package_versions(),
        "files": sorted(files),
    }


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest as sorted, indented JSON with a final newline."""
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                    encoding="utf-8")
