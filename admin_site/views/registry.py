"""Every model gets a view: the shop's declared ones, and an inferred one for any other model.

Pages that are not about one model (the permission matrix, one's own password) come from `all_pages`.
"""

from __future__ import annotations

from sqladmin import BaseView
from sqlalchemy.orm import DeclarativeBase

from admin_site.views.account import AccountPage
from admin_site.views.base import ShopView
from admin_site.views.login_attempts import SECURITY_VIEWS
from admin_site.views.permissions_page import PermissionsPage
from admin_site.views.shop import SHOP_VIEWS
from models import Base


def generated_view(model: type[Base]) -> type[ShopView]:
    """A view with nothing declared: every option comes from the model."""
    return type(f"{model.__name__}Admin", (ShopView,), {}, model=model)


def all_views(base: type[DeclarativeBase] = Base) -> list[type[ShopView]]:
    declared = {view.model for view in [*SHOP_VIEWS, *SECURITY_VIEWS]}
    extra = [
        generated_view(mapper.class_)
        for mapper in sorted(base.registry.mappers, key=lambda m: m.class_.__name__)
        if mapper.class_ not in declared and getattr(mapper.class_, "__admin_view__", True)
    ]
    return [*SHOP_VIEWS, *SECURITY_VIEWS, *extra]


def all_pages() -> list[type[BaseView]]:
    return [PermissionsPage, AccountPage]
