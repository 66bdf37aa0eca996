"""Load and faults: `python -m benchmarks.load [--sessions 50] [--seconds 30] [--workers 1 2] [--fault freeze]`.

N staff sessions at once against `admin-site serve --workers W` (each W in turn, same machine, same data), with
the mix of a working day: lists 30 %, searches 18 %, filters 15 %, details 15 %, edits 14 % (half of them on a
few hot rows, so edits race), bulk actions 4 %, exports 2 %, dashboard 2 %. Optionally the database is restarted
or frozen (SIGSTOP, then SIGCONT) in the middle. Prints throughput, p50/p95/p99 per kind, every answer that was
not 2xx/3xx, and an integrity check: every edit answered as saved is in the database with its audit row, and
no update was lost (each row's audited changes form one chain, ending at the stored value).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import os
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from benchmarks.database import prepare
from benchmarks.run import free_port

DEFAULT_PGDATA = Path(os.environ.get("BENCH_LOAD_PGDATA", "/var/tmp/admin-site-load/pgdata"))
MIX = {"list": 30, "search": 18, "filter": 15, "details": 15, "edit": 14, "bulk": 4, "export": 2, "dashboard": 2}
PAGES = {
    "list": ["/admin/order/list", "/admin/customer/list", "/admin/product/list", "/admin/order/list?page=7"],
    "search": ["/admin/customer/list?search=smith", "/admin/order/list?search=SO-00042", "/admin/product/list?search=lamp"],
    "filter": ["/admin/order/list?status=refunded", "/admin/order/list?status=paid&total__gte=500", "/admin/product/list?is_active=true"],
    "dashboard": ["/admin/"],
    "export": ["/admin/order/export/csv?status=refunded", "/admin/customer/export/json?search=smith"],
}  # fmt: skip
HOT_ROWS = 5
PASSWORD = "load-" + secrets.token_urlsafe(12)
RUN = secrets.token_hex(3)  # in every value written (with the worker count): no run writes a value an earlier one left
VERSION_FIELD = re.compile(r'<input[^>]*name="version"[^>]*>')


@dataclass
class Sample:
    kind: str
    status: int  # 0: no answer (the connection failed)
    seconds: float
    note: str = ""


@dataclass
class Results:
    label: str
    samples: list[Sample] = field(default_factory=list)
    saved_edits: list[tuple[int, str]] = field(default_factory=list)  # (customer id, last name written)
    seconds: float = 0.0


@dataclass(frozen=True)
class Shop:
    customers: dict[int, dict[str, str]]  # id → the edit form's other fields
    orders: list[int]
    products: list[int]
    hot: list[int]


class StaffSession:
    """One staff member in a browser: logged in once, then one request after another."""

    def __init__(self, base: str, email: str, shop: Shop, rng: random.Random, results: Results) -> None:
        # Idle connections dropped before the server's keep-alive timeout (5 s) closes them under a request.
        limits = httpx.Limits(keepalive_expiry=3)
        self.client = httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=False, limits=limits)
        self.email, self.shop, self.rng, self.results = email, shop, rng, results
        self.token = ""
        self.writes = 0

    async def log_in(self) -> None:
        self.token = await self._token("/admin/login")
        answer = await self._post("/admin/login", {"username": self.email, "password": PASSWORD})
        if answer.status_code != 302:
            raise SystemExit(f"log in of {self.email} failed: {answer.status_code}")
        self.token = await self._token("/admin/")  # a log-in starts a new session, with a token of its own

    async def _token(self, path: str) -> str:
        page = await self.client.get(path)
        return re.search(r'name="csrf-token" content="([^"]+)"', page.text)[1]

    async def _post(self, path: str, data: dict[str, str]) -> httpx.Response:
        headers = {"X-CSRF-Token": self.token, "Origin": str(self.client.base_url).rstrip("/")}
        return await self.client.post(path, data=data, headers=headers)

    async def step(self) -> None:
        kind = self.rng.choices(list(MIX), weights=list(MIX.values()))[0]
        started = time.perf_counter()
        note = ""
        try:
            if kind == "edit":
                status, note = await self._edit()
            elif kind == "bulk":
                status = await self._bulk()
            elif kind == "details":
                status = (
                    await self.client.get(f"/admin/order/details/{self.rng.choice(self.shop.orders)}")
                ).status_code
            else:
                async with self.client.stream("GET", self.rng.choice(PAGES[kind])) as response:
                    await response.aread()
                    status = response.status_code
        except httpx.HTTPError as error:
            status, note = 0, type(error).__name__
        self.results.samples.append(Sample(kind, status, time.perf_counter() - started, note))

    async def _edit(self) -> tuple[int, str]:
        """Open a customer's edit form, change the last name, save: 302 saved, 400 "changed by someone else"."""
        hot = self.rng.random() < 0.5
        pk = self.rng.choice(self.shop.hot if hot else list(self.shop.customers))
        form = await self.client.get(f"/admin/customer/edit/{pk}")
        if form.status_code != 200:
            return form.status_code, "edit form"
        found = VERSION_FIELD.search(form.text)
        version = re.search(r'value="(\d+)"', found[0])[1] if found else ""
        self.writes += 1
        written = f"Load {RUN}-{self.results.label} {self.email.split('@')[0]} {self.writes}"
        data = {**self.shop.customers[pk], "last_name": written, "version": version, "save": "Save"}
        answer = await self._post(f"/admin/customer/edit/{pk}", data)
        if answer.status_code == 302:
            self.results.saved_edits.append((pk, written))
        note = "conflict (expected)" if answer.status_code == 400 and "someone else" in answer.text else ""
        return answer.status_code, note

    async def _bulk(self) -> int:
        pks = ",".join(str(p) for p in self.rng.sample(self.shop.products, 3))
        slug = self.rng.choice(["activate", "deactivate"])
        confirm = await self.client.get(f"/admin/product/confirm/{slug}?pks={pks}")
        if confirm.status_code != 200:
            return confirm.status_code
        return (await self._post(f"/admin/product/action/{slug}", {"pks": pks})).status_code


