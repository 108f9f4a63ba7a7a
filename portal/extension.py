"""`Portal`: the Flask extension that mounts the whole portal into a Flask app."""

import importlib
from pathlib import Path

from flask import Blueprint, Flask
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

import portal.models  # noqa: F401  (every table registered before the first query)
from portal import access, i18n, web
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

        app.register_blueprint(build_blueprint(), url_prefix=self.url_prefix or None)
        standalone = not self.url_prefix
        web.register_error_pages(app if standalone else app.blueprints["portal"])

        from portal.cli import register_commands

        register_commands(app)


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
    "portal.privacy.views:bp",
)


def build_blueprint() -> Blueprint:
    portal_bp = Blueprint(
        "portal",
        __name__,
        template_folder=str(templates_dir()),
        static_folder=str(STATIC_DIR),
        static_url_path="/static",
    )
    portal_bp.before_request(_protect_csrf)
    portal_bp.before_request(access.enforce)
    portal_bp.after_request(web.security_headers)
    portal_bp.context_processor(web.template_context)
    for path in FEATURE_BLUEPRINTS:
        module_name, attribute = path.split(":")
        portal_bp.register_blueprint(getattr(importlib.import_module(module_name), attribute))
    return portal_bp


def _protect_csrf():
    csrf.protect()
