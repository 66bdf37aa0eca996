"""Sales: customers, their orders and the order lines."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import (
    CHAR,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    literal_column,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from models.base import COUNTRY, KEPT_BY_DATABASE, MONEY, Base, CreatedAtMixin, VersionedMixin, money, string_enum
from models.catalog import Product

CENT = Decimal("0.01")  # PostgreSQL round() rounds half away from zero: so does ROUND_HALF_UP


_FULL_NAME_SQL = "(first_name::text || ' '::text) || last_name::text"  # first_name || ' ' || last_name
# Order.total as the indexes on it are built (revision 0006; `alembic check` compares it with PostgreSQL's
# spelling, casts left out): the hybrid's SQL side parses to the same expression, which is what lets
# PostgreSQL use them.
_TOTAL_SQL = "round(subtotal * (100 - discount_pct) / 100 + shipping_fee, 2)"
_TOTAL_FROM = ["subtotal", "discount_pct", "shipping_fee"]


class Customer(CreatedAtMixin, VersionedMixin, Base):
    __tablename__ = "customers"
    __admin_label__ = "email"
    __table_args__ = (  # substring search (ILIKE '%…%') is served by trigram indexes
        Index("ix_customers_email_trgm", "email", postgresql_using="gin", postgresql_ops={"email": "gin_trgm_ops"}),
        Index("ix_customers_created_at_id", "created_at", "id"),  # the list's default order
        # Exactly the expression `full_name` queries with, spelled as PostgreSQL shows it (so `alembic check` agrees).
        Index(
            "ix_customers_full_name_trgm",
            literal_column(_FULL_NAME_SQL),
            postgresql_using="gin",
            postgresql_ops={_FULL_NAME_SQL: "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    country: Mapped[str] = mapped_column(CHAR(2), info=COUNTRY)
    is_blocked: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)

    orders: Mapped[list[Order]] = relationship(back_populates="customer", passive_deletes="all")

    @hybrid_property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @full_name.inplace.expression
    @classmethod
    def _full_name_expression(cls) -> ColumnElement[str]:
        return cls.first_name + " " + cls.last_name


class OrderStatus(str, enum.Enum):
    pending = "pending"
    paid = "paid"
    shipped = "shipped"
    delivered = "delivered"
    cancelled = "cancelled"
    refunded = "refunded"

    __str__ = str.__str__


class Order(VersionedMixin, Base):
    __tablename__ = "orders"
    __admin_label__ = "number"
    __table_args__ = (
        CheckConstraint("shipped_at >= placed_at", name="shipped_after_placed"),
        CheckConstraint("discount_pct >= 0 AND discount_pct <= 100", name="discount_pct_range"),
        CheckConstraint("shipping_fee >= 0", name="shipping_fee_not_negative"),
        Index("ix_orders_number_trgm", "number", postgresql_using="gin", postgresql_ops={"number": "gin_trgm_ops"}),
        Index("ix_orders_placed_at_id", "placed_at", "id"),
        # Status filters, alone or with a date range ("refunded last week"), counted and paged newest
        # first from the index alone; it also serves what an index on status alone would.
        Index("ix_orders_status_placed_at_id", "status", "placed_at", "id"),
        # Stored by the database (triggers on order_items, revision 0006): never negative.
        CheckConstraint("subtotal >= 0", name="subtotal_not_negative"),
        CheckConstraint("item_count >= 0", name="item_count_not_negative"),
        # Sorted by total either way (a b-tree is read backwards as well), a total range, and either one within
        # a status. On the expression `total` queries with (see `_total_expression`); the columns it is computed
        # from are included, so that a count of a total range is an index-only scan.
        Index("ix_orders_total_id", literal_column(_TOTAL_SQL), "id", postgresql_include=_TOTAL_FROM),
        Index("ix_orders_status_total_id", "status", literal_column(_TOTAL_SQL), "id", postgresql_include=_TOTAL_FROM),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[OrderStatus] = mapped_column(
        string_enum(OrderStatus, "order_status"),
        server_default=OrderStatus.pending.value,
        default=OrderStatus.pending,
    )  # indexed with placed_at and id (ix_orders_status_placed_at_id)
    placed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )  # indexed with id (ix_orders_placed_at_id): the list's default order, deep pages by index-only scan
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    discount_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2), server_default="0", default=0)
    shipping_fee: Mapped[Decimal] = mapped_column(Numeric(10, 2), server_default="0", default=0, info=MONEY)
    notes: Mapped[str | None] = mapped_column(Text)
    # The sum of the lines' quantity × unit price and of their quantities, kept exact by the database in the
    # same transaction as any change to order_items (statement triggers, revision 0006): read, never written
    # here. After SQLAlchemy writes lines, the loaded orders' values are read again (models/stored_totals.py).
    subtotal: Mapped[Decimal] = mapped_column(Numeric(14, 2), server_default="0", info=MONEY | KEPT_BY_DATABASE)
    item_count: Mapped[int] = mapped_column(Integer, server_default="0", info=KEPT_BY_DATABASE)  # units

    customer: Mapped[Customer] = relationship(back_populates="orders")
    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", cascade="all, delete-orphan", passive_deletes=True
    )

    @money
    @hybrid_property
    def total(self) -> Decimal:
        """Subtotal less the discount, plus shipping, rounded to the cent."""
        discounted = self.subtotal * (100 - self.discount_pct) / 100
        return (discounted + self.shipping_fee).quantize(CENT, rounding=ROUND_HALF_UP)

    @total.inplace.expression
    @classmethod
    def _total_expression(cls) -> ColumnElement[Decimal]:
        # The constants are SQL literals, not bound parameters: PostgreSQL uses an expression index only for
        # the very expression it was built on, and a parameter ($1 when the server binds it) is not `100`.
        hundred, cents = literal_column("100", Numeric()), literal_column("2", Integer())
        exact = cls.subtotal * (hundred - cls.discount_pct) / hundred + cls.shipping_fee
        return func.round(exact, cents, type_=Numeric(14, 2))


class OrderItem(VersionedMixin, Base):
    __tablename__ = "order_items"
    __table_args__ = (
        UniqueConstraint("order_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(10, 2), info=MONEY)

    order: Mapped[Order] = relationship(back_populates="items")
    product: Mapped[Product] = relationship()

    def __str__(self) -> str:
        return f"{self.quantity} × product #{self.product_id} in order #{self.order_id}"

    @money
    @hybrid_property
    def line_total(self) -> Decimal:
        return self.quantity * self.unit_price
