"""Routes that keep work from being lost: bulk-action confirmations and each record's history.

Installed once by create_app. The rest lives where it acts: writes (transactions, versions,
audit rows), actions (bulk work), history, audit, form_rules and check_rules.
"""

from __future__ import annotations

from admin_site.audit import history
from admin_site.forms import bulk_actions as actions


def install(admin) -> None:
    actions.install(admin)
    history.install(admin)
