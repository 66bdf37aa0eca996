"""A staff member changing their own password: proves the current one, meets the policy."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from admin_site.audit import log as audit
from admin_site.auth import server_sessions
from admin_site.auth import throttle as login_throttle
from admin_site.auth.passwords import hash_password, password_problem, verify_password
from admin_site.settings import Settings
from models.staff import StaffUser

MAX_PASSWORD_LENGTH = 1024  # as at login: hashing is deliberately slow, input is bounded


@dataclass(frozen=True)
class Outcome:
    problem: str | None = None  # why nothing was stored, shown to the person
    session_token: str | None = None  # after a change: every other session ends, this one goes on as this


def new_password_problem(current: str, new: str, repeated: str, staff: StaffUser) -> str | None:
    """Why the new password cannot be taken, or None."""
    if new != repeated:
        return "The two new passwords differ."
    if new == current:
        return "Choose a password different from the current one."
    return password_problem(new, (staff.email, staff.full_name))


def refused_attempt(reservation: login_throttle.Reservation) -> Outcome:
    """What the page says when the log-in throttle refuses the try (the page shares its limits)."""
    wait = login_throttle.describe_wait(reservation.retry_after)
    return Outcome(f"Too many wrong passwords for this account or from this address. Try again in {wait}.")


def change_own_password(
    session_factory: sessionmaker[Session],
    settings: Settings,
    staff_id: int,
    attempt_id: int,
    where: tuple[str | None, str | None],
    current: str,
    new: str,
    repeated: str,
) -> Outcome:
    """Store the new password, or say why it was refused (then the password is left as it was).

    The current password is asked for so an unattended, logged-in browser cannot be used to take
    the account over; and each try is a log-in attempt for the login throttle (`attempt_id`, reserved
    by the caller: same limits as the log-in page), so a stolen session cannot be used to guess it
    either. A change ends every session of the person and starts a new one for this browser (`where`:
    its address and user agent), in the same transaction.
    """
    if len(current) > MAX_PASSWORD_LENGTH or len(new) > MAX_PASSWORD_LENGTH:
        return Outcome("That password is too long.")  # stays counted as a failed attempt
    with session_factory() as session:
        staff = session.get(StaffUser, staff_id, with_for_update=True)
        if staff is None or not staff.is_active:
            return Outcome("Your account is no longer active.")
        if not verify_password(staff.password_hash, current):
            return Outcome("Your current password is not right.")  # stays counted as a failed attempt
        login_throttle.record_success(session, attempt_id)
        problem = new_password_problem(current, new, repeated, staff)
        if problem:
            session.commit()  # the attempt's success, nothing else
            return Outcome(problem)
        before = audit.snapshot(staff)
        staff.password_hash = hash_password(new)
        session.flush()  # the audit row (hash redacted) commits with the change; the epoch moved on (models.security)
        changes = audit.diff(before, audit.snapshot(staff))
        audit.record(session, None, audit.UPDATE, audit.STAFF_ENTITY, staff.id, changes, staff_user_id=staff.id)
        token = server_sessions.start(session, settings, staff.id, *where)  # at the new epoch
        session.commit()
        return Outcome(session_token=token)
