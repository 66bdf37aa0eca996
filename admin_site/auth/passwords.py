"""Password hashing with Argon2id (memory-hard), via argon2-cffi."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_DUMMY_PASSWORD = "timing-equaliser-not-a-password"


class _InUse:
    """The hasher the app hashes and verifies with, and what depends on it."""

    # argon2-cffi's defaults: RFC 9106's low-memory choice (Argon2id, 3 passes, 64 MiB, 4 lanes). No setting or
    # environment variable changes them; only code can, through use_hasher (the test suite does).
    hasher = PasswordHasher()
    # Verified against when the e-mail is unknown, so both failures take about the same time.
    dummy_hash = hasher.hash(_DUMMY_PASSWORD)


def use_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Hash, verify and judge rehashing with `hasher` from now on; returns the hasher it replaces.

    For the tests (cheap parameters make their hundreds of log-ins fast): the app never calls it. Hashes made
    with other parameters still verify (a hash carries its own), and `needs_rehash` then says yes."""
    previous, _InUse.hasher = _InUse.hasher, hasher
    _InUse.dummy_hash = hasher.hash(_DUMMY_PASSWORD)  # an unknown e-mail still costs what a known one does
    return previous


MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _InUse.hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash, burn the same time and say no."""
    try:
        return _InUse.hasher.verify(password_hash or _InUse.dummy_hash, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _InUse.hasher.check_needs_rehash(password_hash)


def password_problem(password: str) -> str | None:
    """Return why a new password is refused, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if password.strip() != password:
        return "No spaces at the start or end."
    if password.isdigit() or password.isalpha():
        return "Mix letters with digits or symbols."
    return None
