"""/healthz's answer, within its time limit whatever the database does.

The probe runs on a thread of its own (never waiting behind the pages for anyio's shared worker threads), on
a connection of its own (never waiting for the pages' pool; `engine.make_health_engine`), and the answer is
given when the limit is up even if the probe is still stuck: a frozen database is a 503 in time, not a hang.
A stuck probe ends by itself (its connection's own deadline); at most PROBES_AT_ONCE are ever running.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import anyio
from sqlalchemy import Engine

from admin_site.db.outage import OUTAGE, Unavailability

PROBES_AT_ONCE = 4
_slots = threading.BoundedSemaphore(PROBES_AT_ONCE)


async def answers_within(seconds: float, probe: Callable[[Engine], bool], engine: Engine) -> bool:
    """`probe(engine)` on its own thread; False when it says so or has not answered within `seconds`."""
    if not _slots.acquire(blocking=False):  # earlier probes are all still stuck: the database is not answering
        return False

    def run() -> bool:
        try:
            return probe(engine)
        finally:
            _slots.release()

    with anyio.move_on_after(seconds):
        return await anyio.to_thread.run_sync(run, abandon_on_cancel=True, limiter=anyio.CapacityLimiter(1))
    OUTAGE.failed(Unavailability("timeout", f"the health probe got no answer within {seconds:g} s"))
    return False
