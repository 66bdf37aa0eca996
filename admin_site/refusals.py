"""Why a change through the admin was refused; every message is safe to show (no SQL, no parameters).

A leaf module: views, forms, bulk actions and the staff rules all raise these, and the create and
edit pages turn them into the form page with the user's input kept (`views/form_pages.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ChangeRefused(Exception):
    """A change was refused and nothing was written.

    `field_names` are the form fields the refusal concerns (the message is shown next to each);
    empty when it concerns the whole form.
    """

    def __init__(self, message: str, *, field_names: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.field_names = field_names


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
    versions: dict[str, int] = field(default_factory=dict)  # other hidden version fields the form now carries

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class RowsNotFound(ChangeRefused):
    """A row the request names does not exist (or its key cannot be one): the page is a 404."""
