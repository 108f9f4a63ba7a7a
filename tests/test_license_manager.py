"""The company admin chooses the license manager: a person at once, a function address once
someone there confirms the mailed link. Driven through the pages and the real SMTP catcher."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from limits import parse_many

from portal import ratelimit
from portal.accounts import service as accounts
from portal.accounts import tokens
from portal.accounts.models import AccountKind, CompanyRole
from portal.audit import AuditEvent
from portal.db import db
from portal.licenses import manager
from portal.licenses.models import PendingManagerDesignation
from tests.factories import (
    csrf_token,
    designate_license_manager,
    login,
    login_as,
    make_account,
    post,
)

PAGE = "/licenses/manager"
NEW_PASSWORD = "licenses are managed here 2026"


@pytest.fixture
def client(app):
    """The pages in English, so that the assertions do not depend on the Swedish catalog."""
    client = app.test_client()
    client.set_cookie("portal_lang", "en")
    return client


@pytest.fixture
def anonymous(app):
    def new_client():
        client = app.test_client()
        client.set_cookie("portal_lang", "en")
        return client

    return new_client


def person(role, company, **kwargs):
    account = make_account(role, company=company, **kwargs)
    account.language = "en"
    db.session.flush()
    return account


@pytest.fixture
def admin(make_company):
    return person("admin", make_company("Kund AB"), name="Karin Admin")


@pytest.fixture
def old_manager(admin):
    account = person("member", admin.company, name="Olle Gammal", email="olle@kund.example")
    designate_license_manager(account)
    return account


def choose_person(client, account_id):
    return post(client, PAGE, {"choice": "personal", "account": str(account_id)}, page=PAGE)


def choose_address(client, email):
    return post(client, PAGE, {"choice": "function", "email": email}, page=PAGE)


def confirm(client, path, password=NEW_PASSWORD):
    token = csrf_token(client, "/login")
    return client.post(path, data={"password": password, "confirm": password, "csrf_token": token})


def actions(company):
    return db.session.scalars(
        sa.select(AuditEvent.action)
        .where(AuditEvent.company_id == company.id, AuditEvent.action.like("manager.%"))
        .order_by(AuditEvent.id)
    ).all()


def function_account(address):
    db.session.expire_all()
    return accounts.find_by_email(address)


# --- choosing a person ------------------------------------------------------------------------


def test_admin_sees_the_current_manager_and_the_choices(client, admin, old_manager):
    colleague = person("member", admin.company, name="Cecilia Kollega")
    login_as(client, admin)
    page = client.get(PAGE).get_data(as_text=True)
    assert "Olle Gammal (olle@kund.example)" in page
    assert f'value="{colleague.id}"' in page
    assert 'name="email"' in page


def test_personal_designation_takes_effect_at_once_and_both_are_told(
    client, admin, old_manager, mailbox
):
    successor = person("member", admin.company, name="Nina Ny", email="nina@kund.example")
    login_as(client, admin)

    response = choose_person(client, successor.id)

    assert response.status_code == 302
    db.session.expire_all()
    assert accounts.is_license_manager(successor)
    assert not accounts.is_license_manager(old_manager)
    [to_new] = mailbox.to("nina@kund.example")
    [to_old] = mailbox.to("olle@kund.example")
    assert "You now manage the licenses of Kund AB" in to_new.subject
    assert "Karin Admin has chosen you" in to_new.text
    assert "You no longer manage the licenses of Kund AB" in to_old.subject
    assert "Nina Ny" in to_old.text
    assert actions(admin.company) == ["manager.designated"]


def test_first_designation_tells_the_new_manager(client, admin, mailbox):
    login_as(client, admin)
    choose_person(client, admin.id)
    assert accounts.is_license_manager(admin)
    assert [mail.recipients for mail in mailbox.messages] == [[admin.email]]


def test_member_of_another_company_cannot_be_chosen(client, admin, make_account, mailbox):
    stranger = make_account("member", email="stranger@other.example")
    login_as(client, admin)
    response = choose_person(client, stranger.id)
    assert response.status_code == 200
    assert "Choose one of your company&#39;s active users." in response.get_data(as_text=True)
    assert not accounts.is_license_manager(stranger)
    assert mailbox.messages == []


def test_deactivated_person_cannot_be_chosen(client, admin, mailbox):
    leaver = person("member", admin.company, email="leaver@kund.example")
    leaver.is_active = False
    db.session.flush()
    login_as(client, admin)
    assert f'value="{leaver.id}"' not in client.get(PAGE).get_data(as_text=True)
    assert choose_person(client, leaver.id).status_code == 200
    assert accounts.current_manager(admin.company) is None
    assert mailbox.messages == []


# --- choosing a function address --------------------------------------------------------------


def test_function_address_is_pending_until_confirmed(
    client, anonymous, admin, old_manager, mailbox
):
    login_as(client, admin)

    response = choose_address(client, "Licenses@Kund.example")

    assert response.status_code == 302
    account = function_account("licenses@kund.example")
    assert account.kind == AccountKind.FUNCTION
    assert account.name is None
    assert account.company_id == admin.company_id
    assert account.company_role == CompanyRole.MEMBER
    assert not accounts.is_license_manager(account)
    assert accounts.is_license_manager(old_manager)
    page = client.get(PAGE).get_data(as_text=True)
    assert "Waiting for confirmation" in page
    assert "licenses@kund.example" in page
    assert "Olle Gammal" in page
    [link_mail] = mailbox.to("licenses@kund.example")
    assert mailbox.to("olle@kund.example") == []

    response = confirm(anonymous(), link_mail.path())

    assert response.status_code == 302
    db.session.expire_all()
    assert accounts.is_license_manager(account)
    assert not accounts.is_license_manager(old_manager)
    assert manager.pending_change(admin.company) is None


def test_confirmation_page_says_who_chose_what_for_which_company(client, anonymous, admin, mailbox):
    login_as(client, admin)
    choose_address(client, "licenses@kund.example")
    [link_mail] = mailbox.to("licenses@kund.example")
    assert "Kund AB has chosen this address, licenses@kund.example," in link_mail.text
    assert "Karin Admin" not in link_mail.text  # no text chosen by the sender
    assert "72 hours" in link_mail.text

    page = anonymous().get(link_mail.path()).get_data(as_text=True)

    assert "Kund AB has chosen licenses@kund.example to manage its licenses" in page
    assert "Karin Admin" not in page
    assert 'name="password"' in page


def test_function_account_signs_in_with_the_password_it_set(
    client, anonymous, admin, old_manager, mailbox
):
    login_as(client, admin)
    choose_address(client, "licenses@kund.example")
    [link_mail] = mailbox.to("licenses@kund.example")
    assert login(anonymous(), "licenses@kund.example", NEW_PASSWORD).status_code == 200

    browser = anonymous()
    response = confirm(browser, link_mail.path())
    assert response.headers["Location"] == "/"
    assert browser.get("/").status_code == 200

    elsewhere = anonymous()
    response = login_as(elsewhere, function_account("licenses@kund.example"), NEW_PASSWORD)
    assert response.status_code == 302
    assert elsewhere.get("/").status_code == 200


def test_old_and_new_manager_are_told_when_the_function_address_confirms(
    client, anonymous, admin, old_manager, mailbox
):
    login_as(client, admin)
    choose_address(client, "licenses@kund.example")
    [link_mail] = mailbox.to("licenses@kund.example")

    confirm(anonymous(), link_mail.path())

    to_function = mailbox.to("licenses@kund.example")
    assert len(to_function) == 2
    assert "You now manage the licenses of Kund AB" in to_function[1].subject
    [to_old] = mailbox.to("olle@kund.example")
    assert "You no longer manage the licenses of Kund AB" in to_old.subject
    assert "licenses@kund.example" in to_old.text


def test_every_step_of_a_function_designation_is_audited(
    client, anonymous, admin, old_manager, mailbox
):
    login_as(client, admin)
    choose_address(client, "first@kund.example")
    choose_address(client, "licenses@kund.example")
    link_mail = mailbox.to("licenses@kund.example")[0]
    confirm(anonymous(), link_mail.path())

    assert actions(admin.company) == [
        "manager.designation_requested",
        "manager.confirmation_sent",
        "manager.request_replaced",
        "manager.designation_requested",
        "manager.confirmation_sent",
        "manager.confirmed",
        "manager.designated",
    ]
    details = db.session.scalars(
        sa.select(AuditEvent.details).where(AuditEvent.company_id == admin.company_id)
    ).all()
    assert not any(NEW_PASSWORD in str(value) for value in details)


def test_confirmation_link_is_valid_for_72_hours(
    client, anonymous, admin, old_manager, mailbox, frozen_clock
):
    login_as(client, admin)
    choose_address(client, "licenses@kund.example")
    [link_mail] = mailbox.to("licenses@kund.example")

    frozen_clock.advance(timedelta(hours=71, minutes=59))
    assert anonymous().get(link_mail.path()).status_code == 200
    frozen_clock.advance(timedelta(minutes=1))
    response = anonymous().get(link_mail.path())

    assert response.status_code == 410
    assert "This link has expired." in response.get_data(as_text=True)
    assert confirm(anonymous(), link_mail.path()).status_code == 410
    db.session.expire_all()
    assert accounts.is_license_manager(old_manager)
    assert manager.pending_change(admin.company) is None


def test_a_used_link_says_so(client, anonymous, admin, mailbox):
    login_as(client, admin)
    choose_address(client, "licenses@kund.example")
    [link_mail] = mailbox.to("licenses@kund.example")
    confirm(anonymous(), link_mail.path())

    response = anonymous().get(link_mail.path())

    assert response.status_code == 410
    assert "already been used" in response.get_data(as_text=True)


def test_an_unknown_link_is_not_found(anonymous):
    response = anonymous().get("/licenses/manager/confirm/no-such-token")
    assert response.status_code == 404
    assert "This link is not valid" in response.get_data(as_text=True)


def test_newer_choice_replaces_a_pending_one(client, anonymous, admin, old_manager, mailbox):
    login_as(client, admin)
    choose_address(client, "first@kund.example")
    choose_address(client, "second@kund.example")
    [first_link] = mailbox.to("first@kund.example")
    [second_link] = mailbox.to("second@kund.example")

    refused = anonymous().get(first_link.path())
    assert refused.status_code == 410
    assert "replaced by a newer one" in refused.get_data(as_text=True)
    assert confirm(anonymous(), first_link.path()).status_code == 410
    db.session.expire_all()
    assert accounts.is_license_manager(old_manager)
    # The function account made for the replaced choice was never used: it cannot sign in.
    assert not function_account("first@kund.example").is_active

    assert confirm(anonymous(), second_link.path()).status_code == 302
    assert accounts.is_license_manager(function_account("second@kund.example"))


def test_the_same_address_again_sends_a_new_link_and_the_old_one_stops(
    client, anonymous, admin, mailbox
):
    login_as(client, admin)
    choose_address(client, "licenses@kund.example")
    choose_address(client, "licenses@kund.example")
    first, second = mailbox.to("licenses@kund.example")
    assert first.path() != second.path()
    assert anonymous().get(first.path()).status_code == 410
    assert anonymous().get(second.path()).status_code == 200


def test_a_confirmation_racing_a_newer_choice_loses(client, admin, old_manager, mailbox):
    login_as(client, admin)
    choose_address(client, "first@kund.example")
    token = mailbox.to("first@kund.example")[0].path().rsplit("/", 1)[1]
    confirmation, problem = manager.find_confirmation(token)  # the form was shown
    assert problem is None
    manager.designate_function_address(admin.company, "second@kund.example", admin)

    assert manager.confirm(confirmation, NEW_PASSWORD) == tokens.TokenProblem.CANCELLED
    assert accounts.is_license_manager(old_manager)


def test_two_confirmations_of_one_link_take_effect_once(client, admin, mailbox):
    login_as(client, admin)
    choose_address(client, "licenses@kund.example")
    token = mailbox.to("licenses@kund.example")[0].path().rsplit("/", 1)[1]
    first, _ = manager.find_confirmation(token)
    second, _ = manager.find_confirmation(token)

    assert manager.confirm(first, NEW_PASSWORD) is None
    assert manager.confirm(second, "another password entirely") == tokens.TokenProblem.USED
    assert accounts.is_license_manager(function_account("licenses@kund.example"))


def test_an_address_chosen_again_after_being_replaced_gets_a_working_link(
    client, anonymous, admin, mailbox
):
    login_as(client, admin)
    choose_address(client, "licenses@kund.example")
    choose_address(client, "other@kund.example")
    choose_address(client, "licenses@kund.example")
    first, second = mailbox.to("licenses@kund.example")

    assert anonymous().get(first.path()).status_code == 410
    assert confirm(anonymous(), second.path()).status_code == 302
    account = function_account("licenses@kund.example")
    assert account.is_active
    assert accounts.is_license_manager(account)


def test_choosing_a_person_replaces_a_pending_function_address(
    client, anonymous, admin, old_manager, mailbox
):
    successor = person("member", admin.company, email="nina@kund.example")
    login_as(client, admin)
    choose_address(client, "licenses@kund.example")
    [link_mail] = mailbox.to("licenses@kund.example")

    choose_person(client, successor.id)

    assert anonymous().get(link_mail.path()).status_code == 410
    db.session.expire_all()
    assert accounts.is_license_manager(successor)
    assert manager.pending_change(admin.company) is None


def test_choosing_the_current_manager_again_withdraws_the_pending_change(
    client, anonymous, admin, old_manager, mailbox
):
    login_as(client, admin)
    choose_address(client, "licenses@kund.example")
    [link_mail] = mailbox.to("licenses@kund.example")

    response = choose_person(client, old_manager.id)

    assert response.status_code == 302
    assert "The pending change is withdrawn" in client.get(PAGE).get_data(as_text=True)
    assert anonymous().get(link_mail.path()).status_code == 410
    assert accounts.is_license_manager(old_manager)
    assert mailbox.to("olle@kund.example") == []


def test_choosing_the_current_manager_with_nothing_pending_is_a_form_error(
    client, admin, old_manager, mailbox
):
    login_as(client, admin)
    response = choose_person(client, old_manager.id)
    assert response.status_code == 200
    assert "Olle Gammal already manages the licenses." in response.get_data(as_text=True)
    assert mailbox.messages == []


def test_names_in_form_errors_are_escaped(client, admin):
    manager_with_markup = person("member", admin.company, name="<b>Bold</b>")
    designate_license_manager(manager_with_markup)
    login_as(client, admin)
    page = choose_person(client, manager_with_markup.id).get_data(as_text=True)
    assert "&lt;b&gt;Bold&lt;/b&gt; already manages the licenses." in page
    assert "<b>Bold</b>" not in page


def test_a_confirmed_function_address_can_be_replaced_by_a_person(
    client, anonymous, admin, mailbox
):
    login_as(client, admin)
    choose_address(client, "licenses@kund.example")
    confirm(anonymous(), mailbox.to("licenses@kund.example")[0].path())
    successor = person("member", admin.company, email="nina@kund.example")

    choose_person(client, successor.id)

    db.session.expire_all()
    assert accounts.is_license_manager(successor)
    told = mailbox.to("licenses@kund.example")[-1]
    assert "You no longer manage the licenses" in told.subject
    # A confirmed function account stays: it has a password and may be chosen again.
    assert function_account("licenses@kund.example") is not None


# --- refused addresses ------------------------------------------------------------------------


@pytest.mark.parametrize("owner", ["other_company", "staff"])
def test_address_of_another_company_or_of_staff_is_refused_and_nothing_is_mailed(
    client, admin, old_manager, make_account, mailbox, owner
):
    if owner == "staff":
        make_account("support", email="someone@vendor.example")
        address = "someone@vendor.example"
    else:
        make_account("member", email="someone@other.example")
        address = "someone@other.example"
    login_as(client, admin)

    response = choose_address(client, address.upper())

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="email-error"' in page
    assert "This address cannot be used." in page
    assert f'value="{address.upper()}"' in page  # what was typed is kept
    assert mailbox.messages == []
    assert db.session.scalar(sa.select(PendingManagerDesignation.id)) is None
    db.session.expire_all()
    assert accounts.is_license_manager(old_manager)
    assert actions(admin.company) == ["manager.designation_refused"]


def test_address_of_a_person_in_the_company_points_to_the_list(client, admin, mailbox):
    person("member", admin.company, email="nina@kund.example")
    login_as(client, admin)
    response = choose_address(client, "nina@kund.example")
    assert response.status_code == 200
    assert "Choose the person in the list instead." in response.get_data(as_text=True)
    assert mailbox.messages == []


# --- who may, and bad input -------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, field",
    [
        ({}, "choice"),
        ({"choice": "everyone"}, "choice"),
        ({"choice": "personal"}, "account"),
        ({"choice": "personal", "account": "not-a-number"}, "account"),
        ({"choice": "personal", "account": "999999999"}, "account"),
        ({"choice": "personal", "account": ["x", "y"]}, "account"),
        ({"choice": "function"}, "email"),
        ({"choice": "function", "email": "   "}, "email"),
        ({"choice": "function", "email": "not an address"}, "email"),
        ({"choice": "function", "email": "a@" + "b" * 300 + ".se"}, "email"),
        ({"choice": "function", "email": "x@kund.example\r\nBcc: y@evil.example"}, "email"),
    ],
)
def test_bad_input_is_answered_with_an_error_beside_the_field(client, admin, mailbox, data, field):
    login_as(client, admin)
    response = post(client, PAGE, data, page=PAGE)
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert mailbox.messages == []
    assert accounts.current_manager(admin.company) is None


def test_a_form_without_csrf_token_is_refused(client, admin):
    login_as(client, admin)
    response = client.post(PAGE, data={"choice": "personal", "account": str(admin.id)})
    assert response.status_code == 400
    assert accounts.current_manager(admin.company) is None


def test_a_confirmation_with_a_weak_password_keeps_the_link_usable(
    client, anonymous, admin, mailbox
):
    login_as(client, admin)
    choose_address(client, "licenses@kund.example")
    [link_mail] = mailbox.to("licenses@kund.example")

    response = confirm(anonymous(), link_mail.path(), password="short")

    assert response.status_code == 200
    assert 'id="password-error"' in response.get_data(as_text=True)
    assert not accounts.is_license_manager(function_account("licenses@kund.example"))
    assert confirm(anonymous(), link_mail.path()).status_code == 302


# --- who receives the license notices ---------------------------------------------------------


def test_notices_go_to_the_manager(admin, old_manager):
    assert manager.recipients_for_license_notices(admin.company) == [old_manager]


def test_notices_go_to_the_active_admins_without_a_manager(admin):
    second = person("admin", admin.company)
    person("member", admin.company)
    retired = person("admin", admin.company)
    retired.is_active = False
    assert manager.recipients_for_license_notices(admin.company) == [admin, second]


def test_notices_go_to_the_admins_when_the_manager_is_deactivated(admin, old_manager):
    old_manager.is_active = False
    assert manager.recipients_for_license_notices(admin.company) == [admin]


def test_the_menu_links_the_page_for_admins_only(client, admin, old_manager):
    login_as(client, admin)
    assert f'href="{PAGE}"' in client.get("/").get_data(as_text=True)
    member_browser = client.application.test_client()
    login_as(member_browser, old_manager)
    assert f'href="{PAGE}"' not in member_browser.get("/").get_data(as_text=True)


# --- abuse of the confirmation mail -----------------------------------------------------------

PHISHING = "VIKTIGT: Betala fakturan idag\nhttp://evil.example/betala"


def test_the_confirmation_mail_carries_no_text_chosen_by_the_sender(
    client, anonymous, admin, mailbox
):
    """The finding: the admin's name (newlines and a URL) went in the mail to any address. A
    name like that is refused now, and one stored before the rule still never reaches the mail:
    it says only the company's registered name."""
    admin.name = PHISHING  # as stored before names were checked
    db.session.flush()
    login_as(client, admin)
    choose_address(client, "outside@elsewhere.example")
    [link_mail] = mailbox.to("outside@elsewhere.example")
    assert "evil.example" not in link_mail.text and "VIKTIGT" not in link_mail.text
    assert "evil.example" not in link_mail.subject
    assert "Kund AB" in link_mail.text
    page = anonymous().get(link_mail.path()).get_data(as_text=True)
    assert "evil.example" not in page


def test_designations_to_one_address_are_limited(client, admin, mailbox):
    login_as(client, admin)
    statuses = [choose_address(client, "outside@elsewhere.example").status_code for _ in range(5)]
    sent = len(mailbox.to("outside@elsewhere.example"))
    assert sent == manager_limit(ratelimit.MAILS_TO_ONE_ADDRESS)
    assert statuses[:sent] == [302] * sent and set(statuses[sent:]) == {200}
    page = choose_address(client, "outside@elsewhere.example").get_data(as_text=True)
    assert "Too many mails" in page


def test_designations_of_one_company_are_limited(client, admin, mailbox):
    login_as(client, admin)
    limit = manager_limit(ratelimit.DESIGNATIONS_PER_COMPANY)
    for n in range(limit + 2):
        choose_address(client, f"address{n}@elsewhere.example")
    sent = [n for n in range(limit + 2) if mailbox.to(f"address{n}@elsewhere.example")]
    assert sent == list(range(limit))
    assert "Too many" in choose_address(client, "late@elsewhere.example").get_data(as_text=True)


def manager_limit(limits: str) -> int:
    return min(item.amount for item in parse_many(limits))
