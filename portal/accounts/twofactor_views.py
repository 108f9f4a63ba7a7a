"""Two-factor authentication in the browser: the second sign-in step and the person's settings.

After the right password, `after_password` either signs the person in (no two-factor) or keeps
a short-lived pending state in the Flask session: the account id, the remember choice, when it
started and when it expires. The pending state is not a login: Flask-Login sees nobody, so the
access rules admit only PUBLIC pages. Only the pages here read it.

Wrong codes are counted from the audit trail (login.second_factor_failed since the pending state
started), not from the cookie: a signed cookie can be replayed with an older counter, the
database cannot. After MAX_FAILURES the pending state is dropped and the password is asked again.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Blueprint, flash, make_response, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import access, audit, clock
from portal.accounts import passwords, sessions, twofactor
from portal.accounts.models import Account
from portal.accounts.twofactor_forms import (
    ConfirmEnrolmentForm,
    DisableForm,
    RegenerateForm,
    SecondStepForm,
)
from portal.audit import AuditEvent
from portal.db import db
from portal.transaction import commit
from portal.web import safe_next_url

bp = Blueprint("twofactor", __name__)

PENDING_KEY = "twofactor_pending"
PENDING_LIFETIME = timedelta(minutes=5)
MAX_FAILURES = 5
FAILED_ACTION = "login.second_factor_failed"


# --- the second step of signing in -----------------------------------------------------------


@dataclass(frozen=True)
class Pending:
    account: Account
    remember: bool
    started: datetime
    next_url: str | None


def after_password(account: Account, *, remember: bool = False, next_url: str | None = None):
    """The response to a right password: a session, or the code page, or forced enrolment."""
    next_url = safe_next_url(next_url)
    if not twofactor.is_enabled(account) and not twofactor.is_required(account):
        return _finish(account, remember=remember, next_url=next_url)
    now = clock.now()
    session[PENDING_KEY] = {
        "account_id": account.id,
        "remember": bool(remember),
        "started": now.isoformat(),
        "expires": (now + PENDING_LIFETIME).isoformat(),
        "next": next_url,
    }
    commit()  # a password hash upgraded by the password check is kept
    if twofactor.is_enabled(account):
        return redirect(url_for("portal.twofactor.challenge"))
    return redirect(url_for("portal.twofactor.forced_enrolment"))


def _finish(account: Account, *, remember: bool, next_url: str | None, second_factor=None):
    sessions.start(account, remember=remember)  # clears the Flask session, pending state too
    details = {"second_factor": second_factor} if second_factor else None
    audit.record("login.succeeded", actor=account, subject=account, details=details)
    commit()
    return redirect(next_url or url_for("portal.core.dashboard"))


def _pending() -> Pending | None:
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
        session.pop(PENDING_KEY, None)
        flash(_("Signing in took too long. Enter your email address and password again."), "error")
        return None
    pending = Pending(
        account, bool(state.get("remember")), started, safe_next_url(state.get("next"))
    )
    if _failures(pending) >= MAX_FAILURES:  # also when an older copy of the cookie comes back
        _too_many_failures()
        return None
    return pending


def _too_many_failures() -> None:
    session.pop(PENDING_KEY, None)
    flash(_("Too many wrong codes. Enter your email address and password again."), "error")


def _failures(pending: Pending) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.action == FAILED_ACTION,
            AuditEvent.subject_type == Account.__name__,
            AuditEvent.subject_id == pending.account.id,
            AuditEvent.occurred_dt >= pending.started,
        )
    )


def _wrong_code(pending: Pending, form, step: str):
    """Record the failure; a response when the person must start over, else None."""
    audit.record(
        FAILED_ACTION,
        actor=pending.account,
        subject=pending.account,
        outcome="failure",
        details={"step": step},
    )
    commit()
    if _failures(pending) >= MAX_FAILURES:
        _too_many_failures()
        return redirect(url_for("portal.accounts.login"))
    form.code.errors.append(_("The code is wrong or has already been used. Try again."))
    return None


def _no_store(html: str, status: int = 200):
    """Pages with secrets or half-finished sign-ins are never kept by a browser or proxy."""
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _to_login():
    return redirect(url_for("portal.accounts.login"))


@bp.route("/login/two-factor", methods=["GET", "POST"])
@access.PUBLIC
def challenge():
    if current_user.is_authenticated:
        return redirect(url_for("portal.core.dashboard"))
    pending = _pending()
    if pending is None:
        return _to_login()
    account = pending.account
    if not twofactor.is_enabled(account):
        if twofactor.is_required(account):
            return redirect(url_for("portal.twofactor.forced_enrolment"))
        session.pop(PENDING_KEY, None)
        return _to_login()
    form = SecondStepForm()
    if form.validate_on_submit():
        method = twofactor.verify_any(account, form.code.data)
        if method == "recovery_code":
            remaining = twofactor.remaining_recovery_codes(account)
            audit.record(
                "login.recovery_code_used",
                actor=account,
                subject=account,
                details={"remaining": remaining},
            )
            flash(
                _(
                    "You signed in with a recovery code. It cannot be used again;"
                    " %(count)d recovery codes are left.",
                    count=remaining,
                ),
                "warning",
            )
        if method is not None:
            return _finish(
                account, remember=pending.remember, next_url=pending.next_url, second_factor=method
            )
        response = _wrong_code(pending, form, "challenge")
        if response is not None:
            return response
    return _no_store(render_template("portal/twofactor/challenge.html", form=form, account=account))


@bp.route("/login/two-factor/enrol", methods=["GET", "POST"])
@access.PUBLIC
def forced_enrolment():
    """Staff without two-factor set it up here after the password step, before any session."""
    if current_user.is_authenticated:
        return redirect(url_for("portal.core.dashboard"))
    pending = _pending()
    if pending is None:
        return _to_login()
    account = pending.account
    if twofactor.is_enabled(account):
        return redirect(url_for("portal.twofactor.challenge"))
    if not twofactor.is_required(account):
        session.pop(PENDING_KEY, None)
        return _to_login()
    record = twofactor.start_enrolment(account)
    form = ConfirmEnrolmentForm()
    if form.validate_on_submit():
        codes = twofactor.confirm_enrolment(account, form.code.data)
        if codes is not None:
            sessions.start(account, remember=pending.remember)
            audit.record(
                "login.succeeded", actor=account, subject=account, details={"second_factor": "totp"}
            )
            commit()
            return _show_recovery_codes(codes, pending.next_url or url_for("portal.core.dashboard"))
        response = _wrong_code(pending, form, "enrolment")
        if response is not None:
            return response
    commit()  # the new secret, so that a reload shows the same one
    return _render_enrolment(form, record, account, forced=True)


def _render_enrolment(form, record, account, *, forced: bool):
    return _no_store(
        render_template(
            "portal/twofactor/enrol.html",
            form=form,
            account=account,
            secret=twofactor.grouped(record.secret),
            uri=twofactor.provisioning_uri(record, account),
            issuer=twofactor.ISSUER,
            forced=forced,
        )
    )


def _show_recovery_codes(codes: list[str], next_url: str):
    """Shown once, in the response to the confirming POST: they are stored only as hashes."""
    return _no_store(
        render_template("portal/twofactor/recovery_codes.html", codes=codes, next_url=next_url)
    )


# --- the signed-in person's own settings -----------------------------------------------------


@bp.get("/account/two-factor")
@access.SIGNED_IN
@access.not_while_impersonating
def manage():
    account = current_user._get_current_object()
    return render_template(
        "portal/twofactor/manage.html",
        enabled=twofactor.is_enabled(account),
        enabled_since=twofactor.enabled_since(account),
        required=twofactor.is_required(account),
        remaining=twofactor.remaining_recovery_codes(account),
    )


@bp.route("/account/two-factor/enrol", methods=["GET", "POST"])
@access.SIGNED_IN
@access.not_while_impersonating
def enrol():
    account = current_user._get_current_object()
    if twofactor.is_enabled(account):
        flash(_("Two-factor authentication is already on."), "info")
        return redirect(url_for("portal.twofactor.manage"))
    record = twofactor.start_enrolment(account)
    form = ConfirmEnrolmentForm()
    if form.validate_on_submit():
        codes = twofactor.confirm_enrolment(account, form.code.data)
        if codes is not None:
            commit()
            return _show_recovery_codes(codes, url_for("portal.twofactor.manage"))
        form.code.errors.append(_("The code is wrong or has already been used. Try again."))
    commit()  # the new secret, so that a reload shows the same one
    return _render_enrolment(form, record, account, forced=False)


@bp.route("/account/two-factor/disable", methods=["GET", "POST"])
@access.CUSTOMER
@access.not_while_impersonating
def disable():
    account = current_user._get_current_object()
    if not twofactor.is_enabled(account):
        return redirect(url_for("portal.twofactor.manage"))
    form = DisableForm()
    if form.validate_on_submit():
        if not passwords.verify(account.password_hash, form.password.data):
            form.password.errors.append(_("The password is wrong."))
        elif twofactor.verify_any(account, form.code.data) is None:
            form.code.errors.append(_("The code is wrong or has already been used. Try again."))
        else:
            twofactor.disable(account)
            commit()
            flash(_("Two-factor authentication is off."), "success")
            return redirect(url_for("portal.twofactor.manage"))
    return render_template("portal/twofactor/disable.html", form=form)


@bp.route("/account/two-factor/recovery-codes", methods=["GET", "POST"])
@access.SIGNED_IN
@access.not_while_impersonating
def recovery_codes():
    account = current_user._get_current_object()
    if not twofactor.is_enabled(account):
        return redirect(url_for("portal.twofactor.manage"))
    form = RegenerateForm()
    if form.validate_on_submit():
        if passwords.verify(account.password_hash, form.password.data):
            codes = twofactor.regenerate_recovery_codes(account)
            commit()
            return _show_recovery_codes(codes, url_for("portal.twofactor.manage"))
        form.password.errors.append(_("The password is wrong."))
    return render_template("portal/twofactor/regenerate.html", form=form)
