"""``manifest.json``: what a report was made from (inputs, config, versions, seeds)."""

from __future__ import annotations

import hashlib
import json
import platform
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


def build_manifest(
    *, inputs: dict[str, Path], config: dict[str, Any], seeds: dict[str, int],
    files: list[str],
) -> dict[str, Any]:
    """The manifest as a dict; only stable facts (no timestamps, no absolute paths)."""
    return {
        REPORT_MARKER: True,
        "inputs": {table: _input_record(path) for table, path in sorted(inputs.items())},
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
