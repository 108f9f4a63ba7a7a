"""`Portal`: the Flask extension that mounts the whole portal into a Flask app."""

import importlib
from pathlib import Path

from flask import Blueprint, Flask
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

import portal.models  # noqa: F401  (every table registered before the first query)
from portal import access, i18n, ratelimit, web
from portal.accounts import sessions
from portal.config import apply_settings, instance_path_from_environment
from portal.db import configure_engine, db

PACKAGE_DIR = Path(__file__).parent
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"
STATIC_DIR = PACKAGE_DIR / "static"


def templates_dir() -> Path:
    """Inside the installed wheel the templates sit in the package; in a checkout beside it."""
    packaged = PACKAGE_DIR / "templates"
    return packaged if packaged.is_dir() else PACKAGE_DIR.parent / "templates"


csrf = CSRFProtect()
migrate = Migrate()


class Portal:
    """Mount the portal: `Portal().init_app(host_app, url_prefix="/kundportal")`."""

    def __init__(self, app: Flask | None = None, url_prefix: str = "/kundportal"):
        if app is not None:
            self.init_app(app, url_prefix=url_prefix)

    def init_app(self, app: Flask, url_prefix: str = "/kundportal") -> None:
        instance_path = instance_path_from_environment() or app.instance_path
        apply_settings(app.config, instance_path, own_app=False)
        app.extensions["portal"] = self
        self.url_prefix = url_prefix.rstrip("/")

        db.init_app(app)
        with app.app_context():
            for engine in db.engines.values():
                configure_engine(engine)
        migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
        _init_csrf(app)
        i18n.init_app(app)
        sessions.init_app(app)
        ratelimit.init_app(app)

        # Standalone, the whole app is the portal: its error pages, headers and template context
        # also cover URLs no route matches. Mounted, they stay on the portal's blueprint (set up
        # before it is registered), so the host's own pages keep theirs.
        standalone = not self.url_prefix
        blueprint = build_blueprint(app_wide=standalone)
        if standalone:
            web.register_error_pages(app)
            app.after_request(web.security_headers)
            app.context_processor(web.template_context)
        else:
            web.register_error_pages(blueprint)
        app.register_blueprint(blueprint, url_prefix=self.url_prefix or None)

        from portal.cli import register_commands

        register_commands(app)

        # Single-process use only (`make run`); never under TESTING, and refused under gunicorn.
        if app.config["PORTAL_SCHEDULER"] and not app.testing:
            from portal.retention.scheduler import start_in_background

            start_in_background(app)


def _init_csrf(app: Flask) -> None:
    # The portal checks CSRF on its own blueprint; a host's routes keep their own rules.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    if "csrf" not in app.extensions:
        csrf.init_app(app)


# Every feature blueprint of the portal, mounted under the portal's prefix.
FEATURE_BLUEPRINTS = (
    "portal.web:bp",
    "portal.accounts.views:bp",
    "portal.accounts.twofactor_views:bp",
    "portal.privacy.views:bp",
    "portal.privacy.export:bp",
    "portal.contacts.views:bp",
    "portal.contacts.consent_views:bp",
    "portal.contacts.staff_views:bp",
    "portal.accounts.company_views:bp",
    "portal.accounts.account_views:bp",
    "portal.accounts.password_views:bp",
    "portal.licenses.manager_views:bp",
    "portal.licenses.views:bp",
    "portal.licenses.staff_views:bp",
    "portal.downloads.views:bp",
    "portal.news.views:bp",
    "portal.staff.views:bp",
    "portal.impersonation.views:bp",
    "portal.retention.views:bp",
)


def build_blueprint(*, app_wide: bool = False) -> Blueprint:
    """The portal's root blueprint; `app_wide` leaves headers and context to the app."""
    portal_bp = Blueprint(
        "portal",
        __name__,
        template_folder=str(templates_dir()),
        static_folder=str(STATIC_DIR),
        static_url_path="/static",
    )
    portal_bp.before_request(web.refuse_nul_characters)
    portal_bp.before_request(_protect_csrf)
    portal_bp.before_request(access.enforce)
    if not app_wide:
        portal_bp.after_request(web.security_headers)
        portal_bp.context_processor(web.template_context)
    for path in FEATURE_BLUEPRINTS:
        module_name, attribute = path.split(":")
        portal_bp.register_blueprint(getattr(importlib.import_module(module_name), attribute))
    return portal_bp


def _protect_csrf():
    csrf.protect()
