"""The identifier guard refuses BSNs, names, addresses, birth dates and postcodes.

The value attacks added with the statistical BSN rule, value-based birth dates, postcode
spellings, free text and declarations are in ``test_privacy_values.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _io_helpers import make_bsns, passes_eleven_test

from kbz_eval.errors import IdentifierError
from kbz_eval.privacy import SAMPLE_SIZE, check_identifiers, eleven_test, find_identifiers

SEED = 20140101


def _kinds(df: pd.DataFrame) -> dict[str, str]:
    return {f.column: f.kind for f in find_identifiers(df)}


# --- the eleven-test ---------------------------------------------------------------


def test_eleven_test_agrees_with_a_digit_by_digit_implementation():
    rng = np.random.default_rng(SEED)
    numbers = [f"{x:09d}" for x in rng.integers(10_000_000, 999_999_999, 2_000)]
    numbers += make_bsns(200, seed=SEED)
    expected = np.array([passes_eleven_test(x) for x in numbers])
    assert expected.sum() >= 200  # the generated BSNs are among them
    np.testing.assert_array_equal(eleven_test(numbers), expected)


def test_eleven_test_reads_integers_and_lost_leading_zeros():
    bsn = make_bsns(1, seed=SEED + 1)[0]
    zero_led = next(
        f"0{x:08d}" for x in range(10_000_000, 10_100_000) if passes_eleven_test(f"0{x:08d}")
    )
    values = [bsn, int(bsn), float(bsn), zero_led[1:], int(zero_led), "000000000",
              "12345678a", None, 1.5]
    assert eleven_test(values).tolist() == [True, True, True, True, True, False, False,
                                            False, False]


# --- names ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", [
    "bsn", "BSN", "Burgerservicenummer", "sofinummer", "naam", "Name", "voornaam",
    "Achternaam", "surname", "adres", "Address", "straat", "huisnummer", "geboortedatum",
    "birth_date", "Date of Birth", "DOB", "email", "E-mail", "telefoon", "phone",
    "bsn_patient", "patient_name", "naam_verzekerde", "first_name", "home_address",
    # person words alone, name parts, numbered copies and Dutch birth-date abbreviations
    "patient", "Patiënt", "client", "Cliënt", "clientnaam", "ClientNaam", "voornaam1",
    "naam_1", "achternaam2", "Achternaam 2", "roepnaam", "tussenvoegsel", "initialen",
    "voorletters_patient", "gebdat", "geb_datum", "gebdatum", "GebDat", "dob",
    "e_mail_2",
])
def test_identifier_names_are_refused(name):
    df = pd.DataFrame({"person_id": ["p1", "p2"], name: ["x", "y"]})
    assert _kinds(df) == {name: "name"}


@pytest.mark.parametrize("name", [
    "birth_year", "geboortejaar", "practice_name", "naam_praktijk", "praktijknaam",
    "gemeentenaam", "AANTAL_BSN", "bsn_hash", "claim_id", "postcode",
    "patient_id", "patientnummer", "client_nr", "clientnummer", "respondent_type",
    "kosten_2015", "pc4", "naam_praktijk_2",
])
def test_harmless_names_pass(name):
    df = pd.DataFrame({name: ["x", "y", "3512"]})
    assert find_identifiers(df) == []


# --- values ---------------------------------------------------------------------------


@pytest.mark.parametrize("as_type", ["str", "int", "float"])
def test_bsn_values_are_refused_whatever_the_column_name(as_type):
    bsns = make_bsns(50, seed=SEED)
    values = {"str": bsns, "int": [int(b) for b in bsns],
              "float": [float(b) for b in bsns]}[as_type]
    df = pd.DataFrame({"ref": values, "year": 2015})
    assert _kinds(df) == {"ref": "bsn"}


def test_bsns_that_lost_their_leading_zero_are_refused():
    zero_led = [f"0{x:08d}" for x in range(10_000_000, 10_002_000)
                if passes_eleven_test(f"0{x:08d}")][:40]
    df = pd.DataFrame({"klantnr": [int(z) for z in zero_led]})  # 8 digits left
    assert df["klantnr"].astype(str).str.len().max() == 8
    assert _kinds(df) == {"klantnr": "bsn"}


def test_nine_digit_claim_ids_that_mostly_fail_the_eleven_test_pass():
    rng = np.random.default_rng(SEED)
    ids = [str(x) for x in rng.integers(100_000_000, 999_999_999, 5_000)]
    share = np.mean([passes_eleven_test(x) for x in ids])
    assert 0.03 < share < 0.2  # about one in eleven passes by chance
    check_identifiers(pd.DataFrame({"claim_id": ids}))


# Changed rule: the BSN rule used to need more than half of the values; it now refuses a
# passing share far above the 1 in 11 of chance (binomial test), so 40 of 100 is refused.
@pytest.mark.parametrize(("n_bsn", "refused"), [(9, False), (15, False), (40, True),
                                                (60, True)])
def test_bsn_rule_needs_a_passing_share_far_above_one_in_eleven(n_bsn, refused):
    bsns = make_bsns(n_bsn, seed=SEED)
    others = [str(100_000_000 + i) for i in range(200)]
    others = [x for x in others if not passes_eleven_test(x)][: 100 - n_bsn]
    df = pd.DataFrame({"nummer_x": bsns + others})
    assert ("nummer_x" in _kinds(df)) is refused


def test_postcodes_are_refused_but_pc4_passes():
    df = pd.DataFrame({
        "pc6": ["3562 AB", "3563CD", "1012 JS", None],
        "pc4": ["3562", "3563", "1012", "3511"],
    })
    assert _kinds(df) == {"pc6": "postcode"}


# Changed rule: full dates spread like birth dates are now refused under any name, so
# the unrefused neighbour column holds service dates instead of the same birth dates.
@pytest.mark.parametrize(("values", "service"), [
    (["1960-03-01", "1975-12-31", "1948-07-15"], ["2015-03-01", "2015-12-31", "2014-07-15"]),
    (["01-03-1960", "31-12-1975", "15-7-1948"], ["01-03-2015", "31-12-2015", "15-7-2014"]),
    (pd.to_datetime(["1960-03-01", "1975-12-31", "1948-07-15"]),
     pd.to_datetime(["2015-03-01", "2015-12-31", "2014-07-15"])),
])
def test_full_birth_dates_are_refused(values, service):
    df = pd.DataFrame({"datum_geboren": values, "start_date": service})
    assert _kinds(df) == {"datum_geboren": "birth_date"}


def test_birth_years_pass_even_under_a_birth_name():
    df = pd.DataFrame({"geboorte": [1960, 1975, 1948], "birth_year": [1960, 1975, 1948]})
    assert find_identifiers(df) == []


def test_email_addresses_are_refused():
    df = pd.DataFrame({"contact": ["a.jansen@example.nl", "b@example.com"]})
    assert _kinds(df) == {"contact": "email"}


# --- the error ------------------------------------------------------------------------


def test_error_names_the_columns_says_how_to_pseudonymise_and_hides_values():
    bsns = make_bsns(20, seed=SEED)
    df = pd.DataFrame({"id_x": bsns, "naam": ["A. Jansen"] * 20, "ok": range(20)})
    before = df.copy()
    with pytest.raises(IdentifierError) as info:
        check_identifiers(df, source="extract.csv")
    text = str(info.value)
    assert text.startswith("extract.csv: refused")
    assert "'id_x'" in text and "'naam'" in text and "'ok'" not in text
    for advice in ("salt", "birth year", "PC4"):
        assert advice in text
    assert not any(b in text for b in bsns) and "Jansen" not in text
    assert [f.column for f in info.value.findings] == ["id_x", "naam"]
    pd.testing.assert_frame_equal(df, before)


def test_a_large_column_is_checked_on_a_sample():
    n = 5 * SAMPLE_SIZE
    bsns = make_bsns(100, seed=SEED)
    df = pd.DataFrame({"x": np.resize(np.array(bsns, dtype=object), n)})
    assert _kinds(df) == {"x": "bsn"}
