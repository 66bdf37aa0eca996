"""`admin-site`: serve, migrate, create users, seed demo data, show inferred views."""

from __future__ import annotations

import atexit
import secrets
import signal
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

import typer
from sqlalchemy import Engine, select

from admin_site.auth.passwords import hash_password, password_problem
from admin_site.db.engine import make_engine
from admin_site.db.migrations import upgrade_to_head
from admin_site.settings import Settings
from models import Role, StaffUser

app = typer.Typer(help="Shop back-office admin.", no_args_is_help=True, add_completion=False)


def _database(settings: Settings) -> str:
    """DATABASE_URL, or the embedded server started (or adopted, if a killed process left it running) and let
    go of when this process exits, however it exits short of SIGKILL (db/embedded.py)."""
    if settings.database_url:
        return settings.database_url
    from admin_site.db.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(settings.pgdata)
    url = server.start()
    atexit.register(server.stop)
    typer.echo(f"Embedded PostgreSQL, data dir: {settings.pgdata}", err=True)
    return url


def _migrate(url: str) -> None:
    """`alembic upgrade head` under an advisory lock: any number of processes may start at once."""
    upgrade_to_head(url)


@app.command()
def migrate() -> None:
    """Upgrade the database schema to the latest Alembic revision."""
    _migrate(_database(Settings.from_env()))
    typer.echo("Schema is up to date.")


def add_staff(engine: Engine, email: str, password: str, role: Role, full_name: str | None = None) -> StaffUser:
    from sqlalchemy.orm import Session

    problem = password_problem(password, (email, full_name or ""))  # every way a password is set: the policy
    if problem:
        raise typer.BadParameter(f"password refused: {problem}")
    with Session(engine) as session:
        if session.scalar(select(StaffUser.id).where(StaffUser.email == email)):
            raise typer.BadParameter(f"a staff user with e-mail {email} already exists")
        staff = StaffUser(
            email=email,
            full_name=full_name or email.split("@", maxsplit=1)[0],
            password_hash=hash_password(password),
            role=role,
        )
        session.add(staff)
        session.commit()
        return staff


