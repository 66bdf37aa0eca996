"""The dashboard in a real browser: its charts are drawn (canvas), with no script error, no console error and no
Content-Security-Policy violation, and a click on a bar opens the list behind it, with as many rows."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from playwright.sync_api import Page, expect

from models import Role
from tests import factories
from tests.helpers import browser_login

WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI));
"""

BAR = """(key) => {
  const canvas = document.querySelector(`canvas[data-chart="${key}"]`);
  canvas.scrollIntoView({block: "center", behavior: "instant"});  // not Bootstrap's smooth scrolling
  const chart = canvas.chart, values = chart.data.datasets[0].data;
  const index = values.findIndex((v) => v > 0);
  const bar = chart.getDatasetMeta(0).data[index], box = canvas.getBoundingClientRect();
  const spec = JSON.parse(document.getElementById("dashboard-data").textContent).charts.find((c) => c.key === key);
  const across = chart.options.indexAxis === "y";  // horizontal bars: from base to x, at y
  const x = across ? (bar.x + bar.base) / 2 : bar.x, y = across ? bar.y : (bar.y + bar.base) / 2;
  return {x: box.left + x, y: box.top + y, value: values[index], link: spec.links[index]};
}"""


def test_charts_render_without_errors_and_a_bar_opens_its_list(page: Page, live_server, make_staff, db, page_errors):
    now = datetime.now(UTC)
    book = factories.product(db, price=Decimal("12.00"))
    customers = [factories.customer(db, country=code) for code in ("GB", "FR")]
    for n, (days_ago, status) in enumerate(
        [(0, "paid"), (1, "delivered"), (1, "paid"), (3, "shipped"), (5, "refunded")]
    ):
        placed = now - timedelta(days=days_ago, minutes=5)
        factories.order(
            db,
            customers[n % 2].id,
            items=[(book, n + 1)],
            status=status,
            placed_at=placed,
            shipped_at=placed if status in ("delivered", "shipped", "refunded") else None,
        )
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
    page.add_init_script(WATCH_CSP)
    browser_login(page, live_server, make_staff(Role.manager).email)

    page.wait_for_function(
        "() => [...document.querySelectorAll('canvas[data-chart]')].filter((c) => c.chart).length === 5"
    )
    shown = json.loads(page.locator("#dashboard-data").text_content())
    assert [chart["key"] for chart in shown["charts"]] == [
        "orders-per-bar",
        "revenue-per-bar",
        "orders-by-status",
        "top-products",
        "revenue-by-country",
    ]
    assert page.evaluate("() => window.__cspViolations") == []
    assert console == [] and page_errors == []

    bar = page.evaluate(BAR, "orders-per-bar")
    page.mouse.click(bar["x"], bar["y"])
    expect(page).to_have_url(bar["link"])
    assert re.search(r"/admin/order/list\?placed_at__gte=\d{4}-\d\d-\d\d&placed_at__lte=", page.url)
    expect(page.locator("#row-count")).to_contain_text(f"of {int(bar['value'])} items")

    page.go_back()
    page.wait_for_function("() => document.querySelector('canvas[data-chart=\"top-products\"]').chart")
    bar = page.evaluate(BAR, "top-products")
    page.mouse.click(bar["x"], bar["y"])
    expect(page).to_have_url(bar["link"])
    assert "/admin/order-item/list?product=" in page.url
    expect(page.locator("#row-count")).to_contain_text("of 4 items")  # its lines on paid, shipped, delivered orders
    assert page.evaluate("() => window.__cspViolations") == [] and console == [] and page_errors == []