# -- the shop, the staff, the server ---------------------------------------------------------------


def ready_shop(url: str, sessions: int) -> tuple[Shop, list[str]]:
    """The rows the sessions work on, and one manager per session (all with PASSWORD)."""
    from admin_site.auth.passwords import hash_password
    from models import Customer, Order, Product, Role, StaffUser

    engine = create_engine(url)
    emails = [f"load{n}@shop.example" for n in range(sessions)]
    hashed = hash_password(PASSWORD)  # production Argon2: each log-in costs what it costs in production
    with Session(engine) as session:
        known = set(session.scalars(select(StaffUser.email).where(StaffUser.email.in_(emails))))
        session.add_all(
            StaffUser(email=e, full_name=e, password_hash=hashed, role=Role.manager) for e in emails if e not in known
        )
        session.execute(
            StaffUser.__table__.update().where(StaffUser.email.in_(emails)).values(password_hash=hashed, is_active=True)
        )
        customers = session.execute(
            select(Customer.id, Customer.email, Customer.first_name, Customer.country).order_by(Customer.id).limit(400)
        ).all()
        orders = list(session.scalars(select(Order.id).order_by(Order.id).limit(2000)))
        products = list(session.scalars(select(Product.id).order_by(Product.id).limit(200)))
        session.commit()
    engine.dispose()
    forms = {c.id: {"email": c.email, "first_name": c.first_name, "country": c.country, "phone": ""} for c in customers}
    return Shop(forms, orders, products, [c.id for c in customers[:HOT_ROWS]]), emails  # fmt: skip


def start_server(url: str, workers: int, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "ADMIN_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(40),
           "ADMIN_ALLOWED_HOSTS": "127.0.0.1", "LOG_FORMAT": "json", "SHUTDOWN_GRACE": "5"}  # fmt: skip
    command = [str(Path(sys.executable).parent / "admin-site"), "serve", "--no-migrate", "--workers", str(workers),
               "--port", str(port)]  # fmt: skip
    with log.open("w") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"server did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.3)


