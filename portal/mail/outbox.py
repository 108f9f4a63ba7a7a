"""The outbox: mails are rows written with the action, sent after it commits, retried later.

A mail for an action that rolls back is never sent, because its row never commits. A mail whose
server was unreachable stays in the table and `retry_due()` sends it later.
"""

import logging
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import sqlalchemy as sa
from flask import current_app
from jinja2 import TemplateNotFound
from sqlalchemy.orm import Session

from portal import clock, rendering
from portal.db import db
from portal.i18n import force_language
from portal.mail import transport
from portal.mail.models import OutboxMail

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 20
# A new mail is sent by the process that committed it; the retry job leaves it alone for this
# long, so that the two never send the same mail at once (the scheduler may run in the web
# process). A mail whose process died before sending is picked up after it.
RETRY_GRACE = timedelta(minutes=5)
_FLUSHED = "portal_outbox_flushed"
_COMMITTED = "portal_outbox_committed"


def queue(recipient: str, template: str, *, language: str = "sv", **context) -> OutboxMail:
    """Render `<template>.txt` (and `.html` where it exists) into the outbox.

    `template` names a feature's mail, e.g. `portal/accounts/mail/invitation`. The text template
    sets `subject`; both are rendered in the recipient's language.
    """
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
        next_attempt_dt=clock.now() + RETRY_GRACE,
    )
    db.session.add(mail)
    return mail


def deliver_committed() -> int:
    """Send the mails whose transaction has just committed; return how many went out."""
    ids = db.session.info.pop(_COMMITTED, [])
    if not ids:
        return 0
    mails = db.session.scalars(
        sa.select(OutboxMail).where(OutboxMail.id.in_(ids), OutboxMail.sent_dt.is_(None))
    ).all()
    return _send_all(mails)


def retry_due(limit: int = 100) -> int:
    """Send mails that are due for another attempt (the scheduler calls this every minute)."""
    mails = db.session.scalars(
        sa.select(OutboxMail)
        .where(
            OutboxMail.sent_dt.is_(None),
            OutboxMail.attempts < MAX_ATTEMPTS,
            OutboxMail.next_attempt_dt <= clock.now(),
        )
        .order_by(OutboxMail.id)
        .limit(limit)
    ).all()
    return _send_all(mails)


def _send_all(mails: list[OutboxMail]) -> int:
    mail_url = current_app.config["PORTAL_MAIL_URL"]
    sender = current_app.config["PORTAL_MAIL_SENDER"]
    sent = 0
    for mail in mails:
        mail.attempts += 1
        try:
            message = _message(mail, sender)
        except (ValueError, TypeError) as error:
            # A mail that cannot be written will never be sent: set it aside for good rather
            # than let it stop every mail queued after it.
            mail.attempts = MAX_ATTEMPTS
            mail.last_error = f"cannot be written: {error}"[:500]
            log.error("mail %s set aside: %s", mail.id, error)
            db.session.commit()
            continue
        try:
            transport.send(mail_url, message)
        except transport.MailTransportError as error:
            mail.last_error = str(error)[:500]
            mail.next_attempt_dt = clock.now() + _backoff(mail.attempts)
            log_failure = log.error if mail.attempts >= MAX_ATTEMPTS else log.warning
            log_failure("mail %s not sent (attempt %s): %s", mail.id, mail.attempts, error)
        else:
            mail.sent_dt = clock.now()
            mail.last_error = None
            sent += 1
        db.session.commit()
    return sent


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** (attempts - 1), 60))


def _message(mail: OutboxMail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain="kundportal")
    message.set_content(mail.body_text)
    if mail.body_html:
        message.add_alternative(mail.body_html, subtype="html")
    return message


# The ids of new outbox rows are kept per transaction (the outermost one, or a SAVEPOINT of
# `begin_nested()`). Releasing a SAVEPOINT hands its mails to the enclosing transaction; only
# the commit of the outermost transaction makes them deliverable. A rolled-back SAVEPOINT drops
# only its own mails.


def _owner(transaction):
    while transaction.parent is not None and not transaction.nested:
        transaction = transaction.parent
    return transaction


@sa.event.listens_for(Session, "after_flush")
def _remember_flushed(session, _flush_context):
    new_ids = [obj.id for obj in session.new if isinstance(obj, OutboxMail)]
    if new_ids:
        owner = session.get_nested_transaction() or session.get_transaction()
        session.info.setdefault(_FLUSHED, {}).setdefault(owner, []).extend(new_ids)


@sa.event.listens_for(Session, "after_commit")
def _mark_committed(session):
    pending = session.info.get(_FLUSHED)
    if not pending:
        return
    committed = session.get_nested_transaction() or session.get_transaction()
    ids = pending.pop(committed, [])
    if committed is not None and committed.nested and committed.parent is not None:
        pending.setdefault(_owner(committed.parent), []).extend(ids)
    elif ids:
        session.info.setdefault(_COMMITTED, []).extend(ids)


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_uncommitted(session, transaction):
    """A transaction or SAVEPOINT that ends without committing takes its mails with it."""
    pending = session.info.get(_FLUSHED)
    if not pending:
        return
    if transaction.parent is None:
        session.info.pop(_FLUSHED, None)
    elif transaction.nested:
        pending.pop(transaction, None)
