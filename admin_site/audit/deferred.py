"""Audit rows that could not be written because the database was unavailable, written when it is back.

An export that the database cut off still gets its audit row ("failed"), though at that moment the database
is what failed: the row is kept in memory, with the time it happened, and a background thread tries again
every RETRY_EVERY seconds until it is written. The process tries once more as it stops; a row still not
written then is logged in full (one line), so nothing is lost without a trace. At most MAX_KEPT rows wait.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from admin_site.audit import log as audit
from admin_site.db.outage import is_unavailable

log = logging.getLogger(__name__)

RETRY_EVERY = 5.0  # seconds
MAX_KEPT = 1000


@dataclass(frozen=True)
class KeptRow:
    session_factory: sessionmaker[Session]
    at: datetime
    staff_user_id: int | None
    ip: str | None
    action: str
    entity: str | None
    changes: dict[str, Any]


class Deferred:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: list[KeptRow] = []
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def record_event(
        self,
        session_factory: sessionmaker[Session],
        request: Request | None,
        action: str,
        entity: str | None,
        changes: dict[str, Any],
    ) -> None:
        """`audit.record_event` now, or, if the database is unavailable, as soon as it is back."""
        row = KeptRow(
            session_factory,
            datetime.now(UTC),
            audit.actor_id(request),
            audit.client_ip(request),
            action,
            entity,
            changes,
        )
        try:
            self._write(row)
        except Exception as error:
            if not is_unavailable(error):
                raise
            self._keep(row)

    @property
    def waiting(self) -> int:
        return len(self._kept)

    def flush(self) -> int:
        """Try to write every kept row; returns how many still wait."""
        with self._lock:
            rows, self._kept = self._kept, []
        for index, row in enumerate(rows):
            try:
                self._write(row)
            except Exception as error:
                with self._lock:
                    self._kept = rows[index:] + self._kept
                if not is_unavailable(error):
                    log.exception("a kept audit row could not be written")
                break
        return self.waiting

    def give_up(self) -> None:
        """The process is stopping with rows still unwritten: each goes to the log, whole, on one line."""
        with self._lock:
            rows, self._kept = self._kept, []
        for row in rows:
            log.error("audit row not written (database unavailable): at=%s staff=%s action=%s entity=%s changes=%s",
                      row.at.isoformat(), row.staff_user_id, row.action, row.entity, row.changes)  # fmt: skip

    @staticmethod
    def _write(row: KeptRow) -> None:
        with row.session_factory() as session:
            entry = audit.record(
                session, None, row.action, row.entity, None, row.changes, staff_user_id=row.staff_user_id
            )
            entry.at, entry.ip = row.at, row.ip
            session.commit()

    def _keep(self, row: KeptRow) -> None:
        with self._lock:
            if len(self._kept) >= MAX_KEPT:
                dropped = self._kept.pop(0)
                log.error(
                    "audit row dropped (too many waiting): %s %s %s",
                    dropped.at.isoformat(),
                    dropped.action,
                    dropped.changes,
                )
            self._kept.append(row)
            if self._thread is None:
                self._thread = threading.Thread(target=self._retry, name="audit-retry", daemon=True)
                self._thread.start()
        log.warning("audit row of %s %s kept until the database is back", row.action, row.entity)

    def _retry(self) -> None:
        while True:
            self._wake.wait(RETRY_EVERY)
            self._wake.clear()
            self.flush()
            with self._lock:
                if not self._kept:
                    self._thread = None
                    return


DEFERRED = Deferred()
