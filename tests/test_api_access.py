"""The JSON API's own access matrix: every automation endpoint against no token, an unknown
one, the wrong scope, another company's token, a revoked and an expired one; and for every API
route, that a session cookie authenticates nothing, no CSRF token is asked, and an answer is
JSON (never an HTML page, never a 500)."""

from dataclasses import dataclass
from datetime import timedelta

import pytest

from portal import clock
from portal.db import db
from portal.machines import api_tokens
from tests import factories

LICENSES = "licenses:read"
RELEASES = "releases:download"


@dataclass
class ApiWorld:
    file_id: int
    tokens: dict  # role -> secret


@pytest.fixture
def api_world(app_ctx):
    company = factories.make_company("API A AB")
    other = factories.make_company("API B AB")
    admin = factories.make_account("admin", company=company)
    other_admin = factories.make_account("admin", company=other)
    factories.make_license(company, "safelink", maintenance_until=None)
    factories.make_license(other, "safelink-pfr", maintenance_until=None)
    release = factories.make_release("safelink")
    factories.make_release("safelink-pfr")
    both = [LICENSES, RELEASES]
    tokens = {
        "both_scopes": factories.make_api_token(company, admin, both)[1],
        "licenses_only": factories.make_api_token(company, admin, [LICENSES])[1],
        "releases_only": factories.make_api_token(company, admin, [RELEASES])[1],
        "other_company": factories.make_api_token(other, other_admin, both)[1],
    }
    revoked, tokens["revoked"] = factories.make_api_token(company, admin, both)
    api_tokens.revoke(revoked, actor=admin)
    expiring, tokens["expired"] = factories.make_api_token(company, admin, both, days=1)
    expiring.expires_dt = clock.now() - timedelta(seconds=1)
    db.session.commit()
    return ApiWorld(file_id=release.files[0].id, tokens=tokens)


# (endpoint, scope it needs): each with the status every kind of token gets.
def _endpoints(world: ApiWorld) -> list[tuple[str, str]]:
    return [
        ("/api/v1/licenses", LICENSES),
        ("/api/v1/releases", RELEASES),
        (f"/api/v1/releases/files/{world.file_id}", RELEASES),
    ]


def _expected(role: str, scope: str, path: str) -> tuple[int, str | None]:
    if role == "no_token":
        return 401, "token_missing"
    if role == "unknown":
        return 401, "token_invalid"
    if role == "revoked":
        return 401, "token_revoked"
    if role == "expired":
        return 401, "token_expired"
    if role == "licenses_only" and scope == RELEASES:
        return 403, "insufficient_scope"
    if role == "releases_only" and scope == LICENSES:
        return 403, "insufficient_scope"
    if role == "other_company" and "/files/" in path:
        return 404, "not_found"  # another company's file is none of theirs
    return 200, None


ROLES = (
    "no_token",
    "unknown",
    "both_scopes",
    "licenses_only",
    "releases_only",
    "other_company",
    "revoked",
    "expired",
)


@pytest.mark.parametrize("role", ROLES)
def test_api_token_matrix(client, api_world, role):
    failures = []
    for path, scope in _endpoints(api_world):
        headers = {}
        if role == "unknown":
            headers["Authorization"] = "Bearer slp_" + "x" * 43
        elif role != "no_token":
            headers["Authorization"] = f"Bearer {api_world.tokens[role]}"
        response = client.get(path, headers=headers)
        status, code = _expected(role, scope, path)
        got_code = response.get_json()["error"]["code"] if response.status_code >= 400 else None
        if (response.status_code, got_code) != (status, code):
            failures.append(f"{path}: {response.status_code} {got_code}, expected {status} {code}")
        if response.status_code == 401 and "Bearer" not in response.headers["WWW-Authenticate"]:
            failures.append(f"{path}: 401 without WWW-Authenticate: Bearer")
    assert not failures, f"{role}:\n" + "\n".join(failures)


def test_another_companys_token_sees_only_its_own_licenses(client, api_world):
    body = client.get(
        "/api/v1/licenses", headers={"Authorization": f"Bearer {api_world.tokens['other_company']}"}
    ).get_json()
    assert [license["product"] for license in body["licenses"]] == ["safelink-pfr"]


def test_a_signed_in_browser_cookie_authenticates_no_api_call(client, api_world, make_account):
    admin = make_account("admin")
    db.session.commit()
    factories.login_as(client, admin)
    assert client.get("/").status_code == 200  # the cookie signs in on the web
    response = client.get("/api/v1/licenses")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "token_missing"
    assert "Set-Cookie" not in response.headers


def test_support_viewing_as_a_customer_does_not_make_the_machine_api_read_only(
    client, make_company, make_license, make_account
):
    company = make_company()
    license = make_license(company)
    customer = make_account("admin", company=company)
    db.session.commit()
    factories.view_as(client, make_account("support"), customer)
    response = client.post(
        "/api/v1/machines/activate",
        json={
            "license_key": license.key,
            "fingerprint": "fp-from-a-client",
            "hostname": "client01",
            "product_version": "6.2",
        },
    )
    assert response.status_code == 201


API_POSTS = (
    "/api/v1/machines/activate",
    "/api/v1/machines/validate",
    "/api/v1/machines/deactivate",
)


@pytest.mark.parametrize("path", API_POSTS)
def test_machine_endpoints_need_no_csrf_token_and_answer_json(client, path):
    response = client.post(path, json={})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "missing_field"


def test_every_api_route_answers_json_errors_never_html(app, client):
    failures = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = rule.rule.replace("<int(max=2147483647):file_id>", "0")
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
            response = client.open(path, method=method, data=b"{", content_type="application/json")
            content_type = response.headers.get("Content-Type", "")
            if response.status_code >= 500:
                failures.append(f"{method} {path}: {response.status_code}")
            if response.status_code >= 400 and content_type != "application/json":
                failures.append(f"{method} {path}: {response.status_code} {content_type}")
    for path in ("/api/v1/nothing-here", "/api/v1/machines/activate/extra"):
        response = client.get(path)
        assert (response.status_code, response.get_json()["error"]["code"]) == (404, "not_found")
    assert not failures, "\n".join(failures)
