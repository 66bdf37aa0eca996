"""`admin-site`: serve, migrate, create users, seed demo data, show inferred views."""

from __future__ import annotations

import secrets
import signal
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from alembic import command
from sqlalchemy import Engine, select

from admin_site.auth.passwords import hash_password, password_problem
from admin_site.db.engine import make_engine, resolve_database_url
from admin_site.db.migrations import alembic_config
from admin_site.settings import Settings
from models import Role, StaffUser

app = typer.Typer(help="Shop back-office admin.", no_args_is_help=True, add_completion=False)


def _database(settings: Settings) -> str:
    url = resolve_database_url(settings)
    if not settings.database_url:
        typer.echo(f"Embedded PostgreSQL, data dir: {settings.pgdata}", err=True)
    return url


def _migrate(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


@app.command()
def migrate() -> None:
    """Upgrade the database schema to the latest Alembic revision."""
    _migrate(_database(Settings.from_env()))
    typer.echo("Schema is up to date.")


def add_staff(engine: Engine, email: str, password: str, role: Role, full_name: str | None = None) -> StaffUser:
    from sqlalchemy.orm import Session

    problem = password_problem(password)  # every way a password is set goes through the policy
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
    problem = password_problem(password)
    if problem:
        typer.echo(f"Password refused: {problem}", err=True)
        raise typer.Exit(2)
    settings = Settings.from_env()
    url = _database(settings)
    _migrate(url)
    engine = make_engine(url, settings)
    add_staff(engine, email, password, role, full_name)
    typer.echo(f"Created {role.value} {email}.")


@app.command()
def seed(
    customers: Annotated[int, typer.Option(min=0)] = 1000,
    products: Annotated[int, typer.Option(min=0)] = 200,
    orders: Annotated[int, typer.Option(min=0)] = 5000,
    random_seed: Annotated[int, typer.Option(help="Same seed, same data")] = 42,
) -> None:
    """Bulk-insert deterministic demo data (1,000,000 orders take minutes)."""
    from admin_site.ops.seed import seed_shop

    settings = Settings.from_env()
    url = _database(settings)
    _migrate(url)
    counts = seed_shop(
        make_engine(url, settings),
        customers=customers,
        products=products,
        orders=orders,
        random_seed=random_seed,
        progress=True,
    )
    typer.echo(
        f"Seeded {counts.categories} categories, {counts.products} products, {counts.customers} customers, "
        f"{counts.orders} orders, {counts.order_items} order items."
    )


def _serve(settings: Settings, url: str, host: str, port: int) -> None:
    from admin_site.app import create_app
    from admin_site.ops import serving

    # uvicorn handles SIGTERM itself once running; until then, exit cleanly so the
    # embedded server is stopped by its atexit hook.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    application = create_app(settings, make_engine(url, settings))
    typer.echo(f"Admin at http://{host}:{port}/admin")
    # X-Forwarded-For is believed only from FORWARDED_ALLOW_IPS (uvicorn's default: 127.0.0.1), so the
    # per-address login throttle sees clients' addresses behind a proxy, and cannot be fooled without one.
    serving.run(application, host=host, port=port, log_level="info", proxy_headers=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """Migrate, then serve the admin (embedded PostgreSQL when DATABASE_URL is unset)."""
    settings = Settings.from_env()
    url = _database(settings)
    _migrate(url)
    _serve(settings, url, host, port)


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
    engine = make_engine(url, settings)
    from sqlalchemy import func
    from sqlalchemy.orm import Session

    from models import Order

    with Session(engine) as session:
        has_orders = session.execute(select(func.count(Order.id))).scalar_one() > 0
    if not has_orders:
        seed_shop(engine, customers=500, products=120, orders=2000, progress=True)
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
