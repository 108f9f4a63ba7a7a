"""The portal's own Jinja environment: the host's loader, globals and filters, the portal's `_`.

Portal pages and mails render here (`render_template`, `get_template`), never in the host's
environment, so the portal's translations, formats and helpers reach no host template and a
host's Flask-Babel translates none of the portal's pages. The environment is an overlay of the
app's: it shares the template loader (the portal's blueprint folder among the host's), and sees
the globals and filters of the app (`url_for`, `csrf_token`, ...) beneath its own.
"""

from collections import ChainMap

from flask import current_app, has_request_context, template_rendered
from flask.signals import before_render_template
from jinja2 import Environment, Template

from portal import access, i18n

_ENVIRONMENT = "portal_jinja"


def init_app(app) -> None:
    env = app.jinja_env.overlay(extensions=["jinja2.ext.i18n"])
    # Own dicts in front of the app's, so that nothing set here reaches the host's templates.
    # `read_only()` is a global, not context, so that imported form macros see it too.
    env.globals = ChainMap({"read_only": read_only}, app.jinja_env.globals)
    env.filters = ChainMap(
        {
            "datetimeformat": i18n.format_datetime,
            "dateformat": i18n.format_date,
            "machinetime": i18n.machine_datetime,
        },
        app.jinja_env.filters,
    )
    env.install_gettext_callables(i18n.translate, i18n.translate_plural, newstyle=True)
    app.extensions[_ENVIRONMENT] = env


def read_only() -> bool:
    """Support views the portal as a customer: forms show disabled, with the reason."""
    return has_request_context() and access.is_read_only()


def environment() -> Environment:
    return current_app.extensions[_ENVIRONMENT]


def get_template(name: str) -> Template:
    return environment().get_template(name)


def render_template(name: str, **context) -> str:
    """`flask.render_template` in the portal's environment: context processors and signals too."""
    app = current_app._get_current_object()
    template = environment().get_or_select_template(name)
    app.update_template_context(context)
    before_render_template.send(
        app, _async_wrapper=app.ensure_sync, template=template, context=context
    )
    html = template.render(context)
    template_rendered.send(app, _async_wrapper=app.ensure_sync, template=template, context=context)
    return html
