"""Signing in: the server-side session it starts, the session each request loads, and the
second step between the password and the session.

The session cookie carries a random key (Flask-Login's user id); `load_account` finds its live
`LoginSession` and, while support views the portal as a customer, the customer account it acts
as (portal.impersonation), in one query. `finish_sign_in` is the one way every sign-in ends: the
password form, the second factor, forced enrolment and a confirmed function address.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, flash, g, request, session
from flask.sessions import SecureCookieSessionInterface, SessionInterface
from flask_login import AnonymousUserMixin, LoginManager
from flask_login.utils import decode_cookie, encode_cookie

from portal import access, audit, clock, mail
from portal.accounts import sessions
from portal.accounts.models import Account, LoginSession
from portal.audit import AuditEvent
from portal.db import db
from portal.http import safe_next_url
from portal.i18n import gettext as _
from portal.impersonation import service as impersonation
from portal.impersonation.models import EndReason, Impersonation
from portal.urls import external_url

LAST_SEEN_RESOLUTION = timedelta(seconds=60)

login_manager = LoginManager()


_COOKIES = "portal_cookies"
# Flask-Login's keys in the (portal's) Flask session: the session key and the remember cookie's
# pending operation, so that a browser signed in by either kind of portal works the same.
_USER_KEY = "_user_id"
_REMEMBER = "_remember"
_REMEMBER_SECONDS = "_remember_seconds"


@dataclass(frozen=True)
class Cookies:
    """The portal's cookies: standalone the app's own; mounted its own names under the prefix."""

    session: str
    remember: str
    path: str
    secure: bool


def init_app(app, *, url_prefix: str = "") -> None:
    """Standalone, the portal is the app's Flask-Login. Mounted, it keeps its own session cookie
    (`MountedSessions`) and signs its accounts in and out itself, so a host's `LoginManager`,
    `user_loader`, session and remember cookie never see a portal key, and the portal's pages
    never ask the host's loader who is signed in.
    """
    app.config.setdefault("REMEMBER_COOKIE_DURATION", timedelta(days=sessions.REMEMBER_DAYS))
    app.config.setdefault("REMEMBER_COOKIE_REFRESH_EACH_REQUEST", False)
    production = app.config["PORTAL_ENV"] == "production"
    login_manager.session_protection = None  # our session records do this job
    if not url_prefix:
        app.extensions[_COOKIES] = Cookies(
            session=app.config["SESSION_COOKIE_NAME"],
            remember=app.config["REMEMBER_COOKIE_NAME"],
            path="/",
            secure=production,
        )
        login_manager.init_app(app)
        return
    # A path-scoped cookie cannot be `__Host-`; `__Secure-` still demands HTTPS.
    cookies = Cookies(
        session="__Secure-portal" if production else "portal_session",
        remember="__Secure-portal_remember" if production else "portal_remember",
        path=url_prefix,
        secure=production,
    )
    app.extensions[_COOKIES] = cookies
    app.session_interface = MountedSessions(app.session_interface, cookies)


def _cookies() -> Cookies:
    return current_app.extensions[_COOKIES]


class _PortalCookie(SecureCookieSessionInterface):
    """The mounted portal's signed session cookie: its own name, salt and path."""

    salt = "portal-session"

    def __init__(self, cookies: Cookies):
        self.cookies = cookies

    def get_cookie_name(self, app) -> str:
        return self.cookies.session

    def get_cookie_path(self, app) -> str:
        return self.cookies.path

    def get_cookie_domain(self, app) -> None:
        return None

    def get_cookie_secure(self, app) -> bool:
        return self.cookies.secure

    def get_cookie_httponly(self, app) -> bool:
        return True

    def get_cookie_samesite(self, app) -> str:
        return "Lax"


class MountedSessions(SessionInterface):
    """Requests under the portal's prefix get the portal's cookie; every other request the
    host's own session interface, untouched (a host that replaces `app.session_interface`, such
    as Flask-Session, initialises it before the portal)."""

    def __init__(self, host: SessionInterface, cookies: Cookies):
        self.host = host
        self.portal = _PortalCookie(cookies)
        self.prefix = cookies.path

    def _for(self, path: str) -> SessionInterface:
        portal = path == self.prefix or path.startswith(f"{self.prefix}/")
        return self.portal if portal else self.host

    def open_session(self, app, request):
        return self._for(request.path).open_session(app, request)

    def save_session(self, app, session, response) -> None:
        self._for(request.path).save_session(app, session, response)

    def make_null_session(self, app):
        return self._for(request.path).make_null_session(app)

    def is_null_session(self, obj) -> bool:
        return self._for(request.path).is_null_session(obj)


def load_request_account() -> None:
    """Who a portal request acts as, from the portal's session or remember cookie (first of the
    portal's before-request steps). Sessionless routes (the JSON API, health) load nobody."""
    if "_login_user" in g:  # the API's guard made the request anonymous already
        return
    g._login_user = AnonymousUserMixin()  # also what an error page sees if the loading fails
    if access.is_sessionless(request.endpoint):
        return
    account = None
    key = session.get(_USER_KEY)
    if key is not None:
        account = load_account(key)
    remembered = request.cookies.get(_cookies().remember)
    if account is None and remembered and session.get(_REMEMBER) != "clear":
        key = decode_cookie(remembered)
        if key is not None:
            session[_USER_KEY] = key
            account = load_account(key)
    if account is not None:
        g._login_user = account


