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
Names are normalised first: lower case, accents removed, every run of characters other
than letters and digits replaced by ``_``.

1. *Identifier names.* A column is refused when its normalised name, with the
   underscores removed, is one of :data:`IDENTIFIER_NAMES` (``bsn``, ``naam``,
   ``birth_date``, ``e-mail``, ...), or when it consists of one identifier word plus
   only words that qualify a *person* (:data:`PERSON_WORDS`: ``bsn_patient``,
   ``naam_verzekerde``, ``first_name``, ``home_address``). A name word qualified by
   anything else is not a person's name and passes: ``practice_name``,
   ``naam_praktijk``, ``gemeentenaam``, ``aantal_bsn`` (a count of insured persons),
   ``bsn_hash`` (its values are still checked by rule 2).
2. *BSN values.* More than half of the sampled non-null values are nine-digit numbers
   (or eight digits: a leading zero lost in a spreadsheet) that pass the BSN
   eleven-test. About one random nine-digit number in eleven passes, so a column of
   claim or invoice numbers is not refused.
3. *Birth dates.* A column whose name speaks of birth (``birth``, ``dob``, ``born``,
   ``geboorte…``, ``geboren``) and whose sampled values are full dates (day, month and
   year) in more than half of the non-null rows. ``birth_year`` with years passes.
4. *Postcodes.* More than half of the sampled non-null values are six-character Dutch
   postcodes (``1234 AB`` or ``1234AB``); four-digit PC4 codes pass.
5. *E-mail addresses.* More than half of the sampled non-null values look like an
   e-mail address.

Value rules look at no more than :data:`SAMPLE_SIZE` non-null values per column, spread
evenly over the column, so the guard is fast on large files. The error message never
repeats an offending value.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kbz_eval.errors import IdentifierError

#: Largest number of non-null values per column the value rules look at.
SAMPLE_SIZE = 10_000

#: Share of sampled non-null values above which a value rule refuses a column.
VALUE_SHARE = 0.5

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
         "voorletters", "surname", "firstname", "lastname", "fullname", "givenname",
         "familyname", "volledigenaam"), _NAME),
    **dict.fromkeys(
        ("adres", "address", "straat", "straatnaam", "street", "huisnummer", "housenumber",
         "woonadres", "homeaddress"), _ADDRESS),
    **dict.fromkeys(("email", "emailadres", "emailaddress"), _EMAIL_KIND),
    **dict.fromkeys(
        ("telefoon", "telefoonnummer", "telnr", "phone", "phonenumber", "mobielnummer"),
        _PHONE),
    **dict.fromkeys(("geboortedatum", "birthdate", "dateofbirth", "dob"), _BIRTH),
}

#: Single words that name an identifier when only person words qualify them.
IDENTIFIER_WORDS = frozenset({
    "bsn", "burgerservicenummer", "sofinummer", "naam", "name", "voornaam", "achternaam",
    "surname", "adres", "address", "straat", "straatnaam", "street", "huisnummer",
    "email", "telefoon", "telefoonnummer", "phone", "geboortedatum", "dob",
})

#: Words that qualify a person (or an identifier's form) rather than something else.
PERSON_WORDS = frozenset({
    "patient", "client", "verzekerde", "insured", "persoon", "person", "member", "lid",
    "klant", "customer", "respondent", "deelnemer", "participant", "medewerker",
    "employee", "first", "last", "full", "family", "given", "nr", "nummer", "number",
    "no", "id", "home", "thuis", "woon", "mobile", "mobiel", "prive", "private",
    "contact", "of", "the", "van", "de", "het",
})

_BIRTH_WORDS = ("birth", "geboorte", "geboren")
_BIRTH_TOKENS = frozenset({"dob", "born", "birth", "geboren"})

_POSTCODE = r"[1-9][0-9]{3} ?[A-Za-z]{2}"
_EMAIL = r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"
_DATE = (
    r"\d{4}-\d{1,2}-\d{1,2}(?:[ T].*)?"
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}(?:[ T].*)?"
)

