"""The shop's declarative models. Importing this package registers every table on Base.metadata."""

from models import stored_totals  # noqa: F401 - registers the session events that refresh stored totals
from models.audit import AuditLog
from models.base import Base
from models.catalog import Category, Product
from models.dashboard import DashboardZone, ProductDay, ProductMonth, SalesDay, SalesMonth  # noqa: F401 - the summary
from models.imports import ImportBatch, ImportRow
from models.preferences import SavedView
from models.sales import Customer, Order, OrderItem, OrderStatus
from models.security import LoginAttempt, StaffSession
from models.staff import Role, StaffUser

__all__ = [
    "AuditLog",
    "Base",
    "Category",
    "Customer",
    "ImportBatch",
    "ImportRow",
    "LoginAttempt",
    "Order",
    "OrderItem",
    "OrderStatus",
    "Product",
    "Role",
    "SavedView",
    "StaffSession",
    "StaffUser",
]
