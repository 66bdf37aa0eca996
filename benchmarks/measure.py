"""How the benchmark measures: a cheap keep-alive client for the timed requests, the PostgreSQL floor of
the statements a request ran, a process's peak memory while an export streams, the export's own COPY, and
which machine it all ran on."""

from __future__ import annotations

import http.client
import json
import os
import platform
import statistics
import threading
import time
from pathlib import Path

import httpx
import psutil
from sqlalchemy import create_engine


class TimingClient:
    """Keep-alive HTTP/1.1 from the standard library for the timed requests: it costs the client ~0.2 ms a
    request where httpx costs ~2 ms (measured here on /healthz), so the figures are the server's."""

    def __init__(self, port: int, cookies: dict[str, str]) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.cookies = dict(cookies)

    def get(self, path: str) -> int:
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        self.connection.request("GET", path, headers={"Cookie": cookie})
        response = self.connection.getresponse()
        response.read()
        for header in response.headers.get_all("Set-Cookie") or []:  # the session cookie is re-signed each time
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status


def timed(client: TimingClient, path: str, n: int, relogin=None) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        status = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if status == 302 and relogin is not None:  # the session ended (e.g. its password was reset)
            relogin()
            continue
        if status != 200:
            raise SystemExit(f"{path}: {status}")
        samples.append(elapsed)
    return samples


def p90(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=10)[-1] if len(samples) >= 2 else samples[0]


def floor_ms(url: str, statements: list[tuple[str, object]], repeat: int = 5) -> tuple[float, list[float]]:
    """Sum over the statements of the median EXPLAIN (ANALYZE, TIMING OFF) execution time."""
    engine = create_engine(url)
    per_statement = []
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            for statement, parameters in statements:
                times = []
                for _ in range(repeat):
                    # TIMING OFF: per-node clocks would inflate plans that touch many rows (a deep page's offset).
                    cursor.execute("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + statement, parameters)
                    plan = cursor.fetchone()[0]
                    plan = json.loads(plan) if isinstance(plan, str) else plan
                    times.append(plan[0]["Execution Time"])
                per_statement.append(statistics.median(times))
        raw.rollback()
    finally:
        raw.close()
        engine.dispose()
    return sum(per_statement), per_statement


class PeakRSS:
    """Samples a process's resident memory every 20 ms while running."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.start = self.process.memory_info().rss
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 2**20


def download(client: httpx.Client, path: str, server_pid: int) -> tuple[float, int, float, list[bytes]]:
    """Seconds, bytes, peak RSS growth (MB) and the first lines of one export, streamed to nowhere."""
    size, head = 0, b""
    with PeakRSS(server_pid) as rss:
        started = time.perf_counter()
        with client.stream("GET", path, timeout=None) as response:
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code}")
            for chunk in response.iter_raw():
                size += len(chunk)
                if len(head) < 4096:
                    head += chunk[:4096]
        seconds = time.perf_counter() - started
    return seconds, size, rss.growth_mb, head.splitlines()[:3]


def copy_seconds(app, url: str, repeat: int = 3) -> float:
    """PostgreSQL's floor: the export's own COPY statement, written to nowhere (median of runs)."""
    from starlette.requests import Request

    from admin_site.export.query import export_statement
    from admin_site.export.streams import EXPORT_SETTINGS, copy_sql

    view = next(v for v in app.state.admin.views if getattr(v, "identity", None) == "order")
    request = Request(
        {"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": [], "path_params": {}}
    )
    stmt, columns = export_statement(view, request)
    engine = create_engine(url)

    class Sink:
        size = 0

        def write(self, data):
            Sink.size += len(data)

    runs = []
    try:
        for _ in range(repeat):
            raw = engine.raw_connection()
            try:
                with raw.cursor() as cursor:
                    cursor.execute(EXPORT_SETTINGS)
                    sql = copy_sql(cursor, stmt, columns, engine.dialect, view.model)
                    started = time.perf_counter()
                    cursor.copy_expert(sql, Sink())
                    runs.append(time.perf_counter() - started)
                raw.rollback()
            finally:
                raw.close()
    finally:
        engine.dispose()
    return statistics.median(runs)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = psutil.virtual_memory().total / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB RAM, {platform.system()} {platform.release()}, Python {platform.python_version()}"
