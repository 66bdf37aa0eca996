"""`admin-site check-totals`: every order's stored subtotal and item_count against its lines.

The database keeps them exact (triggers on order_items, revision 0006), so a difference means they were
bypassed: a trigger switched off, a stored value written by hand, a restore of one table without the
other. The check reads both sides in one snapshot (no false alarm from a change in flight); a repair
locks the differing orders first, then recomputes them in a statement that sees every change committed
before the lock (the same steps as the revision's backfill), so it cannot undo a line added meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine, Select, func, select, tuple_, update
from sqlalchemy.orm import Session

from models import Order, OrderItem

REPAIR_BATCH = 1_000  # orders locked and repaired per transaction


@dataclass(frozen=True)
class Difference:
    order_id: int
    number: str
    stored_subtotal: Decimal
    stored_items: int
    subtotal: Decimal
    items: int


def _computed(ids: Sequence[int] | None = None) -> Select:
    """Each order's id, number, stored values and the values its lines give, where they differ."""
    lines = select(
        OrderItem.order_id,
        func.sum(OrderItem.quantity * OrderItem.unit_price).label("subtotal"),
        func.sum(OrderItem.quantity).label("units"),
    ).group_by(OrderItem.order_id)
    if ids is not None:
        lines = lines.where(OrderItem.order_id.in_(ids))
    sums = lines.subquery()
    subtotal = func.coalesce(sums.c.subtotal, 0)
    units = func.coalesce(sums.c.units, 0)
    stmt = (
        select(
            Order.id,
            Order.number,
            Order.subtotal,
            Order.item_count,
            subtotal.label("lines_subtotal"),
            units.label("lines_units"),
        )
        .outerjoin(sums, sums.c.order_id == Order.id)
        .where(tuple_(Order.subtotal, Order.item_count).is_distinct_from(tuple_(subtotal, units)))
        .order_by(Order.id)
    )
    return stmt if ids is None else stmt.where(Order.id.in_(ids))


def find_differences(engine: Engine) -> tuple[int, list[Difference]]:
    """How many orders there are, and those whose stored totals differ from their lines (in one snapshot)."""
    with Session(engine) as session, session.begin():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        orders = session.scalar(select(func.count()).select_from(Order)) or 0
        found = [Difference(*row) for row in session.execute(_computed())]
    return orders, found


def repair(engine: Engine, order_ids: Sequence[int]) -> int:
    """Set the given orders' stored totals to what their lines give now; returns how many changed."""
    repaired = 0
    for start in range(0, len(order_ids), REPAIR_BATCH):
        batch = sorted(order_ids[start : start + REPAIR_BATCH])
        with Session(engine) as session, session.begin():
            # Lock first: a transaction that changed these orders' lines has committed when the lock is
            # granted, and one that changes them later waits, then adds its delta to the repaired value.
            session.execute(
                select(Order.id).where(Order.id.in_(batch)).order_by(Order.id).with_for_update(key_share=True)
            )
            for row in session.execute(_computed(batch)):  # a new statement: it sees what committed before the lock
                session.execute(
                    update(Order)
                    .where(Order.id == row.id)
                    .values(subtotal=row.lines_subtotal, item_count=row.lines_units),
                    execution_options={"synchronize_session": False},
                )
                repaired += 1
    return repaired
