"""Every endpoint of the portal against every role: deny by default, proven by requests.

`AUDIENCE` says who may use each endpoint. A route that is missing here fails the suite, so a
new route cannot ship without an access decision. The test then sends every method of every
route as every role and checks the refusals (redirect to sign-in, 403, or 404 where existence
must not be revealed) and that the allowed roles are not refused.
"""

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from portal import clock
from portal.accounts.models import LoginSession
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
    "portal.accounts.end_other_sessions",
    "portal.accounts.end_session",
    "portal.privacy.export",
    "portal.accounts.two_factor_disable",
    "portal.accounts.two_factor_enrol",
    "portal.accounts.two_factor",
    "portal.accounts.recovery_codes",
    "portal.machines.license_file",
    "portal.activity.export",
}
# The view's own way out; posting it in the matrix would end the view for the other routes.
ENDS_THE_VIEW = {"portal.impersonation.stop", "portal.signin.logout"}


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
LICENSE_MANAGER_OR_ADMIN = audience({"company_admin", "license_manager", "other_company_admin"})
STAFF_ONLY = audience(STAFF, refusal=404)
STAFF_ADMIN_ONLY = audience({"staff_admin"}, refusal=404)
# The second sign-in step: a PUBLIC rule, since the person has no session yet. Without a pending
# sign-in it sends anonymous visitors to /login and signed-in people to the start page.
PENDING_SIGN_IN = audience(SIGNED_IN)

