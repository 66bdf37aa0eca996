"""Stock SQLAdmin over the same models and data, so the benchmark compares against it in the same run.

Declared as a SQLAdmin user would declare it, given every fair help: the same columns, searches and
default sort as our views, related rows loaded in one statement each (`selectinload`, SQLAdmin's own
choice for related columns, instead of one query per row), the totals the database stores (the `total`
hybrid reads them: no order line loaded), the customer picked by an ajax look-up (a drop-down of 100,000
customers would dominate the edit form). No log-in: stock SQLAdmin has none unless one is written, so it pays no session check.
"""

from __future__ import annotations

from sqladmin import Admin, ModelView
from sqladmin.filters import StaticValuesFilter
from sqlalchemy import Engine
from starlette.applications import Starlette

from models import Customer, Order, OrderStatus, Product

PAGE_SIZE = 50  # as our lists (stock's default is 10)


class StockProductAdmin(ModelView, model=Product):
    page_size = PAGE_SIZE
    column_list = [
        Product.id, Product.sku, Product.name, Product.category, Product.price, Product.cost,
        Product.margin, Product.stock_quantity, Product.is_low_stock, Product.is_active,
    ]  # fmt: skip
    column_default_sort = [(Product.created_at, True)]


class StockCustomerAdmin(ModelView, model=Customer):
    page_size = PAGE_SIZE
    column_list = [
        Customer.id, Customer.email, Customer.full_name, Customer.country, Customer.phone,
        Customer.is_blocked, Customer.created_at,
    ]  # fmt: skip
    column_searchable_list = [Customer.email, Customer.full_name]
    column_default_sort = [(Customer.created_at, True)]


class StockOrderAdmin(ModelView, model=Order):
    page_size = PAGE_SIZE
    column_list = [
        Order.id, Order.number, Order.customer, Order.status, Order.placed_at,
        Order.shipped_at, Order.item_count, Order.total,
    ]  # fmt: skip
    column_searchable_list = [Order.number, "customer.email"]
    column_sortable_list = [Order.id, Order.placed_at, Order.status]
    column_default_sort = [(Order.placed_at, True), (Order.id, True)]
    column_filters = [StaticValuesFilter(Order.status, [(s.value, s.value) for s in OrderStatus])]
    form_excluded_columns = [Order.items, Order.version, Order.subtotal, Order.item_count]  # the database's
    form_ajax_refs = {"customer": {"fields": ("email",)}}


def create_stock_app(engine: Engine) -> Starlette:
    app = Starlette()
    admin = Admin(app, engine)
    for view in (StockProductAdmin, StockCustomerAdmin, StockOrderAdmin):
        admin.add_view(view)
    return app
