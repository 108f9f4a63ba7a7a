"""Configuration: PORTAL_* variables, the instance folder, production safety, no work at start."""

import functools
import os
import stat
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.config import SECRET_KEY_FILE, SIGNING_KEY_FILE, ConfigurationError
from portal.db import db
from portal.machines import signing

UNREACHABLE_POSTGRESQL = "postgresql+psycopg://nobody@127.0.0.1:1/none"
PRODUCTION_KEY = "a production secret key from the operator's vault"


@pytest.fixture
def environ(monkeypatch):
    """An environment without any PORTAL_* variable; tests set the ones they are about."""
    for name in list(os.environ):
        if name.startswith("PORTAL_"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.fixture
def instance(tmp_path):
    return tmp_path / "instance"


def build(instance, **config):
    return create_app({"PORTAL_INSTANCE_PATH": str(instance), **config})


@functools.cache
def production_signing_key_file() -> str:
    """An operator's Ed25519 key file, made once for the production tests."""
    path = Path(tempfile.mkdtemp(prefix="portal-signing-")) / "signing.pem"
    path.write_bytes(signing.new_private_key_pem())
    return str(path)


def production(environ, **overrides):
    settings = {
        "PORTAL_ENV": "production",
        "PORTAL_SECRET_KEY": PRODUCTION_KEY,
        "PORTAL_MAIL_URL": "smtp://mail.example.com:25",
        "PORTAL_BASE_URL": "https://kundportal.example.com",
        "PORTAL_SIGNING_KEY_FILE": production_signing_key_file(),
        **overrides,
    }
    for name, value in settings.items():
        if value is None:
            environ.delenv(name, raising=False)
        else:
            environ.setenv(name, value)


def test_production_refuses_to_print_mails_to_the_console(environ, instance):
    production(environ, PORTAL_MAIL_URL="console")
    with pytest.raises(ConfigurationError, match="PORTAL_MAIL_URL"):
        build(instance)


def test_production_needs_the_public_address_for_mailed_links(environ, instance):
    production(environ, PORTAL_BASE_URL=None)
    with pytest.raises(ConfigurationError, match="PORTAL_BASE_URL"):
        build(instance)


def test_production_without_secret_key_refuses_to_start(environ, instance):
    environ.setenv("PORTAL_ENV", "production")
    with pytest.raises(ConfigurationError, match="PORTAL_SECRET_KEY"):
        build(instance)


def test_production_uses_the_given_secret_key_and_writes_none(environ, instance):
    production(environ)
    app = build(instance)
    assert app.config["SECRET_KEY"] == PRODUCTION_KEY
    assert not (instance / SECRET_KEY_FILE).exists()


def test_production_turns_on_secure_cookies(environ, instance):
    production(environ)
    app = build(instance)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_production_session_cookie_is_sent_secure_only(environ, instance):
    production(environ)
    response = build(instance).test_client().get("/login", base_url="https://portal.test")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-portal=")
    assert "Secure" in cookie
    assert "HttpOnly" in cookie


def test_production_sends_strict_transport_security(environ, instance):
    production(environ)
    response = build(instance).test_client().get("/login", base_url="https://portal.test")
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]


def test_development_sends_no_strict_transport_security_and_plain_cookies(environ, instance):
    app = build(instance)
    response = app.test_client().get("/login")
    assert "Strict-Transport-Security" not in response.headers
    assert app.config.get("SESSION_COOKIE_SECURE") is not True


def test_development_secret_key_is_generated_once_and_reused(environ, instance):
    first = build(instance)
    second = build(instance)
    assert len(first.config["SECRET_KEY"]) >= 32
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    assert (instance / SECRET_KEY_FILE).read_text().strip() == first.config["SECRET_KEY"]


def test_development_secret_key_file_is_readable_by_owner_only(environ, instance):
    build(instance)
    mode = stat.S_IMODE((instance / SECRET_KEY_FILE).stat().st_mode)
    assert mode == 0o600


