"""A list page shows an `error` message only when this admin signed it.

The delete route sends the browser back to the list with what went wrong; a crafted link must not
be able to put text of its choosing on an admin page, so the message travels with an HMAC of it.
"""

from __future__ import annotations

import hashlib
import hmac

ERROR, ERROR_SIGNATURE = "error", "error_sig"


def sign_message(secret_key: str, message: str) -> str:
    return hmac.new(secret_key.encode(), b"list-error\x00" + message.encode(), hashlib.sha256).hexdigest()[:40]


def signature_ok(secret_key: str, message: str, signature: str | None) -> bool:
    return bool(signature) and hmac.compare_digest(sign_message(secret_key, message), signature or "")


def signed_error(secret_key: str, message: str) -> dict[str, str]:
    """The query parameters that carry `message` to a list page."""
    return {ERROR: message, ERROR_SIGNATURE: sign_message(secret_key, message)}
