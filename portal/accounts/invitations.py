"""Invitations: an account without a password and a mailed link to choose one (72 hours)."""

from portal import audit, mail
from portal.accounts import tokens
from portal.accounts.models import Account
from portal.urls import external_url


def send_invitation(account: Account, *, invited_by: Account | None = None, actor_label=None):
    token = tokens.issue(account, tokens.TokenPurpose.INVITATION, created_by=invited_by)
    mail.queue(
        account.email,
        "invitation",
        language=account.language,
        account=account,
        invited_by=invited_by,
        link=external_url("portal.accounts.accept_invitation", token=token),
        hours=tokens.lifetime_hours(tokens.TokenPurpose.INVITATION),
    )
    audit.record("invitation.sent", actor=invited_by, actor_label=actor_label, subject=account)
