"""A self-contained ``report.html``: figures embedded, no external files, scripts or
fonts; Dutch or English."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kbz_eval.report import formatting as fmt

_TEXT = {
    "en": {
        "synthetic": "Synthetic data. This report was made from the synthetic sample that "
        "ships with kbz_eval. No real person is in it; its figures were calibrated to the "
        "published Overvecht results to show how the analyses work, not to prove anything.",
        "overview": "Quadruple Aim at a glance",
        "aim": "Aim",
        "not_run": "not computed: its inputs are not configured",
        "quality": "Data quality",
        "quality_intro": "Rows read from each input, rows kept, and rows rejected with the "
        "rule that rejected them; for claim lines, where the claims engine put every line.",
        "method": "Method and assumptions",
        "warnings": "Caveats",
        "figure_data": "Data behind the figure",
        "table": "All estimates",
        "suppression": "Cells resting on fewer than {n} persons are not shown and read "
        "'too few observations'; when one cell of a year is hidden, the next smallest is "
        "hidden too.",
        "files": "Every figure is also in figures/ (PNG, SVG and the CSV behind it); every "
        "table is in tables/ and in report.xlsx; manifest.json records inputs, settings and "
        "versions.",
        "practice_pages": "A page per practice: its funnel position, trends with control "
        "limits, ranking and IVM against the other practices",
    },
    "nl": {
        "synthetic": "Synthetische gegevens. Dit rapport is gemaakt met de synthetische "
        "steekproef die met kbz_eval wordt meegeleverd. Er staat geen echte persoon in; de "
        "cijfers zijn afgestemd op de gepubliceerde resultaten uit Overvecht om te laten "
        "zien hoe de analyses werken, niet om iets te bewijzen.",
        "overview": "Quadruple Aim in één oogopslag",
        "aim": "Doel",
        "not_run": "niet berekend: de invoer ontbreekt in de configuratie",
        "quality": "Datakwaliteit",
        "quality_intro": "Rijen gelezen per bestand, rijen behouden, en rijen afgewezen met "
        "de regel die ze afwees; voor declaratieregels waar de rekenmotor elke regel liet.",
        "method": "Methode en aannames (Engelstalig)",
        "warnings": "Kanttekeningen (Engelstalig)",
        "figure_data": "Gegevens achter de figuur",
        "table": "Alle schattingen",
        "suppression": "Cellen die op minder dan {n} personen rusten worden niet getoond en "
        "lezen 'onvoldoende waarnemingen'; als één cel van een jaar verborgen is, wordt de "
        "op één na kleinste ook verborgen.",
        "files": "Elke figuur staat ook in figures/ (PNG, SVG en de CSV erachter); elke tabel "
        "staat in tables/ en in report.xlsx; manifest.json legt invoer, instellingen en "
        "versies vast.",
        "practice_pages": "Een pagina per praktijk: de plaats in de trechter, trends met "
        "controlegrenzen, rangorde en IVM tegenover de andere praktijken",
    },
}

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:64rem;margin:2rem auto;
padding:0 1rem;color:#1b1b1b;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #ccc;padding:.2rem .45rem;text-align:right}
th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}
.synthetic{background:#fff4ce;border:2px solid #c98a00;padding:.75rem 1rem;font-weight:600}
.aims{display:grid;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));gap:1rem}
.aim{border:1px solid #bbb;border-radius:.4rem;padding:.75rem}
.aim .value{font-size:1.6rem;font-weight:700}.aim .ci{color:#555}
figure{margin:1rem 0}figure img{max-width:100%;height:auto}
details{margin:.5rem 0}.warn{color:#8a3b00}
.scroll{overflow-x:auto;max-width:100%}.nav{font-size:.95rem}
.withheld{background:#f4f4f4;border-left:4px solid #888;padding:.4rem .75rem}
"""


