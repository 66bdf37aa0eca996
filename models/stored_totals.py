"""An order's `subtotal` and `item_count` are written by the database (triggers on order_items), not by
SQLAlchemy: after SQLAlchemy writes order lines, the orders it has loaded in that session would show the
values read before. So their two attributes are expired, and read again (in the same transaction, after
the triggers ran) the next time they are used:

- after a flush that inserted, changed or deleted lines: the orders those lines belong to, or belonged
  to before they moved;
- after an ORM-enabled INSERT, UPDATE or DELETE statement on order lines (`session.execute(update(OrderItem)…)`),
  which may touch any order: every loaded order.

Plain SQL sent through a session (`text(...)`) is not looked into: refresh the orders it changed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.orm.util import identity_key

from models.sales import Order, OrderItem

KEPT = ["subtotal", "item_count"]
_TOUCHED = "orders_with_changed_lines"  # session.info key: order ids noted by the flush, expired after it


@event.listens_for(Session, "after_flush")
def _note_orders_with_changed_lines(session: Session, flush_context: UOWTransaction) -> None:
    touched: set[Any] = session.info.setdefault(_TOUCHED, set())
    for line in (*session.new, *session.dirty, *session.deleted):
        if isinstance(line, OrderItem):
            history = inspect(line).attrs.order_id.history  # what it was and is, without loading anything
            touched.update(key for key in (*history.added, *history.unchanged, *history.deleted) if key is not None)


@event.listens_for(Session, "after_flush_postexec")
def _expire_their_totals(session: Session, flush_context: UOWTransaction) -> None:
    for order_id in session.info.pop(_TOUCHED, ()):
        order = session.identity_map.get(identity_key(Order, order_id))
        if order is not None:
            session.expire(order, KEPT)


@event.listens_for(Session, "do_orm_execute")
def _expire_after_statements_on_lines(state: ORMExecuteState) -> Any:
    if not (state.is_insert or state.is_update or state.is_delete) or state.bind_mapper is not inspect(OrderItem):
        return None
    result = state.invoke_statement()
    for loaded in list(state.session.identity_map.values()):
        if isinstance(loaded, Order):
            state.session.expire(loaded, KEPT)
    return result
