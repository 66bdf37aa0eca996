"""Did a change make pages faster? `python -m benchmarks.compare OTHER_TREE [--requests 30] [--only NAMES]`.

Serves this tree and another checkout of the project (e.g. `git archive HEAD~1 | tar -x -C /tmp/before`)
against the same benchmark database, each in its own uvicorn process, and takes their requests in turn
(one of each per round), so a burst of load on a shared machine lands on both alike: figures from two runs
minutes apart differ by more than most changes. Prints median / p90 per workload for both.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from benchmarks.database import prepare
from benchmarks.measure import TimingClient, machine, p90, timed
from benchmarks.run import DEFAULT_PGDATA, EXTRA, ROOT, ensure_staff, free_port, log_in, wait_for, workloads


def serve(tree: Path, url: str, secret: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.serve", "--url", url, "--secret", secret, "--port", str(port)]
    process = subprocess.Popen(command, cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)})
    wait_for(f"http://127.0.0.1:{port}/healthz", process)
    return process, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", type=Path, help="the other tree (a directory holding admin_site/ and benchmarks/)")
    parser.add_argument("--pgdata", type=Path, default=DEFAULT_PGDATA)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--only", default="", help="workloads whose names contain one of these (comma-separated)")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    prepared = prepare(args.pgdata, orders=1_000_000, customers=100_000, products=10_000)
    password, secret = ensure_staff(prepared.url), secrets.token_urlsafe(32)
    engine = create_engine(prepared.url)
    with engine.connect() as conn:
        order_id = conn.scalar(text("SELECT max(id) / 2 FROM orders"))
    engine.dispose()
    trees = {"this tree": ROOT, "other": args.other.resolve()}
    servers = {name: serve(tree, prepared.url, secret) for name, tree in trees.items()}
    try:
        clients = {}
        for name, (_, port) in servers.items():
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=False) as client:
                log_in(client, password)
                clients[name] = TimingClient(port, dict(client.cookies))
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        chosen = [(n, p) for n, p in workloads(order_id) + EXTRA if not wanted or any(w in n for w in wanted)]
        samples = {(name, tree): [] for name, _ in chosen for tree in trees}
        for round_number in range(3 + args.requests):  # 3 rounds of warm-up
            for name, path in chosen:
                for tree, client in clients.items():
                    taken = timed(client, path, 1)
                    if round_number >= 3:
                        samples[name, tree] += taken
        print(f"\n{'workload':48} {'this tree (median / p90)':>26} {'other (median / p90)':>22}")
        for name, _ in chosen:
            cells = [f"{statistics.median(s):.1f} / {p90(s):.1f} ms" for s in (samples[name, t] for t in trees)]
            print(f"{name:48} {cells[0]:>26} {cells[1]:>22}")
        print(f"(load average {os.getloadavg()[0]:.1f})")
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(10)
        prepared.server.stop()


if __name__ == "__main__":
    main()
