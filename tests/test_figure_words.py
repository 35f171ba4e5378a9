"""Figures are drawn in the report's language: every label goes through
:func:`kbz_eval.plotting.words.say`, and every template has a Dutch entry."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kbz_eval.plotting import words

PLOTTING = Path(words.__file__).parent
#: Files that draw figure labels.
DRAWING_FILES = sorted(p for p in PLOTTING.glob("*.py") if p.name != "words.py") + [
    PLOTTING.parent / "report" / "practice_pages.py"]
#: Matplotlib calls whose text arguments are labels a reader sees.
LABEL_CALLS = {"set_title", "set_xlabel", "set_ylabel", "suptitle", "supxlabel",
               "supylabel", "text", "annotate", "set_xticklabels", "set_yticklabels",
               "legend"}
LABEL_KEYWORDS = {"label", "title", "labels"}


def _is_text(node: ast.AST) -> bool:
    """A string literal or f-string with letters in it (a label in some language)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return any(c.isalpha() for c in node.value)
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.Constant) and any(c.isalpha() for c in str(v.value))
                   for v in node.values)
    return False


def _calls(path: Path) -> list[ast.Call]:
    return [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call)]


def _name(call: ast.Call) -> str:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _say_templates() -> list[tuple[str, int, str]]:
    found = []
    for path in DRAWING_FILES:
        for call in _calls(path):
            if _name(call) == "say" and call.args:
                first = call.args[0]
                assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
                    f"{path.name}:{call.lineno}: say() needs a literal template")
                found.append((path.name, call.lineno, first.value))
    return found


def test_drawing_code_writes_no_label_without_say() -> None:
    raw = []
    for path in DRAWING_FILES:
        for call in _calls(path):
            name = _name(call)
            texts = []
            if name in LABEL_CALLS:
                texts += [a for a in call.args if _is_text(a)]
            texts += [k.value for k in call.keywords
                      if k.arg in LABEL_KEYWORDS and _is_text(k.value)]
            raw += [f"{path.name}:{call.lineno}: {name}({ast.unparse(t)})" for t in texts]
    assert not raw, "labels written without say():\n" + "\n".join(raw)


def test_every_template_has_dutch_with_the_same_fields() -> None:
    catalogue = words.catalogue()
    templates = _say_templates()
    assert len(templates) > 50  # the drawing modules do use the catalogue
    missing = [f"{f}:{line}: {t!r}" for f, line, t in templates if t not in catalogue]
    assert not missing, "figure templates without Dutch:\n" + "\n".join(missing)
    for en, nl in catalogue.items():
        assert words.fields(en) == words.fields(nl), (en, nl)
        assert nl.strip(), en


def test_catalogue_has_no_unused_templates() -> None:
    used = {t for _, _, t in _say_templates()}
    style_labels = {s["label"] for s in __import__("kbz_eval.plotting", fromlist=["x"])
                    .GROUP_STYLE.values()}
    unused = sorted(set(words.catalogue()) - used - style_labels - set(words.NL))
    assert not unused, f"catalogue entries no drawing code uses: {unused}"


def test_say_fills_fields_and_refuses_unknown_language() -> None:
    assert words.say("year", "nl") == "jaar"
    assert words.say("not in the catalogue {x}", "nl", x=1) == "not in the catalogue 1"
    assert words.term("kbz", "nl") == "KBZ"
    assert words.term("poli_dbc_cost", "en") == "outpatient DBC costs"
    assert words.number(-0.95, "nl") == "\u22120,95"
    with pytest.raises(ValueError, match="language"):
        words.say("year", "de")
