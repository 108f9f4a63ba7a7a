"""The outbox: a mail is a row written in the transaction of the action that causes it.

No request waits on SMTP. A request (or a command, or a job) only writes the mail; the scheduler
delivers waiting mails within seconds (`portal scheduler`, or the background scheduler of
`make run`), and `portal mail send` delivers them at once. A mail of an action that rolls back
never exists. Each delivery attempt is a step of its own: the mail is claimed (so that two
processes never send it at once), sent outside any database transaction, and its outcome
recorded; an unreachable server means another attempt later, after a growing pause, and after
`MAX_ATTEMPTS` the mail is set aside as failed (shown to staff admins, counted in /readyz).

A live link in a mail (`Secret`, e.g. a password reset link) is never stored readable: the stored
body holds a placeholder, the value is sealed (`portal.sealing`) until delivery and dropped
right after it, so a copy of this table holds no link that works.
"""

import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import sqlalchemy as sa
from flask import current_app
from jinja2 import TemplateNotFound
from markupsafe import escape

from portal import clock, rendering, sealing, transaction
from portal.db import db
from portal.i18n import force_language
from portal.mail import transport
from portal.mail.models import OutboxMail

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 20
# A claimed mail belongs to the process sending it this long: more than one SMTP exchange takes
# (transport.SMTP_TIMEOUT_SECONDS), so a process that died while sending is replaced after it.
CLAIM = timedelta(minutes=2)
DELIVERY_BATCH = 100
_SEALED = "outbox"


@dataclass(frozen=True)
class Secret:
    """A value of a mail's context that must not be stored readable: a link with a token."""

    value: str


def _placeholder(name: str) -> str:
    return f"[[sealed:{name}]]"


def queue(recipient: str, template: str, *, language: str = "sv", **context) -> OutboxMail:
    """Render `<template>.txt` (and `.html` where it exists) into the outbox.

    `template` names a feature's mail, e.g. `portal/accounts/mail/invitation`. The text template
    sets `subject`; both are rendered in the recipient's language. Values given as `Secret` are
    rendered as placeholders and sealed until delivery.
    """
    secrets = {name: value.value for name, value in context.items() if isinstance(value, Secret)}
    context = {name: _placeholder(name) if name in secrets else v for name, v in context.items()}
    env = rendering.environment()
    with force_language(language):
        text_module = env.get_template(f"{template}.txt").make_module(context)
        # One line: a line break in a header would end the mail's headers (header injection).
        subject = " ".join(str(getattr(text_module, "subject", "")).split())
        body_text = str(text_module).strip() + "\n"
        try:
            html_template = env.get_template(f"{template}.html")
        except TemplateNotFound:
            body_html = None
        else:
            body_html = html_template.render(context)
    mail = OutboxMail(
        recipient=recipient,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        sealed=sealing.seal(json.dumps(secrets), _SEALED) if secrets else None,
        next_attempt_dt=clock.now(),
    )
    db.session.add(mail)
    return mail


def _waiting():
    return (OutboxMail.sent_dt.is_(None), OutboxMail.failed_dt.is_(None))


def waiting_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(OutboxMail.id)).where(*_waiting()))


def failed_mails(limit: int = 100) -> list[OutboxMail]:
    """The mails the outbox gave up on, newest first (for staff admins)."""
    return list(
        db.session.scalars(
            sa.select(OutboxMail)
            .where(OutboxMail.failed_dt.is_not(None))
            .order_by(OutboxMail.failed_dt.desc(), OutboxMail.id.desc())
            .limit(limit)
        )
    )


def failed_count() -> int:
    return db.session.scalar(
        sa.select(sa.func.count(OutboxMail.id)).where(OutboxMail.failed_dt.is_not(None))
    )


def deliver_due(limit: int = DELIVERY_BATCH) -> int:
    """Send the mails that are due, each attempt a step of its own; how many went out.

    Call it outside a unit of work (the scheduler's job, `portal mail send`).
    """
    with transaction.step():
        now = clock.now()
        due = db.session.scalars(
            sa.select(OutboxMail.id)
            .where(
                *_waiting(),
                OutboxMail.next_attempt_dt <= now,
                sa.or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now),
            )
            .order_by(OutboxMail.id)
            .limit(limit)
        ).all()
    mail_url = current_app.config["PORTAL_MAIL_URL"]
    sender = current_app.config["PORTAL_MAIL_SENDER"]
    sent = 0
    for mail_id in due:
        with transaction.step():
            message = _claim(mail_id, sender)
        if message is None:
            continue
        try:
            transport.send(mail_url, message)
        except transport.MailTransportError as error:
            problem = str(error)
        else:
            problem = None
            sent += 1
        with transaction.step():
            _record_attempt(mail_id, problem)
    return sent


def _claim(mail_id: int, sender: str) -> EmailMessage | None:
    """Take the mail for this process and write its message; None if another process has it."""
    now = clock.now()
    claimed = db.session.execute(
        sa.update(OutboxMail)
        .where(
            OutboxMail.id == mail_id,
            *_waiting(),
            sa.or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now),
        )
        .values(claimed_until=now + CLAIM, attempts=OutboxMail.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        return None
    mail = db.session.get(OutboxMail, mail_id, populate_existing=True)
    try:
        return _message(mail, sender)
    except (ValueError, TypeError, sealing.Unsealable) as error:
        # A mail that cannot be written will never be sent: set it aside for good rather
        # than let it stop every mail queued after it.
        _give_up(mail, f"cannot be written: {type(error).__name__}: {error}")
        return None


def _record_attempt(mail_id: int, problem: str | None) -> None:
    mail = db.session.get(OutboxMail, mail_id, populate_existing=True)
    mail.claimed_until = None
    if problem is None:
        mail.sent_dt = clock.now()
        mail.last_error = None
        mail.sealed = None  # delivered: the stored mail holds no live link any more
        return
    mail.last_error = problem[:500]
    mail.next_attempt_dt = clock.now() + _backoff(mail.attempts)
    if mail.attempts >= MAX_ATTEMPTS:
        _give_up(mail, problem)
    else:
        log.warning("mail %s not sent (attempt %s): %s", mail.id, mail.attempts, problem)


def _give_up(mail: OutboxMail, problem: str) -> None:
    mail.failed_dt = clock.now()
    mail.claimed_until = None
    mail.last_error = problem[:500]
    mail.sealed = None
    log.error("mail %s set aside after %s attempts: %s", mail.id, mail.attempts, problem)


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** (attempts - 1), 60))


def _message(mail: OutboxMail, sender: str) -> EmailMessage:
    secrets = json.loads(sealing.unseal(mail.sealed, _SEALED)) if mail.sealed else {}
    body_text, body_html = mail.body_text, mail.body_html
    for name, value in secrets.items():
        body_text = body_text.replace(_placeholder(name), value)
        if body_html is not None:
            body_html = body_html.replace(_placeholder(name), str(escape(value)))
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain="kundportal")
    message.set_content(body_text)
    if body_html:
        message.add_alternative(body_html, subtype="html")
    return message