class CpuUse:
    """CPU seconds used by the app's processes, PostgreSQL's and this load generator, from now on."""

    def __init__(self, server: subprocess.Popen, pgdata: Path) -> None:
        self.server, self.pgdata = psutil.Process(server.pid), pgdata
        self.start = self._now()

    def _now(self) -> dict[str, float]:
        def total(processes: list[psutil.Process]) -> float:  # the first's ended children included
            return sum(sum(p.cpu_times()[: 4 if n == 0 else 2]) for n, p in enumerate(processes) if p.is_running())

        return {
            "app": total([self.server, *self.server.children(recursive=True)]),
            "PostgreSQL": total(postgres_processes(self.pgdata)),
            "load generator": total([psutil.Process()]),
        }

    def since(self) -> dict[str, float]:
        now = self._now()
        return {who: now[who] - self.start[who] for who in now}


def postgres_processes(pgdata: Path) -> list[psutil.Process]:
    postmaster = psutil.Process(int((pgdata / "postmaster.pid").read_text().split()[0]))
    return [postmaster, *postmaster.children(recursive=True)]


async def inject(fault: str, after: float, lasting: float, prepared, pgdata: Path) -> str:
    """The fault in the middle of the run: a restart (fast stop, start) or a freeze of `lasting` seconds."""
    await asyncio.sleep(after)
    if fault == "restart":
        await asyncio.to_thread(prepared.server.stop)
        await asyncio.to_thread(prepared.server.start)
        return f"restarted at {after:.0f} s"
    processes = postgres_processes(pgdata)
    for process in processes:
        os.kill(process.pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(lasting)
    finally:
        for process in processes:
            os.kill(process.pid, signal.SIGCONT)
    return f"frozen from {after:.0f} s for {lasting:.0f} s"


async def run_load(label: str, base: str, shop: Shop, emails: list[str], seconds: float, fault_task) -> Results:
    results = Results(label)
    sessions = [StaffSession(base, e, shop, random.Random(n), results) for n, e in enumerate(emails)]
    await asyncio.gather(*(s.log_in() for s in sessions))
    stop_at = time.monotonic() + seconds
    started = time.perf_counter()

    async def work(session: StaffSession) -> None:
        while time.monotonic() < stop_at:
            await session.step()

    fault = asyncio.create_task(fault_task()) if fault_task else None
    await asyncio.gather(*(work(s) for s in sessions))
    results.seconds = time.perf_counter() - started
    if fault:
        print(f"  fault: {await fault}")
    await asyncio.gather(*(s.client.aclose() for s in sessions))
    return results


# -- what it came to ---------------------------------------------------------------------------------


def integrity(url: str, saved: list[tuple[int, str]], since: float) -> list[str]:
    """Every saved edit stored with its audit row; each row's audited last names one chain ending in the stored one."""
    from models import AuditLog, Customer

    engine = create_engine(url)
    problems: list[str] = []
    with Session(engine) as session:
        edited = sorted({pk for pk, _ in saved})
        stored = dict(session.execute(select(Customer.id, Customer.last_name).where(Customer.id.in_(edited))).all())
        rows = session.scalars(
            select(AuditLog).where(AuditLog.action == "update", AuditLog.entity == "customer",
                                   AuditLog.entity_pk.in_([str(p) for p in edited]),
                                   AuditLog.at >= text("to_timestamp(:since)").bindparams(since=since))
            .order_by(AuditLog.id)
        ).all()  # fmt: skip
    engine.dispose()
    chains: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        if "last_name" in (row.changes or {}):
            chains[int(row.entity_pk)].append(row.changes["last_name"])
    audited = {(pk, change["after"]) for pk, chain in chains.items() for change in chain}
    problems += [f"customer {pk}: saved {name!r} has no audit row" for pk, name in saved if (pk, name) not in audited]
    for pk, chain in chains.items():
        for earlier, later in itertools.pairwise(chain):
            if later["before"] != earlier["after"]:
                problems.append(f"customer {pk}: lost update ({earlier['after']!r} then {later['before']!r})")
        if chain and stored.get(pk) != chain[-1]["after"]:
            problems.append(f"customer {pk}: stores {stored.get(pk)!r}, last audited {chain[-1]['after']!r}")
    if len(rows) > len(saved):
        print(f"  note: {len(rows) - len(saved)} edits were saved whose answer the client never got (cut by the fault)")
    return problems


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def report(label: str, results: Results) -> dict[str, float]:
    samples = results.samples
    rate = len(samples) / results.seconds
    print(f"\n{label}: {len(samples):,} requests in {results.seconds:.1f} s = {rate:.1f} req/s")
    print(f"  {'kind':10} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    by_kind: dict[str, list[float]] = defaultdict(list)
    for sample in samples:
        by_kind[sample.kind].append(sample.seconds * 1000)
    for kind in MIX:
        times = by_kind.get(kind) or [0.0]
        print(f"  {kind:10} {len(by_kind.get(kind, [])):>6} {percentile(times, 50):>8.1f} {percentile(times, 95):>8.1f} {percentile(times, 99):>8.1f}")  # fmt: skip
    every = [s.seconds * 1000 for s in samples]
    print(f"  {'all':10} {len(every):>6} {percentile(every, 50):>8.1f} {percentile(every, 95):>8.1f} {percentile(every, 99):>8.1f}")  # fmt: skip
    odd = Counter((s.kind, s.status, s.note) for s in samples if not 200 <= s.status < 400)
    print("  answers not 2xx/3xx:" + ("" if odd else " none"))
    for (kind, status, note), count in sorted(odd.items()):
        print(f"    {count:>5} × {kind} {status or 'no answer'} {note}")
    return {"rate": rate, "p99": percentile(every, 99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--fault", choices=["none", "restart", "freeze"], default="none")
    parser.add_argument("--fault-seconds", type=float, default=10, help="how long a freeze lasts")
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--pgdata", type=Path, default=DEFAULT_PGDATA)
    args = parser.parse_args()
    args.pgdata.parent.mkdir(parents=True, exist_ok=True)
    prepared = prepare(args.pgdata, orders=args.orders, customers=max(500, args.orders // 10), products=500)
    shop, emails = ready_shop(prepared.url, args.sessions)
    print(f"{args.sessions} sessions, {args.seconds:.0f} s per run, fault: {args.fault}, {os.cpu_count()} CPUs")
    problems: list[str] = []
    try:
        for number, workers in enumerate(args.workers):
            port, log = free_port(), args.pgdata.parent / f"serve-{workers}.log"
            server = start_server(prepared.url, workers, port, log)
            since = time.time()
            fault = None
            if args.fault != "none":
                fault = functools.partial(
                    inject, args.fault, args.seconds / 3, args.fault_seconds, prepared, args.pgdata
                )
            try:
                cpu = CpuUse(server, args.pgdata)
                results = asyncio.run(
                    run_load(f"{number}w{workers}", f"http://127.0.0.1:{port}", shop, emails, args.seconds, fault)
                )
                used = cpu.since()
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=60)
            report(f"{workers} worker{'s' if workers > 1 else ''}", results)
            busy = ", ".join(f"{who} {seconds:.0f} s" for who, seconds in used.items())
            print(
                f"  CPU used during the run: {busy}; load average {os.getloadavg()[0]:.1f} (other work on the machine)"
            )
            found = integrity(prepared.url, results.saved_edits, since)
            print(f"  integrity: {len(results.saved_edits)} saved edits checked, " + (f"{len(found)} PROBLEMS" if found else "all stored with their audit rows, no lost update"))  # fmt: skip
            problems += found
    finally:
        prepared.server.stop()
    for problem in problems[:50]:
        print(f"  ! {problem}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
