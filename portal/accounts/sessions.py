"""Server-side sessions: the cookie carries a random key; the database says if it is still live.

Logout, a password change, deactivation and the timeouts all end a session by its record, so a
cookie copied before any of them is worthless afterwards.
"""

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, g, request, session
from flask_login import LoginManager, login_user, logout_user
from sqlalchemy.orm import lazyload

from portal import audit, clock
from portal.accounts.models import Account, LoginSession
from portal.db import db
from portal.impersonation import service as impersonation
from portal.impersonation.models import EndReason, Impersonation

REMEMBER_DAYS = 30
LAST_SEEN_RESOLUTION = timedelta(seconds=60)

login_manager = LoginManager()


def init_app(app) -> None:
    app.config.setdefault("REMEMBER_COOKIE_DURATION", timedelta(days=REMEMBER_DAYS))
    app.config.setdefault("REMEMBER_COOKIE_REFRESH_EACH_REQUEST", False)
    if "login_manager" in app.extensions or hasattr(app, "login_manager"):
        return
    login_manager.session_protection = None  # our session records do this job
    login_manager.init_app(app)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start(account: Account, *, remember: bool = False) -> LoginSession:
    """Sign the account in with a fresh session key (never one from before the login)."""
    session.clear()
    key = secrets.token_urlsafe(32)
    now = clock.now()
    lifetime = (
        timedelta(days=REMEMBER_DAYS)
        if remember
        else timedelta(hours=current_app.config["PORTAL_SESSION_ABSOLUTE_HOURS"])
    )
    record = LoginSession(
        key_hash=_hash(key),
        account=account,
        created_dt=now,
        last_seen_dt=now,
        expires_dt=now + lifetime,
        remember=remember,
        ip_address=request.remote_addr,
        user_agent=(request.user_agent.string or "")[:300],
    )
    db.session.add(record)
    account.last_login_dt = now
    account.session_key = key
    g.login_session = record
    login_user(account, remember=remember, duration=lifetime)
    return record


def end_current(reason: str = "logout") -> None:
    record = current_record()
    view = g.get("impersonation")
    if view is not None:  # signing out also ends a view as a customer
        impersonation.end(view, EndReason.LOGOUT if reason == "logout" else EndReason.SESSION_ENDED)
    if record is not None and record.revoked_dt is None:
        revoke(record, reason=reason)
    logout_user()
    session.clear()


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


def current_record() -> LoginSession | None:
    return g.get("login_session")


def is_live(record: LoginSession) -> bool:
    now = clock.now()
    if record.revoked_dt is not None or now >= record.expires_dt:
        return False
    if not record.account.is_active:
        return False
    if record.remember:
        return True
    idle = timedelta(minutes=current_app.config["PORTAL_SESSION_IDLE_MINUTES"])
    return now - record.last_seen_dt < idle


# Built once: every request asks it, and SQLAlchemy remembers a statement object's cache key.
_SESSION_BY_KEY_HASH = (
    sa.select(LoginSession, Impersonation)
    .options(lazyload(Impersonation.staff), lazyload(Impersonation.customer))
    .outerjoin(
        Impersonation,
        sa.and_(
            Impersonation.login_session_id == LoginSession.id,
            Impersonation.ended_dt.is_(None),
        ),
    )
    .where(LoginSession.key_hash == sa.bindparam("key_hash"))
)


@login_manager.user_loader
def load_account(key: str) -> Account | None:
    """The account a request acts as: the session's own, or the customer support views as.

    The session record, its account and company and its active view as a customer (if any)
    come in one query. The view's own accounts are left to load only when there is a view: joined
    on every request they made a seven-table query that cost more than the rest of the page.
    """
    row = db.session.execute(_SESSION_BY_KEY_HASH, {"key_hash": _hash(key)}).first()
    if row is None:
        return None
    record, view = row
    if not is_live(record):
        if view is not None:
            impersonation.end_with_dead_session(view, record)
        return None
    now = clock.now()
    if now - record.last_seen_dt >= LAST_SEEN_RESOLUTION:
        record.last_seen_dt = now
        db.session.commit()
    account = record.account
    account.session_key = key
    g.login_session = record
    if view is not None:
        return impersonation.resolve(view, account, key)
    return account


def signed_in_account() -> Account | None:
    """The owner of the current login session: the staff member even while viewing as a customer."""
    record = current_record()
    return record.account if record is not None else None


def active_sessions(account: Account) -> list[LoginSession]:
    records = db.session.scalars(
        sa.select(LoginSession)
        .where(LoginSession.account_id == account.id, LoginSession.revoked_dt.is_(None))
        .order_by(LoginSession.last_seen_dt.desc())
    ).all()
    return [record for record in records if is_live(record)]
