"""The portal mounted into a vendor's existing Flask site under /kundportal.

Every test runs against three hosts: a bare Flask site, and a realistic one with its own
Flask-SQLAlchemy models, Flask-Login user model and `user_loader`, Flask-Babel locale selector,
CSRFProtect and Flask-Migrate, initialised before the portal (the portal in a database of its
own) and after it (the portal in the host's database). The portal's tables come from its
migrations, run as the vendor would: `flask --app HOST portal db upgrade`.
"""

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import Flask, g, render_template, render_template_string, request
from flask_babel import Babel
from flask_babel import gettext as host_gettext
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect, generate_csrf
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import Portal
from portal.accounts import service as accounts
from portal.accounts.models import CompanyRole, LoginSession
from portal.companies import service as companies
from portal.db import db
from portal.extension import MOUNTED_VERSION_TABLE
from tests.factories import CSRF_PATTERN, PASSWORD

PREFIX = "/kundportal"
HOST_BASE = (
    "<!doctype html><title>Leverantören</title><p>HOST LAYOUT</p>{% block content %}{% endblock %}"
)
URL_ATTRIBUTE = re.compile(r'\b(?:href|src|action)="([^"]*)"')
PORTAL_HEADERS = (
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
)
# What the portal's layout gets from its context processors; a host template must see none.
PORTAL_CONTEXT = (
    "current_language",
    "language_names",
    "sales_email",
    "current_impersonation",
    "cart_count",
    "nav_items",
)
HOST_PASSWORD = "the vendor's own password"
# In the PostgreSQL run also a host whose database (a schema of its own) the portal shares.
POSTGRESQL_URL = os.environ.get("PORTAL_TEST_DATABASE_URL")
MOUNT_SCHEMA = "mount_test"
FULL_HOSTS = ("full-before", "full-after", *(("full-postgresql",) if POSTGRESQL_URL else ()))
HOSTS = ("bare", *FULL_HOSTS)

pytestmark = pytest.mark.no_transaction


def _vendor_site(tmp_path, app_config) -> Flask:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "base.html").write_text(HOST_BASE)
    (tmp_path / "templates" / "home.html").write_text(
        '{% extends "base.html" %}{% block content %}Welcome to the vendor{% endblock %}'
    )
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "site.css").write_text("body { color: #333; }")
    site = Flask("vendor_site", root_path=str(tmp_path), instance_path=str(tmp_path / "instance"))
    site.config.update(
        SECRET_KEY="the vendor site's own key",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'site.sqlite3'}",
        PORTAL_RELEASE_STORE=str(tmp_path / "releases"),
        PORTAL_MAIL_URL=app_config["PORTAL_MAIL_URL"],
        RATELIMIT_STORAGE_URI="memory://",
    )

    @site.get("/")
    def home():
        return render_template("home.html")

    @site.post("/contact")
    def contact():
        return f"thanks {request.form.get('name', '')}"

    @site.get("/context")
    def context():
        names = ",".join(PORTAL_CONTEXT)
        return render_template_string(
            "{% for name in '" + names + "'.split(',') %}"
            "{% if name in self._TemplateReference__context %}{{ name }} {% endif %}{% endfor %}"
        )

    return site


class HostExtensions:
    """The vendor's own extensions and models, as a realistic Flask site has them."""

    def __init__(self, site: Flask):
        self.db = SQLAlchemy()
        self.login = LoginManager()
        self.babel = Babel()
        self.csrf = CSRFProtect()
        self.migrate = Migrate()
        host_db = self.db

        class HostUser(UserMixin, host_db.Model):
            __tablename__ = "host_users"
            id = sa.Column(sa.Integer, primary_key=True)
            name = sa.Column(sa.String(80), unique=True, nullable=False)
            password = sa.Column(sa.String(80), nullable=False)

        self.User = HostUser
        self.loaded_ids: list[str] = []

        @self.login.user_loader
        def load_host_user(user_id):
            self.loaded_ids.append(user_id)
            return host_db.session.get(HostUser, int(user_id)) if user_id.isdigit() else None

        @site.route("/login", methods=["GET", "POST"])
        def host_login():
            if request.method == "GET":
                return f"<form><input name=csrf_token value={generate_csrf()}></form>"
            user = host_db.session.scalar(
                sa.select(HostUser).where(HostUser.name == request.form["name"])
            )
            if user is None or user.password != request.form["password"]:
                return "no", 401
            login_user(user)
            return "signed in"

        @site.get("/me")
        @login_required
        def me():
            return f"{current_user.name} {host_gettext('Hello')}"

        @site.before_request
        def host_hook():
            g.host_hook_ran = True

        site.config["BABEL_DEFAULT_LOCALE"] = "en"

    def init_app(self, site: Flask) -> None:
        self.db.init_app(site)
        self.login.init_app(site)
        self.babel.init_app(site, locale_selector=_host_locale)
        self.csrf.init_app(site)
        self.migrate.init_app(site, self.db)


