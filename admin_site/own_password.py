"""A staff member changing their own password: proves the current one, meets the policy."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from admin_site.passwords import hash_password, password_problem, verify_password
from models.staff import StaffUser

MAX_PASSWORD_LENGTH = 1024  # as at login: hashing is deliberately slow, input is bounded


def change_own_password(
    session_factory: sessionmaker[Session], staff_id: int, current: str, new: str, repeated: str
) -> str | None:
    """Store the new password and return None, or return why it was refused (nothing stored).

    The current password is asked for so an unattended, logged-in browser cannot be used to take
    the account over.
    """
    if len(current) > MAX_PASSWORD_LENGTH or len(new) > MAX_PASSWORD_LENGTH:
        return "That password is too long."
    with session_factory() as session:
        staff = session.get(StaffUser, staff_id, with_for_update=True)
        if staff is None or not staff.is_active:
            return "Your account is no longer active."
        if not verify_password(staff.password_hash, current):
            return "Your current password is not right."
        if new != repeated:
            return "The two new passwords differ."
        if new == current:
            return "Choose a password different from the current one."
        problem = password_problem(new)
        if problem:
            return problem
        staff.password_hash = hash_password(new)
        session.commit()
    return None
