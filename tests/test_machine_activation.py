"""Activations: a machine takes a seat of its license, once per fingerprint, never past the
seat limit (also under concurrency on PostgreSQL), and deactivation frees it."""

import os
import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.audit import AuditEvent
from portal.db import db
from portal.licenses import service as licenses
from portal.machines import service as machines
from portal.machines.models import Machine
from tests import factories

ACTIVATE = "/api/v1/machines/activate"
DEACTIVATE = "/api/v1/machines/deactivate"


def activation(license_or_key, fingerprint="fp-0000000001", hostname="ekonomi01", version="6.2"):
    key = getattr(license_or_key, "key", license_or_key)
    return {
        "license_key": key,
        "fingerprint": fingerprint,
        "hostname": hostname,
        "product_version": version,
    }


def machine_count(license) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Machine.id)).where(Machine.license_id == license.id)
    )


@pytest.fixture
def company(make_company):
    return make_company()


def test_activation_takes_a_seat_and_says_what_the_license_is(client, company, make_license):
    license = make_license(company, seats=3, maintenance_until=date(2027, 6, 30))
    response = client.post(ACTIVATE, json=activation(license))
    assert response.status_code == 201
    body = response.get_json()
    assert body["machine"]["fingerprint"] == "fp-0000000001"
    assert body["machine"]["hostname"] == "ekonomi01"
    assert body["machine"]["product_version"] == "6.2"
    assert body["machine"]["kind"] == "online"
    assert body["license"] == {
        "product": "safelink",
        "seats": 3,
        "seats_used": 1,
        "valid_until": None,
        "maintenance_until": "2027-06-30",
    }
    assert machine_count(license) == 1
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "machine.activated"))
    assert event.company_id == company.id
    assert event.actor_label == machines.CLIENT_ACTOR
    assert event.details["fingerprint"] == "fp-0000000001"


def test_activating_the_same_fingerprint_again_is_the_same_seat(client, company, make_license):
    license = make_license(company, seats=1)
    assert client.post(ACTIVATE, json=activation(license)).status_code == 201
    again = client.post(ACTIVATE, json=activation(license, hostname="renamed", version="6.3"))
    assert again.status_code == 200
    assert again.get_json()["machine"]["hostname"] == "renamed"
    assert again.get_json()["license"]["seats_used"] == 1
    assert machine_count(license) == 1


def test_a_key_in_lower_case_is_the_same_key(client, company, make_license):
    license = make_license(company)
    response = client.post(ACTIVATE, json=activation(license.key.lower()))
    assert response.status_code == 201


def test_all_seats_taken_answers_seats_exhausted_and_is_audited(client, company, make_license):
    license = make_license(company, seats=2)
    for number in (1, 2):
        assert (
            client.post(ACTIVATE, json=activation(license, f"fp-000000000{number}")).status_code
            == 201
        )
    refused = client.post(ACTIVATE, json=activation(license, "fp-0000000003"))
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "seats_exhausted"
    assert machine_count(license) == 2
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "machine.activation_refused")
    )
    assert event.details["code"] == "seats_exhausted"
    assert event.outcome == "refused"


def test_deactivation_frees_the_seat_for_another_machine(client, company, make_license):
    license = make_license(company, seats=1)
    client.post(ACTIVATE, json=activation(license, "fp-0000000001"))
    assert client.post(ACTIVATE, json=activation(license, "fp-0000000002")).status_code == 409
    freed = client.post(
        DEACTIVATE, json={"license_key": license.key, "fingerprint": "fp-0000000001"}
    )
    assert freed.status_code == 204
    assert freed.get_data() == b""
    assert client.post(ACTIVATE, json=activation(license, "fp-0000000002")).status_code == 201
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "machine.deactivated")
        )
        == 1
    )


def test_deactivating_a_machine_without_a_seat_answers_the_same(client, company, make_license):
    license = make_license(company)
    response = client.post(
        DEACTIVATE, json={"license_key": license.key, "fingerprint": "fp-nothing-here"}
    )
    unknown = client.post(
        DEACTIVATE,
        json={"license_key": "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE", "fingerprint": "fp-nothing-here"},
    )
    assert response.status_code == unknown.status_code == 204
    assert response.get_data() == unknown.get_data() == b""


def test_an_unknown_key_answers_unknown_license(client):
    response = client.post(ACTIVATE, json=activation("AAAAA-BBBBB-CCCCC-DDDDD-EEEEE"))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_license"


