"""A database that goes away: a dropped connection is not a user's 500, an outage is a styled
503, and the portal recovers by itself when the database is back. On a PostgreSQL cluster of the
test's own (never the shared one), started and stopped by the test."""

import os

import pytest
import sqlalchemy as sa

from portal import create_app, transaction
from portal.db import db
from tests import conftest, factories
from tests.servers import PrivatePostgres

pytestmark = [
    pytest.mark.no_transaction,
    pytest.mark.skipif(
        bool(os.environ.get("PORTAL_TEST_DATABASE_URL")),
        reason="needs no shared database: runs once, in the SQLite pass of make test",
    ),
]


@pytest.fixture(scope="module")
def postgres():
    server = PrivatePostgres(conftest._free_port())
    server.start()
    yield server
    server.stop()
    server.remove()


@pytest.fixture(scope="module")
def portal(postgres, tmp_path_factory, smtp_server, app):
    config = conftest.test_config(tmp_path_factory.mktemp("outage"), postgres.url, smtp_server.port)
    portal = create_app(dict(config, PROPAGATE_EXCEPTIONS=False))
    portal.test_client_class = app.test_client_class
    with portal.app_context():
        db.create_all()
        with transaction.step():
            factories.make_account("member", email="anna@outage.example")
    return portal


def _signed_in(portal):
    client = portal.test_client()
    with portal.app_context():
        account = db.session.scalar(
            sa.select(factories.Account).where(factories.Account.email == "anna@outage.example")
        )
        assert factories.login_as(client, account).status_code == 302
    return client


def test_a_connection_the_database_dropped_is_not_a_users_error(portal, postgres):
    client = _signed_in(portal)
    assert client.get("/licenses/").status_code == 200
    engine = sa.create_engine(postgres.url)
    with engine.begin() as connection:  # what a failover or a restart does to the pool
        connection.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE pid <> pg_backend_pid() AND datname = current_database()"
            )
        )
    engine.dispose()
    assert client.get("/licenses/").status_code == 200


def test_while_the_database_is_down_every_page_is_a_styled_503_and_then_it_recovers(
    portal, postgres
):
    client = _signed_in(portal)
    postgres.stop()
    try:
        for path in ("/licenses/", "/", "/downloads/", "/account"):
            response = client.get(path)
            page = response.get_data(as_text=True)
            assert response.status_code == 503, path
            assert response.headers["Retry-After"] == "30"
            assert '<link rel="stylesheet"' in page  # the portal's own page ...
            assert "Traceback" not in page and "OperationalError" not in page  # ... no details
        assert client.get("/healthz").status_code == 503
        anonymous = portal.test_client()
        assert anonymous.get("/login").status_code == 200  # a page that needs no database
    finally:
        postgres.start()
    # Back by itself, and the signed-in session still holds (nothing was lost).
    assert client.get("/licenses/").status_code == 200
