"""The shop's admin views. Each states only what differs from what the model implies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from types import SimpleNamespace
from typing import Any, ClassVar

import anyio
from sqladmin.authorization import custom_action
from sqladmin.helpers import slugify_class_name
from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session
from starlette.requests import Request
from wtforms import Field, Form, PasswordField, validators

from admin_site import formatting
from admin_site.audit import choices as audit_choices
from admin_site.audit.history import changes_html, record_labels
from admin_site.auth.passwords import hash_password, password_problem
from admin_site.auth.permissions import SESSIONS
from admin_site.auth.staff_rules import StaffChangeRefused, check_staff_change
from admin_site.forms.bulk_actions import actions_of, bulk_action
from admin_site.lists.filters import ChoiceFilter, ListFilter
from admin_site.naming import humanise
from admin_site.refusals import ChangeRefused
from admin_site.views.base import ShopView
from admin_site.views.panels import PanelSum
from models import AuditLog, Base, Category, Customer, Order, OrderItem, OrderStatus, Product, Role, StaffUser

SPENDING_STATUSES = (OrderStatus.paid, OrderStatus.shipped, OrderStatus.delivered)  # what a customer has spent
CANCELLABLE_STATUSES = (OrderStatus.pending, OrderStatus.paid)
ORDER_KEYS = "orders_id_seq"  # the orders table's key sequence: a new order's number follows its key


class CategoryAdmin(ShopView, model=Category):
    name_plural = "Categories"
    can_import, import_key = True, "slug"  # spreadsheets matched by slug (admin_site/imports/)
    icon = "fa-solid fa-folder-tree"


class ProductAdmin(ShopView, model=Product):
    icon = "fa-solid fa-box"
    can_import, import_key = True, "sku"  # spreadsheets matched by sku (admin_site/imports/)
    # Hybrid properties by name ("margin"): SQLAdmin's type for these options allows names and columns only.
    column_list = [
        Product.id, Product.sku, Product.name, "category", Product.price, Product.cost,
        "margin", Product.stock_quantity, "is_low_stock", Product.is_active,
    ]  # fmt: skip
    column_filters = ["category", "is_active", "is_low_stock", "price"]
    form_ajax_refs = {}  # categories are few: a plain drop-down

    @bulk_action(
        "activate", "Activate", done="activated", sets={"is_active": True}, shown_for=lambda p: not p.is_active
    )
    def activate(self, product: Product, request: Request) -> str | None:
        if product.is_active:
            return "already active"
        product.is_active = True
        return None

    @bulk_action(
        "deactivate", "Deactivate", done="deactivated", sets={"is_active": False}, shown_for=lambda p: p.is_active
    )
    def deactivate(self, product: Product, request: Request) -> str | None:
        if not product.is_active:
            return "already inactive"
        product.is_active = False
        return None


class CustomerAdmin(ShopView, model=Customer):
    icon = "fa-solid fa-user"
    can_import, import_key = True, "email"  # spreadsheets matched by email (admin_site/imports/)
    column_list = [
        Customer.id, Customer.email, "full_name", Customer.country, Customer.phone,
        Customer.is_blocked, Customer.created_at,
    ]  # fmt: skip
    column_searchable_list = [Customer.email, "full_name"]
    column_filters = ["country", "is_blocked", "created_at"]
    count_mode = "estimated"
    panel_sums = {
        "orders": [PanelSum("Amount spent", Order.total, Order.status.in_(SPENDING_STATUSES), kind=formatting.MONEY)]
    }

    @bulk_action("block", "Block", done="blocked", sets={"is_blocked": True}, shown_for=lambda c: not c.is_blocked)
    def block(self, customer: Customer, request: Request) -> str | None:
        if customer.is_blocked:
            return "already blocked"
        customer.is_blocked = True
        return None

    @bulk_action("unblock", "Unblock", done="unblocked", sets={"is_blocked": False}, shown_for=lambda c: c.is_blocked)
    def unblock(self, customer: Customer, request: Request) -> str | None:
        if not customer.is_blocked:
            return "not blocked"
        customer.is_blocked = False
        return None


class OrderAdmin(ShopView, model=Order):
    icon = "fa-solid fa-receipt"
    column_list = [
        Order.id, Order.number, "customer", Order.status, Order.placed_at,
        Order.shipped_at, "item_count", "total",
    ]  # fmt: skip
    column_searchable_list = [Order.number, "customer.email"]
    column_filters = ["status", "placed_at", "total", "customer", "customer.country"]
    column_labels = {"customer": "Customer e-mail", "customer.email": "customer e-mail"}
    count_mode = "estimated"
    form_edit_readonly = [Order.number]  # customers and invoices quote it
    inlines = ["items"]
    inline_defaults = {"items": {"unit_price": "price"}}  # a new line costs what the product costs
    # A new order's number comes from the server (on_model_change); the form asks for the rest.
    form_create_rules = ["customer", "status", "placed_at", "shipped_at", "discount_pct", "shipping_fee", "notes"]
    column_details_list = [
        "number", "customer", "status", "placed_at", "shipped_at", "item_count",
        "subtotal", "discount_pct", "shipping_fee", "total", "notes",
    ]  # fmt: skip

    async def on_model_change(self, data: dict[str, Any], model: Any, is_created: bool, request: Request) -> None:
        """A new order takes the next key of the orders table, and its number from it: SO-0000042."""
        if is_created:
            model.id = await anyio.to_thread.run_sync(self._next_order_id)
            model.number = f"SO-{model.id:07d}"

    def _next_order_id(self) -> int:
        with self.session_maker() as session:
            return session.execute(select(func.nextval(ORDER_KEYS))).scalar_one()

    @bulk_action(
        "mark_shipped",
        "Mark as shipped",
        done="shipped",
        shown_for=lambda order: order.status == OrderStatus.paid,
        sets={"status": OrderStatus.shipped},
    )
    def mark_shipped(self, order: Order, request: Request) -> str | None:
        if order.status != OrderStatus.paid:
            return "not paid"
        now = datetime.now(UTC)
        if order.placed_at > now:
            return "placed in the future"  # shipped_at >= placed_at would refuse the whole batch
        order.status, order.shipped_at = OrderStatus.shipped, now
        return None

    @bulk_action(
        "cancel",
        "Cancel order",
        done="cancelled",
        shown_for=lambda order: order.status in CANCELLABLE_STATUSES,
        sets={"status": OrderStatus.cancelled},
    )
    def cancel(self, order: Order, request: Request) -> str | None:
        if order.status not in CANCELLABLE_STATUSES:
            return f"already {order.status.value}"
        order.status = OrderStatus.cancelled
        return None


class OrderItemAdmin(ShopView, model=OrderItem):
    icon = "fa-solid fa-list"
    column_list = [
        OrderItem.id,
        "order",
        "product.sku",
        "product",
        OrderItem.quantity,
        OrderItem.unit_price,
        "line_total",
    ]
    column_searchable_list = ["order.number", "product.sku"]
    column_labels = {"order.number": "Order number", "product.sku": "SKU"}
    # The dashboard's link from a product: its lines on orders placed in a period, in given statuses.
    column_filters = ["product", "order", "order.placed_at", "order.status", "quantity", "unit_price"]
    count_mode = "estimated"


class StaffUserAdmin(ShopView, model=StaffUser):
    """Staff are deactivated, never deleted; a password is set through its own field, hashed.

    Role and active-flag changes go through `staff_rules` (no self-demotion, keep one admin).
    """

    icon = "fa-solid fa-id-badge"
    can_delete = False
    form_columns = [StaffUser.email, StaffUser.full_name, StaffUser.role, StaffUser.is_active]

    def record_links(self, request: Request, staff: StaffUser) -> list[tuple[str, str, str]]:
        """(id, label, URL) of the buttons the person's page adds: their sessions, for whoever may end them."""
        if not self.has_permission(request, custom_action(SESSIONS)):
            return []
        return [("record-sessions", "Sessions", str(request.url_for("admin:staff_sessions", pk=staff.id)))]

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
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
            session = object_session(model)
            assert session is not None  # the row is being changed in a session (forms/writes.py)
            await anyio.to_thread.run_sync(check_staff_change, session, actor.id, model, new_role, new_active)
        password = data.pop("new_password", None)
        if password:
            model.password_hash = hash_password(password)
        elif is_created:
            raise ChangeRefused("A new staff member needs a password.", field_names=("new_password",))

    @bulk_action(
        "deactivate", "Deactivate", done="deactivated", sets={"is_active": False}, shown_for=lambda s: s.is_active
    )
    def deactivate(self, staff: StaffUser, request: Request) -> str | None:
        """Same rules as the edit form: nobody deactivates themselves, the last active admin stays."""
        actor_id = request.state.staff_user.id
        if not staff.is_active:
            return "already inactive"
        if staff.id == actor_id:
            return "you cannot deactivate yourself"
        session = object_session(staff)
        assert session is not None  # the rows a bulk action changes are in its session (forms/bulk_actions.py)
        try:
            check_staff_change(session, actor_id, staff, staff.role, False)
        except StaffChangeRefused:
            return "the last active admin"
        staff.is_active = False
        return None


