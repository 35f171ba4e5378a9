"""The identifier guard: refuse inputs that hold direct identifiers.

kbz_eval works on pseudonymised extracts only. :func:`check_identifiers` looks at the
column names and at a sample of the values of a table and raises
:class:`~kbz_eval.errors.IdentifierError` when it finds a direct identifier: a BSN
(*burgerservicenummer*, the Dutch citizen service number), a name, an address, an e-mail
address or telephone number, a full birth date or a six-character postcode. The readers
in :mod:`kbz_eval.io` call it on the raw columns of every file before anything else is
done with the data, and again after a mapping has renamed the columns.

Rules
-----
Column names are normalised first: lower case, accents removed, every run of characters
other than letters and digits replaced by ``_``, then digits dropped from the end of
every word and words that are only digits dropped (``voornaam1``, ``naam_1`` and
``achternaam2`` read as ``voornaam``, ``naam`` and ``achternaam``).

1. *Identifier names* (rule ``name``). A column is refused when its normalised name,
   with the underscores removed, is one of :data:`IDENTIFIER_NAMES` (``bsn``, ``naam``,
   ``patient``, ``client``, ``clientnaam``, ``tussenvoegsel``, ``initialen``,
   ``birth_date``, ``geb_datum``, ``e-mail``, ...), or when it consists of one
   identifier word plus only words that qualify a *person* (:data:`PERSON_WORDS`:
   ``bsn_patient``, ``naam_verzekerde``, ``first_name``, ``home_address``). A name word
   qualified by anything else is not a person's name and passes: ``practice_name``,
   ``naam_praktijk``, ``gemeentenaam``, ``aantal_bsn`` (a count of insured persons),
   ``bsn_hash`` (its values are still checked by the value rules). ``patient`` and
   ``client`` alone are refused (such a column usually holds the person's name);
   ``patient_id`` and ``clientnummer`` pass.

The value rules look at no more than :data:`SAMPLE_SIZE` non-null values per column,
spread evenly over the column (*the values checked*). A *text value* is one that holds
a letter.

2. *BSN numbers* (rule ``bsn-eleven-test``). The column's *BSN-shaped numbers* are its
   whole values of nine digits, or eight (a leading zero lost in a spreadsheet), bare or
   written in groups 3-3-3 or 4-2-3 separated by ``.``, a space or ``-`` (``123456789``,
   ``123.456.789``, ``1234 56 789``), and the nine-digit numbers that stand alone inside
   longer values (``pt 123456789 gebeld``). Of its ``n`` distinct BSN-shaped numbers,
   ``k`` pass the eleven-test. A number that is not a BSN passes with probability 1/11
   (:data:`BSN_CHANCE`), so a column of claim or invoice numbers has about 9 % passing.
   The column is refused when the passing count is far above that chance, by a
   one-sided binomial test, ``P = P(Binomial(n, 1/11) >= k)``:

   - ``k >= 20 % of n`` (:data:`BSN_MIN_SHARE`) and ``P <= 1e-6``
     (:data:`BSN_ALPHA`); or
   - for small columns, where the first condition cannot be reached, ``k > 50 % of n``
     and ``P <= 1e-3`` (:data:`BSN_SMALL_ALPHA`): three of three, four of five, six of
     ten...

   A column of 1,000 random nine-digit ids (about 91 passing, standard deviation 9)
   would need 200 passing: probability 4e-26. A column in which 40 % of the values are
   BSNs is refused from about 30 distinct numbers on.
3. *BSN written out in text* (rule ``bsn-in-text``). At least one text value holds a
   number written the way BSNs are written, in groups 3-3-3 or 4-2-3 separated by
   ``.``, a space or ``-`` (``opmerking: 1234.56.789``), that passes the eleven-test.
   Other numbers are rarely written so, and a remark has no reason to hold a written-out
   citizen number: one is enough. Unformatted nine-digit numbers in text count toward
   rule 2 only, because a lone one cannot be told from a claim number.
4. *Birth dates* (rules ``birth-date-name`` and ``birth-date-spread``). *Full dates*
   are values with a day, month and year: date and datetime values, and text as
   ``1960-03-01``, ``1960/03/01``, ``01-03-1960``, ``1-3-1960``, ``01/03/1960`` or
   ``01.03.1960``, with or without a time. Dates that all fall on the same day of the
   year (a birth year stored as 1 January) carry a year only and are not full dates.
   A column is refused when more than half of its values checked are full dates and

   - its name speaks of birth (``birth``, ``dob``, ``born``, ``geboorte…``,
     ``geboren``, ``geb_dat…``); or
   - whatever its name, their spread is that of birth dates: at least three distinct
     dates, the earliest at least 18 years before today and an inter-quartile range of
     the years of at least 10 years (:data:`BIRTH_MIN_IQR_YEARS`). The dates of an
     extract's period (claims and insured periods in 2012-2016, survey dates) span a
     few years and pass.

   ``birth_year`` with years passes.
5. *Postcodes* (rule ``postcode``). A value *holds a postcode* when it is a
   six-character Dutch postcode in any spelling (``1234 AB``, ``1234AB``, ``1234ab``,
   ``1234-AB``, ``1234  ab``) or, inside longer text, holds one written with capitals
   (``3562 AB``, ``3562AB``, ``3562-AB``) or with small letters joined to the digits
   (``3562ab``). Two letters that are a unit (``mg``, ``ml``, ``kg``, ``IE``, ...) or
   that PostNL does not use (``SA``, ``SD``, ``SS``) are no postcode. The column is
   refused when at least two distinct values checked hold a postcode, or more than half
   of them do. Four-digit PC4 codes pass.
6. *E-mail addresses* (rule ``email``). More than half of the values checked look like
   an e-mail address.
7. *Free text* (rule ``free-text``). At least 50 distinct values checked
   (:data:`FREE_TEXT_MIN_DISTINCT`), and more than 30 % of the values checked
   (:data:`FREE_TEXT_SHARE`) hold two words: a word, or an initial with a full stop,
   followed by a space (or a full stop, or a comma and a space) and a word of at least
   two letters (``Jan de Vries``, ``M. Jansen``, ``Jansen, M.``, ``pt gebeld``). Such a
   column holds names or running text that can hold names. Codes and categories pass:
   ``M``/``F``, care types, practice ids (``P01``), area codes (``WK034403``),
   municipality names (``Utrecht``, ``S GRAVENHAGE``: about 10 % of Dutch municipality
   names have two words).

Declarations
------------
A column the guard takes for something it is not can be *declared*, in the mapping's
``[identifiers]`` table (see :mod:`kbz_eval.io`) or with ``declared=`` of
:func:`check_identifiers`::

    [identifiers]
    not_bsn = ["claim_nr"]          # numbers with an eleven-test check digit: rules 2, 3
    free_text = ["opmerking"]       # checked running text without names: rule 7
    not_birth_date = ["inschrijfdatum"]  # dates that are no birth dates: rule 4, spread

A declaration lifts only the named value rule, for the named column: a column declared
``not_bsn`` is still refused for an identifier name, full birth dates, postcodes, e-mail
addresses or free text, and a column declared ``free_text`` is still checked for
BSNs and postcodes inside its text. Declared names are the names in the file (the export
names, before a mapping renames them); a name that is not a column of the file is an
error (:class:`~kbz_eval.errors.SpecificationError`).

The error message names the input, every refused column, its rule and how many of the
values checked broke it; it never repeats an offending value.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kbz_eval.errors import IdentifierError, SpecificationError

#: Largest number of non-null values per column the value rules look at.
SAMPLE_SIZE = 10_000

#: Share of the values checked above which the simple value rules refuse a column
#: (e-mail addresses, postcodes, full dates), and the share of passing numbers the
#: small-column BSN rule needs.
VALUE_SHARE = 0.5

#: Probability that a number which is not a BSN passes the eleven-test.
BSN_CHANCE = 1 / 11

#: Significance level of the binomial test of the BSN rule.
BSN_ALPHA = 1e-6

#: Smallest share of passing BSN-shaped numbers for the BSN rule.
BSN_MIN_SHARE = 0.2

#: Significance level of the BSN rule for small columns (more than half passing).
BSN_SMALL_ALPHA = 1e-3

#: Years before today the earliest of a column's dates must lie for birth dates.
BIRTH_MIN_AGE_YEARS = 18

#: Smallest inter-quartile range of the years of birth dates.
BIRTH_MIN_IQR_YEARS = 10

#: Smallest number of distinct dates the spread rule judges.
BIRTH_MIN_DISTINCT = 3

#: Distinct values holding a postcode from which a column is refused.
POSTCODE_MIN_DISTINCT = 2

#: Smallest number of distinct values in a free-text column.
FREE_TEXT_MIN_DISTINCT = 50

#: Share of values holding two words above which a column is free text.
FREE_TEXT_SHARE = 0.3

#: What can be declared about a column, and which value rules the declaration lifts.
DECLARATION_KINDS = {
    "not_bsn": "rules bsn-eleven-test and bsn-in-text",
    "free_text": "rule free-text",
    "not_birth_date": "rule birth-date-spread",
}

_BSN, _NAME, _ADDRESS = "a BSN", "a person's name", "an address"
_EMAIL_KIND, _PHONE, _BIRTH = "an e-mail address", "a telephone number", "a full birth date"

#: Normalised names (underscores removed) that are direct identifiers by themselves,
#: with what they identify.
IDENTIFIER_NAMES = {
    **dict.fromkeys(
        ("bsn", "burgerservicenummer", "sofinummer", "sofinr", "socialsecuritynumber",
         "ssn"), _BSN),
    **dict.fromkeys(
        ("naam", "name", "voornaam", "voornamen", "achternaam", "roepnaam", "geslachtsnaam",
         "voorletters", "voorletter", "initialen", "initials", "tussenvoegsel",
         "tussenvoegsels", "meisjesnaam", "geboortenaam", "surname", "firstname",
         "lastname", "middlename", "fullname", "givenname", "familyname", "volledigenaam",
         "patient", "client", "patientnaam", "clientnaam", "naampatient", "naamclient",
         "patientname", "clientname"), _NAME),
    **dict.fromkeys(
        ("adres", "address", "straat", "straatnaam", "street", "huisnummer", "housenumber",
         "woonadres", "homeaddress"), _ADDRESS),
    **dict.fromkeys(("email", "emailadres", "emailaddress"), _EMAIL_KIND),
    **dict.fromkeys(
        ("telefoon", "telefoonnummer", "telnr", "phone", "phonenumber", "mobielnummer"),
        _PHONE),
    **dict.fromkeys(
        ("geboortedatum", "geboortedat", "gebdatum", "gebdat", "birthdate", "dateofbirth",
         "dob"), _BIRTH),
}

#: Single words that name an identifier when only person words qualify them.
IDENTIFIER_WORDS = frozenset({
    "bsn", "burgerservicenummer", "sofinummer", "naam", "name", "voornaam", "achternaam",
    "roepnaam", "voorletters", "initialen", "tussenvoegsel", "surname", "adres",
    "address", "straat", "straatnaam", "street", "huisnummer", "email", "telefoon",
    "telefoonnummer", "phone", "geboortedatum", "gebdatum", "dob",
})

#: Words that qualify a person (or an identifier's form) rather than something else.
PERSON_WORDS = frozenset({
    "patient", "client", "verzekerde", "insured", "persoon", "person", "member", "lid",
    "klant", "customer", "respondent", "deelnemer", "participant", "medewerker",
    "employee", "first", "last", "full", "family", "given", "nr", "nummer", "number",
    "no", "id", "home", "thuis", "woon", "mobile", "mobiel", "prive", "private",
    "contact", "of", "the", "van", "de", "het",
})

_BIRTH_WORDS = ("birth", "geboorte", "geboren", "gebdat")
_BIRTH_TOKENS = frozenset({"dob", "born", "birth", "geboren", "geb"})


@dataclass(frozen=True)
class _Rx:
    """A pattern run in two steps over the distinct values of a text column.

    ``fast`` (RE2 syntax, run by pyarrow on every value at once) selects the candidate
    values; ``exact`` (Python :mod:`re`), when given, decides on the candidates. Values
    have their runs of white space made one space and are stripped.
    """

    fast: str
    exact: re.Pattern[str] | None = None


_NOT_POSTCODE_LETTERS = "mg|ml|kg|km|cm|mm|cl|dl|ie|eh|sa|sd|ss"
_BSN_WHOLE = _Rx(
    r"^(?:\d{8,9}|\d{3}\.\d{3}\.\d{3}|\d{3} \d{3} \d{3}|\d{3}-\d{3}-\d{3}"
    r"|\d{4}\.\d{2}\.\d{3}|\d{4} \d{2} \d{3}|\d{4}-\d{2}-\d{3})$")
_BSN_TOKEN = _Rx(
    r"\d{9}|\d{3}[ .-]\d{3}[ .-]\d{3}|\d{4}[ .-]\d{2}[ .-]\d{3}",
    re.compile(r"(?<!\d)(?<!\d[ .,/-])"
               r"(\d{9}|\d{3}([ .-])\d{3}\2\d{3}|\d{4}([ .-])\d{2}\3\d{3})"
               r"(?!\d)(?![ .,/-]\d)"))
_POSTCODE_WHOLE = _Rx(
    r"(?i)^[1-9]\d{3} ?-? ?[a-z]{2}$",
    re.compile(rf"(?i)^[1-9]\d{{3}} ?-? ?(?!(?:{_NOT_POSTCODE_LETTERS})$)[a-z]{{2}}$"))
_POSTCODE_IN_TEXT = _Rx(
    r"[1-9]\d{3}[ -]?[A-Za-z]{2}",
    re.compile(
        rf"(?<!\w)[1-9]\d{{3}}(?:-| ?)(?!(?:{_NOT_POSTCODE_LETTERS.upper()})\b)[A-Z]{{2}}"
        rf"(?!\w)|(?<!\w)[1-9]\d{{3}}-?(?!(?:{_NOT_POSTCODE_LETTERS})\b)[a-z]{{2}}(?!\w)"))
_EMAIL = _Rx(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_LETTER = _Rx(r"\pL")
_TWO_WORDS = _Rx(r"\pL+(?:\. ?|,? )\pL{2}|\pL{2}, ?\pL")
_DATE = _Rx(
    r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}",
    re.compile(r"^(?:(?P<y1>\d{4})(?P<s1>[-/.])(?P<m1>\d{1,2})(?P=s1)(?P<d1>\d{1,2})"
               r"|(?P<d2>\d{1,2})(?P<s2>[-/.])(?P<m2>\d{1,2})(?P=s2)(?P<y2>\d{4}))"
               r"(?:[ T].*)?$"))
_BSN_WHOLE_PY = re.compile(_BSN_WHOLE.fast)

_HOW_TO = """\
  How to fix: pseudonymise at the source, before exporting:
    - replace BSNs and other person numbers by a keyed hash (for example HMAC-SHA-256
      with a secret salt that stays with the data holder);
    - drop names, addresses, e-mail addresses, telephone numbers and free text;
    - keep only the birth year (`birth_year`) or an age band, not the birth date;
    - shorten postcodes to PC4 (the 4 digits).
  Nothing has been processed further or written."""

_HOW_TO_DECLARE = """\
  A column that is not what the guard takes it for can be declared in the mapping's
  [identifiers] table (not_bsn, free_text or not_birth_date = ["column", ...]); see
  kbz_eval.privacy."""


@dataclass(frozen=True)
class IdentifierFinding:
    """One column that holds (or is named as) a direct identifier.

    Attributes
    ----------
    column
        Column name as in the input.
    kind
        ``"name"``, ``"bsn"``, ``"birth_date"``, ``"postcode"``, ``"email"`` or
        ``"free_text"``.
    reason
        Why the column was refused, without any of its values.
    rule
        The rule that refused it, as named in the module docstring (``"name"``,
        ``"bsn-eleven-test"``, ``"bsn-in-text"``, ``"birth-date-name"``,
        ``"birth-date-spread"``, ``"postcode"``, ``"email"``, ``"free-text"``).
    """

    column: str
    kind: str
    reason: str
    rule: str = ""


@dataclass(frozen=True)
class Declarations:
    """Columns declared not to be what a value rule would take them for.

    Attributes
    ----------
    not_bsn
        Columns whose numbers are no BSNs (e.g. claim numbers with an eleven-test check
        digit); lifts rules ``bsn-eleven-test`` and ``bsn-in-text``.
    free_text
        Columns of running text checked to hold no names; lifts rule ``free-text``.
    not_birth_date
        Columns of dates that are no birth dates (e.g. registration dates); lifts rule
        ``birth-date-spread``.

    Notes
    -----
    A declaration lifts the named rule only; the column is still checked by every other
    rule. :func:`check_identifiers` refuses declared names that are not columns of the
    table.
    """

    not_bsn: frozenset[str] = frozenset()
    free_text: frozenset[str] = frozenset()
    not_birth_date: frozenset[str] = frozenset()

    @classmethod
    def from_mapping(cls, value: object, *, source: str = "<dict>") -> Declarations:
        """Read declarations given as ``{"not_bsn": [...], "free_text": [...], ...}``.

        Parameters
        ----------
        value
            A :class:`Declarations`, a mapping from a kind in :data:`DECLARATION_KINDS`
            to a list of column names, or ``None`` (nothing declared).
        source
            Where the declarations come from, for messages.

        Returns
        -------
        Declarations

        Raises
        ------
        SpecificationError
            For an unknown kind or a value that is not a list of column names.
        """
        if value is None:
            return cls()
        if isinstance(value, Declarations):
            return value
        if not isinstance(value, Mapping):
            raise SpecificationError(
                f"{source}: [identifiers] must be a table such as "
                '[identifiers] not_bsn = ["claim_nr"], not ' f"{type(value).__name__}."
            )
        unknown = sorted(str(k) for k in value if k not in DECLARATION_KINDS)
        if unknown:
            raise SpecificationError(
                f"{source}: unknown declaration(s) {unknown} in [identifiers]; allowed: "
                f"{sorted(DECLARATION_KINDS)}."
            )
        kinds = {}
        for kind, names in value.items():
            if isinstance(names, str):
                names = [names]
            names = list(names) if isinstance(names, Iterable) else [None]
            if not all(isinstance(n, str) and n.strip() for n in names):
                raise SpecificationError(
                    f"{source}: [identifiers] {kind} must be a list of column names, "
                    f'e.g. {kind} = ["column"].'
                )
            kinds[kind] = frozenset(n.strip() for n in names)
        return cls(**kinds)

    def columns(self) -> set[str]:
        """Every declared column name."""
        return set(self.not_bsn) | set(self.free_text) | set(self.not_birth_date)

    def renamed(self, renames: Mapping[str, str]) -> Declarations:
        """The declarations with columns renamed as a mapping renames them."""
        def rename(names: frozenset[str]) -> frozenset[str]:
            return frozenset(renames.get(n, n) for n in names)
        return Declarations(rename(self.not_bsn), rename(self.free_text),
                            rename(self.not_birth_date))

    def as_dict(self) -> dict[str, list[str]]:
        """The declarations as plain data (kinds with sorted column names)."""
        return {kind: sorted(getattr(self, kind)) for kind in DECLARATION_KINDS
                if getattr(self, kind)}

    def __bool__(self) -> bool:
        return bool(self.columns())


def normalise_name(name: object) -> str:
    """Lower-case ``name``, strip accents and join its words with ``_``."""
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def eleven_test(values: object) -> np.ndarray:
    """Whether each value is a valid BSN by the eleven-test (elfproef).

    Parameters
    ----------
    values
        Strings or integers; eight-digit values are read with a leading zero. Strings
        may be written in groups 3-3-3 or 4-2-3 separated by ``.``, a space or ``-``
        (``123.456.789``, ``1234 56 789``).

    Returns
    -------
    numpy.ndarray of bool
        True where the value has 8 or 9 digits, is not all zeros and
        ``9*d1 + 8*d2 + 7*d3 + 6*d4 + 5*d5 + 4*d6 + 3*d7 + 2*d8 - 1*d9`` is divisible
        by 11.
    """
    return _passes(_whole_bsn_digits(pd.Series(values)))


def find_identifiers(
    df: pd.DataFrame, *, declared: Declarations | Mapping[str, object] | None = None
) -> list[IdentifierFinding]:
    """The columns of ``df`` that hold direct identifiers (see the module's rules).

    Parameters
    ----------
    df
        Any table; it is not changed.
    declared
        Columns declared not to be what a value rule would take them for
        (:class:`Declarations`, or a mapping such as ``{"not_bsn": ["claim_nr"]}``).

    Returns
    -------
    list of IdentifierFinding
        One finding per refused column, in column order; empty when nothing is found.

    Raises
    ------
    SpecificationError
        For a declared name that is not a column of ``df``, or a bad declaration.
    """
    decl = _declarations(df, declared)
    findings = []
    for column in df.columns:
        found = _name_finding(column) or _value_finding(column, df[column], decl)
        if found is not None:
            findings.append(found)
    return findings


def check_identifiers(
    df: pd.DataFrame,
    *,
    source: str = "<DataFrame>",
    declared: Declarations | Mapping[str, object] | None = None,
) -> None:
    """Refuse ``df`` when it holds direct identifiers.

    Parameters
    ----------
    df
        The table to check, with its columns as they are (raw or mapped).
    source
        Name of the input for the message (a file path or ``"<DataFrame>"``).
    declared
        Columns declared not to be what a value rule would take them for:
        :class:`Declarations`, or a mapping such as
        ``{"not_bsn": ["claim_nr"], "free_text": ["opmerking"]}`` (kinds in
        :data:`DECLARATION_KINDS`). The names must be columns of ``df``.

    Raises
    ------
    IdentifierError
        Naming every refused column, its rule and how many values broke it, and saying
        how to pseudonymise. The error's ``findings`` attribute holds the
        :class:`IdentifierFinding` objects.
    SpecificationError
        For a declared name that is not a column of ``df``, or a bad declaration.

    Notes
    -----
    The rules are listed in the module docstring. Values are sampled (at most
    ``SAMPLE_SIZE`` per column), so the check is fast on large tables.

    Examples
    --------
    >>> import pandas as pd
    >>> check_identifiers(pd.DataFrame({"person_id": ["p1"], "birth_year": [1960]}))
    >>> check_identifiers(pd.DataFrame({"bsn": ["111222333"]}))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    kbz_eval.errors.IdentifierError: <DataFrame>: refused, the input holds direct ...
    >>> claims = pd.DataFrame({"claim_nr": ["111222333", "123456782", "100000009"]})
    >>> check_identifiers(claims, declared={"not_bsn": ["claim_nr"]})
    """
    try:
        findings = find_identifiers(df, declared=declared)
    except SpecificationError as exc:
        raise SpecificationError(f"{source}: {exc}") from None
    if not findings:
        return
    lines = [
        f"{source}: refused, the input holds direct identifiers "
        f"({len(findings)} column{'s' if len(findings) != 1 else ''}):"
    ]
    lines += [f"  - column '{f.column}' (rule {f.rule}): {f.reason}" for f in findings]
    lines.append(_HOW_TO)
    if any(f.rule in ("bsn-eleven-test", "bsn-in-text", "free-text", "birth-date-spread")
           for f in findings):
        lines.append(_HOW_TO_DECLARE)
    err = IdentifierError("\n".join(lines))
    err.findings = findings
    raise err


# ---------------------------------------------------------------------------
# declarations


def _declarations(
    df: pd.DataFrame, declared: Declarations | Mapping[str, object] | None
) -> Declarations:
    decl = Declarations.from_mapping(declared, source="`declared`")
    columns = {str(c) for c in df.columns}
    unknown = sorted(decl.columns() - columns)
    if unknown:
        raise SpecificationError(
            f"the declared column(s) {unknown} are not columns of the input; declarations "
            f"([identifiers]) use the file's own column names. Columns: "
            f"{[str(c) for c in df.columns]}."
        )
    return decl


# ---------------------------------------------------------------------------
# rules


def _name_tokens(column: object) -> list[str]:
    """The words of a normalised name, digits dropped from their ends."""
    tokens = (re.sub(r"\d+$", "", t) for t in normalise_name(column).split("_"))
    return [t for t in tokens if t]


def _name_finding(column: object) -> IdentifierFinding | None:
    tokens = _name_tokens(column)
    kind = IDENTIFIER_NAMES.get("".join(tokens))
    if kind is None:
        words = [t for t in tokens if t in IDENTIFIER_WORDS]
        rest = [t for t in tokens if t not in IDENTIFIER_WORDS]
        if len(words) == 1 and all(t in PERSON_WORDS for t in rest):
            kind = IDENTIFIER_NAMES[words[0]]
    if kind is None:
        return None
    if kind == _BIRTH:
        advice = "keep the birth year only"
    elif kind == _NAME and "".join(tokens) in ("patient", "client"):
        advice = ("drop the column; a column of pseudonyms can be exported as e.g. "
                  "patient_id")
    else:
        advice = "drop the column or replace it by a pseudonym"
    return IdentifierFinding(
        str(column), "name", f"the column name says it holds {kind}; {advice}", "name"
    )


def _value_finding(
    column: object, values: pd.Series, declared: Declarations
) -> IdentifierFinding | None:
    sample = _sample(values)
    if sample.empty:
        return None
    name = str(column)
    lines = _Lines.of(sample)
    checked = f"of the {len(sample):,} values checked"
    if name not in declared.not_bsn:
        found = _bsn_finding(name, sample, lines, checked)
        if found is not None:
            return found
    found = _birth_finding(column, sample, lines, checked,
                           spread=name not in declared.not_birth_date)
    if found is not None:
        return found
    if lines is None:
        return None
    found = _postcode_finding(name, lines, checked)
    if found is not None:
        return found
    share = lines.share(lines.contains(_EMAIL))
    if share > VALUE_SHARE:
        return IdentifierFinding(
            name, "email", f"{share:.0%} {checked} are e-mail addresses", "email"
        )
    if name not in declared.free_text:
        return _free_text_finding(name, lines, checked)
    return None


def _bsn_finding(
    name: str, sample: pd.Series, lines: _Lines | None, checked: str
) -> IdentifierFinding | None:
    if lines is None:
        numbers = _numeric_bsn_digits(sample).dropna()
    else:
        whole = lines.contains(_BSN_WHOLE)
        numbers = pd.Series([_digits(v) for v in lines.values[whole]], dtype=object)
        hits = lines.findall(_BSN_TOKEN, skip=whole)
        if hits:
            where = np.array([i for i, _ in hits], dtype=np.int64)
            tokens = [m.group(1) for _, m in hits]
            digits = pd.Series([_digits(t) for t in tokens], dtype=object)
            written = np.array([len(t) > 9 for t in tokens], dtype=bool)
            in_text = lines.contains(_LETTER)[where]
            out = np.unique(where[written & in_text & _passes(digits)])
            if len(out):
                n_values = int(lines.counts[out].sum())
                return IdentifierFinding(
                    name, "bsn",
                    f"{n_values:,} {checked} {_are(n_values)} text holding a number "
                    "written out as a BSN (digits in groups of 3-3-3 or 4-2-3) that passes "
                    "the BSN eleven-test",
                    "bsn-in-text",
                )
            numbers = pd.concat([numbers, digits], ignore_index=True)
    distinct = pd.Series(pd.unique(numbers.to_numpy(dtype=object)), dtype=object)
    n = len(distinct)
    if n == 0:
        return None
    k = int(_passes(distinct).sum())
    p_value = _binomial_sf(k, n, BSN_CHANCE)
    if not ((k >= BSN_MIN_SHARE * n and p_value <= BSN_ALPHA)
            or (k > VALUE_SHARE * n and p_value <= BSN_SMALL_ALPHA)):
        return None
    return IdentifierFinding(
        name, "bsn",
        f"{k:,} of the {n:,} distinct BSN-shaped numbers {checked} ({k / n:.0%}) pass the "
        f"BSN eleven-test, where about 1 in 11 pass by chance (one-sided binomial test, "
        f"p = {p_value:.1g})",
        "bsn-eleven-test",
    )


def _birth_finding(
    column: object, sample: pd.Series, lines: _Lines | None, checked: str, *,
    spread: bool,
) -> IdentifierFinding | None:
    named = _is_birth_name(column)
    if not named and not spread:
        return None
    years = _date_years(sample, lines)
    if len(years) <= VALUE_SHARE * len(sample):
        return None
    share = len(years) / len(sample)
    name = str(column)
    if named:
        return IdentifierFinding(
            name, "birth_date",
            f"{share:.0%} {checked} are full dates under a name that speaks of birth; "
            "keep the birth year only",
            "birth-date-name",
        )
    if len(np.unique(years)) < BIRTH_MIN_DISTINCT:
        return None
    today = pd.Timestamp.today()
    latest_start = today.year + (today.day_of_year - 1) / 366 - BIRTH_MIN_AGE_YEARS
    q1, q3 = np.percentile(years, [25, 75])
    if years.min() > latest_start or q3 - q1 < BIRTH_MIN_IQR_YEARS:
        return None
    return IdentifierFinding(
        name, "birth_date",
        f"{share:.0%} {checked} are full dates spread like birth dates (reaching back "
        f"more than {BIRTH_MIN_AGE_YEARS} years, inter-quartile range of the years "
        f"{q3 - q1:.0f}); keep the birth year only",
        "birth-date-spread",
    )


def _postcode_finding(name: str, lines: _Lines, checked: str) -> IdentifierFinding | None:
    holds = lines.contains(_POSTCODE_WHOLE) | lines.contains(_POSTCODE_IN_TEXT)
    distinct = int(holds.sum())
    if distinct == 0:
        return None
    share = lines.share(holds)
    if distinct < POSTCODE_MIN_DISTINCT and share <= VALUE_SHARE:
        return None
    n_values = int(lines.counts[holds].sum())
    return IdentifierFinding(
        name, "postcode",
        f"{n_values:,} {checked} ({share:.0%}) {_are(n_values)} or hold six-character "
        "postcodes; keep PC4 (the 4 digits) only",
        "postcode",
    )


def _free_text_finding(name: str, lines: _Lines, checked: str) -> IdentifierFinding | None:
    distinct = len(lines.values)
    if distinct < FREE_TEXT_MIN_DISTINCT:
        return None
    worded = lines.contains(_TWO_WORDS)
    share = lines.share(worded)
    if share <= FREE_TEXT_SHARE:
        return None
    return IdentifierFinding(
        name, "free_text",
        f"{int(lines.counts[worded].sum()):,} {checked} ({share:.0%}; {distinct:,} "
        "distinct values) hold two or more words, like names or running text that can "
        "hold names; drop the column, or declare it free_text if it holds no names",
        "free-text",
    )


def _are(n: int) -> str:
    return "is" if n == 1 else "are"


def _is_birth_name(column: object) -> bool:
    tokens = _name_tokens(column)
    joined = "".join(tokens)
    return bool(set(tokens) & _BIRTH_TOKENS) or any(w in joined for w in _BIRTH_WORDS)


# ---------------------------------------------------------------------------
# values


def _sample(values: pd.Series) -> pd.Series:
    """At most ``SAMPLE_SIZE`` non-null values, spread evenly over the column."""
    s = values.dropna()
    if len(s) > SAMPLE_SIZE:
        s = s.iloc[np.linspace(0, len(s) - 1, SAMPLE_SIZE).astype(np.int64)]
    if isinstance(s.dtype, pd.CategoricalDtype):  # judged as the values they label
        s = s.astype(s.cat.categories.dtype)
    return s.reset_index(drop=True)


class _Lines:
    """The distinct values of a text column, for regex scans (see :class:`_Rx`).

    Each value is written as text with its runs of white space made one space and
    stripped; ``counts`` says how many sampled values each distinct value stands for.
    """

    def __init__(self, values: pa.Array, counts: np.ndarray) -> None:
        self.arrow = values
        self.values = np.array(values.to_pylist(), dtype=object)
        self.counts = counts
        self.total = int(counts.sum())
        self._cache: dict[_Rx, np.ndarray] = {}

    @classmethod
    def of(cls, sample: pd.Series) -> _Lines | None:
        """The lines of a text column (``None`` for numeric, boolean and date columns)."""
        if sample.dtype != object and not pd.api.types.is_string_dtype(sample.dtype):
            return None
        counts = sample.value_counts(sort=False, dropna=True)
        values = counts.index.tolist()
        if not all(isinstance(v, str) for v in values):
            values = [_scalar_text(v) for v in values]
        raw = pa.array(values, type=pa.string())
        text = pc.utf8_trim_whitespace(pc.replace_substring_regex(
            raw, pattern=r"[\s\x{00A0}]+", replacement=" "))
        n = counts.to_numpy(dtype=np.int64)
        if not pc.all(pc.equal(raw, text)).as_py():
            merged = pd.Series(n).groupby(text.to_numpy(zero_copy_only=False),
                                          sort=False).sum()
            text = pa.array(merged.index.tolist(), type=pa.string())
            n = merged.to_numpy(dtype=np.int64)
        return cls(text, n)

    def contains(self, rx: _Rx) -> np.ndarray:
        """Whether each value holds a match of ``rx``."""
        if rx not in self._cache:
            mask = pc.match_substring_regex(self.arrow, pattern=rx.fast).to_numpy(
                zero_copy_only=False).astype(bool)
            if rx.exact is not None:
                for i in np.flatnonzero(mask):
                    mask[i] = rx.exact.search(self.values[i]) is not None
            self._cache[rx] = mask
        return self._cache[rx]

    def findall(
        self, rx: _Rx, skip: np.ndarray | None = None
    ) -> list[tuple[int, re.Match[str]]]:
        """Every match of ``rx.exact`` (which must be given) with the index of its value,
        leaving out the values where ``skip`` is true."""
        candidates = pc.match_substring_regex(self.arrow, pattern=rx.fast).to_numpy(
            zero_copy_only=False)
        if skip is not None:
            candidates = candidates & ~skip
        return [(int(i), m) for i in np.flatnonzero(candidates)
                for m in rx.exact.finditer(self.values[i])]

    def share(self, mask: np.ndarray) -> float:
        """Share of the sampled values whose distinct value is in ``mask``."""
        return float(self.counts[mask].sum() / self.total) if self.total else 0.0


def _scalar_text(value: object) -> str:
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and value == int(value):
        return str(int(value))
    return str(value)


def _digits(text: str) -> str:
    """The digits of ``text``, with a leading zero added to eight digits."""
    return (text if text.isdigit() else re.sub(r"\D", "", text)).zfill(9)


def _numeric_bsn_digits(values: pd.Series) -> pd.Series:
    """Integral numbers of eight or nine digits as nine-digit strings; others missing."""
    out = pd.Series([None] * len(values), dtype=object)
    if pd.api.types.is_bool_dtype(values.dtype) or not pd.api.types.is_numeric_dtype(
        values.dtype
    ):
        return out
    num = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(num) & (num == np.floor(num)) & (num >= 1e7) & (num < 1e9)
    if ok.any():
        out[ok] = np.char.zfill(num[ok].astype(np.int64).astype(str), 9).astype(object)
    return out


def _whole_bsn_digits(values: pd.Series) -> pd.Series:
    """Values that are BSN-shaped numbers, as nine-digit strings; others missing."""
    values = values.reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(
        values.dtype
    ):
        return _numeric_bsn_digits(values)
    out = []
    for value in values:
        if value is None or isinstance(value, (bool, np.bool_)) or (
            isinstance(value, (int, np.integer, float, np.floating))
            and not 1e7 <= value < 1e9
        ):
            out.append(None)
            continue
        text = " ".join(_scalar_text(value).split())
        out.append(_digits(text) if _BSN_WHOLE_PY.fullmatch(text) else None)
    return pd.Series(out, dtype=object)


def _passes(digits: pd.Series) -> np.ndarray:
    """The eleven-test on nine-digit strings (missing values fail)."""
    digits = pd.Series(digits, dtype=object).reset_index(drop=True)
    out = np.zeros(len(digits), dtype=bool)
    ok = digits.notna().to_numpy()
    if not ok.any():
        return out
    raw = np.frombuffer("".join(digits[ok]).encode("ascii"), dtype=np.uint8) - ord("0")
    d = raw.reshape(-1, 9).astype(np.int64)
    weights = np.array([9, 8, 7, 6, 5, 4, 3, 2, -1], dtype=np.int64)
    out[ok] = ((d @ weights) % 11 == 0) & (d.sum(axis=1) > 0)
    return out


def _binomial_sf(k: int, n: int, p: float) -> float:
    """``P(X >= k)`` for ``X ~ Binomial(n, p)``, summed in log space."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    i = np.arange(k, n + 1, dtype=np.float64)
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1)))])
    log_pmf = (log_fact[n] - log_fact[k:] - log_fact[n - k::-1]
               + i * np.log(p) + (n - i) * np.log1p(-p))
    top = log_pmf.max()
    return float(min(1.0, np.exp(top) * np.exp(log_pmf - top).sum()))