@dataclass
class Section:
    """One analysis section: title, embedded figure, text, tables, method, caveats."""

    title: str
    key: str = ""
    image: str = ""  # base64 PNG
    paragraphs: list[str] = field(default_factory=list)
    tables: list[pd.DataFrame] = field(default_factory=list)
    method: str = ""
    warnings: list[str] = field(default_factory=list)


def _cell(value: Any, language: str) -> str:
    if value is None or value is pd.NA:
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return fmt.number(int(value), language=language)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if np.isnan(v):
            return "—"
        if v.is_integer() and abs(v) >= 1:
            return fmt.number(v, language=language)
        decimals = 1 if abs(v) >= 100 else 2 if abs(v) >= 1 else 3
        return fmt.number(v, language=language, decimals=decimals)
    return str(value)


def display(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    """The frame as text, numbers in the language's format (for HTML tables)."""
    out = pd.DataFrame({c: [_cell(v, language) for v in frame[c].tolist()]
                        for c in frame.columns})
    return out


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, na_rep="—", border=0, escape=True)


def document(*, title: str, language: str, body: list[str]) -> str:
    """A whole self-contained HTML page (the report's style) around ``body`` parts."""
    return (
        "<!DOCTYPE html>\n"
        f"<html lang='{language}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def render(
    *, title: str, language: str, synthetic: bool, panels: list[Any], aims: dict[int, dict],
    sections: list[Section], quality: pd.DataFrame, threshold: int,
    notes: list[str] | None = None, practice_index: str | None = None,
) -> str:
    """Render the whole report as one HTML string (deterministic for the same input).

    ``practice_index``: relative link to the index of the per-practice pages, when they
    were written.
    """
    t = _TEXT[language]
    body = [f"<h1>{html.escape(title)}</h1>"]
    if synthetic:
        body.append(f"<p class='synthetic' role='alert'>{html.escape(t['synthetic'])}</p>")
    if practice_index:
        body.append(f"<p class='nav'><a id='practice-pages' "
                    f"href='{html.escape(practice_index)}'>"
                    f"{html.escape(t['practice_pages'])}</a></p>")
    body.append(f"<h2 id='overview'>{html.escape(t['overview'])}</h2><div class='aims'>")
    by_aim = {p.aim: p for p in panels}
    for aim, names in aims.items():
        p = by_aim.get(aim)
        body.append(f"<div class='aim'><div>{t['aim']} {aim}: "
                    f"<strong>{html.escape(names[language])}</strong></div>")
        if p is None:
            body.append(f"<p>{html.escape(t['not_run'])}</p></div>")
            continue
        body.append(f"<div class='value'>{html.escape(p.value)}</div>"
                    f"<div class='ci'>95% CI {html.escape(p.interval)}</div>"
                    f"<p>{html.escape(p.sentence)}</p></div>")
    body.append("</div>")
    for sec in sections:
        body.append(f"<h2 id='{html.escape(sec.key)}'>{html.escape(sec.title)}</h2>")
        if sec.image:
            body.append(f"<figure><img src='data:image/png;base64,{sec.image}' "
                        f"alt='{html.escape(sec.title)}' width='700'></figure>")
        body += [f"<p>{html.escape(p)}</p>" for p in sec.paragraphs]
        for w in sec.warnings:
            body.append(f"<p class='warn'>⚠ {html.escape(w)}</p>")
        for frame in sec.tables:
            body.append(f"<details><summary>{html.escape(t['table'])}</summary>"
                        f"{_table(frame)}</details>")
        if sec.method:
            body.append(f"<details><summary>{html.escape(t['method'])}</summary>"
                        f"<p>{html.escape(sec.method)}</p></details>")
    for note in notes or []:
        body.append(f"<p class='warn'>{html.escape(note)}</p>")
    body.append(f"<h2 id='data-quality'>{html.escape(t['quality'])}</h2>")
    body.append(f"<p>{html.escape(t['quality_intro'])}</p>{_table(quality)}")
    body.append(f"<p><small>{html.escape(t['suppression'].format(n=threshold))} "
                f"{html.escape(t['files'])}</small></p>")
    return document(title=title, language=language, body=body)
