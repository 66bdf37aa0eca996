"""What more than one test module needs, in one place: logging in, the CSRF token, forms posted as the
edit pages post them, reading pages, the database around a test.

Fixtures live in conftest.py; rows are made by factories.py. A test module imports helpers from here
(or factories), never from another test module nor from conftest.py (pytest imports conftest itself:
imported again as `tests.conftest` it would be a second copy of the module).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import io
import re
import socket
import subprocess
import threading
import time
import zipfile
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree

from alembic.config import Config
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import models
from models import Customer, Order, OrderItem, OrderStatus, Product, StaffUser
from tests import factories

PASSWORD = "correct-horse-42"  # every staff member made by the `make_staff` fixture has it


def run_in_own_loop(coroutine: Coroutine):
    """Await `coroutine` on an event loop of its own thread (the browser tests may leave one running here)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


# -- the database ----------------------------------------------------------------------------------


def alembic_config(url: str) -> Config:
    """The app's own Alembic configuration (admin_site/db/migrations.py), leaving pytest's logging alone."""
    from admin_site.db import migrations

    return migrations.alembic_config(url, configure_logging=False)


def truncate_all(engine: Engine, attempts: int = 5) -> None:
    """Empty every table. A browser test's server may still be finishing a request that holds row locks
    (PostgreSQL then picks one side of a deadlock): the TRUNCATE is simply tried again."""
    tables = ", ".join(t.name for t in models.Base.metadata.sorted_tables)
    for attempt in range(attempts):
        try:
            with engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            return
        except OperationalError as error:
            if "deadlock detected" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def fetch(db: Engine, model: type, pk: Any) -> Any:
    """The row as the database has it now (None when it is gone), detached."""
    with Session(db) as session:
        return session.get(model, pk)


Snapshot = dict[str, list[dict[str, Any]]]


def snapshot(db: Engine) -> Snapshot:
    """Every row of every table: a refused request must leave all of it as it was."""
    with db.connect() as conn:
        return {
            table.name: [
                dict(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns)).mappings()
            ]
            for table in models.Base.metadata.sorted_tables
        }


@contextmanager
def recorded_statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements sent through `engine` while the block runs, in order."""
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def six_orders(db: Engine, number_prefix: str) -> list[Order]:
    """Six orders of one product: odd ones a.smith@example.com's, even ones b.jones@example.com's; the first
    four refunded, the last two paid; numbers `number_prefix` + 00000 … 00005."""
    book = factories.product(db)
    smith = factories.customer(db, email="a.smith@example.com")
    other = factories.customer(db, email="b.jones@example.com")
    return [
        factories.order(db, (smith if n % 2 else other).id, [(book, 1)], number=f"{number_prefix}{n:05}",
                        status=OrderStatus.refunded if n < 4 else OrderStatus.paid)
        for n in range(6)
    ]  # fmt: skip


# -- the app ---------------------------------------------------------------------------------------


def view_of(app, identity: str) -> Any:
    """The app's view instance with this identity ("order", "staff-user", …)."""
    return next(v for v in app.state.admin.views if getattr(v, "identity", None) == identity)


# -- the CSRF token and logging in -----------------------------------------------------------------

CSRF_IN_PAGE = re.compile(r'name="csrf_token" value="([^"]+)"|<meta name="csrf-token" content="([^"]+)"')
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def csrf_token_of(client) -> str:
    """The CSRF token of the client's current session, as a page shows it (the login page has one)."""
    page = client.get("/admin/login")
    found = CSRF_IN_PAGE.search(page.text)
    assert found, "no CSRF token on the login page"
    return found.group(1) or found.group(2)


def _session_cookie(client) -> str | None:
    try:
        return client.cookies.get("admin_session")
    except Exception:
        return None