_HOW_TO = """\
  How to fix: pseudonymise at the source, before exporting:
    - replace BSNs and other person numbers by a keyed hash (for example HMAC-SHA-256
      with a secret salt that stays with the data holder);
    - drop names, addresses, e-mail addresses and telephone numbers;
    - keep only the birth year (`birth_year`) or an age band, not the birth date;
    - shorten postcodes to PC4 (the 4 digits).
  Nothing has been processed further or written."""


@dataclass(frozen=True)
class IdentifierFinding:
    """One column that holds (or is named as) a direct identifier.

    Attributes
    ----------
    column
        Column name as in the input.
    kind
        ``"name"``, ``"bsn"``, ``"birth_date"``, ``"postcode"`` or ``"email"``.
    reason
        Why the column was refused, without any of its values.
    """

    column: str
    kind: str
    reason: str


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
        Strings or integers; eight-digit values are read with a leading zero.

    Returns
    -------
    numpy.ndarray of bool
        True where the value has 8 or 9 digits, is not all zeros and
        ``9*d1 + 8*d2 + 7*d3 + 6*d4 + 5*d5 + 4*d6 + 3*d7 + 2*d8 - 1*d9`` is divisible
        by 11.
    """
    text = _digit_text(pd.Series(values))
    out = np.zeros(len(text), dtype=bool)
    ok = text.notna().to_numpy()
    if not ok.any():
        return out
    padded = text[ok].str.zfill(9)
    digits = np.frombuffer("".join(padded).encode("ascii"), dtype=np.uint8) - ord("0")
    digits = digits.reshape(-1, 9).astype(np.int64)
    weights = np.array([9, 8, 7, 6, 5, 4, 3, 2, -1], dtype=np.int64)
    total = digits @ weights
    out[ok] = (total % 11 == 0) & (digits.sum(axis=1) > 0)
    return out


def find_identifiers(df: pd.DataFrame) -> list[IdentifierFinding]:
    """The columns of ``df`` that hold direct identifiers (see the module's rules).

    Parameters
    ----------
    df
        Any table; it is not changed.

    Returns
    -------
    list of IdentifierFinding
        One finding per refused column, in column order; empty when nothing is found.
    """
    findings = []
    for column in df.columns:
        found = _name_finding(column) or _value_finding(column, df[column])
        if found is not None:
            findings.append(found)
    return findings


def check_identifiers(df: pd.DataFrame, *, source: str = "<DataFrame>") -> None:
    """Refuse ``df`` when it holds direct identifiers.

    Parameters
    ----------
    df
        The table to check, with its columns as they are (raw or mapped).
    source
        Name of the input for the message (a file path or ``"<DataFrame>"``).

    Raises
    ------
    IdentifierError
        Naming every refused column and why, and saying how to pseudonymise. The
        error's ``findings`` attribute holds the :class:`IdentifierFinding` objects.

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
    """
    findings = find_identifiers(df)
    if not findings:
        return
    lines = [
        f"{source}: refused, the input holds direct identifiers "
        f"({len(findings)} column{'s' if len(findings) != 1 else ''}):"
    ]
    lines += [f"  - column '{f.column}': {f.reason}" for f in findings]
    lines.append(_HOW_TO)
    err = IdentifierError("\n".join(lines))
    err.findings = findings
    raise err


# ---------------------------------------------------------------------------
# rules


def _name_finding(column: object) -> IdentifierFinding | None:
    norm = normalise_name(column)
    kind = IDENTIFIER_NAMES.get(norm.replace("_", ""))
    if kind is None:
        tokens = [t for t in norm.split("_") if t]
        words = [t for t in tokens if t in IDENTIFIER_WORDS]
        rest = [t for t in tokens if t not in IDENTIFIER_WORDS]
        if len(words) == 1 and all(t in PERSON_WORDS for t in rest):
            kind = IDENTIFIER_NAMES[words[0]]
    if kind is None:
        return None
    return IdentifierFinding(
        str(column), "name",
        f"the column name says it holds {kind}; "
        + ("keep the birth year only" if kind == _BIRTH else
           "drop the column or replace it by a pseudonym"),
    )


def _value_finding(column: object, values: pd.Series) -> IdentifierFinding | None:
    sample = _sample(values)
    if sample.empty:
        return None
    name = str(column)
    share = eleven_test(sample).mean()
    if share > VALUE_SHARE:
        return IdentifierFinding(
            name, "bsn",
            f"{share:.0%} of the sampled values are numbers that pass the BSN eleven-test",
        )
    if _is_birth_name(column):
        share = _full_date_share(sample)
        if share > VALUE_SHARE:
            return IdentifierFinding(
                name, "birth_date",
                f"{share:.0%} of the sampled values are full birth dates; keep the birth "
                "year only",
            )
    text = _text(sample)
    if text is None:
        return None
    share = text.str.fullmatch(_POSTCODE).mean()
    if share > VALUE_SHARE:
        return IdentifierFinding(
            name, "postcode",
            f"{share:.0%} of the sampled values are six-character postcodes; keep PC4 "
            "(the 4 digits) only",
        )
    share = text.str.fullmatch(_EMAIL).mean()
    if share > VALUE_SHARE:
        return IdentifierFinding(
            name, "email", f"{share:.0%} of the sampled values are e-mail addresses"
        )
    return None


def _is_birth_name(column: object) -> bool:
    norm = normalise_name(column)
    tokens = set(norm.split("_"))
    return bool(tokens & _BIRTH_TOKENS) or any(w in norm for w in _BIRTH_WORDS)


def _sample(values: pd.Series) -> pd.Series:
    """At most ``SAMPLE_SIZE`` non-null values, spread evenly over the column."""
    s = values.dropna()
    if len(s) > SAMPLE_SIZE:
        s = s.iloc[np.linspace(0, len(s) - 1, SAMPLE_SIZE).astype(np.int64)]
    return s.reset_index(drop=True)


def _text(sample: pd.Series) -> pd.Series | None:
    """The sampled values as stripped strings (``None`` for numeric and date columns)."""
    if pd.api.types.is_string_dtype(sample.dtype):
        return sample.astype("str").str.strip()
    if sample.dtype == object:
        return sample.map(str).astype("str").str.strip()
    return None


def _digit_text(values: pd.Series) -> pd.Series:
    """Values as digit strings of 8 or 9 characters, others as missing."""
    s = values
    if pd.api.types.is_bool_dtype(s.dtype):
        return pd.Series([None] * len(s), dtype=object)
    if pd.api.types.is_numeric_dtype(s.dtype):
        num = pd.to_numeric(s, errors="coerce").astype("float64")
        integral = np.isfinite(num) & (num == np.floor(num)) & (num >= 0) & (num < 1e9)
        text = pd.Series(np.where(integral, num, 0).astype(np.int64), dtype=object)
        text = text.astype(str).where(integral, None)
    else:
        text = s.astype(object).map(_scalar_digits)
    text = text.astype(object)
    return text.where(text.str.fullmatch(r"\d{8,9}").fillna(False).astype(bool), None)


def _scalar_digits(value: object) -> object:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (bool, np.bool_)) or value is None:
        return None
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and value == int(value):
        return str(int(value))
    return None


def _full_date_share(sample: pd.Series) -> float:
    if pd.api.types.is_datetime64_any_dtype(sample.dtype):
        return 1.0
    if sample.dtype == object:
        is_date = sample.map(lambda v: hasattr(v, "year") and hasattr(v, "day"))
        if is_date.any():
            return float(is_date.mean())
    text = _text(sample)
    if text is None:
        return 0.0
    return float(text.str.fullmatch(_DATE).mean())
