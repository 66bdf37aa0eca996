"""The dashboard's daily sales summary: kept by the database, in the same transaction as the orders it sums.

Revision 0008 creates these tables and the triggers that keep them (on orders, order_items and customers);
nothing in the admin writes them. A day is a calendar day in the zone of `DashboardZone` (the admin's
ADMIN_TIME_ZONE when the summary was built), so a period of whole days in that zone is a range of rows:
exact at its boundaries, DST and half-hour offsets included. Declared here so that `alembic check` knows them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import CHAR, BigInteger, Date, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

REVENUE_STATUSES = ("paid", "shipped", "delivered")  # an order counts towards revenue in these statuses


class SalesDay(Base):
    """Orders placed on one day, in one status, by customers of one country: how many, and their totals."""

    __tablename__ = "dashboard_sales_days"
    __admin_view__ = False

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    country: Mapped[str] = mapped_column(CHAR(2), primary_key=True)
    orders: Mapped[int] = mapped_column(Integer)
    revenue: Mapped[Decimal] = mapped_column(Numeric(16, 2))  # the sum of their totals, whatever the status


class SalesMonth(Base):
    """The same by calendar month (`month` is its first day): a year is ~1,000 rows instead of ~30,000."""

    __tablename__ = "dashboard_sales_months"
    __admin_view__ = False

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    country: Mapped[str] = mapped_column(CHAR(2), primary_key=True)
    orders: Mapped[int] = mapped_column(Integer)
    revenue: Mapped[Decimal] = mapped_column(Numeric(16, 2))


class ProductDay(Base):
    """One product's lines on revenue orders (REVENUE_STATUSES) placed on one day: units and line totals."""

    __tablename__ = "dashboard_product_days"
    __admin_view__ = False

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    revenue: Mapped[Decimal] = mapped_column(Numeric(16, 2))


class ProductMonth(Base):
    """The same by calendar month (`month` is its first day): a year's top products read 10,000 rows
    per month instead of ~3,000 per day."""

    __tablename__ = "dashboard_product_months"
    __admin_view__ = False

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    revenue: Mapped[Decimal] = mapped_column(Numeric(16, 2))


class DashboardZone(Base):
    """The one row naming the time zone the summary's days are in (`dashboard_rebuild(zone)` changes it); none: UTC."""

    __tablename__ = "dashboard_zone"
    __admin_view__ = False

    zone: Mapped[str] = mapped_column(Text, primary_key=True)
