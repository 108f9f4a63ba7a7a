"""The outbox: a mail exists only if its transaction commits; the outbox delivers it (never the
request), retries an unreachable server, keeps its live link sealed, and gives up in the end."""

import socket
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from jinja2 import ChoiceLoader, DictLoader

from portal import mail, transaction
from portal.db import db
from portal.i18n import force_language, gettext
from portal.mail import outbox
from portal.mail.models import OutboxMail

TEMPLATES = {
    "portal/mail/test_note.txt": (
        '{% set subject = _("Your account in the customer portal") %}'
        "Hello {{ name }},\n"
        "your licence ends on {{ ends_on|dateformat('long') }}.\n"
    ),
    "portal/mail/test_note.html": (
        "<p>Hello <strong>{{ name }}</strong>,</p>"
        "<p>your licence ends on {{ ends_on|dateformat('long') }}.</p>"
    ),
}
ENDS_ON = date(2026, 11, 2)


@pytest.fixture
def note_templates(app, monkeypatch):
    """A mail template with text and HTML parts, beside the portal's own templates."""
    _add_templates(app, monkeypatch, TEMPLATES)


def _add_templates(app, monkeypatch, templates: dict) -> None:
    env = app.extensions["portal_jinja"]  # the portal's own environment renders its mails
    monkeypatch.setattr(env, "loader", ChoiceLoader([DictLoader(templates), env.loader]))


