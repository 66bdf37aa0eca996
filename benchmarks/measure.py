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
from dataclasses import dataclass
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
                if statement.lstrip().upper().startswith("SET "):  # a setting for what follows (the dashboard's)
                    cursor.execute(statement, parameters)
                    continue
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


@dataclass
class Download:
    """One export, streamed to nowhere: seconds to its first body byte, to its first row (the second line of
    a CSV or JSON body: after the header or "["; None for XLSX, compressed) and to its end, bytes, the
    server's peak RSS growth (MB) and its first lines."""

    first_byte: float
    first_row: float | None
    seconds: float
    size: int
    growth_mb: float
    head: list[bytes]


def download(client: httpx.Client, path: str, server_pid: int, *, until_first_row: bool = False) -> Download:
    """Time one export from the request to its end, or (`until_first_row`) only until its first row has come:
    the connection is then closed, which cancels the export on the server."""
    size, head, first_byte, first_row = 0, b"", None, None
    lines_to_a_row = 2 if path.split("?", maxsplit=1)[0].rsplit("/", 1)[-1] in ("csv", "json") else 0
    with PeakRSS(server_pid) as rss:
        started = time.perf_counter()
        with client.stream("GET", path, timeout=None) as response:
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code}")
            for chunk in response.iter_raw():
                if not chunk:
                    continue
                now = time.perf_counter() - started
                first_byte = now if first_byte is None else first_byte
                size += len(chunk)
                if len(head) < 4096:
                    head += chunk[:4096]
                if first_row is None and lines_to_a_row and head.count(b"\n") >= lines_to_a_row:
                    first_row = now
                if until_first_row and (first_row is not None or not lines_to_a_row):
                    break
        seconds = time.perf_counter() - started
    first_byte = seconds if first_byte is None else first_byte
    return Download(first_byte, first_row, seconds, size, rss.growth_mb, head.splitlines()[:3])


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
