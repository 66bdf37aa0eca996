"""The record of log-in attempts, for admins: read-only (it is evidence, and it drives throttling)."""

from __future__ import annotations

from admin_site.views.base import ShopView
from models import LoginAttempt


class LoginAttemptAdmin(ShopView, model=LoginAttempt):
    name = "Login attempt"
    name_plural = "Login attempts"
    icon = "fa-solid fa-right-to-bracket"
    category_icon = "fa-solid fa-shield-halved"
    can_create = False
    can_edit = False
    can_delete = False
    count_mode = "estimated"
    column_list = [
        LoginAttempt.id, LoginAttempt.at, LoginAttempt.email, LoginAttempt.ip,
        LoginAttempt.succeeded, LoginAttempt.throttled,
    ]  # fmt: skip
    column_searchable_list = [LoginAttempt.email, LoginAttempt.ip]
    column_filters = ["succeeded", "throttled", "at"]


SECURITY_VIEWS: list[type[ShopView]] = [LoginAttemptAdmin]
