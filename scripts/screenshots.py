"""Refresh the README's screenshots: an order, a customer and the orders list, as a manager, at 1440 px.

Starts `admin-site demo` on a throw-away embedded database (a free port, a temporary data dir), logs in
with the printed manager password, and writes docs/screenshots/*.png. Needs Debian's chromium:

    python scripts/screenshots.py
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_demo(port: int, pgdata: Path) -> tuple[subprocess.Popen[str], str]:
    """The demo server, and the manager's password it printed."""
    env = {**os.environ, "ADMIN_PGDATA": str(pgdata), "ADMIN_ENV": "development"}
    command = [sys.executable, "-c", "from admin_site.ops.cli import main; main()", "demo", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    password, deadline = None, time.monotonic() + 180
    assert server.stdout is not None
    for line in server.stdout:
        found = re.match(r"\s+manager\s+\S+\s+(\S+)", line)
        password = found.group(1) if found else password
        if "Uvicorn running" in line or "Application startup complete" in line:
            break
        if time.monotonic() > deadline:
            raise RuntimeError("the demo server did not start")
    if password is None:
        raise RuntimeError("the demo server printed no manager password")
    return server, password


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="admin-screens-", dir="/var/tmp") as tmp:
        server, password = start_demo(port, Path(tmp) / "pgdata")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
                )
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                page.goto(f"{base}/admin/login")
                page.fill("#login-username", "manager@shop.example")
                page.fill("#login-password", password)
                page.click("button[type=submit]")
                page.wait_for_url(re.compile(r"/admin/$"))
                page.wait_for_function(
                    "() => [...document.querySelectorAll('canvas[data-chart]')].every((c) => c.chart)"
                )
                page.screenshot(path=OUT / "dashboard.png")  # the first screen of the home page
                page.goto(f"{base}/admin/order/list")
                page.screenshot(path=OUT / "orders-list.png")
                page.goto(f"{base}/admin/order/details/5")
                page.screenshot(path=OUT / "order.png")
                page.locator('[data-field="customer"] a').click()
                page.wait_for_url(re.compile(r"/customer/details/"))
                page.screenshot(path=OUT / "customer.png")
                browser.close()
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    print(f"written: {', '.join(sorted(p.name for p in OUT.glob('*.png')))} in {OUT}")


if __name__ == "__main__":
    main()
