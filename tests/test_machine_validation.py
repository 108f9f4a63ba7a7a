"""Signed validation: a machine asks whether it may run its version; the answer says why not,
echoes the nonce, is signed, and costs at most two queries whatever the number of machines."""

from datetime import date, timedelta

import pytest

from portal import clock
from portal.db import db
from portal.licenses import service as licenses
from portal.machines import service as machines
from tests import factories
from tests.signatures import verify_response

VALIDATE = "/api/v1/machines/validate"


def validation(license_or_key, fingerprint, version="6.2", nonce="n-0123456789abcdef"):
    return {
        "license_key": getattr(license_or_key, "key", license_or_key),
        "fingerprint": fingerprint,
        "product_version": version,
        "nonce": nonce,
    }


@pytest.fixture
def license(make_company, make_license):
    return make_license(
        make_company(), seats=5, valid_from=date(2026, 1, 1), maintenance_until=date(2026, 12, 31)
    )


@pytest.fixture
def machine(license):
    return factories.make_machine(license, fingerprint="fp-validating-01", version="6.2")


def test_an_activated_machine_on_a_license_in_force_is_valid(client, license, machine, tmp_path):
    response = client.post(VALIDATE, json=validation(license, machine.fingerprint))
    assert response.status_code == 200
    body = response.get_json()
    assert body["valid"] is True
    assert body["code"] == "valid"
    assert body["nonce"] == "n-0123456789abcdef"
    assert body["checked_at"].endswith("Z")
    assert body["machine"]["id"] == machine.id
    assert body["license"]["maintenance_until"] == "2026-12-31"
    assert verify_response(client, response, tmp_path)
    db.session.refresh(machine)
    assert machine.last_validated_dt is not None


def test_the_nonce_is_echoed_exactly(client, license, machine):
    nonce = "Zm9vYmFy+/=._~-0123456789"
    body = client.post(VALIDATE, json=validation(license, machine.fingerprint, nonce=nonce)).json
    assert body["nonce"] == nonce


def test_validation_records_the_version_the_machine_now_runs(client, license, machine):
    client.post(VALIDATE, json=validation(license, machine.fingerprint, version="6.2.1"))
    db.session.refresh(machine)
    assert machine.product_version == "6.2.1"


def test_an_unknown_fingerprint_and_an_unknown_key_answer_the_same(client, license, machine):
    unknown_machine = client.post(VALIDATE, json=validation(license, "fp-never-activated")).json
    unknown_key = client.post(
        VALIDATE, json=validation("AAAAA-BBBBB-CCCCC-DDDDD-EEEEE", "fp-never-activated")
    ).json
    for body in (unknown_machine, unknown_key):
        body.pop("checked_at")
    assert unknown_machine == unknown_key
    assert unknown_machine["code"] == "not_activated"
    assert unknown_machine["valid"] is False
    assert unknown_machine["license"] is None


def test_a_deactivated_machine_is_not_activated(client, license, machine):
    machines.deactivate(machine, actor_label="test")
    db.session.flush()
    body = client.post(VALIDATE, json=validation(license, "fp-validating-01")).json
    assert body["code"] == "not_activated"


def test_a_revoked_license_answers_revoked(client, license, machine):
    licenses.revoke_license(license, actor_label="test")
    db.session.flush()
    body = client.post(VALIDATE, json=validation(license, machine.fingerprint)).json
    assert (body["valid"], body["code"]) == (False, "revoked")


def test_a_license_past_its_end_answers_expired(client, license, machine, frozen_clock):
    licenses.extend_license(
        license, valid_until=date(2026, 11, 30), maintenance_until=None, actor_label="test"
    )
    db.session.flush()
    assert client.post(VALIDATE, json=validation(license, machine.fingerprint)).json["valid"]
    frozen_clock.advance(timedelta(days=40))
    body = client.post(VALIDATE, json=validation(license, machine.fingerprint)).json
    assert (body["valid"], body["code"]) == (False, "expired")


def test_a_version_released_after_maintenance_answers_maintenance_ended(
    client, license, machine, make_release
):
    factories.make_release("safelink", "6.2", released_on=date(2026, 6, 1))
    factories.make_release("safelink", "7.0", released_on=date(2027, 3, 1))
    covered = client.post(VALIDATE, json=validation(license, machine.fingerprint, "6.2")).json
    assert covered["code"] == "valid"
    newer = client.post(VALIDATE, json=validation(license, machine.fingerprint, "7.0")).json
    assert (newer["valid"], newer["code"]) == (False, "maintenance_ended")
    assert newer["newest_version"] == "6.2"


def test_a_version_the_portal_does_not_know_is_judged_by_the_license_alone(
    client, license, machine
):
    body = client.post(VALIDATE, json=validation(license, machine.fingerprint, "6.2.99")).json
    assert body["code"] == "valid"


def test_an_older_version_must_upgrade_once_the_minimum_takes_effect(
    client, license, machine, frozen_clock
):
    factories.make_release("safelink", "5.4", released_on=date(2025, 3, 1))
    factories.make_release("safelink", "6.1", released_on=date(2026, 5, 1))
    product = licenses.product_by_code("safelink")
    machines.set_minimum_version(product, "6.0", date(2027, 1, 1), actor_label="test")
    before = client.post(VALIDATE, json=validation(license, machine.fingerprint, "5.4")).json
    assert before["code"] == "valid"
    assert before["minimum_version"] == {"version": "6.0", "effective_on": "2027-01-01"}
    frozen_clock.freeze(frozen_clock.now().replace(year=2027, month=1, day=2))
    licenses.extend_license(license, valid_until=None, maintenance_until=None, actor_label="test")
    db.session.flush()
    after = client.post(VALIDATE, json=validation(license, machine.fingerprint, "5.4")).json
    assert (after["valid"], after["code"]) == (False, "upgrade_required")
    assert after["newest_version"] == "6.1"
    current = client.post(VALIDATE, json=validation(license, machine.fingerprint, "6.10")).json
    assert current["code"] == "valid"


@pytest.mark.parametrize("machine_count", [1, 200])
def test_a_validation_costs_at_most_two_queries_whatever_the_machines(
    client, license, machine_count
):
    license.seats = machine_count
    for number in range(machine_count):
        factories.make_machine(license, fingerprint=f"fp-counting-{number:05d}")
    db.session.flush()
    body = validation(license, "fp-counting-00000")
    for _warm_up in range(2):  # the process records its signing key once
        assert client.post(VALIDATE, json=body).status_code == 200
    with factories.count_queries() as queries:
        response = client.post(VALIDATE, json=body)
    assert response.json["code"] == "valid"
    assert len(queries) <= 2, queries.statements
    assert [statement.split()[0] for statement in queries.statements] == ["SELECT", "UPDATE"]


def test_validation_answers_today_in_stockholm(client, license, machine):
    body = client.post(VALIDATE, json=validation(license, machine.fingerprint)).json
    assert body["checked_at"][:10] in {
        clock.now().date().isoformat(),
        clock.today().isoformat(),
    }