def _check_password_policy(form: Form, field: Field) -> None:
    personal = [getattr(getattr(form, name, None), "data", None) or "" for name in ("email", "full_name")]
    problem = password_problem(field.data or "", personal)
    if problem:
        raise validators.ValidationError(problem)


BULK_ACTIONS = [
    slug
    for view in (CategoryAdmin, ProductAdmin, CustomerAdmin, OrderAdmin, OrderItemAdmin, StaffUserAdmin)
    for slug in actions_of(view)
]


class AuditLogAdmin(ShopView, model=AuditLog):
    """Append-only: nobody creates, edits or deletes audit rows through the admin."""

    name = "Audit entry"
    name_plural = "Audit log"
    icon = "fa-solid fa-clipboard-list"
    can_create = False
    can_edit = False
    can_delete = False
    count_mode = "estimated"
    column_list = [
        AuditLog.id,
        AuditLog.at,
        "staff_user",
        AuditLog.action,
        AuditLog.entity,
        AuditLog.entity_pk,
        AuditLog.ip,
    ]
    column_searchable_list = [AuditLog.entity_pk, AuditLog.action, AuditLog.entity, "staff_user.email"]
    column_labels = {"staff_user": "Who", "staff_user.email": "who (e-mail)", "entity_pk": "Record", "ip": "Address"}
    # By person, entity, action and date range; the choices are what the admin writes.
    column_filters: ClassVar[Sequence[str | ListFilter]] = [
        "staff_user",
        ChoiceFilter(AuditLog, "entity", audit_choices.entities()),
        ChoiceFilter(AuditLog, "action", audit_choices.actions(BULK_ACTIONS)),
        "at",
    ]
    column_formatters_detail = {AuditLog.changes: lambda entry, _attr: changes_html(None, entry.changes)}
    # What and which: "Staff user", "Login", the record's label — not the slugs and keys the log keeps.
    column_formatters = {
        AuditLog.entity: lambda entry, _attr: humanise((entry.entity or "").replace("-", "_")),
        AuditLog.action: lambda entry, _attr: humanise(entry.action or ""),
        AuditLog.entity_pk: lambda entry, _attr: getattr(entry, "record_label", None) or entry.entity_pk,
    }

    def label_rows(self, session: Session, rows: list[Any]) -> None:
        """Each entry's record by its label ("SO-0000042"; its key once it is gone): one statement per entity."""
        records = [(entry.entity or "", entry.entity_pk or "") for entry in rows]
        labels = record_labels(session, record_models(), records)
        for entry, record in zip(rows, records, strict=True):
            entry.record_label = labels.get(record)

    show_history = False  # an audit entry never changes


@cache
def record_models() -> dict[str, Any]:
    """Every model by the entity name the audit log records for it (its view's identity)."""
    return {
        slugify_class_name(m.class_.__name__): SimpleNamespace(model=m.class_, pk_columns=list(m.primary_key))
        for m in Base.registry.mappers
    }


SHOP_VIEWS: list[type[ShopView]] = [
    CategoryAdmin, ProductAdmin, CustomerAdmin, OrderAdmin, OrderItemAdmin, StaffUserAdmin, AuditLogAdmin,
]  # fmt: skip