@pytest.fixture
def smtp_down(app, monkeypatch):
    """Point the portal at a port where no SMTP server listens; undone by `smtp_down.undo()`."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    monkeypatch.setitem(app.config, "PORTAL_MAIL_URL", f"smtp://127.0.0.1:{closed_port}")
    return monkeypatch


def commit() -> None:
    """What a request or a job does at its end."""
    with transaction.step():
        pass


def queue_note(recipient="kund@example.com", language="sv", name="Karin"):
    return mail.queue(
        recipient, "portal/mail/test_note", language=language, name=name, ends_on=ENDS_ON
    )


def unsent() -> list[OutboxMail]:
    return db.session.scalars(sa.select(OutboxMail).where(OutboxMail.sent_dt.is_(None))).all()


def test_a_committed_mail_is_delivered_by_the_outbox_not_by_the_commit(
    app_ctx, note_templates, mailbox
):
    queue_note("karin@kund.example")
    commit()
    assert mailbox.catcher.messages == []  # the commit sends nothing itself
    assert outbox.deliver_due() == 1
    [delivered] = mailbox.catcher.to("karin@kund.example")
    assert "Hello Karin," in delivered.text
    assert "<strong>Karin</strong>" in delivered.html
    assert db.session.scalars(sa.select(OutboxMail.sent_dt)).one() is not None
    assert outbox.deliver_due() == 0  # once


def test_delivered_mail_has_subject_sender_and_recipient(app, app_ctx, note_templates, mailbox):
    queue_note("karin@kund.example", language="en")
    commit()
    [delivered] = mailbox.messages
    assert delivered.subject == "Your account in the customer portal"
    assert delivered.recipients == ["karin@kund.example"]
    assert delivered.message["From"] == app.config["PORTAL_MAIL_SENDER"]
    assert delivered.message.is_multipart()


def test_mail_is_written_in_the_recipients_language(app_ctx, note_templates, mailbox):
    queue_note("sv@kund.example", language="sv")
    queue_note("en@kund.example", language="en")
    commit()
    swedish, english = mailbox.to("sv@kund.example")[0], mailbox.to("en@kund.example")[0]
    assert "2 november 2026" in swedish.text
    assert "November 2, 2026" in english.text
    with force_language("sv"):
        assert swedish.subject == gettext("Your account in the customer portal")


def test_mail_without_html_template_is_plain_text(app_ctx, make_account, mailbox):
    from portal.accounts import service as accounts

    account = make_account("member", password=None)
    accounts.send_invitation(account, actor_label="test")
    commit()
    [delivered] = mailbox.to(account.email)
    assert delivered.html is None
    assert not delivered.message.is_multipart()
    assert delivered.path().startswith("/invite/")


def test_a_live_link_is_sealed_until_delivery_and_gone_after_it(app_ctx, make_account, mailbox):
    from portal.accounts import service as accounts

    account = make_account("member", password=None)
    accounts.send_invitation(account, actor_label="test")
    commit()
    [waiting] = unsent()
    assert "[[sealed:link]]" in waiting.body_text and "/invite/" not in waiting.body_text
    assert waiting.sealed and "/invite/" not in waiting.sealed
    [delivered] = mailbox.to(account.email)
    token = delivered.path().removeprefix("/invite/")
    assert len(token) > 20
    db.session.refresh(waiting)
    assert waiting.sealed is None
    assert token not in waiting.body_text


def test_a_sealed_link_opens_only_under_the_secret_key_that_sealed_it(
    app, app_ctx, make_account, mailbox, monkeypatch
):
    from portal.accounts import service as accounts

    account = make_account("member", password=None)
    accounts.send_invitation(account, actor_label="test")
    commit()
    monkeypatch.setitem(app.config, "SECRET_KEY", "another secret key after a rotation")
    assert mailbox.to(account.email) == []
    [set_aside] = db.session.scalars(sa.select(OutboxMail)).all()
    assert set_aside.failed_dt is not None and set_aside.sealed is None
    assert "cannot be written" in set_aside.last_error


def test_mail_of_a_rolled_back_transaction_is_never_sent(
    app_ctx, note_templates, mailbox, frozen_clock
):
    queue_note("rollback@kund.example")
    db.session.flush()
    db.session.rollback()
    frozen_clock.advance(timedelta(hours=2))
    assert mailbox.messages == []
    assert db.session.scalars(sa.select(OutboxMail)).all() == []


def test_mail_of_a_rolled_back_savepoint_is_never_sent(app_ctx, note_templates, mailbox):
    savepoint = db.session.begin_nested()
    queue_note("savepoint@kund.example")
    db.session.flush()
    savepoint.rollback()
    commit()
    assert mailbox.messages == []


def test_mail_queued_before_a_rolled_back_savepoint_still_goes_out(
    app_ctx, note_templates, mailbox
):
    queue_note("kept@kund.example")
    db.session.flush()
    savepoint = db.session.begin_nested()
    queue_note("dropped@kund.example")
    db.session.flush()
    savepoint.rollback()
    commit()
    assert [m.recipients for m in mailbox.messages] == [["kept@kund.example"]]


def test_mail_stays_in_outbox_when_smtp_server_is_unreachable(
    app_ctx, note_templates, smtp_down, mailbox, frozen_clock
):
    queue_note("later@kund.example")
    commit()
    assert mailbox.messages == []
    [waiting] = unsent()
    assert waiting.attempts == 1
    assert waiting.next_attempt_dt > frozen_clock.now()
    assert waiting.last_error and waiting.claimed_until is None


def test_the_next_attempt_waits_for_the_back_off(
    app_ctx, note_templates, smtp_down, mailbox, frozen_clock
):
    queue_note("later@kund.example")
    commit()
    outbox.deliver_due()
    smtp_down.undo()
    assert outbox.deliver_due() == 0
    assert mailbox.catcher.messages == []
    assert unsent()[0].attempts == 1


def test_the_waiting_mail_goes_out_once_the_server_is_back(
    app_ctx, note_templates, smtp_down, mailbox, frozen_clock
):
    queue_note("later@kund.example")
    commit()
    outbox.deliver_due()
    smtp_down.undo()
    frozen_clock.advance(timedelta(minutes=2))
    assert outbox.deliver_due() == 1
    assert len(mailbox.to("later@kund.example")) == 1
    assert unsent() == []


def test_each_failed_attempt_waits_longer(
    app_ctx, note_templates, smtp_down, mailbox, frozen_clock
):
    queue_note("later@kund.example")
    commit()
    outbox.deliver_due()
    [waiting] = unsent()
    first_wait = waiting.next_attempt_dt - frozen_clock.now()
    frozen_clock.advance(first_wait)
    outbox.deliver_due()
    db.session.refresh(waiting)
    assert waiting.attempts == 2
    assert waiting.next_attempt_dt - frozen_clock.now() > first_wait


def test_after_the_last_attempt_the_mail_is_set_aside_and_counted(
    app_ctx, note_templates, smtp_down, mailbox, frozen_clock
):
    queue_note("never@kund.example")
    commit()
    for _ in range(outbox.MAX_ATTEMPTS):
        outbox.deliver_due()
        frozen_clock.advance(timedelta(hours=2))
    [failed] = outbox.failed_mails()
    assert failed.attempts == outbox.MAX_ATTEMPTS and failed.failed_dt is not None
    assert (outbox.waiting_count(), outbox.failed_count()) == (0, 1)
    smtp_down.undo()
    assert outbox.deliver_due() == 0  # given up: not tried for ever


def test_a_mail_claimed_by_another_process_is_left_to_it(
    app_ctx, note_templates, mailbox, frozen_clock
):
    queue_note("claimed@kund.example")
    commit()
    [waiting] = unsent()
    waiting.claimed_until = frozen_clock.now() + outbox.CLAIM
    commit()
    assert outbox.deliver_due() == 0
    frozen_clock.advance(outbox.CLAIM + timedelta(seconds=1))
    assert outbox.deliver_due() == 1  # a process that died while sending is replaced
    assert len(mailbox.catcher.to("claimed@kund.example")) == 1


def test_mail_send_command_delivers_the_waiting_mails(
    app_ctx, runner, note_templates, mailbox, frozen_clock
):
    queue_note("now@kund.example")
    commit()
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert "1 sent, 0 waiting, 0 failed" in result.stderr
    assert len(mailbox.catcher.to("now@kund.example")) == 1


def test_console_mode_prints_the_mail_instead_of_sending(
    app, app_ctx, note_templates, mailbox, monkeypatch, capsys
):
    monkeypatch.setitem(app.config, "PORTAL_MAIL_URL", "console")
    queue_note("console@kund.example", language="en")
    commit()
    outbox.deliver_due()
    printed = capsys.readouterr().err
    assert "To: console@kund.example" in printed
    assert "Subject: Your account in the customer portal" in printed
    assert mailbox.catcher.messages == []
    assert unsent() == []


def test_subject_with_a_line_break_is_sent_on_one_line(app_ctx, monkeypatch, app, mailbox):
    templates = {"portal/mail/test_subject.txt": '{% set subject = "Note for " ~ name %}Hello'}
    _add_templates(app, monkeypatch, templates)
    mail.queue(
        "one@kund.example", "portal/mail/test_subject", name="Evil AB\nBcc: spy@evil.example"
    )
    commit()
    [delivered] = mailbox.messages
    assert delivered.subject == "Note for Evil AB Bcc: spy@evil.example"
    assert delivered.recipients == ["one@kund.example"]


def test_a_mail_that_cannot_be_written_does_not_block_the_others(
    app_ctx, note_templates, mailbox, frozen_clock
):
    broken = OutboxMail(recipient="bad\naddress@kund.example", subject="x", body_text="x")
    db.session.add(broken)
    queue_note("good@kund.example")
    commit()
    assert len(mailbox.to("good@kund.example")) == 1
    db.session.refresh(broken)
    assert broken.failed_dt is not None  # set aside, not retried for ever
    assert "cannot be written" in broken.last_error


class _Authenticator:
    def __init__(self):
        self.logins = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        self.logins.append(auth_data)
        return AuthResult(success=True)


@pytest.fixture
def smtp_with_clear_text_login():
    """A server that offers AUTH without TLS (the kind that would read the password)."""
    from aiosmtpd.controller import Controller

    from tests.conftest import MailCatcher, _free_port

    authenticator = _Authenticator()
    controller = Controller(
        MailCatcher(),
        hostname="127.0.0.1",
        port=_free_port(),
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    yield controller, authenticator
    controller.stop()


def test_password_is_never_sent_to_a_server_without_starttls(
    app, app_ctx, note_templates, smtp_with_clear_text_login, monkeypatch
):
    controller, authenticator = smtp_with_clear_text_login
    url = f"smtp://portal:s3cret@127.0.0.1:{controller.port}"
    monkeypatch.setitem(app.config, "PORTAL_MAIL_URL", url)
    queue_note("tls@kund.example")
    commit()
    outbox.deliver_due()
    assert authenticator.logins == []
    assert controller.handler.messages == []
    [waiting] = unsent()
    assert "STARTTLS" in waiting.last_error


@pytest.fixture
def smtps_with_self_signed_certificate(tmp_path):
    """An SMTP server with implicit TLS and a certificate nobody vouches for."""
    import shutil
    import ssl
    import subprocess

    from aiosmtpd.controller import Controller

    from tests.conftest import MailCatcher, _free_port

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    controller = Controller(
        MailCatcher(), hostname="127.0.0.1", port=_free_port(), ssl_context=context
    )
    controller.start()
    yield controller
    controller.stop()


def test_smtps_refuses_a_server_whose_certificate_cannot_be_verified(
    app, app_ctx, note_templates, smtps_with_self_signed_certificate, monkeypatch
):
    controller = smtps_with_self_signed_certificate
    monkeypatch.setitem(app.config, "PORTAL_MAIL_URL", f"smtps://127.0.0.1:{controller.port}")
    queue_note("tls@kund.example")
    commit()
    outbox.deliver_due()
    outbox.deliver_due()
    assert controller.handler.messages == []
    [waiting] = unsent()
    assert "certificate" in waiting.last_error.lower()
