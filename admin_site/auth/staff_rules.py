"""The rules that keep the shop administrable, whichever screen changes a staff member.

Nobody changes their own role or deactivates themselves (a slip would lock them out), and the
last active admin is never demoted or deactivated (nobody could then manage staff at all).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_site.refusals import ChangeRefused
from models.staff import Role, StaffUser


class StaffChangeRefused(ChangeRefused):
    """A change to a staff member that the rules forbid; the message is shown on the form."""


def check_staff_change(
    session: Session, actor_id: int | None, target: StaffUser, new_role: Role, new_active: bool
) -> None:
    """Raise StaffChangeRefused if `actor_id` may not give `target` this role and active flag.

    Runs in the transaction that makes the change: the active admins are locked (FOR UPDATE), so
    two admins demoting each other at the same moment cannot both succeed.
    """
    if target.id is not None and target.id == actor_id:
        if new_role != target.role:
            raise StaffChangeRefused("You cannot change your own role; ask another admin.")
        if target.is_active and not new_active:
            raise StaffChangeRefused("You cannot deactivate yourself; ask another admin.")
    was_admin = target.id is not None and target.role == Role.admin and target.is_active
    stays_admin = new_role == Role.admin and new_active
    if not was_admin or stays_admin:
        return
    active_admins = session.scalars(
        select(StaffUser.id).where(StaffUser.role == Role.admin, StaffUser.is_active.is_(True)).with_for_update()
    ).all()
    if not set(active_admins) - {target.id}:
        raise StaffChangeRefused(f"{target.email} is the last active admin: make someone else an admin first.")
