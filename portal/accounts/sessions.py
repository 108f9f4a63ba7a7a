"""Server-side sessions: the cookie carries a random key; the database says if it is still live.

Logout, a password change, deactivation and the timeouts all end a session by its record, so a
cookie copied before any of them is worthless afterwards. Starting a session and loading it on
each request is sign-in's work (`portal.signin.service`).
"""

import hashlib
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, g

from portal import audit, clock
from portal.accounts.models import Account, LoginSession
from portal.db import db

REMEMBER_DAYS = 30
_CURRENT = "login_session"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def current_record() -> LoginSession | None:
    """This request's login session (the staff member's own while viewing as a customer)."""
    return g.get(_CURRENT)


def set_current_record(record: LoginSession) -> None:
    setattr(g, _CURRENT, record)


def signed_in_account() -> Account | None:
    """The owner of the current login session: the staff member even while viewing as a customer."""
    record = current_record()
    return record.account if record is not None else None


def may_remember(account: Account) -> bool:
    """Staff see every company's data: their sessions never outlive the idle timeout."""
    return not account.is_staff


def is_live(record: LoginSession) -> bool:
    now = clock.now()
    if record.revoked_dt is not None or now >= record.expires_dt:
        return False
    if not record.account.is_active:
        return False
    if record.remember and may_remember(record.account):
        return True
    idle = timedelta(minutes=current_app.config["PORTAL_SESSION_IDLE_MINUTES"])
    return now - record.last_seen_dt < idle


def revoke(record: LoginSession, *, reason: str) -> None:
    record.revoked_dt = clock.now()
    audit.record("session.revoked", subject=record.account, details={"reason": reason})


def revoke_all(account: Account, *, except_current: bool = False, reason: str) -> int:
    keep = current_record().id if except_current and current_record() is not None else None
    query = sa.update(LoginSession).where(
        LoginSession.account_id == account.id, LoginSession.revoked_dt.is_(None)
    )
    if keep is not None:
        query = query.where(LoginSession.id != keep)
    result = db.session.execute(query.values(revoked_dt=clock.now()))
    if result.rowcount:
        audit.record(
            "session.revoked", subject=account, details={"reason": reason, "count": result.rowcount}
        )
    return result.rowcount


def active_sessions(account: Account) -> list[LoginSession]:
    records = db.session.scalars(
        sa.select(LoginSession)
        .where(LoginSession.account_id == account.id, LoginSession.revoked_dt.is_(None))
        .order_by(LoginSession.last_seen_dt.desc())
    ).all()
    return [record for record in records if is_live(record)]
