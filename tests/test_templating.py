"""Synchronous page rendering and its safety net; route names resolved once."""

from __future__ import annotations

import logging

import pytest
from jinja2 import DictLoader
from sqladmin.templating import Jinja2Templates
from starlette.requests import Request
from starlette.routing import NoMatchFound, Route, Router

from admin_site.site.templating import ShopTemplates
from admin_site.site.urls import CachedRouter, memoised_template_url_for
from tests.helpers import run_in_own_loop


def templates(pages: dict[str, str]) -> ShopTemplates:
    sqladmin_templates = Jinja2Templates("templates")
    sqladmin_templates.env.loader = DictLoader(pages)
    sqladmin_templates.env.add_extension("jinja2.ext.i18n")  # as SQLAdmin does when given no i18n_config
    sqladmin_templates.env.install_null_translations(newstyle=True)
    return ShopTemplates(sqladmin_templates, translated=False)


def render(shop: ShopTemplates, name: str, **context) -> str:
    request = Request({"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": []})
    return run_in_own_loop(shop.TemplateResponse(request, name, context)).body.decode()


def test_a_page_calling_only_plain_functions_renders_synchronously():
    shop = templates({"page.html": "{% if allowed() %}Delete{% endif %} {{ rows | length }}"})
    assert render(shop, "page.html", allowed=lambda: True, rows=[1, 2]) == "Delete 2"
    assert "page.html" not in shop._needs_async


def test_a_call_returning_a_coroutine_is_never_taken_for_true(caplog):
    """Plain Jinja would see the coroutine object as true and show a button the role may not use."""

    async def allowed() -> bool:
        return False

    shop = templates({"page.html": "[{% if allowed() %}Delete{% endif %}]"})
    with caplog.at_level(logging.WARNING, logger="admin_site.site.templating"):
        assert render(shop, "page.html", allowed=allowed) == "[]"  # rendered again, awaiting it
    assert "page.html" in shop._needs_async and "awaits" in caplog.text
    assert render(shop, "page.html", allowed=allowed) == "[]"  # from then on straight to async mode


def test_templates_known_to_await_go_straight_to_async_mode(caplog):
    shop = templates({"sqladmin/details.html": "{{ value() }}"})

    async def value() -> str:
        return "awaited"

    with caplog.at_level(logging.WARNING, logger="admin_site.site.templating"):
        assert render(shop, "sqladmin/details.html", value=value) == "awaited"
    assert not caplog.records  # no synchronous attempt first


def test_route_names_resolve_to_the_same_urls_once_memoised():
    def endpoint(request):  # pragma: no cover - never called
        raise AssertionError

    routes = [Route("/items/{pk}", endpoint, name="item"), Route("/", endpoint, name="home")]
    plain = [Router(routes).url_path_for("item", pk="7"), Router(routes).url_path_for("home")]
    router = CachedRouter(routes)
    assert [router.url_path_for("item", pk="7"), router.url_path_for("home")] == plain
    assert router.url_path_for("item", pk="8") == "/items/8"
    with pytest.raises(NoMatchFound):
        router.url_path_for("nowhere")
    with pytest.raises(NoMatchFound):  # unhashable parameters are resolved the slow way, same answer
        router.url_path_for("item", pk=["7"], extra=[1])


def test_the_templates_url_for_answers_per_site_address():
    def endpoint(request):  # pragma: no cover - never called
        raise AssertionError

    router = Router([Route("/items/{pk}", endpoint, name="item")])
    url_for = memoised_template_url_for()

    def request_to(host: str) -> Request:
        headers = [(b"host", host.encode())]
        return Request(
            {
                "type": "http",
                "method": "GET",
                "scheme": "http",
                "path": "/",
                "root_path": "",
                "query_string": b"",
                "headers": headers,
                "router": router,
            }
        )

    here, there = {"request": request_to("admin.shop.test")}, {"request": request_to("other.test")}
    assert str(url_for(here, "item", pk="7")) == "http://admin.shop.test/items/7"
    assert str(url_for(here, "item", pk="7")) == "http://admin.shop.test/items/7"  # answered from what it kept
    assert str(url_for(there, "item", pk="7")) == "http://other.test/items/7"  # not another address's URL
    assert str(url_for(here, "item", pk=["7"])) == str(request_to("admin.shop.test").url_for("item", pk=["7"]))


def test_templates_are_reread_from_disk_only_in_development(app, settings, engine):
    from dataclasses import replace

    from admin_site.app import create_app

    assert app.state.admin.templates.env.auto_reload  # development: an edited template shows at once
    deployed = create_app(
        replace(settings, environment="production", secret_key="s" * 40, allowed_hosts=("testserver",)), engine
    )
    assert not deployed.state.admin.templates.env.auto_reload  # no stat() of every template on every page


def test_the_quick_null_gettext_says_what_jinjas_own_says():
    page = (
        "{{ _('Save') }}|{{ _('New %(name)s', name=who) }}|{{ _('100%% sure') }}|{{ gettext('Hi %(n)s', n=1) }}|"
        "{{ ngettext('%(num)d row', '%(num)d rows', count) }}|{% autoescape false %}{{ _('Raw %(x)s', x=who) }}"
        "{% endautoescape %}"
    )
    shop = templates({"page.html": page})
    quick = render(shop, "page.html", who="<b>", count=3)
    jinjas = run_in_own_loop(shop.env.from_string(page).render_async(who="<b>", count=3))  # the async env: Jinja's
    assert quick == jinjas == "Save|New &lt;b&gt;|100% sure|Hi 1|3 rows|Raw <b>"
    assert shop.sync_env.globals["_"] is not shop.env.globals["_"] and "page.html" not in shop._needs_async
