"""Why a change through the admin was refused; every message is safe to show (no SQL, no parameters).

Its own module, importing nothing of the app, so views, writes and actions can all raise and catch it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ChangeRefused(Exception):
    """A change was refused and nothing was written."""


@dataclass(frozen=True)
class FieldConflict:
    name: str
    label: str
    theirs: str
    yours: str


@dataclass(eq=False)
class Conflict(ChangeRefused):
    """Someone saved the row after the form was opened: nothing was written, their values stand.

    `fields` compares their saved values with the posted ones; `current_version` is what the form
    carries from now on (saving again then means "I have seen their change").
    """

    message: str
    current_version: int
    fields: list[FieldConflict] = field(default_factory=list)
    by: list[Any] = field(default_factory=list)  # audit.Entry rows that made the change

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message