@app.command("create-user")
def create_user(
    email: str,
    role: Annotated[Role, typer.Option(help="viewer, support, manager or admin")] = Role.viewer,
    full_name: Annotated[str | None, typer.Option(help="Display name (defaults to the e-mail's local part)")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
) -> None:
    """Create a staff user; the password is prompted for (or read from stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    problem = password_problem(password, (email, full_name or ""))
    if problem:
        typer.echo(f"Password refused: {problem}", err=True)
        raise typer.Exit(2)
    settings = Settings.from_env()
    url = _database(settings)
    _migrate(url)
    engine = make_engine(url, settings, bounded=False)
    add_staff(engine, email, password, role, full_name)
    typer.echo(f"Created {role.value} {email}.")


@app.command()
def seed(
    customers: Annotated[int, typer.Option(min=0)] = 1000,
    products: Annotated[int, typer.Option(min=0)] = 200,
    orders: Annotated[int, typer.Option(min=0)] = 5000,
    random_seed: Annotated[int, typer.Option(help="Same seed, same data")] = 42,
    until: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Last day of orders (default today, up to this hour): same data again"),
    ] = None,
) -> None:
    """Bulk-insert deterministic demo data, orders over the 24 months up to today (1,000,000 orders take minutes)."""
    from admin_site.ops.seed import seed_shop

    settings = Settings.from_env()
    url = _database(settings)
    _migrate(url)
    counts = seed_shop(
        make_engine(url, settings, bounded=False),  # a million rows take longer than a page's time limits
        customers=customers,
        products=products,
        orders=orders,
        random_seed=random_seed,
        progress=True,
        until=until.date() if until else None,
    )
    typer.echo(
        f"Seeded {counts.categories} categories, {counts.products} products, {counts.customers} customers, "
        f"{counts.orders} orders, {counts.order_items} order items."
    )


def _serve(settings: Settings, url: str, host: str, port: int, workers: int | None = None) -> None:
    from admin_site.db.outage import is_unavailable
    from admin_site.ops import serving, tempfiles
    from admin_site.telemetry import logs

    # uvicorn handles SIGTERM itself once running; until then (and after), exit cleanly so the
    # embedded server is let go of by the atexit hooks.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    logs.configure(settings.operations.log_format, is_unavailable)
    tempfiles.use_own_directory()
    count = workers or settings.operations.workers_for(settings.environment)
    typer.echo(f"Admin at http://{host}:{port}/admin ({count} worker{'s' if count > 1 else ''})")
    serving.serve(settings, url, host=host, port=port, workers=count)


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, help="Worker processes (default ADMIN_WORKERS, else 1 in development, the CPU count otherwise)"
        ),
    ] = None,
    migrate: Annotated[
        bool,
        typer.Option(
            "--migrate/--no-migrate", help="Upgrade the schema first (under a lock), or leave it to a release step"
        ),
    ] = True,
) -> None:
    """Migrate (unless --no-migrate), then serve the admin (embedded PostgreSQL when DATABASE_URL is unset)."""
    settings = Settings.from_env()
    url = _database(settings)
    if migrate:
        _migrate(url)
    _serve(settings, url, host, port, workers)


DEMO_ROLES = (Role.viewer, Role.support, Role.manager, Role.admin)


@app.command()
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """Embedded database + migrations + a small seeded shop + one login per role, then serve."""
    from admin_site.ops.seed import seed_shop

    settings = Settings.from_env()
    if settings.is_production:
        typer.echo("demo is for development only", err=True)
        raise typer.Exit(2)
    url = _database(settings)
    _migrate(url)
    engine = make_engine(url, settings, bounded=False)
    from sqlalchemy import func
    from sqlalchemy.orm import Session

    from models import Order

    with Session(engine) as session:
        has_orders = session.execute(select(func.count(Order.id))).scalar_one() > 0
    if not has_orders:
        # ~14 orders a day over two years: every period of the dashboard has figures
        seed_shop(engine, customers=2000, products=120, orders=10_000, progress=True)
    typer.echo("\nLogins (development only):")
    for role in DEMO_ROLES:
        email = f"{role.value}@shop.example"
        password = f"{role.value}-{secrets.token_hex(4)}"
        with Session(engine) as session:
            existing = session.scalar(select(StaffUser).where(StaffUser.email == email))
            if existing:
                existing.password_hash = hash_password(password)
                existing.is_active = True
                existing.role = role
                session.commit()
            else:
                session.add(
                    StaffUser(
                        email=email, full_name=f"Demo {role.value}", password_hash=hash_password(password), role=role
                    )
                )
                session.commit()
        typer.echo(f"  {role.value:8} {email:24} {password}")
    engine.dispose()
    _serve(settings, url, host, port)


@app.command("check-totals")
def check_totals(
    fix: Annotated[
        bool, typer.Option("--fix", help="Set the differing orders' totals to what their lines give")
    ] = False,
    show: Annotated[int, typer.Option(min=0, help="How many differing orders to list")] = 20,
) -> None:
    """Compare every order's stored subtotal and item_count with its lines; exit 1 if any differ (unless fixed)."""
    from admin_site.ops.totals import find_differences, repair

    settings = Settings.from_env()
    engine = make_engine(_database(settings), settings, bounded=False)  # a million orders: no page limits
    orders, differences = find_differences(engine)
    if not differences:
        typer.echo(f"Checked {orders:,} orders: every stored total matches its lines.")
        return
    typer.echo(f"Checked {orders:,} orders: {len(differences):,} differ from their lines.")
    for d in differences[:show]:
        typer.echo(
            f"  {d.number} (#{d.order_id}): stored subtotal {d.stored_subtotal}, {d.stored_items} items; "
            f"lines give {d.subtotal}, {d.items} items"
        )
    if not fix:
        typer.echo("Run with --fix to repair them.")
        raise typer.Exit(1)
    repaired = repair(engine, [d.order_id for d in differences])
    typer.echo(f"Repaired {repaired:,} orders.")


@app.command("rebuild-dashboard")
def rebuild_dashboard() -> None:
    """Recount the dashboard's daily summary in ADMIN_TIME_ZONE (after changing it): writers wait meanwhile."""
    from admin_site.dashboard.summary import rebuild

    settings = Settings.from_env()
    engine = make_engine(_database(settings), settings, bounded=False)  # a million orders: no page limits
    rebuild(engine, settings.time_zone)
    typer.echo(f"The dashboard's summary is now in days of {settings.time_zone}.")


@app.command()
def views() -> None:
    """Print what each admin view shows: columns, search, sort, filters, form fields."""
    from admin_site.views.registry import all_views

    def names(items: Sequence[Any]) -> str:  # attribute names, columns or ListFilter objects
        return ", ".join(i if isinstance(i, str) else getattr(i, "key", None) or i.name for i in items) or "—"

    for view in all_views():
        typer.echo(f"{view.name_plural}  ({view.model.__name__}, menu: {view.category}, count: {view.count_mode})")
        typer.echo(f"  list:    {names(view.column_list)}")
        typer.echo(f"  search:  {names(view.column_searchable_list)}")
        typer.echo(f"  sort:    {names(view.column_sortable_list)}  (default {view.column_default_sort})")
        typer.echo(f"  filters: {names(view.column_filters)}")
        typer.echo(f"  form:    {names(view.form_columns)}  (look-ups: {', '.join(view.form_ajax_refs) or '—'})")


def main() -> None:
    app()