# endpoint -> who may use it. Keep sorted by endpoint.
AUDIENCE = {
    "portal.accounts.change_email": ANY_SIGNED_IN,
    "portal.accounts.change_password": ANY_SIGNED_IN,
    "portal.accounts.confirm_email": PUBLIC,
    "portal.accounts.end_other_sessions": ANY_SIGNED_IN,
    "portal.accounts.end_session": ANY_SIGNED_IN,
    "portal.accounts.overview": ANY_SIGNED_IN,
    "portal.accounts.recovery_codes": ANY_SIGNED_IN,
    "portal.accounts.two_factor": ANY_SIGNED_IN,
    "portal.accounts.two_factor_disable": CUSTOMER,
    "portal.accounts.two_factor_enrol": ANY_SIGNED_IN,
    "portal.activity.company": COMPANY_ADMIN,
    "portal.activity.export": COMPANY_ADMIN,
    "portal.activity.staff_company": STAFF_ONLY,
    "portal.companies.end": STAFF_ADMIN_ONLY,
    "portal.companies.new": STAFF_ADMIN_ONLY,
    "portal.companies.restart": STAFF_ADMIN_ONLY,
    "portal.contacts.delete": COMPANY_ADMIN_ON_A,
    "portal.contacts.edit": COMPANY_ADMIN_ON_A,
    "portal.contacts.erase": COMPANY_ADMIN_ON_A,
    "portal.contacts.give_consent": COMPANY_ADMIN_ON_A,
    "portal.contacts.give_my_consent": CUSTOMER,
    "portal.contacts.index": CUSTOMER,
    "portal.contacts.my_consents": CUSTOMER,
    "portal.contacts.new": COMPANY_ADMIN,
    "portal.contacts.replace": COMPANY_ADMIN_ON_A,
    "portal.contacts.show": audience(CUSTOMERS, object_of_company_a=True),
    "portal.contacts.staff_company_contacts": STAFF_ONLY,
    "portal.contacts.staff_disclosures": STAFF_ONLY,
    "portal.contacts.staff_lift_confidentiality": STAFF_ONLY,
    "portal.contacts.staff_new_disclosure": STAFF_ONLY,
    "portal.contacts.withdraw_consent": COMPANY_ADMIN_ON_A,
    "portal.contacts.withdraw_my_consent": CUSTOMER,
    "portal.downloads.file": audience(CUSTOMERS, object_of_company_a=True),
    "portal.downloads.index": CUSTOMER,
    "portal.impersonation.my_views": CUSTOMER,
    "portal.impersonation.stop": ANY_SIGNED_IN,
    "portal.licenses.confirm_manager": PUBLIC,
    "portal.licenses.detail": audience(CUSTOMERS, object_of_company_a=True),
    "portal.licenses.index": CUSTOMER,
    "portal.licenses.manager": COMPANY_ADMIN,
    "portal.licenses.reveal": audience(
        {"company_admin", "license_manager", "other_company_admin"}, object_of_company_a=True
    ),
    "portal.licenses.staff_company": STAFF_ONLY,
    "portal.licenses.staff_end_of_life": STAFF_ADMIN_ONLY,
    "portal.licenses.staff_extend": STAFF_ADMIN_ONLY,
    "portal.licenses.staff_index": STAFF_ONLY,
    "portal.licenses.staff_new": STAFF_ADMIN_ONLY,
    "portal.licenses.staff_new_product": STAFF_ADMIN_ONLY,
    "portal.licenses.staff_new_release": STAFF_ADMIN_ONLY,
    "portal.licenses.staff_products": STAFF_ONLY,
    "portal.licenses.staff_revoke": STAFF_ADMIN_ONLY,
    "portal.machines.add_offline": audience(
        {"company_admin", "license_manager", "other_company_admin"}, object_of_company_a=True
    ),
    "portal.machines.api_tokens": COMPANY_ADMIN,
    "portal.machines.deactivate": audience(
        {"company_admin", "license_manager", "other_company_admin"}, object_of_company_a=True
    ),
    "portal.machines.license_file": audience(
        {"company_admin", "license_manager", "other_company_admin"}, object_of_company_a=True
    ),
    "portal.machines.revoke_api_token": COMPANY_ADMIN_ON_A,
    "portal.machines.staff_index": STAFF_ONLY,
    "portal.machines.staff_license": STAFF_ONLY,
    "portal.machines.staff_minimum_version": STAFF_ADMIN_ONLY,
    "portal.machines.staff_remove_minimum_version": STAFF_ADMIN_ONLY,
    "portal.members.cancel_invitation": COMPANY_ADMIN_ON_A,
    "portal.members.change_role": COMPANY_ADMIN_ON_A,
    "portal.members.deactivate": COMPANY_ADMIN_ON_A,
    "portal.members.index": COMPANY_ADMIN,
    "portal.members.person": COMPANY_ADMIN_ON_A,
    "portal.members.reactivate": COMPANY_ADMIN_ON_A,
    "portal.members.remove": COMPANY_ADMIN_ON_A,
    "portal.members.resend_invitation": COMPANY_ADMIN_ON_A,
    "portal.news.staff_index": STAFF_ONLY,
    "portal.news.staff_new": STAFF_ADMIN_ONLY,
    "portal.orders.add_to_cart": LICENSE_MANAGER_OR_ADMIN,
    "portal.orders.cart": LICENSE_MANAGER_OR_ADMIN,
    "portal.orders.checkout": LICENSE_MANAGER_OR_ADMIN,
    "portal.orders.detail": audience(CUSTOMERS, object_of_company_a=True),
    "portal.orders.index": CUSTOMER,
    "portal.orders.remove_from_cart": audience(
        {"company_admin", "license_manager", "other_company_admin"}, object_of_company_a=True
    ),
    "portal.orders.staff_accept": STAFF_ADMIN_ONLY,
    "portal.orders.staff_decline": STAFF_ADMIN_ONLY,
    "portal.orders.staff_detail": STAFF_ONLY,
    "portal.orders.staff_edit_prices": STAFF_ADMIN_ONLY,
    "portal.orders.staff_export": STAFF_ADMIN_ONLY,
    "portal.orders.staff_index": STAFF_ONLY,
    "portal.orders.staff_prices": STAFF_ONLY,
    "portal.privacy.export": ANY_SIGNED_IN,
    "portal.privacy.index": PUBLIC,
    "portal.retention.staff_index": STAFF_ADMIN_ONLY,
    "portal.shell.dashboard": ANY_SIGNED_IN,
    "portal.shell.healthz": PUBLIC,
    "portal.shell.readyz": PUBLIC,
    "portal.shell.switch_language": PUBLIC,
    "portal.signin.accept_invitation": PUBLIC,
    "portal.signin.forgot_password": PUBLIC,
    "portal.signin.login": PUBLIC,
    "portal.signin.logout": ANY_SIGNED_IN,
    "portal.signin.reset_password": PUBLIC,
    "portal.signin.two_factor": PENDING_SIGN_IN,
    "portal.signin.two_factor_enrolment": PENDING_SIGN_IN,
    "portal.staff.account": STAFF_ONLY,
    "portal.staff.companies": STAFF_ONLY,
    "portal.staff.company": STAFF_ONLY,
    "portal.staff.impersonate": STAFF_ONLY,
    "portal.staff.impersonations": STAFF_ADMIN_ONLY,
    "portal.staff.reset_two_factor": STAFF_ADMIN_ONLY,
    "portal.static": PUBLIC,
}

