"""`Portal`: the Flask extension that mounts the whole portal into a Flask app."""

from pathlib import Path

import click
from flask import Blueprint, Flask, current_app, g, request
from flask.cli import AppGroup, with_appcontext
from flask_migrate import Migrate, _MigrateConfig
from flask_migrate.cli import db as flask_migrate_db
from flask_wtf.csrf import CSRFProtect

import portal.models  # noqa: F401  (every table registered before the first query)
from portal import access, http, news, ratelimit, rendering, transaction
from portal.accounts.blueprint import bp as accounts_bp
from portal.accounts.cli import user_cli
from portal.activity.blueprint import bp as activity_bp
from portal.api import guard as api_guard
from portal.api.blueprint import bp as api_bp
from portal.companies.blueprint import bp as companies_bp
from portal.companies.cli import company_cli
from portal.config import apply_settings, instance_path_from_environment
from portal.contacts.blueprint import bp as contacts_bp
from portal.db import MIGRATIONS, configure_engine, db
from portal.demo import demo_command
from portal.downloads.blueprint import bp as downloads_bp
from portal.impersonation.blueprint import bp as impersonation_bp
from portal.licenses.blueprint import bp as licenses_bp
from portal.licenses.cli import license_cli, release_cli
from portal.machines import signing
from portal.machines.blueprint import bp as machines_bp
from portal.machines.cli import signing_key_cli
from portal.mail.cli import mail_cli
from portal.members.blueprint import bp as members_bp
from portal.orders.blueprint import bp as orders_bp
from portal.orders.cli import orders_cli
from portal.privacy.blueprint import bp as privacy_bp
from portal.retention.blueprint import bp as retention_bp
from portal.retention.cli import retention_cli, scheduler_command
from portal.retention.scheduler import start_in_background
from portal.shell import views as shell
from portal.shell.blueprint import bp as shell_bp
from portal.signin import service as signin
from portal.signin.blueprint import bp as signin_bp
from portal.staff.blueprint import bp as staff_bp

PACKAGE_DIR = Path(__file__).parent
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"
STATIC_DIR = PACKAGE_DIR / "static"

# Every feature's blueprint, in the features' order (pyproject.toml's import contract, lowest
# first); each is mounted under the portal's prefix.
FEATURE_BLUEPRINTS = (
    companies_bp,
    accounts_bp,
    members_bp,
    impersonation_bp,
    signin_bp,
    licenses_bp,
    downloads_bp,
    machines_bp,
    api_bp,
    contacts_bp,
    orders_bp,
    privacy_bp,
    news.bp,
    activity_bp,
    retention_bp,
    staff_bp,
    shell_bp,
)
COMMANDS = (
    company_cli,
    user_cli,
    license_cli,
    release_cli,
    mail_cli,
    demo_command,
    retention_cli,
    scheduler_command,
    signing_key_cli,
    orders_cli,
)


def templates_dir() -> Path:
    """Inside the installed wheel the templates sit in the package; in a checkout beside it."""
    packaged = PACKAGE_DIR / "templates"
    return packaged if packaged.is_dir() else PACKAGE_DIR.parent / "templates"


PORTAL_BLUEPRINT = "portal"
csrf = CSRFProtect()
migrate = Migrate()


class Portal:
    """Mount the portal: `Portal().init_app(host_app, url_prefix="/kundportal")`."""

    def __init__(self, app: Flask | None = None, url_prefix: str = "/kundportal"):
        if app is not None:
            self.init_app(app, url_prefix=url_prefix)

    def init_app(self, app: Flask, url_prefix: str = "/kundportal") -> None:
        self.url_prefix = url_prefix.rstrip("/")
        standalone = not self.url_prefix
        instance_path = instance_path_from_environment() or app.instance_path
        apply_settings(app.config, instance_path, own_app=standalone)
        app.extensions["portal"] = self

        db.init_app(app, mounted=not standalone)
        with app.app_context():
            for engine in db.engines.values():
                configure_engine(engine)
        _init_migrations(app, standalone=standalone)
        _init_csrf(app, standalone=standalone)
        rendering.init_app(app)
        signin.init_app(app, url_prefix=self.url_prefix)
        # Before the rate limits (which read the typed address): every portal request's body is
        # bounded before anything reads it. Standalone, every request of the app is the portal's.
        app.before_request(lambda: _limit_portal_body(standalone))
        ratelimit.init_app(app)
        signing.init_app(app)
        api_guard.install(app, self.url_prefix, host_csrf=_host_csrf)

        # Standalone, the whole app is the portal: its error pages, headers and template context
        # also cover URLs no route matches. Mounted, they stay on the portal's blueprint (set up
        # before it is registered), so the host's own pages keep theirs.
        http.register_converters(app)
        blueprint = build_blueprint(app_wide=standalone)
        if standalone:
            http.register_error_pages(app)
            app.after_request(http.security_headers)
            app.context_processor(shell.template_context)
        else:
            http.register_error_pages(blueprint)
        app.register_blueprint(blueprint, url_prefix=self.url_prefix or None)
        if not standalone:
            with app.app_context():
                _host_csrf(app)
        _init_commands(app, standalone=standalone)

        # Single-process use only (`make run`); never under TESTING, and refused under gunicorn.
        if app.config["PORTAL_SCHEDULER"] and not app.testing:
            start_in_background(app)


