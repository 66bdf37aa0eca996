"""Catalog: categories and the products sold in them."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, Numeric, String, Text, true
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import MONEY, Base, TimestampsMixin, VersionedMixin, money


class Category(VersionedMixin, Base):
    __tablename__ = "categories"
    __admin_label__ = "name"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=true(), default=True)

    parent: Mapped[Category | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Category]] = relationship(back_populates="parent", passive_deletes="all")
    products: Mapped[list[Product]] = relationship(back_populates="category", passive_deletes="all")


class Product(TimestampsMixin, VersionedMixin, Base):
    __tablename__ = "products"
    __admin_label__ = "name"
    __table_args__ = (
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint("cost >= 0", name="cost_not_negative"),
        CheckConstraint("stock_quantity >= 0", name="stock_quantity_not_negative"),
        CheckConstraint("reorder_level >= 0", name="reorder_level_not_negative"),
        Index("ix_products_sku_trgm", "sku", postgresql_using="gin", postgresql_ops={"sku": "gin_trgm_ops"}),
        Index("ix_products_name_trgm", "name", postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"}),
        Index("ix_products_created_at_id", "created_at", "id"),  # the list's default order
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2), info=MONEY)
    cost: Mapped[Decimal] = mapped_column(Numeric(10, 2), info=MONEY)
    stock_quantity: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    reorder_level: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=true(), default=True)

    category: Mapped[Category] = relationship(back_populates="products")

    @money
    @hybrid_property
    def margin(self) -> Decimal:
        """Price less cost: what one unit earns before overheads."""
        return self.price - self.cost

    @hybrid_property
    def is_low_stock(self) -> bool:
        """True when stock has fallen to the reorder level or below."""
        return self.stock_quantity <= self.reorder_level
