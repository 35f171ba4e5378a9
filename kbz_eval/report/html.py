"""A self-contained ``report.html`` (no external files, scripts or fonts)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

_TEXT = {
    "en": {
        "synthetic": "Synthetic data. This report was made from the synthetic sample that "
        "ships with kbz_eval. No real person is in it; its figures were calibrated to the "
        "published Overvecht results to show how the analyses work, not to prove anything.",
        "quality": "Data quality",
        "quality_intro": "Rows read from each input, rows kept, and rows rejected with the "
        "rule that rejected them.",
        "panel": "Claims panel",
        "inputs": "Inputs",
        "na": "—",
    },
    "nl": {
        "synthetic": "Synthetische gegevens. Dit rapport is gemaakt met de synthetische "
        "steekproef die met kbz_eval wordt meegeleverd. Er staat geen echte persoon in; de "
        "cijfers zijn afgestemd op de gepubliceerde resultaten uit Overvecht om te laten "
        "zien hoe de analyses werken, niet om iets te bewijzen.",
        "quality": "Datakwaliteit",
        "quality_intro": "Rijen gelezen per bestand, rijen behouden, en rijen afgewezen met "
        "de regel die ze afwees.",
        "panel": "Declaratiepanel",
        "inputs": "Invoer",
        "na": "—",
    },
}

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;color:#1b1b1b;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}
.synthetic{background:#fff4ce;border:2px solid #c98a00;padding:.75rem 1rem;font-weight:600}
"""


@dataclass
class Section:
    """One section of the report: a heading, some paragraphs and tables."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[pd.DataFrame] = field(default_factory=list)


def render(
    *, title: str, language: str, synthetic: bool, sections: list[Section]
) -> str:
    """Render the report as one HTML string (deterministic for the same input)."""
    text = _TEXT[language]
    body = [f"<h1>{html.escape(title)}</h1>"]
    if synthetic:
        body.append(f"<p class='synthetic' role='alert'>{html.escape(text['synthetic'])}</p>")
    for sec in sections:
        body.append(f"<h2>{html.escape(sec.title)}</h2>")
        body += [f"<p>{html.escape(p)}</p>" for p in sec.paragraphs]
        body += [t.to_html(index=False, na_rep=text["na"], border=0) for t in sec.tables]
    return (
        "<!DOCTYPE html>\n"
        f"<html lang='{language}'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def text(language: str, key: str) -> str:
    """A translated fixed text of the report."""
    return _TEXT[language][key]
