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
        "rows_shown": "The first {shown} of {total} rows; the whole table:",
        "yes": "yes",
        "no": "no",
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
        "method": "Methode en aannames",
        "warnings": "Kanttekeningen",
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
        "rows_shown": "De eerste {shown} van {total} rijen; de hele tabel:",
        "yes": "ja",
        "no": "nee",
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
.facts{display:flex;flex-wrap:wrap;gap:.4rem 1.5rem;margin:.25rem 0 1rem;padding:0;
list-style:none;color:#333}.facts li span{color:#666}
"""

#: Aims in the order the report shows them: efficiency, the question everyone asks,
#: first.
AIM_ORDER = (3, 1, 2, 4)

#: Tables longer than this are shown by their first :data:`SHOWN_ROWS` rows, with the
#: whole table linked as CSV.
LONG_TABLE = 40
SHOWN_ROWS = 20

#: Columns holding years, cohorts or event times: whole numbers without separators.
_YEAR_COLUMNS = {"year", "time", "base_time", "event_time", "first_period", "last_period",
                 "kbz_start_year", "from_year", "to_year", "base_year", "follow_year",
                 "start", "cohort", "wave", "measurement"}


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
    aim: int = 0
    table_files: list[str] = field(default_factory=list)  # CSV of each table, relative


def _year_like(column: str) -> bool:
    name = str(column).lower()
    return name in _YEAR_COLUMNS or name.endswith("_year")


def _p_like(column: str) -> bool:
    name = str(column).lower()
    return name in {"p", "p_value"} or name.startswith("p_value")


def _cell(value: Any, language: str, column: str = "") -> str:
    if value is None or value is pd.NA:
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return _TEXT[language]["yes" if value else "no"]
    if _p_like(column) and isinstance(value, (int, float, np.integer, np.floating)):
        return fmt.p_value(float(value), language=language)
    if _year_like(column) and isinstance(value, (int, float, np.integer, np.floating)):
        v = float(value)
        if np.isnan(v):
            return "—"
        if v.is_integer():
            return fmt.year(v)
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


def display(frame: pd.DataFrame, language: str, *, headers: bool = False,
            table: str | None = None) -> pd.DataFrame:
    """The frame as text, numbers in the language's format (for HTML tables); with
    ``headers``, the columns carry their plain label in ``language`` (see
    :mod:`kbz_eval.report.labels`; ``table`` picks a table's own labels)."""
    out = pd.DataFrame({c: [_cell(v, language, str(c)) for v in frame[c].tolist()]
                        for c in frame.columns})
    if headers:
        from kbz_eval.report.labels import label

        names = [label(str(c), language, table=table) for c in frame.columns]
        seen: dict[str, int] = {}
        unique = []
        for name in names:  # two columns with one label stay apart
            seen[name] = seen.get(name, 0) + 1
            unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
        out.columns = unique
    return out


def _table(frame: pd.DataFrame, language: str = "en", csv: str | None = None) -> str:
    """A table that scrolls sideways inside the page when wide; a long one shows its
    first rows and links the whole table (``csv``)."""
    note = ""
    if csv is not None and len(frame) > LONG_TABLE:
        words = _TEXT[language]["rows_shown"].format(
            shown=SHOWN_ROWS, total=fmt.number(len(frame), language=language))
        note = (f"<p>{html.escape(words)} "
                f"<a href='{html.escape(csv)}'>{html.escape(csv)}</a></p>")
        frame = frame.head(SHOWN_ROWS)
    body = frame.to_html(index=False, na_rep="—", border=0, escape=True)
    return f"{note}<div class='scroll'>{body}</div>"


def report_facts(*, language: str, period: str, source: str, date: str,
                 version: str) -> list[tuple[str, str]]:
    """The first screen's facts: period, data source, date and version, labelled."""
    words = {"en": ("Period", "Data", "Date", "kbz_eval version"),
             "nl": ("Periode", "Gegevens", "Datum", "Versie kbz_eval")}[language]
    return list(zip(words, (period, source, date, version), strict=True))


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
    facts: list[tuple[str, str]] | None = None,
) -> str:
    """Render the whole report as one HTML string (deterministic for the same input).

    ``practice_index``: relative link to the index of the per-practice pages, when they
    were written. ``facts``: the first screen's labelled facts (period, data source,
    date, version; see :func:`report_facts`). Aims and sections follow
    :data:`AIM_ORDER` (efficiency first).
    """
    t = _TEXT[language]
    body = [f"<h1>{html.escape(title)}</h1>"]
    if facts:
        body.append("<ul class='facts'>" + "".join(
            f"<li><span>{html.escape(k)}:</span> {html.escape(v)}</li>" for k, v in facts)
            + "</ul>")
    if synthetic:
        body.append(f"<p class='synthetic' role='alert'>{html.escape(t['synthetic'])}</p>")
    if practice_index:
        body.append(f"<p class='nav'><a id='practice-pages' "
                    f"href='{html.escape(practice_index)}'>"
                    f"{html.escape(t['practice_pages'])}</a></p>")
    body.append(f"<h2 id='overview'>{html.escape(t['overview'])}</h2><div class='aims'>")
    by_aim = {p.aim: p for p in panels}
    rank = {a: i for i, a in enumerate(AIM_ORDER)}
    for aim, names in sorted(aims.items(), key=lambda kv: rank.get(kv[0], len(rank))):
        p = by_aim.get(aim)
        body.append(f"<div class='aim'><div>{t['aim']} {aim}: "
                    f"<strong>{html.escape(names[language])}</strong></div>")
        if p is None:
            body.append(f"<p>{html.escape(t['not_run'])}</p></div>")
            continue
        body.append(f"<div class='value'>{html.escape(p.value)}</div>"
                    f"<div class='ci'>{fmt.ci_label(language)} {html.escape(p.interval)}</div>"
                    f"<p>{html.escape(p.sentence)}</p></div>")
    body.append("</div>")
    ordered = sorted(sections, key=lambda sec: rank.get(sec.aim, len(rank)))
    for sec in ordered:
        body.append(f"<h2 id='{html.escape(sec.key)}'>{html.escape(sec.title)}</h2>")
        if sec.image:
            body.append(f"<figure><img src='data:image/png;base64,{sec.image}' "
                        f"alt='{html.escape(sec.title)}' width='700'></figure>")
        body += [f"<p>{html.escape(p)}</p>" for p in sec.paragraphs]
        for w in sec.warnings:
            body.append(f"<p class='warn'>⚠ {html.escape(w)}</p>")
        for i, frame in enumerate(sec.tables):
            csv = sec.table_files[i] if i < len(sec.table_files) else None
            body.append(f"<details><summary>{html.escape(t['table'])}</summary>"
                        f"{_table(frame, language, csv)}</details>")
        if sec.method:
            body.append(f"<details><summary>{html.escape(t['method'])}</summary>"
                        f"<p>{html.escape(sec.method)}</p></details>")
    for note in notes or []:
        body.append(f"<p class='warn'>{html.escape(note)}</p>")
    body.append(f"<h2 id='data-quality'>{html.escape(t['quality'])}</h2>")
    body.append(f"<p>{html.escape(t['quality_intro'])}</p>{_table(quality, language)}")
    body.append(f"<p><small>{html.escape(t['suppression'].format(n=threshold))} "
                f"{html.escape(t['files'])}</small></p>")
    return document(title=title, language=language, body=body)
