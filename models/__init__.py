"""The shop's declarative models. Importing this package registers every table on Base.metadata."""

from models.audit import AuditLog
from models.base import Base
from models.catalog import Category, Product
from models.preferences import SavedView
from models.sales import Customer, Order, OrderItem, OrderStatus
from models.security import LoginAttempt
from models.staff import Role, StaffUser

__all__ = [
    "AuditLog",
    "Base",
    "Category",
    "Customer",
    "LoginAttempt",
    "Order",
    "OrderItem",
    "OrderStatus",
    "Product",
    "Role",
    "SavedView",
    "StaffUser",
]