def update_remember_cookie(response):
    """Write or clear the portal's remember cookie as the request asked (portal requests)."""
    operation = session.pop(_REMEMBER, None)
    cookies = _cookies()
    if operation == "set" and _USER_KEY in session:
        seconds = session.get(_REMEMBER_SECONDS)
        duration = (
            timedelta(seconds=seconds)
            if seconds
            else current_app.config["REMEMBER_COOKIE_DURATION"]
        )
        response.set_cookie(
            cookies.remember,
            encode_cookie(str(session[_USER_KEY])),
            expires=clock.now() + duration,
            path=cookies.path,
            secure=cookies.secure,
            httponly=True,
            samesite="Lax",
        )
    elif operation == "clear":
        response.delete_cookie(
            cookies.remember,
            path=cookies.path,
            secure=cookies.secure,
            httponly=True,
            samesite="Lax",
        )
    return response


def sign_browser_in(account: Account, *, remember: bool, duration: timedelta) -> None:
    session[_USER_KEY] = account.get_id()
    if remember:
        session[_REMEMBER] = "set"
        session[_REMEMBER_SECONDS] = duration.total_seconds()
    g._login_user = account


def sign_browser_out() -> None:
    """Forget the signed-in account in this browser (the session record is the caller's)."""
    for key in (_USER_KEY, _REMEMBER_SECONDS, "_fresh", "_id"):
        session.pop(key, None)
    if _cookies().remember in request.cookies:
        session[_REMEMBER] = "clear"
    g._login_user = AnonymousUserMixin()


# --- the session -----------------------------------------------------------------------------


def start_session(account: Account, *, remember: bool = False) -> LoginSession:
    """Sign the account in with a fresh session key (never one from before the login).

    "Remember me" is for customers: a staff session always has the idle and absolute limits,
    whatever the form said (`sessions.may_remember`).
    """
    remember = remember and sessions.may_remember(account)
    session.clear()
    key = secrets.token_urlsafe(32)
    now = clock.now()
    lifetime = (
        timedelta(days=sessions.REMEMBER_DAYS)
        if remember
        else timedelta(hours=current_app.config["PORTAL_SESSION_ABSOLUTE_HOURS"])
    )
    record = LoginSession(
        key_hash=sessions.key_hash(key),
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
    sessions.set_current_record(record)
    sign_browser_in(account, remember=remember, duration=lifetime)
    return record


def finish_sign_in(account: Account, *, remember: bool = False, second_factor=None) -> None:
    """A sign-in is complete: a fresh session, and the event that says how it was made."""
    start_session(account, remember=remember)  # clears the Flask session, pending state too
    details = {"second_factor": second_factor} if second_factor else None
    audit.record("login.succeeded", actor=account, subject=account, details=details)


def end_current(reason: str = "logout") -> None:
    """Sign this browser out; a view as a customer in this session ends with it."""
    record = sessions.current_record()
    view = impersonation.current()
    if view is not None:
        impersonation.end(view, EndReason.LOGOUT if reason == "logout" else EndReason.SESSION_ENDED)
    if record is not None and record.revoked_dt is None:
        sessions.revoke(record, reason=reason)
    session.clear()
    sign_browser_out()


# Built once: every request asks it, and SQLAlchemy remembers a statement object's cache key.
# Whether a view as a customer is active is one column; the view itself loads only when it is.
_SESSION_BY_KEY_HASH = sa.select(
    LoginSession,
    sa.exists()
    .where(Impersonation.login_session_id == LoginSession.id, Impersonation.ended_dt.is_(None))
    .label("viewing_as_customer"),
).where(LoginSession.key_hash == sa.bindparam("key_hash"))


@login_manager.user_loader
def load_account(key: str) -> Account | None:
    """The account a request acts as: the session's own, or the customer support views as.

    The session record, its account and company, and whether a view as a customer is active
    come in one query; only a request of a view asks for the view.
    """
    row = db.session.execute(_SESSION_BY_KEY_HASH, {"key_hash": sessions.key_hash(key)}).first()
    if row is None:
        return None
    record, viewing_as_customer = row
    view = impersonation.active_for_session(record.id) if viewing_as_customer else None
    if not sessions.is_live(record):
        if view is not None:
            impersonation.end_with_dead_session(view, record)
        return None
    now = clock.now()
    if now - record.last_seen_dt >= LAST_SEEN_RESOLUTION:
        record.last_seen_dt = now
    account = record.account
    account.session_key = key
    sessions.set_current_record(record)
    if view is not None:
        return impersonation.resolve(view, account, key)
    return account


# --- the second step: between a right password and the session ------------------------------

PENDING_KEY = "twofactor_pending"
PENDING_LIFETIME = timedelta(minutes=5)
# Wrong codes (TOTP or recovery) in one sign-in attempt before the password is asked again.
MAX_FAILURES = 5
# Wrong codes of one account across every sign-in attempt, from any address, within the window:
# the password is known to someone, so the second factor refuses even the right code for the
# rest of the window, and the owner is told. The owner's new password ends it at once.
ACCOUNT_FAILURE_LIMIT = 10
ACCOUNT_FAILURE_WINDOW = timedelta(hours=1)
FAILED_ACTION = "login.second_factor_failed"
LOCKED_ACTION = "login.second_factor_locked"
# Events after which earlier wrong codes no longer count against the account.
_FRESH_START_ACTIONS = ("password_reset.completed", "password.changed", "2fa.reset")


@dataclass(frozen=True)
class Pending:
    account: Account
    remember: bool
    started: datetime
    next_url: str | None


def start_second_step(account: Account, *, remember: bool, next_url: str | None) -> None:
    now = clock.now()
    session[PENDING_KEY] = {
        "account_id": account.id,
        "remember": bool(remember),
        "started": now.isoformat(),
        "expires": (now + PENDING_LIFETIME).isoformat(),
        "next": safe_next_url(next_url),
    }


def forget_second_step() -> None:
    session.pop(PENDING_KEY, None)


def pending_second_step() -> Pending | None:
    """The sign-in waiting for its second step, or None (with a flash saying why, if it ended).

    The failures are counted in the database, not the cookie: a signed cookie can be replayed
    with an older counter, the database cannot.
    """
    state = session.get(PENDING_KEY)
    if state is None:
        return None
    try:
        started = datetime.fromisoformat(state["started"])
        expires = datetime.fromisoformat(state["expires"])
        account = db.session.get(Account, int(state["account_id"]))
    except (KeyError, TypeError, ValueError):
        account = None
    if account is None or not account.is_active or clock.now() >= expires:
        forget_second_step()
        flash(_("Signing in took too long. Enter your email address and password again."), "error")
        return None
    pending = Pending(
        account, bool(state.get("remember")), started, safe_next_url(state.get("next"))
    )
    if _failures(pending) >= MAX_FAILURES:  # also when an older copy of the cookie comes back
        too_many_failures()
        return None
    if second_factor_locked(account):
        locked_out()
        return None
    return pending


def too_many_failures() -> None:
    forget_second_step()
    flash(_("Too many wrong codes. Enter your email address and password again."), "error")


def locked_out() -> None:
    forget_second_step()
    flash(
        _(
            "Too many wrong codes for this account. Try again in an hour, or choose a new"
            ' password with "Forgot your password?".'
        ),
        "error",
    )


def _about(account: Account):
    return (AuditEvent.subject_type == Account.__name__, AuditEvent.subject_id == account.id)


def _count_failures(account: Account, since: datetime) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.action == FAILED_ACTION,
            *_about(account),
            AuditEvent.occurred_dt >= since,
        )
    )


