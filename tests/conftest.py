"""Fixtures: one app per test run, one rolled-back transaction per test, a real SMTP catcher.

The suite runs on SQLite by default. With PORTAL_TEST_DATABASE_URL set it runs on that database
instead, and an unreachable server fails the run rather than skipping it.
"""

import os
import re
import socket
from datetime import UTC, datetime
from email import message_from_bytes, policy

import flask_migrate
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import has_app_context
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FlaskSession

from portal import clock, create_app
from portal.db import db
from portal.i18n import LANGUAGE_COOKIE
from portal.mail import outbox
from tests import factories

TEST_DATABASE_URL = os.environ.get("PORTAL_TEST_DATABASE_URL")
PASSWORD = factories.PASSWORD


def pytest_report_header(config):
    return f"portal database: {TEST_DATABASE_URL or 'SQLite (temporary file)'}"


class CaughtMail:
    def __init__(self, envelope):
        self.sender = envelope.mail_from
        self.recipients = list(envelope.rcpt_tos)
        self.message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.subject = str(self.message["Subject"])
        self.text = self.message.get_body(("plain",)).get_content()
        html = self.message.get_body(("html",))
        self.html = html.get_content() if html is not None else None

    def link(self) -> str:
        return re.search(r"https?://\S+", self.text).group(0)

    def path(self) -> str:
        return re.sub(r"^https?://[^/]+", "", self.link())


class MailCatcher:
    def __init__(self):
        self.messages: list[CaughtMail] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(CaughtMail(envelope))
        return "250 OK"

    def to(self, address: str) -> list[CaughtMail]:
        return [mail for mail in self.messages if address in mail.recipients]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_server():
    handler = MailCatcher()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller
    controller.stop()


class Mailbox:
    """The SMTP catcher as a test reads it: the outbox's waiting mails are delivered first, as
    the scheduler would within seconds (no request sends a mail itself)."""

    def __init__(self, catcher: MailCatcher, app):
        self.catcher = catcher
        self.app = app

    def deliver(self) -> int:
        if has_app_context():
            return outbox.deliver_due()
        with self.app.app_context():
            return outbox.deliver_due()

    @property
    def messages(self) -> list[CaughtMail]:
        self.deliver()
        return self.catcher.messages

    def to(self, address: str) -> list[CaughtMail]:
        self.deliver()
        return self.catcher.to(address)


@pytest.fixture
def mailbox(smtp_server, app):
    smtp_server.handler.messages.clear()
    return Mailbox(smtp_server.handler, app)


def _database_url(tmp_path_factory) -> str:
    if not TEST_DATABASE_URL:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'portal.sqlite3'}"
    engine = sa.create_engine(TEST_DATABASE_URL)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as error:
        pytest.exit(f"PORTAL_TEST_DATABASE_URL is set but unreachable: {error}", returncode=3)
    finally:
        engine.dispose()
    return TEST_DATABASE_URL


def test_config(tmp_path, database_url: str, smtp_port: int) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test secret key, not for production",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
        "PORTAL_RELEASE_STORE": str(tmp_path / "releases"),
        "PORTAL_MAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "PORTAL_BASE_URL": "http://portal.test",
        "PORTAL_SCHEDULER": False,
        "RATELIMIT_STORAGE_URI": "memory://",
    }


@pytest.fixture(scope="session")
def app_config(tmp_path_factory, smtp_server):
    url = _database_url(tmp_path_factory)
    return test_config(tmp_path_factory.mktemp("app"), url, smtp_server.port)


class IsolatedClient(FlaskClient):
    """Each request gets a fresh app context, as in production: its own `g` and DB session.

    Without this, requests would reuse the app context a test has pushed and share `g`
    (cached CSRF tokens, the loaded login session) across requests.
    """

    language: str | None = None  # set by the `english` marker: ask for English pages

    def open(self, *args, **kwargs):
        if self.language and self.get_cookie(LANGUAGE_COOKIE) is None:
            self.set_cookie(LANGUAGE_COOKIE, self.language)
        context = self.application.app_context()
        context.push()
        try:
            return super().open(*args, **kwargs)
        finally:
            context.pop()


@pytest.fixture(scope="session")
def app(app_config):
    app = create_app(dict(app_config))
    app.test_client_class = IsolatedClient
    with app.app_context():
        db.drop_all()
        _drop_alembic_version()
        db.create_all()
        flask_migrate.stamp()  # the schema is the code's own: /readyz says so
        _seed_products()
    yield app
    with app.app_context():
        db.engine.dispose()


def _drop_alembic_version():
    with db.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))


def _seed_products():
    from portal.licenses.models import Product

    db.session.add_all(
        [
            Product(code="safelink", name="SafeLink"),
            Product(code="safelink-pfr", name="SafeLink PFR"),
            Product(code="secure-envelope", name="Nordea Secure Envelope"),
        ]
    )
    db.session.commit()


class _ConnectionBoundSession(FlaskSession):
    """Flask-SQLAlchemy picks the engine itself; in tests every query must use our connection."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return self.bind if self.bind is not None else super().get_bind(mapper, clause, bind)


@pytest.fixture(autouse=True)
def _transaction(request, app):
    """Every test runs inside one transaction that is rolled back at the end."""
    if "no_transaction" in request.keywords:
        yield
        return
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {
                "bind": connection,
                "join_transaction_mode": "create_savepoint",
                "class_": _ConnectionBoundSession,
                "expire_on_commit": False,
            }
        )
        try:
            yield
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture(autouse=True)
def _fresh_rate_limits(app):
    """Rate-limit counters start empty in every test (the shared app counts in memory)."""
    from portal.ratelimit import limiter

    with app.app_context():
        limiter.reset()


@pytest.fixture(autouse=True)
def _page_language(request):
    """Pages are Swedish by default; tests marked `english` read the English texts."""
    IsolatedClient.language = "en" if "english" in request.keywords else None
    yield
    IsolatedClient.language = None


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def frozen_clock():
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    clock.freeze(start)
    yield clock
    clock.freeze(None)


@pytest.fixture
def make_company(app_ctx):
    return factories.make_company


@pytest.fixture
def make_account(app_ctx):
    return factories.make_account


@pytest.fixture
def make_license(app_ctx):
    return factories.make_license


@pytest.fixture
def make_release(app_ctx):
    return factories.make_release


def pytest_configure(config):
    config.addinivalue_line("markers", "english: the test's clients ask for English pages")
    config.addinivalue_line(
        "markers", "no_transaction: the test manages its own database state (other processes)"
    )
    config.addinivalue_line("markers", "packaging: builds and installs the wheel (slow)")


@pytest.fixture
def own_redis(tmp_path):
    """A Redis server of this test's own, which the test may stop and start again."""
    import shutil
    import subprocess
    import time

    import redis

    from tests.servers import missing

    binary = shutil.which("redis-server")
    if binary is None:
        missing("redis-server is not installed")
    port = _free_port()

    class Server:
        url = f"redis://127.0.0.1:{port}/0"
        process = None

        def start(self):
            self.process = subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(tmp_path)],
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
            for _ in range(100):
                try:
                    client.ping()
                    return
                except redis.exceptions.ConnectionError:
                    time.sleep(0.05)
            raise RuntimeError("redis-server did not start")

        def stop(self):
            self.process.terminate()
            self.process.wait(timeout=10)

    server = Server()
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()
