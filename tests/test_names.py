"""A person's name is one line of printable text of a sensible length, wherever it is entered:
the profile, an invitation, the command line and the service every one of them calls."""

import pytest
import sqlalchemy as sa

from portal.accounts import names, service
from portal.accounts.models import Account, CompanyRole
from portal.contacts.models import Contact
from portal.db import db
from portal.refusals import Refusal
from tests.factories import PASSWORD, login_as, post
from tests.test_cli import invoke, stderr_lines

pytestmark = pytest.mark.english

PHISHING = "Karin\nVIKTIGT: Betala fakturan nu: http://evil.example/betala"
BAD_NAMES = [
    PHISHING,
    "Karin\r\nEk",
    "Karin\tEk",
    "Karin\x00Ek",
    "Karin\u2028Ek",  # a line separator
    "Karin\u202eEk",  # right-to-left override: shows text other than what is stored
    "Karin\u200bEk",  # zero-width space
    "K" * (names.NAME_MAX_LENGTH + 1),
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_the_rule_refuses_control_characters_line_breaks_and_overlong_names(app_ctx, name):
    with pytest.raises(Refusal) as refused:
        names.clean_name(name)
    assert refused.value.field == "name"


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("  Karin   Ek ", "Karin Ek"),
        ("Åsa Öberg-Ström", "Åsa Öberg-Ström"),
        ("Zoë O'Neill", "Zoë O'Neill"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_the_rule_keeps_ordinary_names(app_ctx, typed, kept):
    assert names.clean_name(typed) == kept


# (A NUL byte never reaches a form: the portal answers 400 to it before any view.)
@pytest.mark.parametrize("name", [name for name in BAD_NAMES if "\x00" not in name])
def test_the_profile_refuses_a_bad_name_beside_the_field(client, make_account, name):
    account = make_account("member", name="Karin Ek")
    login_as(client, account)
    response = post(
        client, "/account", {"name": name, "phone": "", "language": "en"}, page="/account"
    )
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    db.session.refresh(account)
    assert account.name == "Karin Ek"


def test_the_profile_saves_a_good_name_tidied(client, make_account):
    account = make_account("member")
    login_as(client, account)
    response = post(
        client,
        "/account",
        {"name": "  Karin   Ek ", "phone": "", "language": "en"},
        page="/account",
    )
    assert response.status_code == 302
    db.session.refresh(account)
    assert account.name == "Karin Ek"


def test_an_invitation_refuses_a_bad_name(client, make_account, mailbox):
    admin = make_account("admin")
    login_as(client, admin)
    response = post(
        client,
        "/company/users",
        {"email": "new@example.com", "name": PHISHING, "role": "member"},
        page="/company/users",
    )
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert not db.session.scalars(
        sa.select(Account).where(Account.email == "new@example.com")
    ).all()
    assert mailbox.to("new@example.com") == []


def test_the_service_refuses_a_bad_name_whoever_calls_it(app_ctx, make_company):
    company = make_company()
    with pytest.raises(Refusal):
        service.add_account(
            "new@example.com", company=company, company_role=CompanyRole.MEMBER, name=PHISHING
        )


def test_the_command_line_refuses_a_bad_name_with_one_line(runner, make_company):
    company = make_company()
    result = invoke(
        runner, "user", "add", "karin@kund.example", "--company", company.id, "--role", "member",
        "--name", PHISHING, "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code != 0
    assert len(stderr_lines(result)) == 1
    assert not db.session.scalars(
        sa.select(Account).where(Account.email == "karin@kund.example")
    ).all()


def test_a_contact_name_follows_the_same_rule(client, make_account):
    admin = make_account("admin")
    login_as(client, admin)
    data = {
        "kind": "personal",
        "name": PHISHING,
        "email": "anna.berg@example.com",
        "phone": "070-123 45 67",
        "technical_contact": "y",
    }
    response = post(client, "/contacts/new", data, page="/contacts/")
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert not db.session.scalars(sa.select(Contact)).all()
