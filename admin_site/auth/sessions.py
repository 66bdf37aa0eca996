"""How long a signed session cookie is worth something, and what a login puts in it.

The cookie names a session row in PostgreSQL (its random token, see `server_sessions`: deleting the
row ends the session everywhere) and carries its own limits too: when it was issued (absolute
lifetime) and when it was last used (idle timeout), so an old cookie is refused before the database
is asked.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import MutableMapping
from typing import Any

from starlette.requests import Request

from admin_site.security import csrf
from admin_site.security.redirects import safe_next
from admin_site.settings import Settings

STAFF_ID = "staff_id"
TOKEN = "session"  # the server-side session it names (server_sessions.py)
ISSUED_AT = "issued_at"
SEEN_AT = "seen_at"
NEXT = "next"

# Last-seen is rewritten at most this often: each rewrite re-sends the cookie.
TOUCH_EVERY = 60


def clock() -> int:
    """Seconds since the epoch (a function, so tests can move time)."""
    return int(time.time())


def start(request: Request, staff_id: int, token: str) -> None:
    """A fresh cookie for a login (naming the session row `token`): nothing of the pre-login session
    survives, the CSRF token is new."""
    session = request.session
    session.clear()
    now = clock()
    session.update(
        {
            STAFF_ID: staff_id,
            TOKEN: token,
            ISSUED_AT: now,
            SEEN_AT: now,
            csrf.SESSION_KEY: secrets.token_urlsafe(32),
        }
    )


def expiry_problem(session: MutableMapping[str, Any], settings: Settings) -> str | None:
    """Why this logged-in session is no longer valid ("idle", "expired", "malformed"), or None."""
    issued, seen = session.get(ISSUED_AT), session.get(SEEN_AT)
    if not isinstance(issued, int) or not isinstance(seen, int) or not isinstance(session.get(TOKEN), str):
        return "malformed"
    now = clock()
    if now - issued >= settings.session_max_age or issued > now + TOUCH_EVERY:
        return "expired"
    if now - seen >= settings.session_idle_timeout:
        return "idle"
    return None


def touch(session: MutableMapping[str, Any]) -> None:
    now = clock()
    if now - session.get(SEEN_AT, 0) >= TOUCH_EVERY:
        session[SEEN_AT] = now


def remember_next(request: Request) -> None:
    """On the way to the login page from a page the browser asked for, remember where to come back."""
    if request.method != "GET" or "text/html" not in request.headers.get("accept", ""):
        return  # scripts and look-ups are not places to come back to
    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = safe_next(wanted)
    if target:
        request.session[NEXT] = target


def pending_next(request: Request) -> str | None:
    return safe_next(request.session.get(NEXT))