def sends_csrf_token(client):
    """Make `client` add the session's CSRF token (X-CSRF-Token) to its unsafe requests to /admin,
    as the admin's pages and scripts do, unless the request carries a token of its own (header or
    `csrf_token` field). Tests of the CSRF protection itself use a client without this."""
    if getattr(client, "_sends_csrf_token", False):
        return client
    cache: dict[str, str | None] = {}

    def add_token(request) -> None:
        if request.method in _SAFE_METHODS or not request.url.path.startswith("/admin"):
            return
        body = request.read()  # the encoded form (multipart bodies too)
        if "x-csrf-token" in request.headers or b"csrf_token=" in body or b'name="csrf_token"' in body:
            return
        cookie = _session_cookie(client)
        if cookie is None or cache.get("cookie") != cookie:
            cache["token"] = csrf_token_of(client)
            cache["cookie"] = _session_cookie(client)
            # The look-up may have started a session: send the cookie it set, not the one read before.
            if "cookie" in request.headers:
                del request.headers["cookie"]
            client.cookies.set_cookie_header(request)
        request.headers["X-CSRF-Token"] = cache["token"]

    client.event_hooks["request"].append(add_token)
    client._sends_csrf_token = True
    return client


@contextmanager
def browser_client(app, **options) -> Iterator[Any]:
    """Another browser on the app: a TestClient of its own (own cookies) that sends the CSRF token."""
    from starlette.testclient import TestClient

    with TestClient(app, base_url="http://testserver", follow_redirects=False, **options) as client:
        yield sends_csrf_token(client)


def login(client, email: str, password: str = PASSWORD):
    """Post the log-in form (the token sent as the pages' script would); returns the response."""
    return sends_csrf_token(client).post("/admin/login", data={"username": email, "password": password})


def login_with_token_field(client, email: str) -> None:
    """Log a client that sends no token by itself in, the token in the form's hidden field; must succeed."""
    response = client.post(
        "/admin/login", data={"username": email, "password": PASSWORD, "csrf_token": csrf_token_of(client)}
    )
    assert response.status_code == 302, response.text[-500:]


def browser_login(page, live_server: str, email: str) -> None:
    """Log in through the log-in page in a real browser (Playwright), landing on the home page."""
    from playwright.sync_api import expect

    page.goto(f"{live_server}/admin/login")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/$"))


# -- forms as the edit pages post them: every field, and the version the page showed ----------------


def product_form(p: Product, **changes) -> dict:
    return {"sku": p.sku, "name": p.name, "category": p.category_id, "price": str(p.price), "cost": str(p.cost),
            "stock_quantity": str(p.stock_quantity), "reorder_level": str(p.reorder_level), "is_active": "y",
            "version": "1", **changes}  # fmt: skip


def order_form(o: Order, **changes) -> dict:
    return {"customer": o.customer_id, "status": o.status.value, "placed_at": o.placed_at.strftime("%Y-%m-%d %H:%M:%S"),
            "shipped_at": "", "discount_pct": "0", "shipping_fee": "0", "notes": "", "version": "1",
            **changes}  # fmt: skip


def item_form(i: OrderItem, **changes) -> dict:
    return {"order": i.order_id, "product": i.product_id, "quantity": str(i.quantity), "unit_price": str(i.unit_price),
            "version": "1", **changes}  # fmt: skip


def customer_form(customer: Customer, **changes) -> dict[str, str]:
    form = {"email": customer.email, "first_name": customer.first_name, "last_name": customer.last_name,
            "country": customer.country, "phone": ""}  # fmt: skip
    version = getattr(customer, "version", None)
    if version is not None:
        form["version"] = str(version)
    return {**form, **changes}


def staff_form(staff: StaffUser, **changes: str | None) -> dict[str, str]:
    """The staff edit form as the browser posts it (an unchecked checkbox is simply absent: pass None), opened
    at the version `staff` holds."""
    form = {"email": staff.email, "full_name": staff.full_name, "role": staff.role.value, "is_active": "y",
            "version": str(staff.version)}  # fmt: skip
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


