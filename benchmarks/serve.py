"""One uvicorn server process serving the app (or, with --stock, stock SQLAdmin) against the benchmark
database (started by benchmarks.run)."""

from __future__ import annotations

import argparse

from sqlalchemy import create_engine

from admin_site.app import create_app
from admin_site.ops import serving
from admin_site.settings import Settings
from benchmarks.stock_sqladmin import create_stock_app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--stock", action="store_true", help="serve stock SQLAdmin over the same data instead")
    args = parser.parse_args()
    if args.stock:
        app = create_stock_app(create_engine(args.url))
    else:
        app = create_app(
            Settings(
                database_url=args.url, secret_key=args.secret, environment="production", allowed_hosts=("127.0.0.1",)
            )
        )  # as deployed
    # Both as `admin serve` does: the same uvicorn, event loop and garbage-collector settings.
    serving.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
