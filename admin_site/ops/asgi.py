"""What uvicorn serves: `admin_site.ops.asgi:application`, a factory called once in each worker process.

Each worker builds its own app, and so its own engine and pool, after it has started (uvicorn's workers are
new processes, not forks of one that already held connections). `admin-site serve` has set DATABASE_URL to
the database it migrated (the embedded one's too), so no worker starts a database of its own.
"""

from __future__ import annotations

from starlette.types import ASGIApp

from admin_site.app import create_app
from admin_site.db.outage import is_unavailable
from admin_site.ops import serving, tempfiles
from admin_site.ops.http_protocol import HeaderTimeoutProtocol
from admin_site.ops.lifecycle import ProcessLifecycle
from admin_site.settings import Settings
from admin_site.telemetry import logs


def application() -> ASGIApp:
    settings = Settings.from_env()
    operations = settings.operations
    logs.configure(operations.log_format, is_unavailable)
    tempfiles.use_own_directory()
    HeaderTimeoutProtocol.header_timeout = operations.http_header_timeout
    app = create_app(settings)
    serving.settle_for_serving()
    return ProcessLifecycle(app, operations.shutdown_grace, [app.state.engine, app.state.health_engine])