# endpoint -> URL arguments, from the `world` of objects below.
URL_VALUES = {
    "portal.accounts.confirm_email": lambda world: {"token": world.objects["email_change"]},
    "portal.accounts.end_session": lambda world: {"session_id": world.objects["other_session"]},
    "portal.activity.staff_company": lambda world: {"company_id": world.objects["company_a"].id},
    "portal.companies.end": lambda world: {"company_id": world.objects["company_a"].id},
    "portal.companies.restart": lambda world: {"company_id": world.objects["company_a"].id},
    "portal.contacts.delete": lambda world: {"contact_id": world.objects["deletable_contact"].id},
    "portal.contacts.edit": lambda world: {"contact_id": world.objects["contact"].id},
    "portal.contacts.erase": lambda world: {"account_id": world.objects["erasable"].id},
    "portal.contacts.give_consent": lambda world: {"contact_id": world.objects["contact"].id},
    "portal.contacts.replace": lambda world: {"contact_id": world.objects["contact"].id},
    "portal.contacts.show": lambda world: {"contact_id": world.objects["contact"].id},
    "portal.contacts.staff_company_contacts": lambda world: {
        "company_id": world.objects["company_a"].id
    },
    "portal.contacts.withdraw_consent": lambda world: {"contact_id": world.objects["contact"].id},
    # Posted without a reason in the matrix: refused as a form error, nothing is lifted.
    "portal.contacts.staff_lift_confidentiality": lambda world: {
        "disclosure_id": world.objects["confidential_disclosure"].id
    },
    "portal.downloads.file": lambda world: {"file_id": world.objects["release_file"].id},
    "portal.contacts.staff_new_disclosure": lambda world: {
        "company": world.objects["company_a"].id
    },
    "portal.licenses.confirm_manager": lambda world: {
        "token": world.objects["manager_confirmation"]
    },
    "portal.licenses.detail": lambda world: {"license_id": world.objects["license"].id},
    "portal.licenses.reveal": lambda world: {"license_id": world.objects["license"].id},
    "portal.licenses.staff_company": lambda world: {"company_id": world.objects["company_a"].id},
    "portal.licenses.staff_end_of_life": lambda world: {"release_id": world.objects["release"].id},
    "portal.licenses.staff_extend": lambda world: {"license_id": world.objects["license"].id},
    "portal.licenses.staff_revoke": lambda world: {"license_id": world.objects["license"].id},
    "portal.machines.add_offline": lambda world: {"license_id": world.objects["license"].id},
    "portal.machines.deactivate": lambda world: {
        "license_id": world.objects["license"].id,
        "machine_id": world.objects["machine"].id,
    },
    "portal.machines.license_file": lambda world: {
        "license_id": world.objects["license"].id,
        "machine_id": world.objects["offline_machine"].id,
    },
    "portal.machines.revoke_api_token": lambda world: {"token_id": world.objects["api_token"].id},
    "portal.machines.staff_license": lambda world: {"license_id": world.objects["license"].id},
    "portal.machines.staff_minimum_version": lambda world: {
        "product_id": world.objects["license"].product_id
    },
    "portal.machines.staff_remove_minimum_version": lambda world: {
        "product_id": world.objects["license"].product_id
    },
    "portal.members.cancel_invitation": lambda world: {
        "account_id": world.objects["cancelled_invitee"].id
    },
    "portal.members.change_role": lambda world: {"account_id": world.accounts["member"].id},
    "portal.members.deactivate": lambda world: {"account_id": world.objects["deactivated"].id},
    "portal.members.person": lambda world: {"account_id": world.accounts["member"].id},
    "portal.members.reactivate": lambda world: {"account_id": world.objects["deactivated"].id},
    "portal.members.remove": lambda world: {"account_id": world.objects["removed"].id},
    "portal.members.resend_invitation": lambda world: {"account_id": world.objects["reinvited"].id},
    "portal.orders.detail": lambda world: {"order_id": world.objects["order"].id},
    "portal.orders.remove_from_cart": lambda world: {"line_id": world.objects["cart_line"].id},
    "portal.orders.staff_accept": lambda world: {"order_id": world.objects["order"].id},
    "portal.orders.staff_decline": lambda world: {"order_id": world.objects["declined_order"].id},
    "portal.orders.staff_detail": lambda world: {"order_id": world.objects["order"].id},
    "portal.orders.staff_edit_prices": lambda world: {
        "product_id": world.objects["license"].product_id
    },
    "portal.shell.switch_language": lambda world: {"code": "en"},
    "portal.signin.accept_invitation": lambda world: {"token": world.objects["invitation"]},
    "portal.signin.reset_password": lambda world: {"token": world.objects["reset"]},
    "portal.staff.account": lambda world: {"account_id": world.accounts["member"].id},
    "portal.staff.company": lambda world: {"company_id": world.objects["company_a"].id},
    # Posted without a reason in the matrix: refused as a form error, no view starts.
    "portal.staff.impersonate": lambda world: {"account_id": world.accounts["member"].id},
    # Posted without a reason in the matrix: refused as a form error, nothing is reset.
    "portal.staff.reset_two_factor": lambda world: {"account_id": world.accounts["member"].id},
    "portal.static": lambda world: {"filename": "portal.css"},
}

