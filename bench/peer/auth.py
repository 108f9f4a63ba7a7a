"""Passwords and server-side sessions.

The Flask session cookie carries a random key; the `sessions` row made at login says whether it
is still good (not signed out, not past its lifetime, not idle too long, account active). The
row is read on every request that asks for `current_user`, and its last-seen time is written at
most once a minute.
"""

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g, request, session
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, login_user, logout_user

from bench.peer.models import Account, LoginSession, db, utcnow

LAST_SEEN_EVERY = timedelta(minutes=1)

# argon2id with OWASP's minimum cost, as the portal: m=19 MiB, t=2, p=1.
hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY_HASH = hasher.hash("nobody's password: an unknown address costs the same time")

login_manager = LoginManager()
login_manager.login_view = "peer.login"
login_manager.login_message = _l("Please sign in to see this page.")


def hash_password(password: str) -> str:
    return hasher.hash(password)


def check_password(account: Account | None, password: str) -> bool:
    try:
        hasher.verify(account.password_hash if account else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return account is not None


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start_session(account: Account) -> None:
    key = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        LoginSession(
            key_hash=_key_hash(key),
            account=account,
            created_at=now,
            last_seen_at=now,
            expires_at=now + current_app.config["SESSION_LIFETIME"],
            user_agent=request.user_agent.string[:300],
        )
    )
    db.session.commit()
    session.clear()
    session["sid"] = key
    login_user(account)


def end_session() -> None:
    record = g.get("login_session")
    if record is not None:
        record.revoked_at = utcnow()
        db.session.commit()
    logout_user()
    session.clear()


@login_manager.user_loader
def load_user(user_id: str) -> Account | None:
    key = session.get("sid")
    if key is None:
        return None
    record = db.session.scalar(sa.select(LoginSession).filter_by(key_hash=_key_hash(key)))
    now = utcnow()
    if record is None or str(record.account_id) != user_id:
        return None
    if not record.is_valid(now, current_app.config["SESSION_IDLE_TIMEOUT"]):
        return None
    if now - record.last_seen_at >= LAST_SEEN_EVERY:
        record.last_seen_at = now
        db.session.commit()
    g.login_session = record
    return record.account
