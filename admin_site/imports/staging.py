"""Where a file's rows wait between the preview and the confirmation: PostgreSQL, keyed by a random token.

Why here, and not the upload again or the worker's memory or disk: the confirmation may reach any worker
process on any host (they share nothing but PostgreSQL), it must apply exactly what the preview showed —
the same rows, each checked against the version the preview read — and it must apply once. A batch row
(`import_batches`) holds who made the preview, for which view, from which file, until when, with what
counts, and whether it has been applied; its staged rows (`import_rows`, UNLOGGED: bulk-written, short-lived)
hold each row's values, the record it matched and that record's version. The URL carries a random token;
the table keeps only its SHA-256, and a batch answers only the staff member who made it, for its own view,
until it expires (`IMPORT_PREVIEW_TTL`). Uploading again instead would cost a second parse and could give
different rows; memory or a local file would tie the confirmation to one process.

Rows reach the table by one `COPY … FROM STDIN` fed as they are read and checked: memory stays flat.
Expired batches are deleted (with their rows) whenever someone makes a new preview.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from models import ImportBatch, ImportRow

PENDING, CREATE, UPDATE, UNCHANGED, REFUSED = "pending", "create", "update", "unchanged", "refused"
COPY_SQL = "COPY import_rows (batch_id, row_number, key, outcome, data, problems) FROM STDIN"
COPY_CHUNK = 256 * 1024


def new_token() -> tuple[str, str]:
    """(the token for the URL, the hash the table keeps)."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def drop_expired(session: Session) -> None:
    """Batches past their expiry go, with their rows (ON DELETE CASCADE); applied ones are kept a day longer
    so that a second confirmation still says "already applied"."""
    now = datetime.now(UTC)
    session.execute(delete(ImportBatch).where(ImportBatch.expires_at < now - timedelta(days=1)))
    session.execute(
        delete(ImportRow).where(
            ImportRow.batch_id.in_(
                ImportBatch.__table__.select()
                .with_only_columns(ImportBatch.id)
                .where(ImportBatch.expires_at < now, ImportBatch.applied_at.is_(None))
            )
        )
    )


def new_batch(session: Session, *, token_hash: str, staff_user_id: int, entity: str, file_name: str,
              key_column: str, columns: list[str], ttl: int) -> int:  # fmt: skip
    stmt = (
        insert(ImportBatch)
        .values(
            token_hash=token_hash,
            staff_user_id=staff_user_id,
            entity=entity,
            file_name=file_name[:255],
            key_column=key_column,
            columns=columns,
            counts={},
            expires_at=datetime.now(UTC) + timedelta(seconds=ttl),
        )
        .returning(ImportBatch.id)
    )
    return int(session.execute(stmt).scalar_one())


StagedRow = tuple[int, str | None, dict[str, Any], list[dict[str, str]] | None]  # number, key, data, problems


def _copy_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _lines(batch_id: int, rows: Iterable[StagedRow]) -> Iterator[bytes]:
    out: list[str] = []
    size = 0
    for number, key, data, problems in rows:
        key_text = "\\N" if key is None else _copy_text(key[:300])
        outcome = REFUSED if problems else CREATE  # until the row matches a record (preview.classify)
        problems_text = "\\N" if not problems else _copy_text(json.dumps(problems))
        line = f"{batch_id}\t{number}\t{key_text}\t{outcome}\t{_copy_text(json.dumps(data))}\t{problems_text}\n"
        out.append(line)
        size += len(line)
        if size >= COPY_CHUNK:
            yield "".join(out).encode()
            out, size = [], 0
    if out:
        yield "".join(out).encode()


class _Feed:
    """A file-like object psycopg2's COPY reads from, filled by a generator as it goes."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks, self.pending = chunks, b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.pending) < size:
            chunk = next(self.chunks, None)
            if chunk is None:
                break
            self.pending += chunk
        if size < 0:
            data, self.pending = self.pending, b""
        else:
            data, self.pending = self.pending[:size], self.pending[size:]
        return data

    readline = read


def copy_rows(session: Session, batch_id: int, rows: Iterable[StagedRow]) -> None:
    """Stage `rows` with one COPY, in the session's transaction (reading the file as it goes)."""
    connection: Any = session.connection().connection.dbapi_connection  # psycopg2's, for its copy_expert
    with connection.cursor() as cursor:
        cursor.copy_expert(COPY_SQL, _Feed(_lines(batch_id, rows)), size=COPY_CHUNK)