# endpoint -> the form fields the matrix posts beside the CSRF token.
FORM_DATA = {"portal.members.change_role": {"role": "member"}}


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
    objects = factories.company_objects(company_a, accounts["company_admin"])
    db.session.commit()
    objects["other_session"] = 1  # made per role by the matrix, once the role has signed in
    return World(accounts=accounts, objects={"company_a": company_a, **objects})


def portal_rules(app):
    """The web pages; the JSON API (no cookies, no CSRF) has its own matrix: test_api_access."""
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("portal.") and not rule.endpoint.startswith("portal.api.")
    ]


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

    view_name = "portal.shell.healthz"
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


def _another_session_of(account) -> int:
    """A second live session of the signed-in account, for the route that ends one."""
    if account is None:
        return 1
    now = clock.now()
    record = LoginSession(
        key_hash=f"{account.id:064x}", account=account, expires_dt=now + timedelta(hours=1)
    )
    db.session.add(record)
    db.session.commit()
    return record.id


@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(app, client, world, role):
    _sign_in(client, world, role)
    world.objects["other_session"] = _another_session_of(world.accounts.get(role))
    token = factories.csrf_token(client, "/login" if role == "anonymous" else "/")
    failures = []
    for rule in portal_rules(app):
        if rule.endpoint not in AUDIENCE:
            continue  # an undeclared endpoint fails the declaration test above
        values = URL_VALUES.get(rule.endpoint, lambda w: {})(world)
        path = rule.build(values)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if rule.endpoint == "portal.signin.logout" and method == "POST":
                continue  # signing out here would end the role's session for the other routes
            if role == IMPERSONATING and rule.endpoint in ENDS_THE_VIEW and method == "POST":
                continue  # Stop would end the view for the other routes (tested on its own)
            data = {"csrf_token": token, **FORM_DATA.get(rule.endpoint, {})}
            kwargs = {"data": data} if method != "GET" else {}
            response = client.open(path, method=method, **kwargs)
            expected = _expected_refusal(role, AUDIENCE[rule.endpoint], rule.endpoint, method)
            status = response.status_code
            location = urlsplit(response.headers.get("Location", ""))
            to_login = status == 302 and location.path == "/login"
            # The access rule's refusal says where to come back to; a finished form does not.
            refused_to_login = to_login and "next=" in location.query
            if status >= 500:
                failures.append(f"{method} {path}: {status}")
            elif expected == 302 and not to_login:
                failures.append(f"{method} {path}: {status}, expected a redirect to sign in")
            elif expected in (403, 404) and status != expected:
                failures.append(f"{method} {path}: {status}, expected {expected}")
            elif expected is None and refused_to_login:
                failures.append(f"{method} {path}: sent to sign in, but {role} is allowed")
            elif expected is None and status >= 400:
                failures.append(f"{method} {path}: {status}, but {role} is allowed")
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
