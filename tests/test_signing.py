"""The signing key: every machine-endpoint answer is signed over its exact bytes, verifiable with
OpenSSL and the published public key; the key is made once per instance in development, must
be configured in production, and a former key stays published for the grace period."""

from datetime import timedelta

import pytest

from portal import create_app
from portal.config import SIGNING_KEY_FILE, ConfigurationError
from portal.machines import signing
from tests.signatures import openssl_verifies, parse_header, published_key, verify_response

ACTIVATE = "/api/v1/machines/activate"


@pytest.fixture
def license(make_company, make_license):
    return make_license(make_company(), seats=1)


@pytest.fixture
def unrecorded_key(app):
    """The session's app forgets that it recorded its key (each test's rows are rolled back)."""
    app.extensions["portal_signing"].recorded = False
    yield
    app.extensions["portal_signing"].recorded = False


def _activation(license, fingerprint="fp-signed-000001"):
    return {
        "license_key": license.key,
        "fingerprint": fingerprint,
        "hostname": "signed01",
        "product_version": "6.2",
    }


def test_every_machine_endpoint_answer_is_signed_and_openssl_verifies_it(client, license, tmp_path):
    answers = [
        client.post(ACTIVATE, json=_activation(license)),  # 201
        client.post(ACTIVATE, json=_activation(license, "fp-signed-000002")),  # 409
        client.post(ACTIVATE, json={"license_key": "nope"}),  # 400
        client.post(
            "/api/v1/machines/validate",
            json={
                "license_key": license.key,
                "fingerprint": "fp-signed-000001",
                "product_version": "6.2",
                "nonce": "nonce-for-openssl",
            },
        ),
        client.post(
            "/api/v1/machines/deactivate",
            json={"license_key": license.key, "fingerprint": "fp-signed-000001"},
        ),  # 204, an empty body
        client.get("/api/v1/machines/validate"),  # 405
        client.get("/api/v1/signing-keys"),
    ]
    assert [answer.status_code for answer in answers] == [201, 409, 400, 200, 204, 405, 200]
    for number, answer in enumerate(answers):
        assert verify_response(client, answer, tmp_path / str(number)), answer.status_code


def test_a_changed_byte_does_not_verify(client, license, tmp_path):
    answer = client.post(ACTIVATE, json=_activation(license))
    key_id, signature = parse_header(answer.headers["Portal-Signature"])
    tampered = answer.get_data().replace(b'"seats":1', b'"seats":9')
    assert tampered != answer.get_data()
    assert not openssl_verifies(published_key(client, key_id), tampered, signature, tmp_path)


def test_the_signing_keys_are_pem_and_the_active_one_signs(client, app):
    body = client.get("/api/v1/signing-keys").get_json()
    active = [key for key in body["keys"] if key["active"]]
    assert len(active) == 1
    assert active[0]["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    with app.app_context():
        assert active[0]["id"] == signing.signer().key_id


def test_development_makes_one_key_per_instance_and_keeps_it(tmp_path, app_config):
    instance = tmp_path / "instance"
    config = {**app_config, "PORTAL_INSTANCE_PATH": str(instance)}
    config.pop("PORTAL_SIGNING_KEY_FILE", None)
    first = create_app(dict(config))
    second = create_app(dict(config))
    assert (instance / SIGNING_KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert first.extensions["portal_signing"].key_id == second.extensions["portal_signing"].key_id


def test_production_refuses_to_start_without_a_signing_key(tmp_path, monkeypatch):
    for name, value in {
        "PORTAL_ENV": "production",
        "PORTAL_SECRET_KEY": "a production secret",
        "PORTAL_MAIL_URL": "smtp://mail.example.com:25",
        "PORTAL_BASE_URL": "https://kundportal.example.com",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PORTAL_SIGNING_KEY_FILE", raising=False)
    with pytest.raises(ConfigurationError, match="PORTAL_SIGNING_KEY_FILE"):
        create_app({"PORTAL_INSTANCE_PATH": str(tmp_path / "instance")})
    assert not (tmp_path / "instance" / SIGNING_KEY_FILE).exists()


def test_a_file_that_is_not_an_ed25519_key_is_refused_at_start(tmp_path, app_config):
    bad = tmp_path / "not-a-key.pem"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ConfigurationError, match="not an unencrypted Ed25519"):
        create_app({**app_config, "PORTAL_SIGNING_KEY_FILE": str(bad)})


def test_the_command_writes_a_new_key_and_prints_its_id(runner, tmp_path):
    path = tmp_path / "next.pem"
    result = runner.invoke(args=["signing-key", "new", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == signing.load(str(path)).key_id
    assert path.stat().st_mode & 0o777 == 0o600
    again = runner.invoke(args=["signing-key", "new", str(path)])
    assert again.exit_code != 0
    assert "never overwritten" in again.output


def test_after_rotation_the_former_key_stays_published_for_the_grace_period(
    app, app_config, client, license, tmp_path, frozen_clock, unrecorded_key
):
    from tests.conftest import IsolatedClient

    client.post(ACTIVATE, json=_activation(license))  # the old key is recorded
    old_id = app.extensions["portal_signing"].key_id
    key_file = tmp_path / "rotated.pem"
    key_file.write_bytes(signing.new_private_key_pem())
    rotated = create_app({**app_config, "PORTAL_SIGNING_KEY_FILE": str(key_file)})
    rotated.test_client_class = IsolatedClient
    new_client = rotated.test_client()
    frozen_clock.advance(timedelta(hours=1))
    answer = new_client.post(ACTIVATE, json=_activation(license, "fp-signed-000001"))
    new_id, _signature = parse_header(answer.headers["Portal-Signature"])
    assert new_id != old_id
    keys = {key["id"]: key["active"] for key in new_client.get("/api/v1/signing-keys").json["keys"]}
    assert keys == {new_id: True, old_id: False}
    assert verify_response(new_client, answer, tmp_path / "new")

    grace = rotated.config["PORTAL_SIGNING_KEY_GRACE_DAYS"]
    frozen_clock.advance(timedelta(days=grace - 1))
    assert old_id in {key["id"] for key in new_client.get("/api/v1/signing-keys").json["keys"]}
    frozen_clock.advance(timedelta(days=2))
    keys = [key["id"] for key in new_client.get("/api/v1/signing-keys").json["keys"]]
    assert keys == [new_id]


def test_an_instance_still_on_the_former_key_publishes_both(
    app, app_config, client, license, tmp_path, frozen_clock, unrecorded_key
):
    from tests.conftest import IsolatedClient

    key_file = tmp_path / "newer.pem"
    key_file.write_bytes(signing.new_private_key_pem())
    newer = create_app({**app_config, "PORTAL_SIGNING_KEY_FILE": str(key_file)})
    newer.test_client_class = IsolatedClient
    client.post(ACTIVATE, json=_activation(license))
    frozen_clock.advance(timedelta(minutes=5))
    newer.test_client().post(ACTIVATE, json=_activation(license))
    keys = {key["id"]: key["active"] for key in client.get("/api/v1/signing-keys").json["keys"]}
    assert keys == {
        app.extensions["portal_signing"].key_id: True,
        newer.extensions["portal_signing"].key_id: False,
    }
