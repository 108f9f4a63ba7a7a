"""No request waits on SMTP, and no table holds a link that works.

A request only writes its mail to the outbox; the outbox delivers it later. Links with tokens
are sealed until delivery and dropped after it, and tokens are stored only as hashes.
"""

import json
import socket
import threading

import pytest
import sqlalchemy as sa

from portal import sealing
from portal.db import db
from portal.mail.models import OutboxMail
from tests.factories import login_as, post, request_password_reset


class HungRelay:
    """A mail server that accepts connections and never says a word."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.port = self.server.getsockname()[1]
        self.connections = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections.append(connection)

    def close(self):
        self.server.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def hung_relay(app, monkeypatch):
    relay = HungRelay()
    monkeypatch.setitem(app.config, "PORTAL_MAIL_URL", f"smtp://127.0.0.1:{relay.port}")
    yield relay
    relay.close()


def test_password_reset_answers_without_talking_to_a_hung_relay_and_mails_later(
    app, client, make_account, mailbox, hung_relay, monkeypatch, smtp_server
):
    account = make_account("member")
    known = request_password_reset(client, account.email)
    unknown = request_password_reset(client, "nobody@example.com")
    # Neither answer waited on the relay: no request even connected to it.
    assert hung_relay.connections == []
    assert (known.status_code, unknown.status_code) == (200, 200)
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(OutboxMail).where(OutboxMail.sent_dt.is_(None))
        )
        == 1
    )
    # Once the relay works, the waiting mail goes out (the scheduler's job).
    monkeypatch.setitem(app.config, "PORTAL_MAIL_URL", f"smtp://127.0.0.1:{smtp_server.port}")
    assert len(mailbox.to(account.email)) == 1


def _text_columns():
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, sa.String | sa.Text | sa.JSON):
                yield table, column


def _readable_values() -> list[str]:
    values = []
    for _table, column in _text_columns():
        as_text = sa.cast(column, sa.Text) if isinstance(column.type, sa.JSON) else column
        values += [v for v in db.session.scalars(sa.select(as_text)) if v]
    return values


def _no_token_anywhere(tokens: list[str]) -> None:
    values = _readable_values()
    found = [(token, value[:80]) for token in tokens for value in values if token in value]
    assert not found, f"live tokens readable in the database: {found}"


def test_no_table_holds_a_live_link_before_or_after_delivery(app, client, make_account, mailbox):
    admin = make_account("admin")
    member = make_account("member", company=admin.company, email="anna@kund.example")
    login_as(client, admin)
    post(client, "/company/users", {"email": "ny@kund.example", "role": "member"}, "/company/users")
    post(
        client,
        "/licenses/manager",
        {"choice": "function", "email": "licenser@kund.example"},
        "/licenses/manager",
    )
    other = app.test_client()
    request_password_reset(other, member.email)
    login_as(other, member)
    post(
        other,
        "/account/email",
        {"email": "anna.ny@kund.example", "current_password": "correct horse battery staple 42"},
        "/account/email",
    )

    # Before delivery: the links exist only sealed (opened here with the portal's own key).
    sealed = db.session.scalars(sa.select(OutboxMail.sealed).where(OutboxMail.sealed.is_not(None)))
    links = [
        link for value in sealed for link in json.loads(sealing.unseal(value, "outbox")).values()
    ]
    tokens = [link.rsplit("/", 1)[-1] for link in links]
    assert len(tokens) == 4  # invitation, manager confirmation, reset, email change
    _no_token_anywhere(tokens)

    addresses = ("ny@kund.example", "licenser@kund.example", member.email, "anna.ny@kund.example")
    mails = [mail for address in addresses for mail in mailbox.to(address)]
    assert {token for token in tokens for mail in mails if token in mail.text} == set(tokens)
    _no_token_anywhere(tokens)  # after delivery


def test_staff_admins_see_the_mails_the_outbox_gave_up_on(
    client, make_account, mailbox, frozen_clock
):
    from portal.mail import outbox

    account = make_account("member", email="gone@kund.example")
    failed = OutboxMail(
        recipient=account.email,
        subject="Återställ ditt lösenord",
        body_text="x",
        attempts=outbox.MAX_ATTEMPTS,
        failed_dt=frozen_clock.now(),
        last_error="550 mailbox unavailable",
    )
    db.session.add(failed)
    db.session.commit()
    login_as(client, make_account("staff_admin"))
    page = client.get("/staff/retention/").get_data(as_text=True)
    assert "gone@kund.example" in page and "550 mailbox unavailable" in page
