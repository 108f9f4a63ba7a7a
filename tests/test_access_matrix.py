"""Every endpoint of the portal against every role: deny by default, proven by requests.

`AUDIENCE` says who may use each endpoint. A route that is missing here fails the suite, so a
new route cannot ship without an access decision. The test then sends every method of every
route as every role and checks the refusals (redirect to sign-in, 403, or 404 where existence
must not be revealed) and that the allowed roles are not refused.
"""

from dataclasses import dataclass

import pytest

from portal.db import db
from tests import factories

ROLES = (
    "anonymous",
    "member",
    "company_admin",
    "license_manager",
    "other_company_admin",
    "support",
    "staff_admin",
)
CUSTOMERS = {"member", "company_admin", "license_manager", "other_company_admin"}
STAFF = {"support", "staff_admin"}
SIGNED_IN = CUSTOMERS | STAFF


@dataclass(frozen=True)
class Audience:
    allowed: frozenset
    # How a signed-in role outside `allowed` is refused: 403, or 404 to hide the page.
    refusal: int = 403
    # The URL names an object of company A: another company's admin gets 404, never the object.
    object_of_company_a: bool = False


def audience(roles, refusal=403, object_of_company_a=False):
    return Audience(frozenset(roles), refusal, object_of_company_a)


PUBLIC = audience(ROLES)
ANY_SIGNED_IN = audience(SIGNED_IN)
CUSTOMER = audience(CUSTOMERS)
COMPANY_ADMIN = audience({"company_admin", "other_company_admin"})
STAFF_ONLY = audience(STAFF, refusal=404)
STAFF_ADMIN_ONLY = audience({"staff_admin"}, refusal=404)

# endpoint -> who may use it. Keep sorted by endpoint.
AUDIENCE = {
    "portal.accounts.accept_invitation": PUBLIC,
    "portal.accounts.login": PUBLIC,
    "portal.accounts.logout": ANY_SIGNED_IN,
    "portal.core.dashboard": ANY_SIGNED_IN,
    "portal.core.healthz": PUBLIC,
    "portal.core.switch_language": PUBLIC,
    "portal.privacy.privacy": PUBLIC,
    "portal.static": PUBLIC,
}

# endpoint -> URL arguments, from the `world` of objects below.
URL_VALUES = {
    "portal.accounts.accept_invitation": lambda world: {"token": "not-a-real-token"},
    "portal.core.switch_language": lambda world: {"code": "en"},
    "portal.static": lambda world: {"filename": "portal.css"},
}

# Endpoints whose refusal of a signed-in role depends on state rather than role; none yet.
SKIP = set()


@dataclass
class World:
    accounts: dict
    objects: dict


@pytest.fixture
def world(app_ctx):
    company_a = factories.make_company("Company A AB")
    company_b = factories.make_company("Company B AB")
    accounts = {
        "member": factories.make_account("member", company=company_a),
        "company_admin": factories.make_account("admin", company=company_a),
        "license_manager": factories.make_account("member", company=company_a),
        "other_company_admin": factories.make_account("admin", company=company_b),
        "support": factories.make_account("support"),
        "staff_admin": factories.make_account("staff_admin"),
    }
    factories.designate_license_manager(accounts["license_manager"])
    objects = factories.company_objects(company_a)
    db.session.commit()
    return World(accounts=accounts, objects={"company_a": company_a, **objects})


def portal_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("portal.")]


def test_every_endpoint_has_a_declared_audience_and_access_rule(app):
    from portal.access import rule_for

    with app.test_request_context():
        endpoints = {rule.endpoint for rule in portal_rules(app)}
        undeclared_here = sorted(endpoints - AUDIENCE.keys())
        undeclared_in_code = sorted(e for e in endpoints if rule_for(e) is None)
    assert not undeclared_here, f"add these endpoints to AUDIENCE: {undeclared_here}"
    assert not undeclared_in_code, f"these views declare no access rule: {undeclared_in_code}"
    assert not sorted(AUDIENCE.keys() - endpoints), "AUDIENCE names endpoints that do not exist"


def test_a_view_without_an_access_rule_is_refused(app, client, world):
    from portal.access import rule_for

    view_name = "portal.core.healthz"
    view = app.view_functions[view_name]
    saved = view.access_rule
    del view.access_rule
    try:
        with app.test_request_context():
            assert rule_for(view_name) is None
        assert client.get("/healthz").status_code == 403
    finally:
        view.access_rule = saved


def _expected_refusal(role: str, audience_: Audience) -> int | None:
    if role in audience_.allowed:
        if audience_.object_of_company_a and role == "other_company_admin":
            return 404
        return None
    if role == "anonymous":
        return 302
    if role in CUSTOMERS and audience_.refusal == 404:
        return 404
    return audience_.refusal


@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(app, client, world, role):
    if role != "anonymous":
        response = factories.login_as(client, world.accounts[role])
        assert response.status_code == 302, f"{role} could not sign in"
    token = factories.csrf_token(client, "/login" if role == "anonymous" else "/")
    failures = []
    for rule in portal_rules(app):
        if rule.endpoint in SKIP:
            continue
        values = URL_VALUES.get(rule.endpoint, lambda w: {})(world)
        path = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if rule.endpoint == "portal.accounts.logout" and method == "POST":
                continue  # signing out here would end the role's session for the other routes
            kwargs = {"data": {"csrf_token": token}} if method != "GET" else {}
            response = client.open(path, method=method, **kwargs)
            expected = _expected_refusal(role, AUDIENCE[rule.endpoint])
            status = response.status_code
            refused_to_login = status == 302 and "/login" in response.headers.get("Location", "")
            if status >= 500:
                failures.append(f"{method} {path}: {status}")
            elif expected == 302 and not refused_to_login:
                failures.append(f"{method} {path}: {status}, expected a redirect to sign in")
            elif expected in (403, 404) and status != expected:
                failures.append(f"{method} {path}: {status}, expected {expected}")
            elif expected is None and (refused_to_login or status == 403):
                failures.append(f"{method} {path}: refused ({status}) but {role} is allowed")
    assert not failures, f"{role}:\n" + "\n".join(failures)
