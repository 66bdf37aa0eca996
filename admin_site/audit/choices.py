"""The values the audit log's `entity` and `action` filters offer: what the admin writes there."""

from __future__ import annotations

from sqladmin.helpers import slugify_class_name

from admin_site.audit import log as audit
from admin_site.naming import humanise
from models import Base


def entities() -> list[tuple[str, str]]:
    """Every model's view identity (SQLAdmin's slug of the class name), as the admin records it."""
    names = sorted(slugify_class_name(m.class_.__name__) for m in Base.registry.mappers)
    return [(name, humanise(name.replace("-", "_"))) for name in names]


def actions(bulk_actions: list[str]) -> list[tuple[str, str]]:
    """The standard actions, then the views' bulk actions (their slugs, as the audit log records them)."""
    standard = [audit.CREATE, audit.UPDATE, audit.DELETE, *audit.NOT_CHANGES]
    return [(slug, humanise(slug)) for slug in dict.fromkeys([*standard, *bulk_actions])]
