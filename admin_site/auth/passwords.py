"""Password hashing with Argon2id (memory-hard), via argon2-cffi; the policy a new password must meet.

The policy refuses, besides short ones, passwords that guessers try first: zxcvbn (offline) matches
them against the common-password list it ships (drawn from breached-password corpora), dictionary
words, names, keyboard patterns, dates and the person's own e-mail and name, and estimates how many
guesses they would take.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import weakref
from collections.abc import Iterable

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

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


class _Slots:
    """At most `limit` hashes or checks run at once, each taking the hasher's 64 MiB: a storm of log-ins queues
    instead of growing the process by 64 MiB a log-in and starving every other request of CPU."""

    limit = 2 * (os.cpu_count() or 1)
    semaphore = threading.BoundedSemaphore(limit)
    limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = weakref.WeakKeyDictionary()


def limit_concurrency(limit: int) -> None:
    """At most `limit` hashes or checks at once from now on (PASSWORD_HASH_CONCURRENCY; the app factory sets it)."""
    if limit != _Slots.limit:
        _Slots.limit, _Slots.semaphore = limit, threading.BoundedSemaphore(limit)
        _Slots.limiters = weakref.WeakKeyDictionary()


def hashing_limiter() -> anyio.CapacityLimiter:
    """For `anyio.to_thread.run_sync(..., limiter=…)` of work that hashes or checks a password: a waiting log-in
    waits on the event loop, not holding one of the worker threads every other request needs."""
    loop = asyncio.get_running_loop()
    limiter = _Slots.limiters.get(loop)
    if limiter is None:
        limiter = _Slots.limiters[loop] = anyio.CapacityLimiter(_Slots.limit)
    return limiter


def hash_password(password: str) -> str:
    with _Slots.semaphore:
        return _InUse.hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash, burn the same time and say no."""
    try:
        with _Slots.semaphore:
            return _InUse.hasher.verify(password_hash or _InUse.dummy_hash, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _InUse.hasher.check_needs_rehash(password_hash)


# zxcvbn's score, 0-4: 3 is "safely unguessable: moderate protection from an offline slow-hash scenario"
# (under 10^10 guesses it is not); `password12`, `qwerty12345` and `letmein2024!` score 1 or 2.
MIN_STRENGTH = 3
ZXCVBN_MAX_LENGTH = 72  # what zxcvbn accepts; the first 72 characters of a longer password are judged


def password_problem(password: str, personal: Iterable[str] = ()) -> str | None:
    """Return why a new password is refused, or None when it is acceptable.

    `personal`: what a guesser would know of its owner (e-mail, name), never a good part of a password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if password.strip() != password:
        return "No spaces at the start or end."
    if password.isdigit() or password.isalpha():
        return "Mix letters with digits or symbols."
    # zxcvbn matches each input whole: its words too ("jonathan", "smith" of "jonathan.smith@shop.example").
    words = {word for text in personal for word in [text, *re.split(r"[\W_]+", text)] if len(word) >= 3}
    judged = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=sorted(words))
    if judged["score"] < MIN_STRENGTH:
        warning = str(
            judged["feedback"]["warning"] or "it is close to a common or leaked password, a word or a name"
        ).rstrip(".")
        return f"This password is too easy to guess: {warning[:1].lower()}{warning[1:]}. Add a few unrelated words."
    return None
