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
    "impersonating_support",
)
CUSTOMERS = {"member", "company_admin", "license_manager", "other_company_admin"}
STAFF = {"support", "staff_admin"}
SIGNED_IN = CUSTOMERS | STAFF
# Support viewing the portal as company A's member: the member's access, read-only (every unsafe
# method 403 except Stop), pages with secrets refused, no staff page (404).
IMPERSONATING = "impersonating_support"
IMPERSONATED = "member"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Views marked `access.not_while_impersonating`: 403 during a view even by GET.
HIDDEN_WHILE_IMPERSONATING = {
    "portal.account.end_other_sessions",
    "portal.account.end_session",
    "portal.export.overview",
    "portal.twofactor.disable",
    "portal.twofactor.enrol",
    "portal.twofactor.manage",
    "portal.twofactor.recovery_codes",
}
# The view's own way out; posting it in the matrix would end the view for the other routes.
ENDS_THE_VIEW = {"portal.impersonation.stop", "portal.accounts.logout"}


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
COMPANY_ADMIN_ON_A = audience({"company_admin", "other_company_admin"}, object_of_company_a=True)
STAFF_ONLY = audience(STAFF, refusal=404)
STAFF_ADMIN_ONLY = audience({"staff_admin"}, refusal=404)
# The second sign-in step: a PUBLIC rule, since the person has no session yet. Without a pending
# sign-in it sends anonymous visitors to /login and signed-in people to the start page.
PENDING_SIGN_IN = audience(SIGNED_IN)

# endpoint -> who may use it. Keep sorted by endpoint.
AUDIENCE = {
    "portal.accounts.accept_invitation": PUBLIC,
    "portal.accounts.login": PUBLIC,
    "portal.accounts.logout": ANY_SIGNED_IN,
    "portal.account.end_other_sessions": ANY_SIGNED_IN,
    "portal.account.end_session": ANY_SIGNED_IN,
    "portal.account.overview": ANY_SIGNED_IN,
    "portal.company.activity": COMPANY_ADMIN,
    "portal.company.cancel_invitation": COMPANY_ADMIN_ON_A,
    "portal.company.change_role": COMPANY_ADMIN_ON_A,
    "portal.company.deactivate": COMPANY_ADMIN_ON_A,
    "portal.company.reactivate": COMPANY_ADMIN_ON_A,
    "portal.company.remove": COMPANY_ADMIN_ON_A,
    "portal.company.resend_invitation": COMPANY_ADMIN_ON_A,
    "portal.company.users": COMPANY_ADMIN,
    "portal.consents.give": CUSTOMER,
    "portal.consents.overview": CUSTOMER,
    "portal.consents.withdraw": CUSTOMER,
    "portal.contacts.delete": COMPANY_ADMIN_ON_A,
    "portal.contacts.edit": COMPANY_ADMIN_ON_A,
    "portal.contacts.erase": COMPANY_ADMIN_ON_A,
    "portal.contacts.give_consent": COMPANY_ADMIN_ON_A,
    "portal.contacts.index": CUSTOMER,
    "portal.contacts.new": COMPANY_ADMIN,
    "portal.contacts.replace": COMPANY_ADMIN_ON_A,
    "portal.contacts.show": audience(CUSTOMERS, object_of_company_a=True),
    "portal.contacts.withdraw_consent": COMPANY_ADMIN_ON_A,
    "portal.core.dashboard": ANY_SIGNED_IN,
    "portal.core.healthz": PUBLIC,
    "portal.core.switch_language": PUBLIC,
    "portal.downloads.file": audience(CUSTOMERS, object_of_company_a=True),
    "portal.export.overview": ANY_SIGNED_IN,
    "portal.downloads.index": CUSTOMER,
    "portal.impersonation.stop": ANY_SIGNED_IN,
    "portal.license_manager.confirm": PUBLIC,
    "portal.license_manager.manage": COMPANY_ADMIN,
    "portal.licenses.detail": audience(CUSTOMERS, object_of_company_a=True),
    "portal.licenses.index": CUSTOMER,
    "portal.licenses.reveal": audience(
        {"company_admin", "license_manager", "other_company_admin"}, object_of_company_a=True
    ),
    "portal.password.change": ANY_SIGNED_IN,
    "portal.password.change_email": ANY_SIGNED_IN,
    "portal.password.confirm_email": PUBLIC,
    "portal.password.forgot": PUBLIC,
    "portal.password.reset": PUBLIC,
    "portal.privacy.privacy": PUBLIC,
    "portal.staff.account": STAFF_ONLY,
    "portal.staff.companies": STAFF_ONLY,
    "portal.staff.company": STAFF_ONLY,
    "portal.staff.impersonate": STAFF_ONLY,
    "portal.staff.impersonations": STAFF_ADMIN_ONLY,
    "portal.staff_disclosures.company_contacts": STAFF_ONLY,
    "portal.staff_disclosures.index": STAFF_ONLY,
    "portal.staff_disclosures.new": STAFF_ONLY,
    "portal.staff_licenses.company": STAFF_ONLY,
    "portal.staff_licenses.end_of_life": STAFF_ADMIN_ONLY,
    "portal.staff_licenses.extend": STAFF_ADMIN_ONLY,
    "portal.staff_licenses.index": STAFF_ONLY,
    "portal.staff_licenses.new_license": STAFF_ADMIN_ONLY,
    "portal.staff_licenses.new_product": STAFF_ADMIN_ONLY,
    "portal.staff_licenses.new_release": STAFF_ADMIN_ONLY,
    "portal.staff_licenses.products": STAFF_ONLY,
    "portal.staff_licenses.revoke": STAFF_ADMIN_ONLY,
    "portal.staff_news.index": STAFF_ONLY,
    "portal.staff_news.new": STAFF_ADMIN_ONLY,
    "portal.staff_retention.index": STAFF_ADMIN_ONLY,
    "portal.twofactor.challenge": PENDING_SIGN_IN,
    "portal.twofactor.disable": CUSTOMER,
    "portal.twofactor.enrol": ANY_SIGNED_IN,
    "portal.twofactor.forced_enrolment": PENDING_SIGN_IN,
    "portal.twofactor.manage": ANY_SIGNED_IN,
    "portal.twofactor.recovery_codes": ANY_SIGNED_IN,
    "portal.static": PUBLIC,
}

