"""How a server process is set up to serve: shared by `admin serve` and the benchmark's server."""

from __future__ import annotations

import gc
from typing import Any

import uvicorn
from starlette.applications import Starlette

YOUNG_OBJECTS_BEFORE_A_COLLECTION = 20_000  # CPython's default: 700


def settle_for_serving() -> None:
    """Keep the garbage collector off the objects that live as long as the process.

    After start-up tens of thousands of objects are tracked (mappers, compiled templates and
    statements, views) and every full collection would walk them; frozen, they are never scanned
    again. A page allocates thousands of short-lived objects, so the young generation is collected
    less often than CPython's default.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS_BEFORE_A_COLLECTION, 10, 10)


def run(application: Starlette, *, host: str, port: int, **uvicorn_options: Any) -> None:
    settle_for_serving()
    uvicorn.run(application, host=host, port=port, **uvicorn_options)