def test_each_instance_folder_gets_its_own_random_secret_key(environ, tmp_path):
    one = build(tmp_path / "one")
    other = build(tmp_path / "other")
    assert one.config["SECRET_KEY"] != other.config["SECRET_KEY"]


def test_development_leaves_no_temporary_files_beside_the_secret_key(environ, instance):
    build(instance)
    build(instance)
    files = sorted(path.name for path in instance.iterdir() if path.is_file())
    assert files == sorted([SECRET_KEY_FILE, SIGNING_KEY_FILE])


def test_empty_secret_key_file_is_refused_rather_than_used(environ, instance):
    instance.mkdir()
    (instance / SECRET_KEY_FILE).write_text("")
    with pytest.raises(ConfigurationError, match="empty"):
        build(instance)


def test_instance_folder_comes_from_environment(environ, tmp_path):
    environ.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "from-env"))
    app = create_app()
    assert app.instance_path == str(tmp_path / "from-env")
    assert (tmp_path / "from-env" / SECRET_KEY_FILE).exists()


def test_account_retention_defaults_to_24_months(environ, instance):
    assert build(instance).config["PORTAL_ACCOUNT_RETENTION_MONTHS"] == 24


def test_account_retention_months_are_read_from_environment(environ, instance):
    environ.setenv("PORTAL_ACCOUNT_RETENTION_MONTHS", "18")
    assert build(instance).config["PORTAL_ACCOUNT_RETENTION_MONTHS"] == 18


@pytest.mark.parametrize("value", ["0", "-3", "two years", "24.5"])
def test_account_retention_months_that_are_not_a_positive_number_are_refused(
    environ, instance, value
):
    environ.setenv("PORTAL_ACCOUNT_RETENTION_MONTHS", value)
    with pytest.raises(ConfigurationError, match="PORTAL_ACCOUNT_RETENTION_MONTHS"):
        build(instance)


def test_values_given_to_create_app_win_over_the_environment(environ, instance):
    environ.setenv("PORTAL_ACCOUNT_RETENTION_MONTHS", "30")
    app = build(instance, PORTAL_ACCOUNT_RETENTION_MONTHS=12)
    assert app.config["PORTAL_ACCOUNT_RETENTION_MONTHS"] == 12


def test_unknown_environment_name_is_refused(environ, instance):
    environ.setenv("PORTAL_ENV", "staging")
    with pytest.raises(ConfigurationError, match="PORTAL_ENV"):
        build(instance)


def test_scheduler_switch_that_is_neither_on_nor_off_is_refused(environ, instance):
    environ.setenv("PORTAL_SCHEDULER", "sometimes")
    with pytest.raises(ConfigurationError, match="PORTAL_SCHEDULER"):
        build(instance)


def test_database_url_from_environment_is_used(environ, instance, tmp_path):
    url = f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}"
    environ.setenv("PORTAL_DATABASE_URL", url)
    assert build(instance).config["SQLALCHEMY_DATABASE_URI"] == url


def test_default_database_is_sqlite_in_the_instance_folder(environ, instance):
    uri = build(instance).config["SQLALCHEMY_DATABASE_URI"]
    assert uri == f"sqlite:///{instance / 'portal.sqlite3'}"


def test_release_store_defaults_to_the_instance_folder(environ, instance):
    assert build(instance).config["PORTAL_RELEASE_STORE"] == str(instance / "releases")


@pytest.mark.no_transaction
def test_creating_the_app_runs_no_database_statement(environ, instance, tmp_path):
    statements = []

    def spy(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", spy)
    try:
        app = build(instance, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'spy.sqlite3'}")
        assert statements == []
        with app.app_context():
            db.session.execute(sa.text("SELECT 1"))
            db.session.remove()
        assert "SELECT 1" in statements  # the spy does see statements once there are any
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", spy)


@pytest.mark.no_transaction
def test_app_is_created_while_postgresql_is_unreachable(environ, instance):
    environ.setenv("PORTAL_DATABASE_URL", UNREACHABLE_POSTGRESQL)
    app = build(instance)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == UNREACHABLE_POSTGRESQL
    assert app.test_client().get("/login").status_code == 200