def _host_locale():
    """The host's own choice: `?hl=` first, then the browser among the host's languages."""
    return request.args.get("hl") or request.accept_languages.best_match(["en", "sv", "de"])


@contextmanager
def _mounted(kind: str, tmp_path, app_config) -> Iterator[Flask]:
    """The vendor's site of this kind with the portal mounted and migrated."""
    site = _vendor_site(tmp_path, app_config)
    site.host_kind = kind
    extensions = None
    if kind != "bare":
        extensions = HostExtensions(site)
    if kind == "full-postgresql":
        site.config["SQLALCHEMY_DATABASE_URI"] = _fresh_postgresql_schema()
    if kind == "full-before":
        # The portal in a database of its own.
        site.config["PORTAL_DATABASE_URL"] = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
        extensions.init_app(site)
    Portal().init_app(site, url_prefix=PREFIX)
    if kind in {"full-after", "full-postgresql"}:
        extensions.init_app(site)  # the portal in the host's database
    site.host_extensions = extensions

    result = site.test_cli_runner().invoke(args=["portal", "db", "upgrade"])
    assert result.exit_code == 0, (result.output, result.exception)
    if extensions is not None:
        with site.app_context():
            extensions.db.create_all()
            extensions.db.session.add(extensions.User(name="vendor-admin", password=HOST_PASSWORD))
            extensions.db.session.commit()
    yield site
    with site.app_context():
        db.session.remove()
        db.engine.dispose()
        if extensions is not None:
            extensions.db.session.remove()
            extensions.db.engine.dispose()
    if kind == "full-postgresql":
        _fresh_postgresql_schema()