def _date_years(sample: pd.Series, lines: _Lines | None) -> np.ndarray:
    """The full dates among the values, one fractional year per sampled value.

    Date objects in an object column (spreadsheets) are read through their text,
    ``1960-03-01 00:00:00``. Dates that all share one day of the year carry a year only,
    and give none.
    """
    if pd.api.types.is_datetime64_any_dtype(sample.dtype):
        year = sample.dt.year.to_numpy(dtype=float)
        month = sample.dt.month.to_numpy(dtype=float)
        day = sample.dt.day.to_numpy(dtype=float)
    elif lines is not None:
        found = lines.findall(_DATE)
        if not found:
            return np.empty(0)
        where = np.array([i for i, _ in found], dtype=np.int64)
        parts = np.array(
            [[m["y1"] or m["y2"], m["m1"] or m["m2"], m["d1"] or m["d2"]] for _, m in found],
            dtype=float,
        )
        year, month, day = parts[:, 0], parts[:, 1], parts[:, 2]
        swap = (month > 12) & (day <= 12)  # month-first (US) order
        month, day = np.where(swap, day, month), np.where(swap, month, day)
        reps = lines.counts[where]
        year, month, day = (np.repeat(a, reps) for a in (year, month, day))
    else:
        return np.empty(0)
    valid = (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31) & (year >= 1800) & (
        year <= 2200)
    year, month, day = year[valid], month[valid], day[valid]
    day_of_year = (month - 1) * 31 + day
    if len(day_of_year) >= 2 and np.all(day_of_year == day_of_year[0]):
        return np.empty(0)
    return year + (day_of_year - 1) / 372
