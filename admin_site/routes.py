"""The admin's route table: every route under /admin, with the permission it needs, in one place.

Each entry goes through the one guard (`site/routes.py`: log-in, then permission, then the
handler); `needs` is what the role must be allowed on the view the path names, or on a page.
Static files are mounted beside the table.
"""

from __future__ import annotations

from sqladmin.authorization import Action, custom_action
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from admin_site.audit.history import HistoryPage
from admin_site.audit.log import STAFF_ENTITY
from admin_site.auth.backend import StaffAuthentication
from admin_site.auth.permissions import SESSIONS
from admin_site.dashboard.page import DashboardPage
from admin_site.export import routes as export
from admin_site.forms.bulk_actions import BulkActionPages
from admin_site.imports.pages import ImportPages, import_limits
from admin_site.lists import saved_views
from admin_site.lists.lookup import FilterLookup
from admin_site.resources import STATIC
from admin_site.settings import Settings
from admin_site.site.admin import ShopAdmin
from admin_site.site.login import SessionPages
from admin_site.site.routes import BULK_ACTION, PUBLIC, SIGNED_IN, AdminRoute, OnPage
from admin_site.views.account import PasswordChange
from admin_site.views.form_pages import FormPages
from admin_site.views.outage_forms import OutageForms
from admin_site.views.pages import ReadingPages
from admin_site.views.permissions_page import MatrixPage
from admin_site.views.staff_sessions import StaffSessionsPage

GET_POST = ("GET", "POST")
POST = ("POST",)


def route_table(admin: ShopAdmin, backend: StaffAuthentication, settings: Settings) -> list[AdminRoute]:
    reading = ReadingPages(admin, settings.secret_key)
    forms = FormPages(admin, settings.secret_key)
    outage = OutageForms(admin)
    session = SessionPages(admin, backend)
    bulk = BulkActionPages(admin.templates)
    history = HistoryPage(admin.templates)
    staff_sessions = StaffSessionsPage(admin, settings)
    imports = ImportPages(admin.templates, import_limits(settings))
    see_sessions = OnPage(STAFF_ENTITY, custom_action(SESSIONS))  # a staff member's sessions: admins
    return [
        AdminRoute("/", DashboardPage(admin).show, "index", OnPage("dashboard")),
        AdminRoute("/login", session.login, "login", PUBLIC, GET_POST),
        AdminRoute("/logout", session.logout, "logout", SIGNED_IN, GET_POST),
        AdminRoute("/logout-everywhere", session.logout_everywhere, "logout_everywhere", SIGNED_IN, POST),
        AdminRoute(
            "/account/password",
            PasswordChange(admin, backend).change_password,
            "view-account",
            OnPage("account"),
            GET_POST,
        ),
        AdminRoute("/permissions", MatrixPage(admin).show, "view-permissions", OnPage("permissions")),
        AdminRoute(f"/{STAFF_ENTITY}/sessions/{{pk}}", staff_sessions.show, "staff_sessions", see_sessions),
        AdminRoute(
            f"/{STAFF_ENTITY}/sessions/{{pk}}/end", staff_sessions.end, "staff_sessions_end", see_sessions, POST
        ),
        # One model's view: {identity} names it; the guard passes it to the handler.
        AdminRoute("/{identity}/list", reading.list, "list", Action.LIST),
        AdminRoute("/{identity}/details/{pk:path}", reading.details, "details", Action.DETAILS),
        AdminRoute("/{identity}/history/{pk}", history.history, "history", Action.DETAILS),
        # A save that finds the database unavailable shows the form again, as typed (views/outage_forms.py).
        AdminRoute("/{identity}/create", forms.create, "create", Action.CREATE, GET_POST, outage.form_again),
        AdminRoute("/{identity}/edit/{pk:path}", forms.edit, "edit", Action.EDIT, GET_POST, outage.form_again),
        AdminRoute("/{identity}/delete", forms.delete, "delete", Action.DELETE, ("DELETE",)),
        AdminRoute("/{identity}/ajax/lookup", forms.lookup, "ajax_lookup", (Action.CREATE, Action.EDIT)),
        AdminRoute(
            "/{identity}/inline-lookup/{relation}", forms.inline_lookup, "inline_lookup", (Action.CREATE, Action.EDIT)
        ),
        AdminRoute("/{identity}/confirm/{slug}", bulk.confirm, "action_confirm", BULK_ACTION),
        AdminRoute("/{identity}/action/{slug}", bulk.run, "action", BULK_ACTION, POST),
        AdminRoute("/{identity}/export/{export_type}", export.export, "export", Action.EXPORT),
        AdminRoute(
            "/{identity}/export-selected/{export_type}", export.export_selected, "export_selected", Action.EXPORT, POST
        ),
        AdminRoute("/{identity}/saved-views", saved_views.save, "saved_view_save", Action.LIST, POST),
        AdminRoute(
            "/{identity}/saved-views/{saved_id}/delete", saved_views.remove, "saved_view_delete", Action.LIST, POST
        ),
        AdminRoute("/{identity}/filter-lookup", FilterLookup(admin).lookup, "filter_lookup", Action.LIST),
        # Import from a spreadsheet: upload, preview (nothing written), confirm once (admin_site/imports/pages.py).
        AdminRoute("/{identity}/import", imports.upload, "import", Action.IMPORT, GET_POST),
        AdminRoute("/{identity}/import/{token}", imports.preview, "import_preview", Action.IMPORT),
        AdminRoute("/{identity}/import/{token}/refusals.csv", imports.refusals, "import_refusals", Action.IMPORT),
        AdminRoute("/{identity}/import/{token}/confirm", imports.confirm, "import_confirm", Action.IMPORT, POST),
        # SQLAdmin's links that lead nowhere here: no model stores files.
        AdminRoute("/{identity}/{pk:path}/{column_name}/download/", reading.no_files, "file_download", Action.DETAILS),
        AdminRoute("/{identity}/{pk:path}/{column_name}/preview/", reading.no_files, "file_preview", Action.DETAILS),
    ]


def static_mounts() -> list[BaseRoute]:
    """SQLAdmin's assets and the admin's own scripts, served locally (no CDN)."""
    return [
        Mount("/statics", app=StaticFiles(packages=["sqladmin"]), name="statics"),
        Mount("/shop-static", app=StaticFiles(directory=STATIC), name="shop_static"),
    ]
