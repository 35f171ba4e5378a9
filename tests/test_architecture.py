"""ARCHITECTURE.md stays true, and the layering rules hold."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "kbz_eval"


def _modules() -> set[str]:
    """Top-level modules and packages of kbz_eval and the modules inside its packages."""
    out = set()
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        if path.name == "__init__.py":
            if rel.parent != Path("."):
                out.add(rel.parent.as_posix() + "/")
        elif not path.name.startswith("_"):
            out.add(rel.as_posix())
    return out


def test_architecture_names_every_module():
    text = (REPO / "ARCHITECTURE.md").read_text(encoding="utf-8")
    missing = sorted(m for m in _modules() if f"`{m}`" not in text)
    assert not missing, f"ARCHITECTURE.md does not describe: {missing}"


def test_architecture_names_no_module_that_is_gone():
    text = (REPO / "ARCHITECTURE.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z_/]+(?:\.py|/))`", text))
    gone = sorted(n for n in named if not (PKG / n).exists())
    assert not gone, f"ARCHITECTURE.md names modules that do not exist: {gone}"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_computing_never_imports_drawing():
    for sub in ("estimators", "engine", "synth", "open_data"):
        for path in (PKG / sub).rglob("*.py") if (PKG / sub).exists() else []:
            bad = {n for n in _imports(path) if n.split(".")[0] in {"matplotlib", "seaborn"}}
            assert not bad, f"{path.relative_to(REPO)} imports {bad}"
    for name in ("io.py", "formats.py", "validation.py", "privacy.py", "tables.py",
                 "results.py"):
        path = PKG / name
        if path.exists():
            assert not {n for n in _imports(path) if n.startswith("matplotlib")}, name


def test_library_never_calls_plt_show():
    for path in PKG.rglob("*.py"):
        assert "plt.show(" not in path.read_text(encoding="utf-8"), path
