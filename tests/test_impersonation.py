"""Support views the portal as a customer: who may, why, for how long, read-only, and audited."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.accounts.models import Account, CompanyRole, LoginSession, TwoFactorSecret
from portal.audit import AuditEvent
from portal.db import db
from portal.downloads.models import DownloadRecord
from portal.impersonation import service
from portal.impersonation.models import EndReason, Impersonation
from portal.refusals import Refusal
from tests.factories import (
    designate_license_manager,
    in_english,
    login_as,
    make_license,
    make_release,
    post,
    view_as,
)

BANNER = 'class="banner impersonation-banner"'
STOP_FORM = 'action="/impersonation/stop"'


@pytest.fixture
def company(make_company):
    return make_company("Kund AB")


@pytest.fixture
def customer(make_account, company):
    return make_account("member", company=company, name="Anna Kund")


@pytest.fixture
def support(make_account):
    return make_account("support", name="Sven Support")


@pytest.fixture
def english(client):
    return in_english(client)


def _views() -> list[Impersonation]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Impersonation).order_by(Impersonation.id)))


def _events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def _login_session(account) -> LoginSession:
    db.session.expire_all()
    return db.session.scalar(sa.select(LoginSession).where(LoginSession.account_id == account.id))


def _refused(client, staff, target, reason="ÄRENDE-1234"):
    response = view_as(client, staff, target, reason=reason)
    return response, _views(), _events("impersonation.refused")


# --- starting -------------------------------------------------------------------------------


def test_support_sees_the_portal_as_the_customer(english, support, customer):
    response = view_as(english, support, customer)
    assert response.status_code == 302
    page = english.get("/").get_data(as_text=True)
    assert BANNER in page
    assert "Anna Kund" in page and "ÄRENDE-1234" in page
    assert "Vendor staff" not in page  # the customer's dashboard, not the staff home
    [view] = _views()
    assert (view.staff_account_id, view.customer_account_id) == (support.id, customer.id)
    assert view.company_id == customer.company_id
    assert view.ended_dt is None


def test_a_staff_admin_may_view_as_a_customer(client, make_account, customer):
    admin = make_account("staff_admin")
    assert view_as(client, admin, customer).status_code == 302
    assert len(_views()) == 1


def test_the_customer_has_exactly_the_customers_permissions(client, support, customer):
    view_as(client, support, customer)
    assert client.get("/licenses/").status_code == 200  # a customer page
    assert client.get("/company/users").status_code == 403  # the member is no admin
    assert client.get("/staff/companies").status_code == 404  # no staff page at all
    assert client.get("/staff/impersonations").status_code == 404


def test_a_customer_cannot_start_a_view(client, make_account, customer, company):
    colleague = make_account("admin", company=company)
    login_as(client, colleague)
    response = post(client, f"/staff/accounts/{customer.id}/impersonate", {"reason": "ÄRENDE-1234"})
    assert response.status_code == 404
    assert _views() == []


def test_a_staff_account_cannot_be_viewed_as(client, support, make_account):
    other_staff = make_account("support")
    response, views, refusals = _refused(client, support, other_staff)
    assert response.status_code == 403
    assert views == []
    assert refusals[-1].details == {"problem": "staff_target"}
    assert refusals[-1].actor_account_id == support.id


def test_staff_cannot_view_as_themselves(client, support):
    response, views, refusals = _refused(client, support, support)
    assert response.status_code == 403
    assert views == []
    assert refusals[-1].details == {"problem": "self"}


def test_a_deactivated_account_cannot_be_viewed_as(client, support, customer):
    customer.is_active = False
    db.session.commit()
    response, views, refusals = _refused(client, support, customer)
    assert response.status_code == 403
    assert views == []
    assert refusals[-1].details == {"problem": "inactive"}


def test_an_invited_account_that_never_signed_in_cannot_be_viewed_as(
    client, support, make_account, company
):
    invitee = make_account("member", company=company, password=None)
    response, views, refusals = _refused(client, support, invitee)
    assert response.status_code == 403
    assert views == []
    assert refusals[-1].details == {"problem": "invited"}


def test_a_removed_account_is_not_found(client, support):
    login_as(client, support)
    response = post(client, "/staff/accounts/987654/impersonate", {"reason": "ÄRENDE-1234"})
    assert response.status_code == 404
    assert _views() == []


def test_a_view_without_a_reason_is_refused(english, support, customer):
    response, views, refusals = _refused(english, support, customer, reason="   ")
    assert response.status_code == 200
    assert "Give a reason" in response.get_data(as_text=True)
    assert views == []
    assert refusals[-1].details == {"problem": "reason_missing"}


def test_a_short_reason_that_is_no_ticket_reference_is_refused(english, support, customer):
    response, views, refusals = _refused(english, support, customer, reason="help")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "at least 10 characters" in page
    assert "help</textarea>" in page  # what was typed is kept
    assert views == []
    assert refusals[-1].details == {"problem": "reason_too_short"}


@pytest.mark.parametrize(
    ("reason", "problem"),
    [
        ("ÄRENDE-1234", None),
        ("#1234", None),
        ("INC-7", None),
        ("Cannot find SafeLink 6", None),
        ("", "reason_missing"),
        ("#", "reason_too_short"),
        ("1234", "reason_too_short"),
        ("short", "reason_too_short"),
        ("x" * 501, "reason_too_long"),
    ],
)
def test_the_reason_rule(reason, problem):
    assert service.reason_problem(reason) == problem


def test_a_view_cannot_be_started_while_viewing_as_someone(
    client, support, customer, company, make_account
):
    other = make_account("member", company=company)
    db.session.commit()
    view_as(client, support, customer)
    response = post(client, f"/staff/accounts/{other.id}/impersonate", {"reason": "#1234"})
    assert response.status_code == 404  # as the customer, no staff page exists
    [view] = _views()
    assert view.customer_account_id == customer.id and view.ended_dt is None


def test_the_service_refuses_a_second_view_in_one_login_session(
    app, client, support, customer, make_account, company
):
    view_as(client, support, customer)
    other = make_account("member", company=company)
    with app.test_request_context(), pytest.raises(Refusal) as refusal:
        service.start(support, other, "ÄRENDE-1", _login_session(support))
    assert refusal.value.code == "nested"


# --- ending ---------------------------------------------------------------------------------


def test_the_view_ends_after_30_minutes(client, support, customer, frozen_clock):
    view_as(client, support, customer)
    frozen_clock.advance(timedelta(minutes=29))
    assert BANNER in client.get("/").get_data(as_text=True)
    frozen_clock.advance(timedelta(minutes=2))
    page = client.get("/").get_data(as_text=True)
    assert BANNER not in page
    [view] = _views()
    assert view.end_reason == EndReason.TIMEOUT
    assert view.ended_dt == view.started_dt + timedelta(minutes=30)
    assert _events("impersonation.expired")


def test_a_customer_page_after_the_time_limit_leads_back_to_the_staff_page(
    client, support, customer, frozen_clock
):
    view_as(client, support, customer)
    frozen_clock.advance(timedelta(minutes=20))
    assert client.get("/licenses/").status_code == 200
    frozen_clock.advance(timedelta(minutes=11))
    response = client.get("/licenses/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/staff/accounts/{customer.id}")


def test_the_time_limit_is_configurable(app, client, support, customer, frozen_clock):
    app.config["PORTAL_IMPERSONATION_MINUTES"] = 5
    try:
        view_as(client, support, customer)
        frozen_clock.advance(timedelta(minutes=6))
        assert BANNER not in client.get("/").get_data(as_text=True)
    finally:
        app.config["PORTAL_IMPERSONATION_MINUTES"] = 30
    assert _views()[0].end_reason == EndReason.TIMEOUT


def test_stop_restores_the_staff_session_without_a_new_login_or_a_longer_life(
    english, support, customer, frozen_clock
):
    login_as(english, support)
    before = _login_session(support)
    frozen_clock.advance(timedelta(minutes=5))
    view_as_response = post(
        english, f"/staff/accounts/{customer.id}/impersonate", {"reason": "#1234"}
    )
    assert view_as_response.status_code == 302
    frozen_clock.advance(timedelta(minutes=5))
    response = post(english, "/impersonation/stop")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/staff/accounts/{customer.id}")

    page = english.get("/").get_data(as_text=True)
    assert "Vendor staff" in page and BANNER not in page
    after = _login_session(support)
    assert after.id == before.id
    assert after.expires_dt == before.expires_dt
    assert after.revoked_dt is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginSession)) == 1
    assert _views()[0].end_reason == EndReason.STOP
    assert _events("impersonation.stopped")


def test_stop_without_a_view_changes_nothing(client, support):
    login_as(client, support)
    response = post(client, "/impersonation/stop")
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_logout_ends_the_view_and_the_staff_session(client, support, customer):
    view_as(client, support, customer)
    response = post(client, "/logout")
    assert response.status_code == 302
    assert _views()[0].end_reason == EndReason.LOGOUT
    assert _login_session(support).revoked_dt is not None
    assert client.get("/").status_code == 302  # signed out
    [logout] = _events("logout")
    assert logout.subject_id == support.id and logout.actor_account_id == support.id


def test_deactivating_the_staff_account_ends_the_view_and_its_session(client, support, customer):
    view_as(client, support, customer)
    db.session.execute(sa.update(Account).where(Account.id == support.id).values(is_active=False))
    db.session.commit()
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert _views()[0].end_reason == EndReason.STAFF_DEACTIVATED


def test_losing_the_staff_role_ends_the_view(client, support, customer, make_company):
    view_as(client, support, customer)
    elsewhere = make_company("Anywhere AB")
    db.session.execute(
        sa.update(Account)
        .where(Account.id == support.id)
        .values(staff_role=None, company_id=elsewhere.id, company_role=CompanyRole.MEMBER)
    )
    db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert BANNER not in page
    assert _views()[0].end_reason == EndReason.ROLE_LOST


def test_deactivating_the_customer_ends_the_view(client, support, customer):
    view_as(client, support, customer)
    db.session.execute(sa.update(Account).where(Account.id == customer.id).values(is_active=False))
    db.session.commit()
    assert BANNER not in client.get("/").get_data(as_text=True)
    assert _views()[0].end_reason == EndReason.CUSTOMER_INACTIVE


# --- read-only and secrets --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/licenses/", "/downloads/", "/account", "/privacy"])
def test_the_banner_is_on_every_page(client, support, customer, path):
    view_as(client, support, customer)
    page = client.get(path).get_data(as_text=True)
    assert BANNER in page and STOP_FORM in page


def test_the_banner_is_on_the_not_found_page(client, support, customer):
    view_as(client, support, customer)
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert BANNER in response.get_data(as_text=True)


def test_a_change_is_refused_with_a_clear_403(english, support, customer):
    view_as(english, support, customer)
    response = post(english, "/account", {"name": "Changed", "language": "en"})
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "read-only" in page and BANNER in page
    db.session.expire_all()
    assert db.session.get(Account, customer.id).name == "Anna Kund"
    [refusal] = _events("access.refused")
    assert refusal.actor_account_id == support.id
    assert refusal.acting_as_account_id == customer.id


def test_revealing_a_license_key_is_refused(client, support, customer, company):
    designate_license_manager(customer)
    license = make_license(company)
    db.session.commit()
    view_as(client, support, customer)
    assert client.get(f"/licenses/{license.id}").status_code == 200
    response = post(client, f"/licenses/{license.id}/reveal")
    assert response.status_code == 403
    assert license.key not in response.get_data(as_text=True)
    assert _events("license.key_revealed") == []


def test_the_data_export_is_refused(client, support, customer):
    view_as(client, support, customer)
    assert client.get("/account/export").status_code == 403
    assert client.get("/account/export?format=json").status_code == 403
    assert _events("export.downloaded") == []


@pytest.mark.parametrize(
    "path",
    [
        "/account/two-factor",
        "/account/two-factor/enrol",
        "/account/two-factor/recovery-codes",
        "/account/two-factor/disable",
    ],
)
def test_two_factor_pages_are_refused(client, support, customer, path):
    view_as(client, support, customer)
    assert client.get(path).status_code == 403
    secrets = db.session.scalars(
        sa.select(TwoFactorSecret).where(TwoFactorSecret.account_id == customer.id)
    ).all()
    assert secrets == []


def test_the_account_page_lists_no_sessions_while_viewing_as(english, support, customer):
    login_as(in_english(english.application.test_client()), customer)  # the customer's own
    view_as(english, support, customer)
    page = english.get("/account").get_data(as_text=True)
    assert "Active sessions" not in page
    assert "Sign out everywhere else" not in page


def test_downloads_are_allowed_and_recorded_on_behalf_of_the_customer(
    client, support, customer, company
):
    make_license(company, maintenance_until=None)
    release_file = make_release("safelink").files[0]
    db.session.commit()
    view_as(client, support, customer)
    response = client.get(f"/downloads/files/{release_file.id}")
    assert response.status_code == 200
    [record] = db.session.scalars(sa.select(DownloadRecord)).all()
    assert record.account_id == customer.id
    assert record.impersonator_account_id == support.id
    [event] = _events("release.downloaded")
    assert (event.actor_account_id, event.acting_as_account_id) == (support.id, customer.id)
    assert event.company_id == company.id


# --- audit and transparency -----------------------------------------------------------------


def test_start_and_stop_events_carry_both_accounts_reason_address_and_times(
    client, support, customer
):
    view_as(client, support, customer, reason="ÄRENDE-4711")
    post(client, "/impersonation/stop")
    [started] = _events("impersonation.started")
    [stopped] = _events("impersonation.stopped")
    view = _views()[0]
    for event in (started, stopped):
        assert event.actor_account_id == support.id
        assert event.acting_as_account_id == customer.id
        assert event.subject_id == customer.id
        assert event.company_id == customer.company_id
        assert event.reason == "ÄRENDE-4711"
        assert event.ip_address == "127.0.0.1"
        assert event.details["impersonation_id"] == view.id
        assert event.details["started"] == view.started_dt.isoformat()
        assert event.details["expires"] == view.expires_dt.isoformat()
    assert stopped.details["ended"] == view.ended_dt.isoformat()
    assert stopped.details["end_reason"] == "stop"


def test_every_event_during_the_view_names_the_staff_member_and_the_customer(
    client, support, customer
):
    view_as(client, support, customer)
    post(client, "/account", {"name": "x"})  # refused, and audited
    client.get("/account/export")  # refused, and audited
    events = db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.id > _events("impersonation.started")[0].id,
        )
    ).all()
    assert len(events) >= 2
    for event in events:
        assert event.actor_account_id == support.id
        assert event.acting_as_account_id == customer.id


def test_the_company_admin_sees_the_view_in_the_activity_log(
    app, support, customer, company, make_account, frozen_clock
):
    admin = make_account("admin", company=company)
    db.session.commit()
    view_as(app.test_client(), support, customer, reason="ÄRENDE-1234")
    admin_client = in_english(app.test_client())
    login_as(admin_client, admin)
    page = admin_client.get("/company/activity").get_data(as_text=True)
    assert "Sven Support (support) started viewing the portal as Anna Kund: ÄRENDE-1234" in page
    assert '<time datetime="2026-11-02T09:00:00Z">2026-11-02 10:00</time>' in page


def test_the_viewed_person_sees_the_view_from_their_account_page(
    app, support, customer, frozen_clock
):
    view_as(app.test_client(), support, customer, reason="ÄRENDE-1234")
    own = in_english(app.test_client())
    login_as(own, customer)
    assert 'href="/account/support-views"' in own.get("/account").get_data(as_text=True)
    page = own.get("/account/support-views").get_data(as_text=True)
    assert (
        "Support Sven Support viewed the portal as Anna Kund on 2026-11-02 10:00: ÄRENDE-1234"
        in page
    )


def test_staff_admins_list_every_view(app, support, customer, make_account):
    view_as(app.test_client(), support, customer, reason="ÄRENDE-555")
    admin_client = app.test_client()
    login_as(admin_client, make_account("staff_admin"))
    page = admin_client.get("/staff/impersonations").get_data(as_text=True)
    assert "ÄRENDE-555" in page and "Sven Support" in page and "Anna Kund" in page


def test_the_trail_survives_the_purge_of_both_accounts(client, support, customer):
    view_as(client, support, customer)
    post(client, "/impersonation/stop")
    db.session.execute(sa.delete(Account).where(Account.id.in_([customer.id, support.id])))
    db.session.commit()
    [view] = _views()
    assert view.staff_account_id is None and view.customer_account_id is None
    assert view.reason == "ÄRENDE-1234"
    assert _events("impersonation.started") and _events("impersonation.stopped")