def _fresh_postgresql_schema() -> str:
    admin = sa.create_engine(POSTGRESQL_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {MOUNT_SCHEMA} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {MOUNT_SCHEMA}"))
    admin.dispose()
    url = sa.make_url(POSTGRESQL_URL)
    url = url.update_query_dict({"options": f"-csearch_path={MOUNT_SCHEMA}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=HOSTS)
def host(request, tmp_path, app_config):
    """The vendor's site: its own `/`, templates (with a base.html) and static files."""
    with _mounted(request.param, tmp_path, app_config) as site:
        yield site


@pytest.fixture(params=FULL_HOSTS)
def full_host(request, tmp_path, app_config):
    """A vendor's site with its own extensions, initialised before or after the portal."""
    with _mounted(request.param, tmp_path, app_config) as site:
        yield site


@pytest.fixture
def member(request):
    site = request.getfixturevalue("full_host" if "full_host" in request.fixturenames else "host")
    with site.app_context():
        company = companies.add_company("Monterad AB", "556016-0680", actor_label="test")
        account = accounts.add_account(
            "karin@monterad.example",
            company=company,
            company_role=CompanyRole.MEMBER,
            name="Karin Ek",
            password=PASSWORD,
            actor_label="test",
        )
        db.session.commit()
        return account.email


def _host_sign_in(client) -> None:
    token = client.get("/login").get_data(as_text=True).split("value=")[1].split(">")[0]
    response = client.post(
        "/login", data={"name": "vendor-admin", "password": HOST_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 200, response.get_data(as_text=True)


def _portal_sign_in(client, email) -> None:
    token = CSRF_PATTERN.search(client.get(f"{PREFIX}/login").get_data(as_text=True)).group(1)
    response = client.post(
        f"{PREFIX}/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"{PREFIX}/"


def test_host_home_page_still_answers_with_its_own_text(host):
    response = host.test_client().get("/")
    assert response.status_code == 200
    assert "Welcome to the vendor" in response.get_data(as_text=True)


def test_host_static_files_are_still_served(host):
    response = host.test_client().get("/static/site.css")
    assert response.status_code == 200
    assert b"color: #333" in response.data


def test_host_form_keeps_its_own_csrf_rules(host):
    response = host.test_client().post("/contact", data={"name": "Per"})
    if host.host_extensions is None:  # no CSRF protection of its own
        assert response.status_code == 200
        assert response.data == b"thanks Per"
    else:  # the host's CSRFProtect still refuses a post without its token
        assert response.status_code == 400


def test_host_unknown_page_keeps_the_hosts_404(host):
    response = host.test_client().get("/no-such-page")
    assert response.status_code == 404
    assert "site-header" not in response.get_data(as_text=True)


def test_portal_login_page_has_email_password_and_csrf_fields(host):
    response = host.test_client().get(f"{PREFIX}/login")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for field in ("email", "password", "csrf_token"):
        assert f'name="{field}"' in page


def test_portal_page_uses_the_portal_layout_not_the_hosts_base(host):
    page = host.test_client().get(f"{PREFIX}/login").get_data(as_text=True)
    assert "HOST LAYOUT" not in page
    assert 'class="site-header"' in page
    assert 'class="skip-link"' in page


def test_every_link_and_asset_on_the_portal_page_carries_the_prefix(host):
    page = host.test_client().get(f"{PREFIX}/login").get_data(as_text=True)
    urls = [url for url in URL_ATTRIBUTE.findall(page) if url and not url.startswith("#")]
    assert urls, "the page has links"
    assert [url for url in urls if not url.startswith(PREFIX + "/")] == []


def test_portal_stylesheet_is_served_under_the_prefix(host):
    response = host.test_client().get(f"{PREFIX}/static/portal.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"


def test_stranger_is_sent_to_the_prefixed_login(host):
    response = host.test_client().get(f"{PREFIX}/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"{PREFIX}/login?next={PREFIX}/")


def test_login_works_through_the_prefix(host, member):
    client = host.test_client()
    _portal_sign_in(client, member)
    page = client.get(f"{PREFIX}/").get_data(as_text=True)
    assert "Monterad AB" in page
    assert "Karin Ek" in page


def test_portal_forms_refuse_a_post_without_csrf_token(host, member):
    response = host.test_client().post(
        f"{PREFIX}/login", data={"email": member, "password": PASSWORD}
    )
    assert response.status_code == 400


def test_portal_pages_carry_security_headers_but_host_pages_do_not(host):
    client = host.test_client()
    policy = client.get(f"{PREFIX}/login").headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    for path in ("/", "/static/site.css", "/no-such-page"):
        headers = client.get(path).headers
        assert [name for name in PORTAL_HEADERS if name in headers] == [], path


def test_host_templates_see_none_of_the_portals_context(host, member):
    client = host.test_client()
    _portal_sign_in(client, member)
    assert client.get("/context").get_data(as_text=True).strip() == ""


def test_portal_has_its_own_session_cookie_under_its_prefix(host):
    client = host.test_client()
    cookie = client.get(f"{PREFIX}/login").headers["Set-Cookie"]
    assert cookie.startswith("portal_session=")
    assert "Path=/kundportal" in cookie
    assert "portal_session" not in client.get("/").headers.get("Set-Cookie", "")


def test_host_user_and_portal_user_stay_signed_in_in_one_browser(full_host, member):
    client = full_host.test_client()
    _host_sign_in(client)
    _portal_sign_in(client, member)
    assert client.get("/me").get_data(as_text=True).startswith("vendor-admin")
    page = client.get(f"{PREFIX}/").get_data(as_text=True)
    assert "Karin Ek" in page
    assert client.get("/me").status_code == 200
    assert client.get(f"{PREFIX}/licenses/").status_code == 200
    # The host's user_loader never saw the portal's session key.
    assert set(full_host.host_extensions.loaded_ids) == {"1"}


def test_portal_sign_in_then_host_sign_in_keeps_both(full_host, member):
    client = full_host.test_client()
    _portal_sign_in(client, member)
    _host_sign_in(client)
    assert "Karin Ek" in client.get(f"{PREFIX}/").get_data(as_text=True)
    assert client.get("/me").status_code == 200


def test_portal_sign_out_leaves_the_host_signed_in(full_host, member):
    client = full_host.test_client()
    _host_sign_in(client)
    _portal_sign_in(client, member)
    token = CSRF_PATTERN.search(client.get(f"{PREFIX}/").get_data(as_text=True)).group(1)
    assert client.post(f"{PREFIX}/logout", data={"csrf_token": token}).status_code == 302
    assert client.get(f"{PREFIX}/").status_code == 302
    assert client.get("/me").status_code == 200


def test_portal_page_is_swedish_under_accept_language_sv(host):
    page = host.test_client().get(f"{PREFIX}/login", headers={"Accept-Language": "sv"})
    assert "Logga in" in page.get_data(as_text=True)


def test_portal_follows_the_hosts_locale_selector_when_it_picks_a_portal_language(full_host):
    client = full_host.test_client()
    english = client.get(f"{PREFIX}/login?hl=en", headers={"Accept-Language": "sv"})
    assert "Sign in" in english.get_data(as_text=True)
    german = client.get(f"{PREFIX}/login?hl=de", headers={"Accept-Language": "de"})
    assert "Logga in" in german.get_data(as_text=True)  # a language the portal lacks: Swedish


def test_host_pages_are_translated_by_the_host_not_by_the_portal(full_host):
    # "Hello" is in neither catalog of the host; the portal's catalog must not answer for it.
    client = full_host.test_client()
    _host_sign_in(client)
    assert client.get("/me", headers={"Accept-Language": "sv"}).data == b"vendor-admin Hello"


def test_host_routes_run_no_portal_before_request_step(host):
    # The portal refuses NUL characters in its own URLs; the host's keep the host's rules.
    assert host.test_client().get("/?q=%00").status_code == 200
    assert host.test_client().get(f"{PREFIX}/login?q=%00").status_code == 400


def test_portal_api_is_not_checked_by_the_hosts_csrf(host):
    # A real API call without cookies or CSRF token: the API's own answer (a missing field),
    # not the host's CSRFProtect refusing it.
    response = host.test_client().post(
        f"{PREFIX}/api/v1/machines/validate",
        json={"license_key": "SL-NONE-NONE-NONE", "fingerprint": "f" * 64, "nonce": "n" * 16},
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "missing_field"


def test_portal_commands_form_one_group_beside_the_hosts_db(host):
    assert "portal" in host.cli.commands
    assert not {"company", "user", "license", "release", "demo"} & set(host.cli.commands)
    portal_group = host.cli.commands["portal"]
    assert {"db", "company", "user", "license", "release", "demo"} <= set(portal_group.commands)
    if host.host_extensions is not None:
        # The host's `flask db` is still its own Flask-Migrate, on its own database.
        assert host.extensions["migrate"].db is host.host_extensions.db


def test_portal_migrations_keep_their_own_version_table(host):
    with host.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
    assert MOUNTED_VERSION_TABLE in tables
    assert "alembic_version" not in tables
    assert "companies" in tables


def test_portal_company_add_runs_in_the_group(host):
    result = host.test_cli_runner().invoke(
        args=["portal", "company", "add", "Kommando AB", "--orgnr", "556016-0680"]
    )
    assert result.exit_code == 0, result.output


def test_portal_database_is_the_hosts_or_its_own(full_host):
    with full_host.app_context():
        portal_url = db.engine.url.database
        host_url = full_host.host_extensions.db.engine.url.database
        tables = set(sa.inspect(db.engine).get_table_names())
    if full_host.host_kind in {"full-after", "full-postgresql"}:
        assert portal_url == host_url
        assert {"host_users", "companies", MOUNTED_VERSION_TABLE} <= tables
    else:
        assert portal_url != host_url


def test_the_hosts_proxy_fix_gives_the_portal_the_real_client(host, member):
    host.wsgi_app = ProxyFix(host.wsgi_app, x_for=1, x_proto=1)
    client = host.test_client()
    through_proxy = {
        "environ_base": {"REMOTE_ADDR": "10.0.0.5"},
        "headers": {"X-Forwarded-For": "192.0.2.1, 203.0.113.50"},
    }
    page = client.get(f"{PREFIX}/login", **through_proxy).get_data(as_text=True)
    response = client.post(
        f"{PREFIX}/login",
        data={"email": member, "password": PASSWORD, "csrf_token": CSRF_PATTERN.search(page)[1]},
        **through_proxy,
    )
    assert response.status_code == 302
    with host.app_context():
        addresses = set(db.session.scalars(sa.select(LoginSession.ip_address)))
    assert addresses == {"203.0.113.50"}


VENDOR_MODULE = """
from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from portal import Portal

app = Flask(__name__, instance_path={instance!r})
app.config.update(
    SECRET_KEY="the vendor's key",
    SQLALCHEMY_DATABASE_URI={url!r},
    RATELIMIT_STORAGE_URI="memory://",
)
db = SQLAlchemy(app)
Migrate(app, db, directory={migrations!r})
Portal(app, url_prefix="/kundportal")
"""


def test_flask_app_host_portal_db_upgrade_from_the_shell(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    url = f"sqlite:///{tmp_path / 'site.sqlite3'}"
    (tmp_path / "vendor.py").write_text(
        VENDOR_MODULE.format(
            instance=str(tmp_path / "instance"), url=url, migrations=str(tmp_path / "migrations")
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "FLASK_"))}
    env["PYTHONPATH"] = f"{tmp_path}{os.pathsep}{Path(__file__).resolve().parent.parent}"
    flask = [str(Path(sys.executable).parent / "flask"), "--app", "vendor"]

    def run(*args):
        return subprocess.run(
            [*flask, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )

    upgrade = run("portal", "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    added = run("portal", "company", "add", "Skal AB", "--orgnr", "556016-0680")
    assert (added.returncode, added.stdout.strip()) == (0, "1"), added.stderr
    # The host's own `flask db` is its Flask-Migrate, on its own migrations folder.
    host_init = run("db", "init")
    assert host_init.returncode == 0, host_init.stderr
    assert (tmp_path / "migrations" / "env.py").exists()
    engine = sa.create_engine(url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {MOUNTED_VERSION_TABLE, "companies"} <= tables
    assert "alembic_version" not in tables
