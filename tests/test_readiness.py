"""/readyz: 200 while the portal can serve ("ok" or "degraded"), 503 when it cannot.

Redis is a server of the test's own (stopped by the test); the schema one migration behind is a
SQLite database of the test's own, migrated to the head and taken one revision down.
"""

import flask_migrate
import pytest

from portal import create_app
from portal.db import db
from portal.mail.models import OutboxMail
from portal.retention import lease

KEYS = {"status", "database", "schema", "redis", "outbox", "scheduler"}


def _ready(app):
    response = app.test_client().get("/readyz")
    assert response.is_json
    return response.status_code, response.get_json()


def _hold_scheduler_lease():
    assert lease.acquire(lease.SCHEDULER, "scheduler-host:1:abcd", 60)


def test_readyz_without_a_scheduler_is_degraded_but_serves(app):
    status, body = _ready(app)
    assert status == 200
    assert set(body) == KEYS
    assert body["status"] == "degraded"
    assert body["database"] == "ok"
    assert body["schema"] == "ok"
    assert body["redis"] == "not_configured"
    assert body["scheduler"] == "missing"


def test_readyz_is_ok_while_a_scheduler_holds_the_lease(app, app_ctx):
    _hold_scheduler_lease()
    status, body = _ready(app)
    assert (status, body["status"], body["scheduler"]) == (200, "ok", "ok")


def test_readyz_counts_the_mails_waiting_in_the_outbox(app, app_ctx):
    db.session.add(OutboxMail(recipient="karin@kund.example", subject="Hej", body_text="Hej"))
    db.session.flush()
    body = _ready(app)[1]
    assert body["outbox"]["waiting"] == 1
    assert body["outbox"]["failed"] == 0


def test_readyz_answers_without_a_session(app, client):
    response = client.get("/readyz")
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.no_transaction
def test_readyz_is_degraded_and_healthz_ok_while_redis_is_stopped(own_redis, app_config, app):
    portal = create_app(dict(app_config, RATELIMIT_STORAGE_URI=own_redis.url))
    status, body = _ready(portal)
    assert (status, body["redis"]) == (200, "ok")

    own_redis.stop()
    status, body = _ready(portal)
    assert status == 200
    assert (body["status"], body["redis"]) == ("degraded", "down")
    health = portal.test_client().get("/healthz")
    assert (health.status_code, health.get_json()["status"]) == (200, "ok")


@pytest.mark.no_transaction
def test_readyz_is_unavailable_with_the_schema_one_migration_behind(tmp_path):
    portal = create_app(
        {
            "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "readiness",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'behind.sqlite3'}",
        }
    )
    with portal.app_context():
        flask_migrate.upgrade()
    assert _ready(portal)[1]["schema"] == "ok"

    with portal.app_context():
        flask_migrate.downgrade(revision="-1")
    status, body = _ready(portal)
    assert status == 503
    assert (body["status"], body["database"], body["schema"]) == ("unavailable", "ok", "behind")

    with portal.app_context():
        flask_migrate.upgrade()
    assert _ready(portal)[0] == 200


@pytest.mark.no_transaction
def test_readyz_is_unavailable_when_the_database_does_not_answer(tmp_path):
    portal = create_app(
        {
            "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "readiness",
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none",
        }
    )
    status, body = _ready(portal)
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["database"] == "unreachable"
    assert body["scheduler"] == "unknown"
