"""CSRF tokens tied to the session.

`csrf_token(request)` gives the session's token (made on first use); every state-changing form
carries it as a hidden `csrf_token` field, scripts send it as an `X-CSRF-Token` header.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request

SESSION_KEY = "csrf"
FORM_FIELD = "csrf_token"
HEADER = "x-csrf-token"


def csrf_token(request: Request) -> str:
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_KEY] = token
    return token
