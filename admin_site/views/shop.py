"""The shop's admin views. Each states only what differs from what the model implies."""

from __future__ import annotations

from typing import Any

import anyio
from sqlalchemy.orm import object_session
from starlette.requests import Request
from wtforms import PasswordField, validators

from admin_site.passwords import hash_password, password_problem
from admin_site.staff_rules import check_staff_change
from admin_site.views.base import ShopView
from models import AuditLog, Category, Customer, Order, OrderItem, Product, Role, StaffUser


class CategoryAdmin(ShopView, model=Category):
    name_plural = "Categories"
    icon = "fa-solid fa-folder-tree"


class ProductAdmin(ShopView, model=Product):
    icon = "fa-solid fa-box"
    column_list = [
        Product.id, Product.sku, Product.name, "category", Product.price, Product.cost,
        Product.margin, Product.stock_quantity, Product.is_low_stock, Product.is_active,
    ]  # fmt: skip
    column_filters = ["category", "is_active", "is_low_stock", "price"]
    form_ajax_refs = {}  # categories are few: a plain drop-down


class CustomerAdmin(ShopView, model=Customer):
    icon = "fa-solid fa-user"
    column_list = [
        Customer.id, Customer.email, Customer.full_name, Customer.country, Customer.phone,
        Customer.is_blocked, Customer.created_at,
    ]  # fmt: skip
    column_searchable_list = [Customer.email, Customer.full_name]
    column_filters = ["country", "is_blocked", "created_at"]
    count_mode = "estimated"


class OrderAdmin(ShopView, model=Order):
    icon = "fa-solid fa-receipt"
    column_list = [
        Order.id, Order.number, "customer", Order.status, Order.placed_at,
        Order.shipped_at, Order.item_count, Order.total,
    ]  # fmt: skip
    column_searchable_list = [Order.number, "customer.email"]
    column_filters = ["status", "placed_at", "total", "customer"]
    column_labels = {"customer": "Customer e-mail", "customer.email": "customer e-mail"}
    count_mode = "estimated"
    form_edit_readonly = [Order.number]  # customers and invoices quote it


class OrderItemAdmin(ShopView, model=OrderItem):
    icon = "fa-solid fa-list"
    column_list = [OrderItem.id, "order", "product", OrderItem.quantity, OrderItem.unit_price, OrderItem.line_total]
    column_searchable_list = ["order.number", "product.sku"]
    column_labels = {"order.number": "Order number", "product.sku": "SKU"}
    count_mode = "estimated"


class StaffUserAdmin(ShopView, model=StaffUser):
    """Staff are deactivated, never deleted; a password is set through its own field, hashed.

    Role and active-flag changes go through `staff_rules` (no self-demotion, keep one admin).
    """

    icon = "fa-solid fa-id-badge"
    can_delete = False
    form_columns = [StaffUser.email, StaffUser.full_name, StaffUser.role, StaffUser.is_active]

    async def scaffold_form(self, rules: list[str] | None = None):
        base = await super().scaffold_form(rules)

        class StaffForm(base):  # type: ignore[misc, valid-type]
            new_password = PasswordField(
                "New password",
                validators=[validators.Optional(), _check_password_policy],
                description="Leave empty to keep the current password.",
            )

        return StaffForm

    async def on_model_change(self, data: dict[str, Any], model: Any, is_created: bool, request: Request) -> None:
        if not is_created:
            actor = request.state.staff_user
            new_role = Role(data.get("role", model.role))
            new_active = bool(data.get("is_active", model.is_active))
            # The check locks rows in the change's own session; it runs off the event loop.
            await anyio.to_thread.run_sync(
                check_staff_change, object_session(model), actor.id, model, new_role, new_active
            )
        password = data.pop("new_password", None)
        if password:
            model.password_hash = hash_password(password)
        elif is_created:
            raise ValueError("A new staff member needs a password.")


def _check_password_policy(form, field) -> None:
    problem = password_problem(field.data or "")
    if problem:
        raise validators.ValidationError(problem)


class AuditLogAdmin(ShopView, model=AuditLog):
    """Append-only: nobody creates, edits or deletes audit rows through the admin."""

    name = "Audit entry"
    name_plural = "Audit log"
    icon = "fa-solid fa-clipboard-list"
    can_create = False
    can_edit = False
    can_delete = False
    count_mode = "estimated"
    column_list = [AuditLog.id, AuditLog.at, "staff_user", AuditLog.action, AuditLog.entity, AuditLog.entity_pk, AuditLog.ip]
    column_filters = ["action", "staff_user", "at"]


SHOP_VIEWS: list[type[ShopView]] = [
    CategoryAdmin, ProductAdmin, CustomerAdmin, OrderAdmin, OrderItemAdmin, StaffUserAdmin, AuditLogAdmin,
]  # fmt: skip
