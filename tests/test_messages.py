"""The message catalogue: every report sentence in Dutch and English."""

from __future__ import annotations

import html
import re

import pytest

from kbz_eval.report import messages
from kbz_eval.report.messages import CATALOGUE, localise, number, sentences, untranslated

#: English function words that no Dutch sentence of the report may hold ("is" and "of"
#: are Dutch words too, "er is", "Garwood of Clopper–Pearson", so they are left out;
#: "the" catches "of the" and "is the").
ENGLISH_WORDS = ("the", "and", "with", "are", "not", "which", "from", "than", "only",
                 "between", "for", "this", "that", "when", "its", "has", "have")
#: Names that may stay as they are inside a Dutch sentence.
PROPER_NAMES = ("Quadruple Aim", "Bland–Altman", "Bland-Altman", "Goodman-Bacon",
                "Callaway–Sant'Anna", "Callaway-Sant'Anna", "Sun–Abraham", "Sun-Abraham",
                "de Chaisemartin", "Rambachan–Roth", "Rambachan-Roth")


# ---------------------------------------------------------------- (a) the catalogue itself
def test_every_template_compiles_and_names_only_its_own_placeholders():
    messages._templates.cache_clear()
    assert len(messages._templates()) == len(CATALOGUE)
    for english, dutch in CATALOGUE.items():
        assert english.strip() == english and dutch.strip() == dutch
        assert english != dutch or not re.search(r"[a-z]{4}", english), english


def test_no_dutch_template_holds_an_english_function_word():
    for dutch in CATALOGUE.values():
        words = re.sub(r"\{[^}]*\}", " ", dutch)
        for name in PROPER_NAMES:
            words = words.replace(name, " ")
        found = [w for w in ENGLISH_WORDS if re.search(rf"(?<![\w'’-]){w}(?![\w'’-])", words)]
        assert not found, (found, dutch)


def test_no_two_templates_match_the_same_english_sentence_differently():
    for english in CATALOGUE:
        probe = messages._PLACEHOLDER.sub(
            lambda m: {"year": "2015", "text": "abc_def", "term": "ABC"}.get(
                m.group(2) or "num", "1.5"), english).removesuffix(".")
        hits = [t.english for t in messages._templates() if t.pattern.match(probe)]
        assert hits and hits[0] == english.removesuffix("."), (english, hits)


@pytest.mark.parametrize(("token", "nl", "en"), [
    ("1,234.5", "1.234,5", "1,234.5"),
    ("-0.25", "−0,25", "−0.25"),
    ("−6.0", "−6,0", "−6.0"),
    ("€356", "€ 356", "€356"),
    ("-€1,200", "−€ 1.200", "−€1,200"),
    ("12.3%", "12,3%", "12.3%"),
    ("2015", "2015", "2015"),
    ("20140101", "20140101", "20140101"),
    ("0.000", "0,000", "0.000"),
])
def test_numbers_are_written_in_the_language(token, nl, en):
    assert number(token, "nl") == nl
    assert number(token, "en") == en


def test_sentences_split_at_full_stops_but_not_after_abbreviations():
    text = ("Counts persons, e.g. minima insured. The saving is 12.5 per person. "
            "(This is a note.) 95% intervals follow.")
    assert sentences(text) == [
        "Counts persons, e.g. minima insured.", "The saving is 12.5 per person.",
        "(This is a note.)", "95% intervals follow."]


def test_a_template_matches_with_its_placeholders_and_reformats_numbers(monkeypatch):
    catalogue = {
        "Saving of EUR {x} per person in {year:year}, column {col:text}.":
            "Besparing van EUR {x} per persoon in {year}, kolom {col}.",
        "Population: {who:term}.": "Populatie: {who}.",
    }
    monkeypatch.setattr(messages, "CATALOGUE", catalogue)
    monkeypatch.setattr(messages, "TERMS", {"all insured": "alle verzekerden"})
    messages._templates.cache_clear()
    try:
        text = ("Saving of EUR -1,234.56 per person in 2015, column cost_per_year. "
                "Population: all insured. Something else entirely.")
        assert localise(text, "nl") == (
            "Besparing van EUR −1.234,56 per persoon in 2015, kolom cost_per_year. "
            "Populatie: alle verzekerden. Something else entirely.")
        assert localise(text, "en") == text
        assert untranslated(text) == ["Something else entirely."]
        with pytest.raises(ValueError, match="language"):
            localise(text, "de")
    finally:
        messages._templates.cache_clear()


