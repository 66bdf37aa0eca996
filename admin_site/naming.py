"""How the admin names things: field labels from column names, which names are secrets, which e-mail addresses."""

from __future__ import annotations

import re

SECRET_NAME = re.compile(r"password|passwd|hash|token|secret|api_key", re.IGNORECASE)


def humanise(name: str) -> str:
    """`stock_quantity` → "Stock quantity", `is_low_stock` → "Low stock", `discount_pct` → "Discount %"."""
    words = name.removeprefix("is_").replace("_pct", " %").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def is_secret(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


def is_email(name: str) -> bool:
    """A column holding an e-mail address, by its name: `email`, `contact_email`."""
    return name == "email" or name.endswith("_email")
