"""Where a `next` parameter may send the browser after login: only to a page of the admin itself.

Anything with a scheme or a host (`https://evil`, `//evil`, `/\\evil`), control characters, or a path
that leaves /admin once dot segments are resolved (`/admin/../x`, `/admin/%2e%2e/x`) is refused.
"""

from __future__ import annotations

import posixpath
from urllib.parse import unquote, urlsplit

ADMIN_PREFIX = "/admin"
MAX_LENGTH = 2000
# Coming back to these after logging in would be pointless or harmful.
NOT_TARGETS = {"/admin/login", "/admin/logout", "/admin/logout-everywhere"}


def safe_next(value: object) -> str | None:
    """`value` as a same-site path under /admin (query kept, fragment dropped), or None."""
    if not isinstance(value, str) or not value or len(value) > MAX_LENGTH:
        return None
    if "\\" in value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    decoded = unquote(parts.path)
    if "\\" in decoded or any(ord(c) < 0x20 or ord(c) == 0x7F for c in decoded):
        return None
    resolved = posixpath.normpath(decoded)
    if resolved.startswith("//") or not (resolved == ADMIN_PREFIX or resolved.startswith(ADMIN_PREFIX + "/")):
        return None
    if resolved.rstrip("/") in NOT_TARGETS:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")
