"""SQLAdmin routes replaced or tightened for security, and the log-out routes.

- Log out is a POST (a GET shows a page with the button): a link or an image on another site can
  no longer end a session. "Log out everywhere" bumps the session epoch: every session ends.
- Delete: SQLAdmin puts `str(exception)` into the list page's `error` parameter. The delete route is
  wrapped: only the messages of refusals (ChangeRefused, written to be shown) raised by the views'
  delete methods pass, anything else becomes a plain sentence, and the message is signed. The list page shows an
  `error` only with a valid signature, so neither an exception nor a crafted link puts text there.
  Other routes that send the browser to a list with an error use `list_url_with_error`.
- Bulk action routes (`/{identity}/action/{slug}`) answer POST only (and so need the CSRF token).
- The views' writes: a SQLAlchemy error that is not already a readable refusal (the views turn the
  database's refusals into ChangeRefused) becomes "could not be saved", never its text with SQL in it,
  which SQLAdmin would put on the form page.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import re
from urllib.parse import parse_qsl, urlencode

import anyio
from sqladmin.authentication import login_required
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from admin_site.forms.refusals import ChangeRefused
from models.staff import StaffUser

log = logging.getLogger(__name__)

ERROR, ERROR_SIGNATURE = "error", "error_sig"
DELETE_FAILED = "The records could not be deleted."
ACTION_PATH = re.compile(r"^/[^/]+/action/[^/]+$")


def sign_message(secret_key: str, message: str) -> str:
    return hmac.new(secret_key.encode(), b"list-error\x00" + message.encode(), hashlib.sha256).hexdigest()[:40]


def signature_ok(secret_key: str, message: str, signature: str | None) -> bool:
    return bool(signature) and hmac.compare_digest(sign_message(secret_key, message), signature or "")


def list_url_with_error(request: Request, url: URL | str, message: str) -> URL:
    """`url` (a list page) carrying `message` so that the list shows it: only for messages safe to show."""
    key = request.app.state.list_error_key  # the admin app's state, set by `install`
    return URL(str(url)).include_query_params(**{ERROR: message, ERROR_SIGNATURE: sign_message(key, message)})


SHOWN_REFUSALS = "shown_refusals"
NOT_SAVED = "The change could not be saved. Nothing was written."
GUARDED_WRITES = ("insert_model", "update_model", "delete_model", "delete_models")


def _guarded(method):
    """`method` (a view's write): its refusals noted on the request (their messages may be shown),
    any other SQLAlchemy error logged and turned into a refusal that says nothing of the SQL."""

    @functools.wraps(method)
    async def guarded(request: Request, *args, **kwargs):
        try:
            return await method(request, *args, **kwargs)
        except ChangeRefused as refused:
            shown = getattr(request.state, SHOWN_REFUSALS, None) or set()
            shown.add(str(refused))
            setattr(request.state, SHOWN_REFUSALS, shown)
            raise
        except SQLAlchemyError:
            log.exception("write by %s failed", getattr(method, "__qualname__", method))
            refusal = ChangeRefused(NOT_SAVED)
            setattr(request.state, SHOWN_REFUSALS, {*(getattr(request.state, SHOWN_REFUSALS, None) or ()), NOT_SAVED})
            raise refusal from None

    return guarded


def _safe_messages(request: Request) -> set[str]:
    """The refusals this request's views raised or recorded: their messages were written to be shown."""
    found = set(getattr(request.state, SHOWN_REFUSALS, None) or ())
    problem = getattr(request.state, "form_problem", None)
    if problem is not None and getattr(problem, "message", None):
        found.add(str(problem.message))
    conflict = getattr(request.state, "conflict", None)
    if conflict is not None:
        found.add(str(conflict))
    return found


class SecureRoutes:
    def __init__(self, admin, secret_key: str) -> None:
        self._admin_ref = admin  # what sqladmin's login_required looks for
        self._secret_key = secret_key
        self._original_list = admin.list
        self._original_delete = admin.delete

    # -- log out -----------------------------------------------------------------------------

    async def logout(self, request: Request) -> Response:
        if request.method == "GET":
            return await self._logout_page(request)
        await self._admin_ref.authentication_backend.logout(request)
        return RedirectResponse(request.url_for("admin:login"), status_code=302)

    @login_required
    async def _logout_page(self, request: Request) -> Response:
        """Showing the page changes nothing: its buttons post (with the CSRF token)."""
        return await self._admin_ref.templates.TemplateResponse(
            request, "shop/logout.html", {"title": "Log out", "staff": request.state.staff_user}
        )

    @login_required
    async def logout_everywhere(self, request: Request) -> Response:
        staff_id = request.state.staff_user.id
        session_factory = self._admin_ref.session_maker

        def bump() -> None:
            table = StaffUser.__table__
            with session_factory() as session:
                session.execute(
                    update(table).where(table.c.id == staff_id).values(session_epoch=table.c.session_epoch + 1)
                )
                session.commit()

        await anyio.to_thread.run_sync(bump)
        log.info("staff %s logged out everywhere", staff_id)
        request.session.clear()
        return RedirectResponse(request.url_for("admin:login"), status_code=302)

    # -- delete and the list's error message ---------------------------------------------------

    async def delete(self, request: Request) -> Response:
        """The admin's delete (it answers the list URL to go to, or redirects there), its error made safe."""
        response = await self._original_delete(request)
        if isinstance(response, RedirectResponse):
            response.headers["location"] = self._safe_list_url(request, response.headers["location"])
        elif response.status_code == 200 and isinstance(response, PlainTextResponse):
            response = PlainTextResponse(self._safe_list_url(request, response.body.decode()))
        return response

    def _safe_list_url(self, request: Request, target: str) -> str:
        url = URL(target)
        pairs = parse_qsl(url.query, keep_blank_values=True)
        message = next((v for k, v in pairs if k == ERROR), None)
        pairs = [(k, v) for k, v in pairs if k not in (ERROR, ERROR_SIGNATURE)]
        if message is None:
            return target
        if message not in _safe_messages(request):
            log.warning("delete at %s failed: %s", request.url.path, message)
            message = DELETE_FAILED
        pairs += [(ERROR, message), (ERROR_SIGNATURE, sign_message(self._secret_key, message))]
        return str(url.replace(query=urlencode(pairs)))

    async def list(self, request: Request) -> Response:
        """The list page, without an `error` that this admin did not sign."""
        params = request.query_params
        if ERROR in params and not signature_ok(self._secret_key, params[ERROR], params.get(ERROR_SIGNATURE)):
            kept = [(k, v) for k, v in params.multi_items() if k not in (ERROR, ERROR_SIGNATURE)]
            scope = dict(request.scope, query_string=urlencode(kept).encode())
            request = Request(scope, request.receive)
        return await self._original_list(request)


def _reroute(admin, name: str, endpoint, methods: list[str] | None = None) -> None:
    """Point the route called `name` at `endpoint` (same path; same methods unless given)."""
    routes = admin.admin.router.routes
    index = next(i for i, r in enumerate(routes) if getattr(r, "name", None) == name)
    old = routes[index]
    routes[index] = Route(old.path, endpoint, methods=methods or sorted(old.methods or ["GET"]), name=name)


def install(admin, secret_key: str) -> None:
    secure = SecureRoutes(admin, secret_key)
    admin.admin.state.list_error_key = secret_key
    _reroute(admin, "logout", secure.logout, methods=["GET", "POST"])
    _reroute(admin, "delete", secure.delete)
    _reroute(admin, "list", secure.list)
    admin.admin.router.routes.append(
        Route("/logout-everywhere", secure.logout_everywhere, methods=["POST"], name="logout_everywhere")
    )
    for route in admin.admin.router.routes:
        if isinstance(route, Route) and ACTION_PATH.match(route.path):
            route.methods = {"POST"}
    for view in admin.views:
        for name in GUARDED_WRITES:
            if hasattr(view, name):
                setattr(view, name, _guarded(getattr(view, name)))
