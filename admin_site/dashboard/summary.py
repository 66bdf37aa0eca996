"""The daily summary's time zone: which zone its days are in, and recounting it in another one.

The triggers of revision 0008 keep the summary exact in the zone `dashboard_zone` names. When ADMIN_TIME_ZONE
changes, its days no longer start at the admin's midnight: the dashboard says so, instead of showing figures
whose period boundaries are off, until `admin-site rebuild-dashboard` has recounted everything.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

NO_ZONE = "UTC"  # what the triggers use when the row is missing (an emptied table)


def rebuild(engine: Engine, zone: str) -> None:
    """Recount in `zone`, in one transaction (writers of orders, lines and customers wait until it commits)."""
    with engine.begin() as conn:
        conn.execute(text("SELECT dashboard_rebuild(:zone)"), {"zone": zone})
