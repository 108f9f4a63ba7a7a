"""Abuse of the machine endpoints: rate limits per license key and per client address, small
strictly validated bodies, and answers that tell nothing about keys beyond the contract."""

import json

import pytest

from portal import ratelimit
from portal.api import bodies
from tests import factories

ACTIVATE = "/api/v1/machines/activate"
VALIDATE = "/api/v1/machines/validate"


def _validation(key="AAAAA-BBBBB-CCCCC-DDDDD-EEEEE", fingerprint="fp-abuse-000001"):
    return {
        "license_key": key,
        "fingerprint": fingerprint,
        "product_version": "6.2",
        "nonce": "abuse-nonce-1",
    }


def _limit(spec: str) -> int:
    return int(spec.split("/")[0])


def _address(number: int) -> dict:
    return {"environ_base": {"REMOTE_ADDR": f"198.51.100.{number}"}}


def test_one_license_key_is_limited_from_any_address(client):
    limit = _limit(ratelimit.MACHINE_REQUESTS_PER_LICENSE_KEY)
    per_address = _limit(ratelimit.MACHINE_REQUESTS_PER_ADDRESS)
    sent = 0
    address = 1
    while sent < limit:
        for _ in range(min(per_address, limit - sent)):
            assert client.post(VALIDATE, json=_validation(), **_address(address)).status_code == 200
            sent += 1
        address += 1
    refused = client.post(VALIDATE, json=_validation(), **_address(address + 1))
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["Portal-Signature"].startswith("keyid=")
    other_key = _validation(key="FFFFF-GGGGG-HHHHH-JJJJJ-KKKKK")
    assert client.post(VALIDATE, json=other_key, **_address(address + 1)).status_code == 200


def test_one_address_is_limited_whatever_the_keys(client):
    limit = _limit(ratelimit.MACHINE_REQUESTS_PER_ADDRESS)
    for number in range(limit):
        key = f"AAAAA-BBBBB-CCCCC-DDDDD-{number % 10}{'E' * 4}".replace("0", "2").replace("1", "3")
        client.post(VALIDATE, json=_validation(key=key), **_address(7))
    refused = client.post(ACTIVATE, json={}, **_address(7))
    assert refused.status_code == 429
    assert client.post(VALIDATE, json=_validation(), **_address(8)).status_code == 200


def test_the_limits_keep_no_license_keys_in_their_storage(app, client):
    with app.test_request_context(VALIDATE, method="POST", json=_validation()):
        storage_key = ratelimit.license_key_in_body()
    assert "AAAAA" not in storage_key and storage_key.startswith("license:")


def test_a_body_over_the_limit_is_refused_before_it_is_read(client):
    body = json.dumps({**_validation(), "nonce": "x" * bodies.MAX_BODY_BYTES})
    response = client.post(VALIDATE, data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "body_too_large"


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        ("{", "application/json", 400, "invalid_json"),
        ("[]", "application/json", 400, "invalid_body"),
        ('"text"', "application/json", 400, "invalid_body"),
        (b"\xff\xfe{}", "application/json", 400, "invalid_json"),
        ('{"nonce": NaN}', "application/json", 400, "invalid_json"),
        ("license_key=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        ("{}", "text/plain", 415, "unsupported_media_type"),
    ],
)
def test_bodies_that_are_not_small_json_objects_are_refused(
    client, data, content_type, status, code
):
    response = client.post(VALIDATE, data=data, content_type=content_type)
    assert (response.status_code, response.get_json()["error"]["code"]) == (status, code)


def test_unknown_duplicate_missing_and_malformed_fields_are_refused(client):
    cases = [
        ({**_validation(), "admin": True}, "unknown_field"),
        ({key: value for key, value in _validation().items() if key != "nonce"}, "missing_field"),
        ({**_validation(), "fingerprint": 12345678}, "invalid_field"),
        ({**_validation(), "fingerprint": "short"}, "invalid_field"),
        ({**_validation(), "fingerprint": "has spaces in it"}, "invalid_field"),
        ({**_validation(), "product_version": "6.2-beta"}, "invalid_field"),
        ({**_validation(), "license_key": "AAAAABBBBBCCCCCDDDDDEEEEE"}, "invalid_field"),
        ({**_validation(), "nonce": "nul\u0000nonce"}, "invalid_field"),
    ]
    for body, code in cases:
        response = client.post(VALIDATE, json=body)
        assert (response.status_code, response.get_json()["error"]["code"]) == (400, code), body
    duplicate = '{"license_key": "A", "license_key": "B"}'
    response = client.post(VALIDATE, data=duplicate, content_type="application/json")
    assert response.get_json()["error"]["code"] == "invalid_json"


def test_an_answer_tells_no_more_about_a_key_than_the_contract(client, make_company, make_license):
    license = make_license(make_company())
    factories.make_machine(license, fingerprint="fp-known-machine")
    real_key = client.post(VALIDATE, json=_validation(key=license.key, fingerprint="fp-stranger"))
    no_key = client.post(VALIDATE, json=_validation(fingerprint="fp-stranger"))
    assert real_key.status_code == no_key.status_code == 200
    real, none = real_key.get_json(), no_key.get_json()
    real.pop("checked_at"), none.pop("checked_at")
    assert real == none
