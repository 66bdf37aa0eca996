"""One uvicorn server process serving the app against the benchmark database (started by benchmarks.run)."""

from __future__ import annotations

import argparse

from admin_site import serving
from admin_site.app import create_app
from admin_site.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    app = create_app(Settings(database_url=args.url, secret_key=args.secret, environment="production"))  # as deployed
    serving.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)  # as `admin serve` does


if __name__ == "__main__":
    main()
