"""What an import refuses: a whole file (`FileRefused`), or one cell of one row (`RowProblem`)."""

from __future__ import annotations

from dataclasses import dataclass


class FileRefused(Exception):
    """The file cannot be imported at all; the message says why, in words for the person who uploaded it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RowProblem:
    """Why one row is refused: the column (as the file's header names it) and the reason."""

    column: str
    reason: str

    def as_json(self) -> dict[str, str]:
        return {"column": self.column, "reason": self.reason}
