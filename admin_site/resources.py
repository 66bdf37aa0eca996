"""Files shipped inside the package: templates and static files (served locally, no CDN), and the
Alembic migrations.

The migrations' one source is the top-level `migrations/` folder of the repository; pyproject.toml's
`package-dir` ships it in the wheel as the package `admin_site.migrations` (`admin_site/migrations/`).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
TEMPLATES = PACKAGE / "templates"
STATIC = PACKAGE / "static"


def migrations_dir() -> Path:
    """The Alembic script directory (env.py, versions/) of this copy of the package.

    Installed from a wheel: `admin_site/migrations/` beside this module. From a source checkout (an
    editable install, or the repository on sys.path): the repository's `migrations/` folder.
    """
    installed = PACKAGE / "migrations"
    checkout = PACKAGE.parent
    candidates = [installed]
    if (checkout / "alembic.ini").is_file():  # a checkout, not site-packages (which may hold anyone's migrations/)
        candidates.append(checkout / "migrations")
    for candidate in candidates:
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError(
        f"the Alembic migrations are missing: looked in {', '.join(str(c) for c in candidates)} "
        "(was the package built without its package data?)"
    )