# -- reading pages ---------------------------------------------------------------------------------

ROW_LINK = re.compile(r'/admin/(?P<identity>[a-z-]+)/details/(?P<pk>\d+)["?]')  # ?: the list's query


def listed_ids(page: str, identity: str) -> list[int]:
    """Primary keys of the rows on a list page, in order (each row links to its details once)."""
    ids = [int(m["pk"]) for m in ROW_LINK.finditer(page) if m["identity"] == identity]
    return list(dict.fromkeys(ids))


def row_count(page: str) -> str:
    """The list's "Showing 1 to 2 of 3 items" line."""
    return re.sub(r"\s+", " ", re.search(r'id="row-count">(.*?)</p>', page, re.DOTALL)[1]).strip()


def shown_text(page: str) -> str:
    """The page's text as read: tags dropped, entities decoded, white space collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


FIELD_BLOCK = '<div class="mb-3 form-group row">'


def field_block(page: str, name: str) -> str:
    """The form-group of the field `name`: its label, input, errors."""
    for block in page.split(FIELD_BLOCK)[1:]:
        if re.search(rf'\bname="{re.escape(name)}"', block):
            return block
    raise AssertionError(f"no field {name!r} on the page")


def assert_security_headers(response, *, cacheable: bool = False) -> None:
    headers = response.headers
    csp = headers["content-security-policy"]
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src and "*" not in script_src
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp and "default-src 'self'" in csp
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    if cacheable:
        assert "no-store" not in headers.get("cache-control", "")
    else:
        assert headers["cache-control"] == "no-store"


# -- order totals as they were computed before the database stored them (revision 0006) --------------


def computed_subtotal() -> Any:
    """The sum over the order's lines, as Order.subtotal's SQL side computed it on every read."""
    line = OrderItem.quantity * OrderItem.unit_price
    return (
        select(func.coalesce(func.sum(line), 0))
        .where(OrderItem.order_id == Order.id)
        .correlate_except(OrderItem)
        .scalar_subquery()
    )


def computed_item_count() -> Any:
    return (
        select(func.coalesce(func.sum(OrderItem.quantity), 0))
        .where(OrderItem.order_id == Order.id)
        .correlate_except(OrderItem)
        .scalar_subquery()
    )


def computed_total() -> Any:
    return func.round(computed_subtotal() * (100 - Order.discount_pct) / 100 + Order.shipping_fee, 2)


def totals_that_differ(db: Engine) -> list[Any]:
    """(id, stored subtotal, stored item_count, computed subtotal, computed item count) of every order whose
    stored totals are not what its lines give."""
    subtotal, items = computed_subtotal(), computed_item_count()
    stmt = select(Order.id, Order.subtotal, Order.item_count, subtotal, items).where(
        (Order.subtotal != subtotal) | (Order.item_count != items)
    )
    with db.connect() as conn:
        return list(conn.execute(stmt))


def list_request(query: str = "") -> Any:
    """A GET request for a list (or its export) with this query string, for code that reads one."""
    from starlette.requests import Request

    scope = {"type": "http", "method": "GET", "path": "/", "query_string": query.encode(), "headers": []}
    return Request({**scope, "path_params": {}})


def _as_before(app, query: str) -> tuple[Any, Any, list[Any]]:
    """The orders list's export statement (view, statement, columns) with the totals summed over the lines,
    as the code before revision 0006 computed them."""
    from admin_site.export.query import ExportColumn, export_statement

    view = view_of(app, "order")
    stmt, columns = export_statement(view, list_request(query))
    computed = {"item_count": computed_item_count(), "total": computed_total()}
    columns = [ExportColumn(c.name, computed.get(c.name, c.expression), c.kind) for c in columns]
    return view, stmt.with_only_columns(*(c.expression.label(f"c{i}") for i, c in enumerate(columns))), columns


def export_as_before(app, export_type: str, query: str = "") -> bytes:
    """The orders list's CSV or JSON export as the code before revision 0006 wrote it: totals summed over the
    lines (one GROUP BY, `decorrelate`), CSV by COPY, JSON by the Python encoder: the golden output."""
    from admin_site.export.cells import csv_header
    from admin_site.export.query import decorrelate
    from admin_site.export.streams import EXPORT_SETTINGS, copy_sql, json_chunks

    view, stmt, columns = _as_before(app, query)
    if export_type == "json":
        return b"".join(json_chunks(view.session_maker, decorrelate(stmt, Order), columns, lambda *_: None))
    engine = view.session_maker.kw["bind"]
    raw = engine.raw_connection()
    try:
        copied: list[bytes] = []
        with raw.cursor() as cursor:
            cursor.execute(EXPORT_SETTINGS)
            cursor.copy_expert(copy_sql(cursor, stmt, columns, engine.dialect, Order), _Collect(copied))
        raw.rollback()
    finally:
        raw.close()
    return csv_header(columns) + b"".join(copied)


def xlsx_cells_as_before(app, query: str = "") -> list[list[Any]]:
    """The orders list's XLSX cells as XlsxWriter wrote them before revision 0006 (header, then rows): numbers
    from ints and decimals, booleans, other values as `cell_text`; an empty cell None, trailing ones left out."""
    from admin_site.export.cells import cell_text
    from admin_site.export.query import decorrelate
    from admin_site.export.spreadsheet_safety import neutralise_formula

    view, stmt, columns = _as_before(app, query)

    def cell(value: Any) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, (int, Decimal)):
            return Decimal(value)
        return cell_text(value) or None

    with view.session_maker() as session:
        rows = [[cell(v) for v in row] for row in session.execute(decorrelate(stmt, Order))]
    return [_trimmed(row) for row in [[neutralise_formula(c.name) for c in columns], *rows]]


def _trimmed(row: list[Any]) -> list[Any]:
    while row and row[-1] is None:
        row = row[:-1]
    return row


def xlsx_sheets(content: bytes) -> list[list[list[Any]]]:
    """Every sheet of a workbook, as a reader sees its cells: numbers as Decimal, booleans, text with Excel's
    `_xHHHH_` escapes decoded; a missing cell is None, trailing ones left out."""
    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        names = [n for n in book.namelist() if n.startswith("xl/worksheets/sheet")]
        names.sort(key=lambda n: int(re.findall(r"\d+", n)[-1]))
        sheets = []
        for name in names:
            rows = []
            for row in ElementTree.fromstring(book.read(name)).iter(f"{main}row"):
                cells: list[Any] = []
                for cell in row.findall(f"{main}c"):
                    letters = re.match(r"[A-Z]+", cell.get("r", ""))
                    assert letters, "every cell names its place"
                    column = 0
                    for letter in letters[0]:
                        column = column * 26 + ord(letter) - 64
                    cells += [None] * (column - 1 - len(cells))
                    kind = cell.get("t")
                    if kind == "inlineStr":
                        text = "".join(t.text or "" for t in cell.iter(f"{main}t"))
                        cells.append(re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m[1], 16)), text))
                    elif kind == "b":
                        cells.append(cell.find(f"{main}v").text == "1")
                    else:
                        cells.append(Decimal(cell.find(f"{main}v").text))
                rows.append(_trimmed(cells))
            sheets.append(rows)
    return sheets


class _Collect:
    def __init__(self, into: list[bytes]) -> None:
        self.write = into.append


# -- servers the tests start: a free loopback port, the app in a thread, a process stopped for sure -------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def served_in_thread(app: Any) -> Iterator[str]:
    """`app` served by uvicorn on a free loopback port in a background thread; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def stop_process(process: subprocess.Popen, timeout: float = 30) -> None:
    """Terminate `process`, and kill it if it has not ended within `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
