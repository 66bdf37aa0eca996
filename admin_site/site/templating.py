"""Pages rendered by plain (synchronous) Jinja, with async rendering kept for templates that need it.

SQLAdmin renders every page with Jinja's async mode, where each expression, block and loop goes
through an awaitable wrapper. The templates this admin serves call no coroutine (the list's rows,
filter choices, permission checks and the look-up fields' selected rows are worked out before
rendering), so they are rendered synchronously.

Safety net: in the synchronous environment every call a template makes is checked; a call that
returns a coroutine (which plain Jinja would treat as a true value: a button shown to a role that
may not use it) stops the render, and that template is rendered in async mode from then on. The
templates known to await (SQLAdmin's details page) are listed so that never happens on a live page.
"""

from __future__ import annotations

import inspect
import logging
from collections import ChainMap
from typing import Any

import jinja2
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from sqladmin.templating import Jinja2Templates, _TemplateResponse
from starlette import status
from starlette.requests import Request

from admin_site.forms.lookup_widget import describe_lookups

log = logging.getLogger(__name__)

# SQLAdmin templates that await view methods (get_detail_value, check_can_edit(request, row), …): the admin
# renders its own details page (shop/details.html), but a view may still name SQLAdmin's.
ASYNC_TEMPLATES = frozenset({"sqladmin/details.html", "sqladmin/filters/lookup_filter.html"})


class AsyncCallInTemplate(Exception):
    """A template rendered synchronously called something that returned a coroutine."""


class CheckedContext(Context):
    """Jinja's context, refusing calls that return awaitables (see the module docstring)."""

    def call(self, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        result = super().call(obj, *args, **kwargs)
        if hasattr(result, "__await__"):  # coroutines, futures, tasks (cheaper than inspect.isawaitable)
            if inspect.iscoroutine(result):
                result.close()  # never awaited: nothing it would have done happens
            raise AsyncCallInTemplate(getattr(obj, "__qualname__", repr(obj)))
        return result


@pass_context
def null_gettext(context: Context, string: str, **variables: Any) -> str:
    """Jinja's new-style gettext with no translations, in one call instead of three nested ones (a page
    calls `_()` a few dozen times): the text, escaped where autoescaping is on, always %-formatted."""
    text = Markup(string) if context.eval_ctx.autoescape else string
    return text % variables


@pass_context
def null_ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
    variables.setdefault("num", num)
    return null_gettext(context, singular if num == 1 else plural, **variables)


class ShopTemplates(Jinja2Templates):
    """SQLAdmin's templates object, rendering synchronously where it can."""

    def __init__(self, sqladmin_templates: Jinja2Templates, *, translated: bool) -> None:
        self.env = sqladmin_templates.env  # SQLAdmin's async environment: loaders, globals, i18n
        self.translated = translated  # SQLAdmin given an i18n_config: its gettext callables stay
        self._sync_env: jinja2.Environment | None = None
        self._needs_async: set[str] = set(ASYNC_TEMPLATES)

    @property
    def sync_env(self) -> jinja2.Environment:
        """Made on first use, after SQLAdmin and this app have set the loaders and globals."""
        if self._sync_env is None:
            env = self.env.overlay(enable_async=False)  # shares globals and extensions, not compiled templates
            env.context_class = CheckedContext
            if not self.translated:  # the overlay's own gettext; every other global is SQLAdmin's and the app's
                own: dict[str, object] = {"gettext": null_gettext, "_": null_gettext, "ngettext": null_ngettext}
                # jinja2 types `globals` as the dict it starts with; any mapping works (its own make_globals chains).
                env.globals = ChainMap(own, self.env.globals)  # type: ignore[assignment]
            self._sync_env = env
        return self._sync_env

    def _render_sync(self, name: str, context: dict[str, Any]) -> tuple[jinja2.Template, str] | None:
        """The template and page, or None when the template needs async rendering."""
        if name in self._needs_async:
            return None
        template = self.sync_env.get_template(name)
        try:
            return template, template.render(context)
        except AsyncCallInTemplate as call:
            log.warning("template %s awaits %s: rendered in async mode from now on", name, call)
            self._needs_async.add(name)
            return None

    async def TemplateResponse(
        self,
        request: Request,
        name: str,
        context: dict | None = None,
        status_code: int = status.HTTP_200_OK,
    ) -> _TemplateResponse:
        context = context or {}
        context.setdefault("request", request)
        if context.get("form") is not None:
            await describe_lookups(context["form"])  # what its look-up widgets would have awaited
        rendered = self._render_sync(name, context)
        if rendered is None:
            template = self.env.get_template(name)
            rendered = template, await template.render_async(context)
        template, content = rendered
        return _TemplateResponse(template=template, content=content, context=context, status_code=status_code)