def _limit_portal_body(standalone: bool) -> None:
    if standalone or request.blueprints[-1:] == [PORTAL_BLUEPRINT]:
        http.limit_body()


# Mounted, the portal's Alembic history has its own version table, so that it can share a
# database with the host's own Flask-Migrate history.
MOUNTED_VERSION_TABLE = "portal_alembic_version"
_MOUNTED_MIGRATE = "portal_migrate"


def _init_migrations(app: Flask, *, standalone: bool) -> None:
    app.extensions[MIGRATIONS] = {
        "directory": str(MIGRATIONS_DIR),
        "version_table": "alembic_version" if standalone else MOUNTED_VERSION_TABLE,
    }
    if standalone:
        migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
        return
    # Not `init_app`: that would take the host's `app.extensions["migrate"]` and `db` command.
    own = Migrate(
        db=db,
        directory=str(MIGRATIONS_DIR),
        render_as_batch=True,
        version_table=MOUNTED_VERSION_TABLE,
    )
    app.extensions[_MOUNTED_MIGRATE] = _MigrateConfig(own, db, **own.alembic_ctx_kwargs)


@click.group("db", help="The portal's database migrations (Flask-Migrate).")
@click.option("-x", "--x-arg", multiple=True, help="Arguments for the migrations' env.py.")
@with_appcontext
def _mounted_db_group(x_arg) -> None:
    # Flask-Migrate's commands read `app.extensions["migrate"]`: the portal's, while they run.
    g.directory = None  # always the portal's own migrations
    g.x_arg = x_arg
    app = current_app._get_current_object()
    host = app.extensions.get("migrate")
    app.extensions["migrate"] = app.extensions[_MOUNTED_MIGRATE]

    def restore():
        if host is None:
            app.extensions.pop("migrate", None)
        else:
            app.extensions["migrate"] = host

    click.get_current_context().call_on_close(restore)


for _command in flask_migrate_db.commands.values():
    _mounted_db_group.add_command(_command)


def _init_commands(app: Flask, *, standalone: bool) -> None:
    """Standalone: `flask --app portal db|user|...`. Mounted: one group, `flask portal ...`, so
    that no command of the portal's meets one of the host's (such as Flask-Migrate's `db`)."""
    if standalone:
        for command in COMMANDS:
            if command.name not in app.cli.commands:
                app.cli.add_command(command)
        return
    group = AppGroup("portal", help="The customer license portal.")
    group.add_command(_mounted_db_group)
    for command in COMMANDS:
        group.add_command(command)
    app.cli.add_command(group)


def _init_csrf(app: Flask, *, standalone: bool) -> None:
    """The portal checks CSRF on its own blueprint (`_protect_csrf`). Standalone it is the app's
    CSRFProtect. Mounted, the host's CSRF rules are left as the host set them; the portal only
    fills Flask-WTF's settings the host left unset, and keeps its JSON API out of a host's
    CSRFProtect (`_host_csrf`)."""
    if standalone:
        app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
        app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
        csrf.init_app(app)
        return
    app.config.setdefault("WTF_CSRF_ENABLED", True)
    app.config.setdefault("WTF_CSRF_FIELD_NAME", "csrf_token")
    app.config.setdefault("WTF_CSRF_HEADERS", ["X-CSRFToken", "X-CSRF-Token"])
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config.setdefault("WTF_CSRF_SSL_STRICT", True)
    app.config["WTF_CSRF_METHODS"] = set(
        app.config.get("WTF_CSRF_METHODS", ["POST", "PUT", "PATCH", "DELETE"])
    )


def _host_csrf(app: Flask | None = None) -> None:
    """A host's CSRFProtect (initialised before or after the portal) checks every request of
    the app; the portal's sessionless routes (the JSON API) are exempt from it."""
    app = app or current_app._get_current_object()
    host = app.extensions.get("csrf")
    if host is None or host is csrf or getattr(host, "_portal_exempted", False):
        return
    for endpoint, view in app.view_functions.items():
        if access.is_sessionless(endpoint):
            host.exempt(view)
    host._portal_exempted = True


def build_blueprint(*, app_wide: bool = False) -> Blueprint:
    """The portal's root blueprint; `app_wide` leaves headers and context to the app."""
    portal_bp = Blueprint(
        PORTAL_BLUEPRINT,
        __name__,
        template_folder=str(templates_dir()),
        static_folder=str(STATIC_DIR),
        static_url_path="/static",
    )
    portal_bp.before_request(signin.load_request_account)
    portal_bp.before_request(http.refuse_nul_characters)
    portal_bp.before_request(_protect_csrf)
    portal_bp.before_request(access.enforce)
    # After-request functions run last-registered first: the commit comes after the headers.
    portal_bp.after_request(transaction.finish_request)
    portal_bp.after_request(signin.update_remember_cookie)
    portal_bp.teardown_request(transaction.end_request)
    if not app_wide:
        portal_bp.after_request(http.security_headers)
        portal_bp.context_processor(shell.template_context)
    portal_bp.after_request(http.protect_secret_links)
    for feature_bp in FEATURE_BLUEPRINTS:
        portal_bp.register_blueprint(feature_bp)
    return portal_bp


def _protect_csrf():
    # The JSON API takes no cookies, so it needs no CSRF token (see access.API).
    if not access.is_sessionless(request.endpoint):
        csrf.protect()
