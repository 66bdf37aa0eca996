"""Who may do what: the role matrix, declared once, and the SQLAdmin authorization backend it drives.

Rows are views (by SQLAdmin identity), columns are roles. An operation is one of OPERATIONS or the
name of a bulk action. "all" grants every operation and every action of the view.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import Any

from sqladmin.authorization import Action, AuthorizationBackend
from starlette.requests import Request

from models.staff import Role

VIEW, CREATE, EDIT, DELETE, EXPORT = "view", "create", "edit", "delete", "export"
IMPORT = "import"  # a spreadsheet's rows into a view that takes imports (`import_key`: admin_site/imports/)
OPERATIONS = (VIEW, CREATE, EDIT, DELETE, EXPORT, IMPORT)
ALL = "all"
SESSIONS = "sessions"  # not a bulk action: the staff sessions page (admin_site/routes.py)
REVENUE = "revenue"  # on the dashboard: revenue, average order value, revenue charts, top products (dashboard/page.py)

viewer, support, manager, admin = Role.viewer, Role.support, Role.manager, Role.admin

Grant = AbstractSet[str] | str  # some operations, or ALL

# view identity → role → operations. A role missing from a row may do nothing there; a view missing
# from the matrix altogether is admins-only (UNLISTED_VIEW below).
MATRIX: dict[str, dict[Role, Grant]] = {
    "dashboard":   {viewer: {VIEW}, support: {VIEW}, manager: {VIEW, REVENUE}, admin: ALL},
    "category":    {viewer: {VIEW}, support: {VIEW}, manager: ALL, admin: ALL},
    "product":     {viewer: {VIEW}, support: {VIEW, EXPORT}, manager: ALL, admin: ALL},
    "customer":    {viewer: {VIEW}, support: {VIEW, CREATE, EDIT, EXPORT, IMPORT}, manager: ALL, admin: ALL},
    "order":       {viewer: {VIEW}, support: {VIEW, CREATE, EDIT, EXPORT, "mark_shipped"}, manager: ALL, admin: ALL},
    "order-item":  {viewer: {VIEW}, support: {VIEW, CREATE, EDIT, DELETE}, manager: ALL, admin: ALL},
    "staff-user":  {manager: {VIEW}, admin: {VIEW, CREATE, EDIT, EXPORT, "deactivate", SESSIONS}},
    "audit-log":   {manager: {VIEW, EXPORT}, admin: {VIEW, EXPORT}},
    "login-attempt": {admin: {VIEW, EXPORT}},
    "permissions": {admin: {VIEW}},
    "account":     {viewer: {VIEW}, support: {VIEW}, manager: {VIEW}, admin: {VIEW}},
    "staff-session": {},  # seen and ended on the person's sessions page (SESSIONS above), never as a table
}  # fmt: skip
# "permissions" is the page that shows this matrix; "account" is everyone's own password page; SESSIONS on a
# staff member: see where they are signed in, and end those sessions (views/staff_sessions.py).

# SQLAdmin asks about its own action names; both list and details are "view" here.
_SQLADMIN_TO_OPERATION: dict[str, str] = {
    Action.LIST: VIEW,
    Action.DETAILS: VIEW,
    Action.CREATE: CREATE,
    Action.EDIT: EDIT,
    Action.DELETE: DELETE,
    Action.EXPORT: EXPORT,
    Action.IMPORT: IMPORT,
}


def operation_for(action: str) -> str | None:
    """SQLAdmin's action ("list", "action:cancel") → our operation ("view", "cancel")."""
    if action in _SQLADMIN_TO_OPERATION:
        return _SQLADMIN_TO_OPERATION[action]
    if action.startswith("action:"):
        return action.removeprefix("action:")
    return None  # anything unknown: never granted


# A view of a model added later, with no row in MATRIX yet: admins only, until someone decides.
UNLISTED_VIEW: dict[Role, Grant] = {admin: ALL}


def grants_for(identity: str) -> dict[Role, Grant]:
    return MATRIX.get(identity, UNLISTED_VIEW)


def is_allowed(role: Role | None, identity: str, operation: str) -> bool:
    """The one question every check in the admin comes down to."""
    if role is None:
        return False
    granted = grants_for(identity).get(role)
    if granted is None:
        return False
    return granted == ALL or operation in granted


def describe_grant(role: Role, identity: str) -> str:
    """What the permissions page shows in one cell: "all", the operations in a fixed order, or "—"."""
    granted = grants_for(identity).get(role)
    if not granted:
        return "—"
    if granted == ALL:
        return "all"
    ordered = [op for op in OPERATIONS if op in granted] + sorted(op for op in granted if op not in OPERATIONS)
    return ", ".join(ordered)


class RoleAuthorization(AuthorizationBackend):
    """Reads the staff member's role (loaded from the database by the authentication backend)."""

    answers_by_role_only = True  # never by row: a list page asks once, not once per row (views/list_rows.py)

    def has_permission(self, request: Request, identity: str, action: str, obj: Any | None = None) -> bool:
        operation = operation_for(action)
        staff = getattr(request.state, "staff_user", None)
        return operation is not None and staff is not None and is_allowed(staff.role, identity, operation)
