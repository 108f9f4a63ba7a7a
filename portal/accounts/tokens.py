"""Single-use, expiring tokens mailed as links (invitation, password reset, email change, ...).

Only the SHA-256 of a token is stored; the token itself exists in the mail alone.
"""

import enum
import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.accounts.models import Account
from portal.db import db, enum_column


class TokenPurpose(enum.StrEnum):
    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"  # noqa: S105 (a purpose, not a password)
    EMAIL_CHANGE = "email_change"
    MANAGER_CONFIRMATION = "manager_confirmation"


LIFETIMES = {
    TokenPurpose.INVITATION: timedelta(hours=72),
    TokenPurpose.PASSWORD_RESET: timedelta(hours=1),
    TokenPurpose.EMAIL_CHANGE: timedelta(hours=24),
    TokenPurpose.MANAGER_CONFIRMATION: timedelta(hours=72),
}


class AccountToken(db.Model):
    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    purpose: Mapped[TokenPurpose] = mapped_column(enum_column(TokenPurpose))
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    created_dt: Mapped[datetime] = mapped_column(default=clock.now)
    expires_dt: Mapped[datetime]
    used_dt: Mapped[datetime | None]
    cancelled_dt: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL")
    )
    payload: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    account: Mapped[Account] = relationship(foreign_keys=[account_id], lazy="joined")

    @property
    def is_usable(self) -> bool:
        return self.used_dt is None and self.cancelled_dt is None and clock.now() < self.expires_dt


class TokenProblem(enum.StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


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
