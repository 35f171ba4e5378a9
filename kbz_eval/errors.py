"""Exceptions and warnings raised by kbz_eval.

Every error the library raises on purpose derives from :class:`KbzEvalError`, so a
caller can catch them all at once. Messages say what is wrong, why it matters and what
to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class KbzEvalError(Exception):
    """Base class of every error kbz_eval raises on purpose."""


class SpecificationError(KbzEvalError, ValueError):
    """An argument or configuration value is not allowed (names the parameter and values)."""


class IdentifierError(KbzEvalError):
    """An input holds direct identifiers (BSN, names, addresses, birth dates, postcodes).

    Raised before anything else is done with the file, so nothing identifying is
    processed or written.
    """


@dataclass(frozen=True)
class Violation:
    """One broken rule in one column of one input table.

    Attributes
    ----------
    column
        Column name as in the contract (or the source name when the column is unknown).
    rule
        Short name of the rule, e.g. ``"not negative"`` or ``"unique key"``.
    n_rows
        Number of rows that break the rule (0 for table-level problems such as a
        missing column).
    rows
        The first offending row numbers *as in the source file* (1-based, header = row 1
        for text files and spreadsheets; data rows start at 2).
    values
        The offending values at those rows, as strings.
    detail
        Free text: a did-you-mean suggestion, allowed values, and so on.
    """

    column: str
    rule: str
    n_rows: int = 0
    rows: tuple[int, ...] = ()
    values: tuple[str, ...] = ()
    detail: str = ""

    def describe(self) -> str:
        """One readable line for this violation."""
        text = f"column '{self.column}': {self.rule}"
        if self.n_rows:
            text += f" — {self.n_rows} row{'s' if self.n_rows != 1 else ''}"
        if self.rows:
            pairs = ", ".join(
                f"row {r} ({v!s})" if v != "" else f"row {r}"
                for r, v in zip(self.rows, self.values or ("",) * len(self.rows), strict=False)
            )
            text += f"; first: {pairs}"
        if self.detail:
            text += f". {self.detail}"
        return text


@dataclass
class DataValidationError(KbzEvalError):
    """An input table breaks its data contract; lists every violation at once.

    Nothing has been changed or written when this is raised.
    """

    source: str
    table: str
    violations: list[Violation] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    @property
    def message(self) -> str:
        lines = [
            f"{self.source}: table '{self.table}' breaks its data contract "
            f"({len(self.violations)} problem{'s' if len(self.violations) != 1 else ''}):"
        ]
        lines += [f"  - {v.describe()}" for v in self.violations]
        lines.append(
            "  Fix the file or the mapping and read it again; on_error='drop' drops bad rows "
            "and reports them instead."
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.message


class StatisticalWarning(UserWarning):
    """A result is computed but rests on a weak assumption.

    Examples: few clusters, a failed pre-trend check, sparse cells, or an analysis window
    that spans the 2021/2022 GGZ payment reform.
    """
