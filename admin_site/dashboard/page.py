"""The home page's handler (route "index"): the period from the URL, the figures and charts the role may see,
and the person's recent actions.

What a role sees is the matrix's word: the "dashboard" row's REVENUE operation (auth/permissions.py) adds
revenue, average order value, the revenue charts and the top products; without it they are never read, so
neither the page nor its JSON island can hold them.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

import anyio
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from admin_site.audit import history
from admin_site.auth.permissions import REVENUE, is_allowed
from admin_site.dashboard.charts import charts
from admin_site.dashboard.figures import figures
from admin_site.dashboard.links import Links
from admin_site.dashboard.periods import CUSTOM, PRESETS, period_from
from admin_site.dashboard.queries import read_dashboard

if TYPE_CHECKING:
    from admin_site.site.admin import ShopAdmin

DASHBOARD = "dashboard"  # its row in the matrix


def island(payload: object) -> Markup:
    """JSON safe inside <script type="application/json">: no `</script>` or `<!--` can end it early."""
    text = json.dumps(payload, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


class DashboardPage:
    def __init__(self, admin: ShopAdmin) -> None:
        self.admin = admin

    async def show(self, request: Request) -> Response:
        staff = request.state.staff_user
        formats = self.admin.formats
        now = datetime.now(formats.time_zone)
        period, problem = period_from(request.query_params, now.date())
        with_revenue = is_allowed(staff.role, DASHBOARD, REVENUE)
        read = partial(read_dashboard, self.admin.session_maker, period, formats.time_zone, with_revenue)
        data = await anyio.to_thread.run_sync(read)
        recent = await history.recent_actions(self.admin, staff.id)  # "your recent actions" (the audit log)
        stale = data.summary_zone != formats.zone_name
        links = Links(request)
        drawn = [] if stale else charts(data, links)
        context = {
            "title": "Dashboard",
            "staff": staff,
            "recent_actions": recent,
            "period": period,
            "previous": data.previous,
            "presets": PRESETS,
            "custom": CUSTOM,
            "problem": problem,
            "stale_zone": data.summary_zone if stale else None,
            "zone": formats.zone_name,
            "today": now.date(),
            "figures": [] if stale else figures(data, links, formats, now),
            "charts": drawn,
            "chart_rows": {chart.key: chart.rows(formats) for chart in drawn},
            "island": island({"currency": formats.currency, "charts": [c.island() for c in drawn]}),
            "with_revenue": with_revenue,
        }
        return await self.admin.templates.TemplateResponse(request, "shop/dashboard.html", context)