def test_an_expired_license_answers_license_expired(client, company, make_license, frozen_clock):
    license = make_license(company, valid_from=date(2025, 1, 1), valid_until=date(2026, 10, 31))
    response = client.post(ACTIVATE, json=activation(license))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "license_expired"
    assert machine_count(license) == 0


def test_a_revoked_license_answers_license_revoked(client, company, make_license):
    license = make_license(company)
    licenses.revoke_license(license, actor_label="test")
    db.session.flush()
    response = client.post(ACTIVATE, json=activation(license))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "license_revoked"


def test_a_license_that_starts_later_answers_license_not_yet_valid(client, company, make_license):
    license = make_license(company, valid_from=clock.today() + timedelta(days=10))
    response = client.post(ACTIVATE, json=activation(license))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "license_not_yet_valid"


def test_a_version_below_the_minimum_in_effect_answers_upgrade_required(
    client, company, make_license, make_release
):
    license = make_license(company)
    make_release("safelink", "6.2", released_on=date(2026, 9, 1))
    product = licenses.product_by_code("safelink")
    machines.set_minimum_version(product, "6.0", clock.today(), actor_label="test")
    response = client.post(ACTIVATE, json=activation(license, version="5.4"))
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "upgrade_required"
    assert "6.0" in error["message"] and "6.2" in error["message"]
    assert client.post(ACTIVATE, json=activation(license, version="6.0.1")).status_code == 201


def test_an_announced_minimum_does_not_refuse_yet(client, company, make_license):
    license = make_license(company)
    product = licenses.product_by_code("safelink")
    machines.set_minimum_version(
        product, "6.0", clock.today() + timedelta(days=30), actor_label="test"
    )
    assert client.post(ACTIVATE, json=activation(license, version="5.4")).status_code == 201


# --- concurrency ---------------------------------------------------------------------------------

DATABASE_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
SCHEMA = "test_activations"
SIMULTANEOUS = 30
SEATS = 5


@pytest.fixture
def separate_schema_app(app_config, tmp_path):
    """A portal of its own on a fresh PostgreSQL schema, with a connection for every thread."""
    with factories.app_on_own_schema(
        app_config, tmp_path / "instance", SCHEMA, connections=SIMULTANEOUS + 2
    ) as app:
        # The process records its signing key at its first API requests; done before the
        # threads start, so that nothing but the license's lock orders them.
        for _warm_up in range(2):
            assert app.test_client().get("/api/v1/signing-keys").status_code == 200
        assert app.extensions["portal_signing"].recorded
        yield app


@pytest.mark.no_transaction
@pytest.mark.skipif(
    not DATABASE_URL.startswith("postgresql"),
    reason="concurrent activations are tested on PostgreSQL (SQLite lets one writer in at a time)",
)
def test_thirty_simultaneous_activations_of_a_five_seat_license_give_five_machines(
    separate_schema_app,
):
    app = separate_schema_app
    with app.app_context():
        company = factories.make_company()
        license = factories.make_license(company, seats=SEATS)
        db.session.commit()
        key = license.key
    start = threading.Barrier(SIMULTANEOUS)
    statuses: list[int] = []
    lock = threading.Lock()

    def activate(number: int) -> None:
        client = app.test_client()
        start.wait()
        response = client.post(ACTIVATE, json=activation(key, f"fp-concurrent-{number:04d}"))
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=activate, args=(n,)) for n in range(SIMULTANEOUS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [201] * SEATS + [409] * (SIMULTANEOUS - SEATS)
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count(Machine.id)))
        db.session.rollback()
    assert count == SEATS


@pytest.mark.no_transaction
@pytest.mark.skipif(
    not DATABASE_URL.startswith("postgresql"),
    reason="concurrent activations are tested on PostgreSQL (SQLite lets one writer in at a time)",
)
def test_one_machine_activating_thirty_times_at_once_holds_one_seat(separate_schema_app):
    app = separate_schema_app
    with app.app_context():
        license = factories.make_license(factories.make_company(), seats=SEATS)
        db.session.commit()
        key = license.key
    start = threading.Barrier(SIMULTANEOUS)
    statuses: list[int] = []
    lock = threading.Lock()

    def activate() -> None:
        client = app.test_client()
        start.wait()
        response = client.post(ACTIVATE, json=activation(key, "fp-the-same-machine"))
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=activate) for _ in range(SIMULTANEOUS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200] * (SIMULTANEOUS - 1) + [201]
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count(Machine.id)))
        db.session.rollback()
    assert count == 1
