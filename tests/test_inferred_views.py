"""A model with no admin code gets a sensible view: the defaults inferred from its mapper."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Numeric,
    String,
    Text,
    func,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from admin_site.app import create_app
from admin_site.inference import infer_view
from admin_site.views.registry import generated_view
from models import Role
from tests.helpers import browser_client, listed_ids, login, recorded_statements


class GadgetBase(DeclarativeBase):
    """Only in the test database: created and dropped by this module."""


class Kind(str, enum.Enum):
    tool = "tool"
    toy = "toy"


class Maker(GadgetBase):
    __tablename__ = "test_makers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    gadgets: Mapped[list[Gadget]] = relationship(back_populates="maker", passive_deletes="all")


class Gadget(GadgetBase):
    __tablename__ = "test_gadgets"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(100))
    manual: Mapped[str | None] = mapped_column(Text)
    api_token: Mapped[str] = mapped_column(String(64))
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    in_stock: Mapped[bool] = mapped_column(Boolean, default=True)
    kind: Mapped[Kind] = mapped_column(Enum(Kind, native_enum=False, length=10))
    made_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    maker_id: Mapped[int] = mapped_column(ForeignKey("test_makers.id"))
    maker: Mapped[Maker] = relationship(back_populates="gadgets")

    @hybrid_property
    def price_with_tax(self) -> Decimal:
        return self.price * Decimal("1.20")


SECRET = "tok-ENTIRELY-SECRET-123"


@pytest.fixture(scope="module")
def gadget_tables(engine):
    GadgetBase.metadata.create_all(engine)
    yield
    GadgetBase.metadata.drop_all(engine)


@pytest.fixture
def gadget_client(settings, engine, gadget_tables, make_staff):
    app = create_app(settings, engine)
    app.state.admin.add_view(generated_view(Gadget))
    app.state.admin.add_view(generated_view(Maker))
    staff = make_staff(Role.admin)
    with browser_client(app) as client:
        assert login(client, staff.email).status_code == 302
        yield client
    with engine.begin() as conn:
        conn.execute(Gadget.__table__.delete())
        conn.execute(Maker.__table__.delete())


@pytest.fixture
def gadgets(engine, gadget_tables):
    with Session(engine, expire_on_commit=False) as session:
        acme = Maker(name="Acme")
        rows = [
            Gadget(
                code=f"G-{n:03}",
                title=f"Gadget {n}",
                manual="long text " * 50,
                api_token=SECRET,
                price=Decimal(n),
                in_stock=n % 2 == 0,
                kind=Kind.tool if n % 3 else Kind.toy,
                made_on=date(2024, 1, n),
                maker=acme,
            )
            for n in range(1, 21)
        ]
        session.add_all(rows)
        session.commit()
        return rows


def test_inferred_defaults():
    view = infer_view(Gadget)
    assert view.list_columns == [
        "id",
        "code",
        "title",
        "price",
        "in_stock",
        "kind",
        "made_on",
        "created_at",
        "maker",
        "price_with_tax",
    ]
    assert view.searchable == ["code", "title"]
    assert set(view.filters) == {"price", "in_stock", "kind", "made_on", "created_at", "maker", "price_with_tax"}
    assert view.form_columns == ["code", "title", "manual", "price", "in_stock", "kind", "made_on", "maker"]
    assert view.default_sort == ("created_at", True)
    assert "manual" not in view.list_columns and "api_token" not in view.list_columns + view.form_columns
    assert view.labels["in_stock"] == "In stock" and view.labels["made_on"] == "Made on"
    assert "gadgets" not in infer_view(Maker).form_columns


def row_ids(html: str) -> list[int]:
    return listed_ids(html, "gadget")


def test_generated_view_lists_searches_sorts_and_filters(gadget_client, gadgets):
    page = gadget_client.get("/admin/gadget/list?pageSize=100").text
    assert len(row_ids(page)) == 20 and "Acme" in page and "Price with tax" in page
    assert SECRET not in page and "long text" not in page
    assert row_ids(gadget_client.get("/admin/gadget/list?search=g-007").text) == [gadgets[6].id]
    by_hybrid = row_ids(gadget_client.get("/admin/gadget/list?sortBy=price_with_tax&sort=desc").text)
    assert by_hybrid[0] == gadgets[-1].id
    filtered = row_ids(gadget_client.get("/admin/gadget/list?in_stock=true&kind=toy&price_with_tax__gte=10").text)
    assert set(filtered) == {
        g.id for g in gadgets if g.in_stock and g.kind is Kind.toy and g.price * Decimal("1.2") >= 10
    }
    dated = row_ids(gadget_client.get("/admin/gadget/list?made_on__gte=2024-01-05&made_on__lte=2024-01-06").text)
    assert set(dated) == {gadgets[4].id, gadgets[5].id}


def test_generated_view_details_and_forms_hide_the_secret(gadget_client, gadgets):
    gadget = gadgets[0]
    details = gadget_client.get(f"/admin/gadget/details/{gadget.id}").text
    assert "G-001" in details and SECRET not in details and "1.20" in details
    form = gadget_client.get(f"/admin/gadget/edit/{gadget.id}").text
    assert 'name="manual"' in form and 'name="maker"' in form
    assert "api_token" not in form and SECRET not in form and 'name="created_at"' not in form
    maker_form = gadget_client.get(f"/admin/maker/edit/{gadget.maker_id}").text
    assert 'name="gadgets"' not in maker_form


def test_generated_view_edits(gadget_client, gadgets, engine):
    gadget = gadgets[1]
    response = gadget_client.post(
        f"/admin/gadget/edit/{gadget.id}",
        data={
            "code": "G-NEW",
            "title": "Renamed",
            "manual": "",
            "price": "9.99",
            "in_stock": "y",
            "kind": "toy",
            "made_on": "2024-02-02",
            "maker": str(gadget.maker_id),
            "api_token": "forged",
        },
    )
    assert response.status_code == 302, response.text[-1500:]
    with Session(engine) as session:
        saved = session.get(Gadget, gadget.id)
        assert (saved.code, saved.title, saved.price, saved.kind) == ("G-NEW", "Renamed", Decimal("9.99"), Kind.toy)
        assert saved.api_token == SECRET  # not a form field: a hand-made POST cannot set it


def test_a_page_of_50_takes_a_fixed_number_of_statements(gadget_client, gadgets, engine):
    with recorded_statements(engine) as statements:
        assert gadget_client.get("/admin/gadget/list?pageSize=50").status_code == 200
    # one statement counts and reads the maker filter's choices (a small table, so listed) and the saved
    # views beside; one reads the page (makers joined, hybrid computed in SQL); nothing per row
    listing = [s for s in statements if "test_gadgets" in s or "test_makers" in s]
    assert len(listing) == 2
    assert sum("count(*)" in s and "test_makers" in s and "saved_views" in s for s in listing) == 1