def _failures(pending: Pending) -> int:
    """Wrong codes in this sign-in attempt."""
    return _count_failures(pending.account, pending.started)


def account_failures(account: Account) -> int:
    """Wrong codes of the account in the window, in every sign-in attempt, from anywhere; the
    count starts again after the owner chose a new password or the second factor was reset."""
    since = clock.now() - ACCOUNT_FAILURE_WINDOW
    fresh_start = db.session.scalar(
        sa.select(sa.func.max(AuditEvent.occurred_dt)).where(
            AuditEvent.action.in_(_FRESH_START_ACTIONS),
            *_about(account),
            AuditEvent.outcome == "success",
            AuditEvent.occurred_dt >= since,
        )
    )
    return _count_failures(account, max(since, fresh_start) if fresh_start else since)


def second_factor_locked(account: Account) -> bool:
    return account_failures(account) >= ACCOUNT_FAILURE_LIMIT


def record_wrong_code(pending: Pending, step: str) -> bool:
    """Record a wrong code; True when the person must start over with the password."""
    audit.record(
        FAILED_ACTION,
        actor=pending.account,
        subject=pending.account,
        outcome="failure",
        details={"step": step},
    )
    failures = account_failures(pending.account)
    if failures == ACCOUNT_FAILURE_LIMIT:
        _lock_second_factor(pending.account, failures)
    if failures >= ACCOUNT_FAILURE_LIMIT:
        locked_out()
        return True
    if _failures(pending) >= MAX_FAILURES:
        too_many_failures()
        return True
    return False


def _lock_second_factor(account: Account, failures: int) -> None:
    """The account's limit is reached: audited, and the owner told that the password is known."""
    audit.record(
        LOCKED_ACTION,
        actor=account,
        subject=account,
        outcome="refused",
        details={"failures": failures, "window_minutes": _minutes(ACCOUNT_FAILURE_WINDOW)},
    )
    mail.queue(
        account.email,
        "portal/signin/mail/second_factor_locked",
        language=account.language,
        account=account,
        failures=failures,
        minutes=_minutes(ACCOUNT_FAILURE_WINDOW),
        when=clock.now(),
        reset_link=external_url("portal.signin.forgot_password"),
    )


def _minutes(period: timedelta) -> int:
    return int(period.total_seconds() // 60)