# endpoint -> URL arguments, from the `world` of objects below.
URL_VALUES = {
    "portal.accounts.accept_invitation": lambda world: {"token": "not-a-real-token"},
    "portal.core.switch_language": lambda world: {"code": "en"},
    "portal.license_manager.confirm": lambda world: {"token": "not-a-real-token"},
    "portal.password.confirm_email": lambda world: {"token": "not-a-real-token"},
    "portal.password.reset": lambda world: {"token": "not-a-real-token"},
    "portal.account.end_session": lambda world: {"session_id": 1},
    "portal.company.cancel_invitation": lambda world: {"account_id": world.objects["invitee"].id},
    "portal.company.change_role": lambda world: {"account_id": world.accounts["member"].id},
    "portal.company.deactivate": lambda world: {"account_id": world.objects["invitee"].id},
    "portal.company.reactivate": lambda world: {"account_id": world.objects["invitee"].id},
    "portal.company.remove": lambda world: {"account_id": world.objects["invitee"].id},
    "portal.company.resend_invitation": lambda world: {"account_id": world.objects["invitee"].id},
    "portal.contacts.delete": lambda world: {"contact_id": world.objects["contact"].id},
    "portal.contacts.edit": lambda world: {"contact_id": world.objects["contact"].id},
    "portal.contacts.erase": lambda world: {"account_id": world.objects["erasable"].id},
    "portal.contacts.give_consent": lambda world: {"contact_id": world.objects["contact"].id},
    "portal.contacts.replace": lambda world: {"contact_id": world.objects["contact"].id},
    "portal.contacts.show": lambda world: {"contact_id": world.objects["contact"].id},
    "portal.contacts.withdraw_consent": lambda world: {"contact_id": world.objects["contact"].id},
    "portal.downloads.file": lambda world: {"file_id": world.objects["release_file"].id},
    "portal.licenses.detail": lambda world: {"license_id": world.objects["license"].id},
    "portal.licenses.reveal": lambda world: {"license_id": world.objects["license"].id},
    "portal.staff_disclosures.company_contacts": lambda world: {
        "company_id": world.objects["company_a"].id
    },
    "portal.staff_licenses.company": lambda world: {"company_id": world.objects["company_a"].id},
    "portal.staff.account": lambda world: {"account_id": world.accounts["member"].id},
    "portal.staff.company": lambda world: {"company_id": world.objects["company_a"].id},
    # Posted without a reason in the matrix: refused as a form error, no view starts.
    "portal.staff.impersonate": lambda world: {"account_id": world.accounts["member"].id},
    "portal.staff_licenses.end_of_life": lambda world: {"release_id": world.objects["release"].id},
    "portal.staff_licenses.extend": lambda world: {"license_id": world.objects["license"].id},
    "portal.staff_licenses.revoke": lambda world: {"license_id": world.objects["license"].id},
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


def _expected_refusal(
    role: str, audience_: Audience, endpoint: str = "", method: str = "GET"
) -> int | None:
    if role == IMPERSONATING:
        as_customer = _expected_refusal(IMPERSONATED, audience_)
        if as_customer == 404:  # staff pages and hidden objects stay hidden
            return 404
        if method in UNSAFE_METHODS or endpoint in HIDDEN_WHILE_IMPERSONATING:
            return 403
        return as_customer
    if role in audience_.allowed:
        if audience_.object_of_company_a and role == "other_company_admin":
            return 404
        return None
    if role == "anonymous":
        return 302
    if role in CUSTOMERS and audience_.refusal == 404:
        return 404
    return audience_.refusal


def _sign_in(client, world, role):
    if role == IMPERSONATING:
        response = factories.view_as(
            client, world.accounts["support"], world.accounts[IMPERSONATED]
        )
        assert response.status_code == 302, "support could not view the portal as the member"
    elif role != "anonymous":
        response = factories.login_as(client, world.accounts[role])
        assert response.status_code == 302, f"{role} could not sign in"


def test_views_hidden_while_impersonating_are_the_ones_declared_here(app):
    marked = {
        endpoint
        for endpoint, view in app.view_functions.items()
        if getattr(view, "not_while_impersonating", False)
    }
    assert marked == HIDDEN_WHILE_IMPERSONATING


@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(app, client, world, role):
    _sign_in(client, world, role)
    token = factories.csrf_token(client, "/login" if role == "anonymous" else "/")
    failures = []
    for rule in portal_rules(app):
        if rule.endpoint in SKIP or rule.endpoint not in AUDIENCE:
            continue  # an undeclared endpoint fails the declaration test above
        values = URL_VALUES.get(rule.endpoint, lambda w: {})(world)
        path = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if rule.endpoint == "portal.accounts.logout" and method == "POST":
                continue  # signing out here would end the role's session for the other routes
            if role == IMPERSONATING and rule.endpoint in ENDS_THE_VIEW and method == "POST":
                continue  # Stop would end the view for the other routes (tested on its own)
            kwargs = {"data": {"csrf_token": token}} if method != "GET" else {}
            response = client.open(path, method=method, **kwargs)
            expected = _expected_refusal(role, AUDIENCE[rule.endpoint], rule.endpoint, method)
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
    if role == IMPERSONATING:  # the view lasted through every request above
        assert "impersonation-banner" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("role", ["anonymous", "company_admin", "staff_admin"])
def test_every_state_changing_route_refuses_a_post_without_csrf_token(app, client, world, role):
    if role != "anonymous":
        factories.login_as(client, world.accounts[role])
    failures = []
    for rule in portal_rules(app):
        values = URL_VALUES.get(rule.endpoint, lambda w: {})(world)
        path = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            status = client.open(path, method=method, data={}).status_code
            if status != 400:
                failures.append(f"{method} {path}: {status}")
    assert not failures, "accepted without a CSRF token:\n" + "\n".join(failures)
