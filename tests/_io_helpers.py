"""Test helpers for the readers, validation and the identifier guard.

The BSN helpers here are written independently of ``kbz_eval.privacy`` (a plain loop
over the digits) so that tests compare the library against a second implementation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ELEVEN_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def passes_eleven_test(number: str) -> bool:
    """The BSN eleven-test on a digit string, digit by digit."""
    digits = number.zfill(9)
    if len(digits) != 9 or not digits.isdigit() or set(digits) == {"0"}:
        return False
    total = sum(w * int(d) for w, d in zip(ELEVEN_WEIGHTS, digits, strict=True))
    return total % 11 == 0


def make_bsns(n: int, *, seed: int) -> list[str]:
    """``n`` distinct nine-digit numbers that pass the eleven-test (first digit 1-9)."""
    rng = np.random.default_rng(seed)
    out: list[str] = []
    while len(out) < n:
        first8 = [int(rng.integers(1, 10))] + [int(d) for d in rng.integers(0, 10, 7)]
        partial = sum(w * d for w, d in zip(ELEVEN_WEIGHTS[:8], first8, strict=True))
        check = partial % 11  # 9*d1 + ... + 2*d8 - d9 = 0 (mod 11)
        if check == 10:
            continue
        number = "".join(map(str, first8)) + str(check)
        if number not in out:
            out.append(number)
    return out


def person_years(n_people: int = 3, years: tuple[int, ...] = (2014, 2015)) -> pd.DataFrame:
    """A small valid ``person_years`` table with fixed, readable values."""
    rows = []
    for i in range(n_people):
        for j, year in enumerate(years):
            rows.append({
                "person_id": f"P{i:04d}",
                "year": year,
                "practice_id": f"prac{i % 2}",
                "insured_days": 365 - j,
                "sex": "F" if i % 2 else "M",
                "birth_year": 1950 + i,
                "minima": i == 0,
                "poli_dbc_count": i + j,
                "poli_dbc_cost": 100.5 * (i + j),
                "ggz_cost": 10.0 * i,
            })
    return pd.DataFrame(rows)


def practices() -> pd.DataFrame:
    """A valid ``practices`` table for the two practices of :func:`person_years`."""
    return pd.DataFrame({
        "practice_id": ["prac0", "prac1"],
        "city": ["Utrecht", "Utrecht"],
        "neighbourhood": ["Overvecht", "Zuilen"],
        "group": ["kbz", "control"],
        "kbz_start_year": [2014, None],
    })


def write_text(path, lines: list[str], *, encoding: str = "utf-8", bom: bool = False):
    """Write ``lines`` joined by newlines (plus a final newline) and return ``path``."""
    data = ("\n".join(lines) + "\n").encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path