@pytest.mark.parametrize(("english", "dutch"), [
    ("Figure withheld: it would show cells resting on fewer than 10 persons.",
     "Figuur weggelaten: die zou cellen tonen die op minder dan 10 personen rusten."),
    ("Headline withheld: it rests on cells of fewer than 10 persons (onvoldoende "
     "waarnemingen).",
     "Kernzin weggelaten: die rust op cellen van minder dan 10 personen (onvoldoende "
     "waarnemingen)."),
    ("open data section skipped: vektis, rivm files not found in data/ (see "
     "kbz.open_data.download)",
     "sectie open data overgeslagen: bestanden vektis, rivm niet gevonden in data/ (zie "
     "kbz.open_data.download)"),
    ("100 of 150 consultations avoided a referral: 67% (95% CI 59–74%)",
     "100 van 150 consulten voorkwamen een verwijzing: 67% (95%-BI 59–74%)"),
    ("TWFE estimate -305.7 = weighted average of 4 2x2 comparisons; 4.2% of the weight on "
     "comparisons with already-treated controls",
     "TWFE-schatting −305,7 = gewogen gemiddelde van 4 2x2-vergelijkingen; 4,2% van het "
     "gewicht op vergelijkingen met al behandelde controles"),
])
def test_pipeline_texts_and_headlines_are_written_in_dutch(english, dutch):
    assert untranslated(english) == []
    assert localise(english, "nl") == dutch
    assert localise(english, "en") == english


def test_a_term_must_be_listed_and_a_fragment_must_have_a_template():
    # "(all)" is listed, "(many)" is not: the sentence stays English and is reported
    known = ("95% intervals and p-values at the practice level (the unit KBZ is assigned "
             "to; 6 KBZ and 6 control practices): delete-one-practice jackknife variance "
             "stratified by group (CR2 for a difference of means) with a t reference on "
             "Welch–Satterthwaite degrees of freedom; randomisation p-value over 924 (all) "
             "relabellings of the practices (smallest attainable p = 0.0011).")
    assert untranslated(known) == []
    unknown = known.replace("(all)", "(many)")
    assert untranslated(unknown) == [unknown]
    assert localise(unknown, "nl") == unknown
    assert untranslated("ATT of 'kbz' on 'y' = 1.5 (somewhere else); CR1 cluster-robust, "
                        "t(10): 95% CI 1 to 2")


def test_a_template_with_an_unknown_dutch_placeholder_is_refused():
    with pytest.raises(ValueError, match="unknown placeholders"):
        messages._compile("A {x} b.", "Een {y} b.")


# ------------------------------------------------------- (b) the Dutch sample report
@pytest.fixture(scope="module")
def nl_report(shared_report_nl):
    """The Dutch sample report (kbz.toml, 199 replicates, the open data when they are
    here; built once for the run), with every section's texts as the pipeline wrote
    them before localising (recorded on the way)."""
    texts = shared_report_nl.recorded()["texts"]
    page = (shared_report_nl.folder / "report.html").read_text(encoding="utf-8")
    return texts, page


def _visible_sentences(page: str) -> list[str]:
    """The report's prose: paragraphs and summaries, without tables, figures' alt text,
    the head and the synthetic-data banner."""
    body = page.split("<body>", 1)[1]
    body = re.sub(r"<table.*?</table>", " ", body, flags=re.DOTALL)
    body = re.sub(r"<p class='synthetic'.*?</p>", " ", body, flags=re.DOTALL)
    body = re.sub(r"<img[^>]*>", " ", body)
    chunks = re.findall(r"<(?:p|summary|h1|h2)[^>]*>(.*?)</(?:p|summary|h1|h2)>", body,
                        flags=re.DOTALL)
    out = []
    for chunk in chunks:
        text = html.unescape(re.sub(r"<[^>]+>", " ", chunk))
        for name in PROPER_NAMES:
            text = text.replace(name, " ")
        out += sentences(text)
    return out


def _english(sentence: str) -> list[str]:
    return [w for w in ENGLISH_WORDS
            if re.search(rf"(?<![\w'’./_-]){w}(?![\w'’/_-])", sentence)]


def _uncovered(texts: list[str]) -> list[str]:
    return sorted({s for text in texts for s in untranslated(text)})


def test_every_report_text_has_a_catalogue_entry(nl_report):
    texts, _ = nl_report
    assert len(texts) > 20
    missing = _uncovered(texts)
    assert not missing, f"{len(missing)} sentences without a Dutch template:\n" + "\n".join(
        missing)


def test_the_dutch_report_holds_no_english_sentence(nl_report):
    _, page = nl_report
    english = [(s, _english(s)) for s in _visible_sentences(page) if _english(s)]
    assert not english, "\n".join(f"{words}: {s}" for s, words in english)
