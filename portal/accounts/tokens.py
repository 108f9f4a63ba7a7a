"""Single-use, expiring tokens mailed as links (invitation, password reset, email change, ...).

Only the SHA-256 of a token is stored; the token itself exists in the mail alone.
"""

import enum
import hashlib
import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from portal import clock
from portal.accounts.models import Account, AccountToken, TokenPurpose
from portal.db import db
from portal.i18n import lazy_gettext as _l
from portal.rendering import render_template

LIFETIMES = {
    TokenPurpose.INVITATION: timedelta(hours=72),
    TokenPurpose.PASSWORD_RESET: timedelta(hours=1),
    TokenPurpose.EMAIL_CHANGE: timedelta(hours=24),
    TokenPurpose.MANAGER_CONFIRMATION: timedelta(hours=72),
}


class TokenProblem(enum.StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


PROBLEM_TEXTS = {
    TokenProblem.UNKNOWN: _l("This link is not valid. Check that you copied all of it."),
    TokenProblem.USED: _l("This link has already been used. Each link works once."),
    TokenProblem.EXPIRED: _l("This link has expired. Ask for a new one."),
    TokenProblem.CANCELLED: _l("This link has been replaced by a newer one or cancelled."),
}


def problem_page(problem: TokenProblem, message=None, status: int | None = None):
    """The page a mailed link answers when it cannot be used (its view is an `http.secret_link`)."""
    html = render_template(
        "portal/accounts/link_problem.html", message=message or PROBLEM_TEXTS[problem]
    )
    return html, status or (404 if problem == TokenProblem.UNKNOWN else 410)


def lifetime_minutes(purpose: TokenPurpose) -> int:
    return int(LIFETIMES[purpose].total_seconds() // 60)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(
    account: Account,
    purpose: TokenPurpose,
    *,
    created_by: Account | None = None,
    payload: dict[str, Any] | None = None,
) -> str:
    """Create a token and return it; earlier open tokens of the same purpose are cancelled."""
    now = clock.now()
    cancel_open(account, purpose)
    token = secrets.token_urlsafe(32)
    db.session.add(
        AccountToken(
            token_hash=_hash(token),
            purpose=purpose,
            account_id=account.id,
            created_dt=now,
            expires_dt=now + LIFETIMES[purpose],
            created_by_id=getattr(created_by, "id", None),
            payload=payload,
        )
    )
    return token


def lifetime_hours(purpose: TokenPurpose) -> int:
    """How long a link of this purpose works, in whole hours (as the mails say it)."""
    return int(LIFETIMES[purpose].total_seconds() // 3600)


def _open(account, purpose: TokenPurpose):
    return (
        AccountToken.account_id == account.id,
        AccountToken.purpose == purpose,
        AccountToken.used_dt.is_(None),
        AccountToken.cancelled_dt.is_(None),
    )


def cancel_open(account, purpose: TokenPurpose) -> None:
    """Links of this purpose mailed earlier stop working."""
    db.session.execute(
        sa.update(AccountToken)
        .where(*_open(account, purpose))
        .values(cancelled_dt=clock.now())
        .execution_options(synchronize_session=False)
    )


def latest_open(account, purpose: TokenPurpose) -> AccountToken | None:
    """The newest token of this purpose that is neither used nor cancelled (maybe expired)."""
    return db.session.scalar(
        sa.select(AccountToken)
        .where(*_open(account, purpose))
        .order_by(AccountToken.created_dt.desc(), AccountToken.id.desc())
        .limit(1)
    )


def find(token: str, purpose: TokenPurpose) -> tuple[AccountToken | None, TokenProblem | None]:
    record = db.session.scalar(
        sa.select(AccountToken).where(
            AccountToken.token_hash == _hash(token), AccountToken.purpose == purpose
        )
    )
    if record is None:
        return None, TokenProblem.UNKNOWN
    if record.used_dt is not None:
        return record, TokenProblem.USED
    if record.cancelled_dt is not None:
        return record, TokenProblem.CANCELLED
    if clock.now() >= record.expires_dt:
        return record, TokenProblem.EXPIRED
    return record, None


def consume(record: AccountToken) -> bool:
    """Mark the token used; False if another request used it first (single use under races)."""
    result = db.session.execute(
        sa.update(AccountToken)
        .where(AccountToken.id == record.id, AccountToken.used_dt.is_(None))
        .values(used_dt=clock.now())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        record.used_dt = clock.now()
        return True
    return False
