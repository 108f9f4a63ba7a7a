"""Password reset by email, password change, and email change confirmed from the new address.

- `/password/forgot` answers the same page and status whether or not the address has an
  account; an active account gets a single-use link valid one hour.
- `/password/reset/<token>` sets the new password, ends every session of the account and sends
  the person to sign in (no automatic sign-in: a staff account's second factor still applies),
  with the account's failed sign-ins forgotten so that the owner is not kept out by an attacker.
- `/account/password` changes the password of the signed-in person and ends their other
  sessions; `/account/email` mails a link to the new address, which takes effect only when it is
  followed (`/account/email/confirm/<token>`, public so that it works in another browser); the old
  address is told.

Every change of a password or address is also mailed to the account, and the links of earlier
reset mails stop working.
"""

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from portal import access, audit, clock, mail, ratelimit
from portal.accounts import passwords, service, sessions, tokens
from portal.accounts.forms import NewPasswordForm
from portal.accounts.models import Account
from portal.accounts.password_forms import ChangePasswordForm, EmailChangeForm, ForgotPasswordForm
from portal.accounts.tokens import TokenProblem, TokenPurpose
from portal.accounts.views import render_token_problem
from portal.transaction import commit
from portal.urls import external_url

bp = Blueprint("password", __name__)


def _private(html: str, status: int = 200):
    """A page reached through a secret link: never cached, and the link never leaks as referrer."""
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _token_problem(problem: TokenProblem):
    html, status = render_token_problem(problem)
    return _private(html, status)


def _lifetime_minutes(purpose: TokenPurpose) -> int:
    return int(tokens.LIFETIMES[purpose].total_seconds() // 60)


def _cancel_open_resets(account: Account) -> None:
    """Reset links mailed before a password or address change stop working."""
    tokens.cancel_open(account, TokenPurpose.PASSWORD_RESET)


def _tell_password_changed(account: Account) -> None:
    mail.queue(
        account.email,
        "password_changed",
        language=account.language,
        account=account,
        when=clock.now(),
    )


# --- Password reset ---------------------------------------------------------------------------


@bp.route("/password/forgot", methods=["GET", "POST"])
@access.PUBLIC
@ratelimit.reset_requests_per_address
@ratelimit.reset_requests_per_email
def forgot():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        address = service.normalize_email(form.email.data)
        account = service.find_by_email(address)
        sent = account is not None and account.is_active
        if sent:
            token = tokens.issue(account, TokenPurpose.PASSWORD_RESET)
            mail.queue(
                account.email,
                "password_reset",
                language=account.language,
                account=account,
                link=external_url("portal.password.reset", token=token),
                minutes=_lifetime_minutes(TokenPurpose.PASSWORD_RESET),
            )
        audit.record(
            "password_reset.requested",
            actor_label=None if current_user.is_authenticated else "anonymous",
            subject=account,
            outcome="success" if sent else "ignored",
            details={"email_known": account is not None, "link_sent": sent},
        )
        commit()
        # The same page and status for every address: the answer tells nothing about accounts.
        return render_template("portal/accounts/password_forgot_sent.html", email=address)
    return render_template("portal/accounts/password_forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@access.PUBLIC
@ratelimit.token_form_per_address
def reset(token: str):
    record, problem = tokens.find(token, TokenPurpose.PASSWORD_RESET)
    if problem:
        return _token_problem(problem)
    account = record.account
    if not account.is_active:
        return _token_problem(TokenProblem.UNKNOWN)
    form = NewPasswordForm(email=account.email)
    if form.validate_on_submit():
        if not tokens.consume(record):
            return _token_problem(TokenProblem.USED)
        account.password_hash = passwords.hash_password(form.password.data)
        ended = sessions.revoke_all(account, reason="password reset")
        _cancel_open_resets(account)
        audit.record(
            "password_reset.completed",
            actor=account,
            subject=account,
            details={"sessions_ended": ended},
        )
        _tell_password_changed(account)
        commit()
        ratelimit.forget_login_failures(account.email)
        if current_user.is_authenticated and current_user.id == account.id:
            logout_user()  # this browser's session was among those just ended
        flash(_("Your new password is saved. Sign in with it."), "success")
        return redirect(url_for("portal.accounts.login"))
    html = render_template("portal/accounts/password_reset.html", form=form, account=account)
    return _private(html)


# --- Password change (signed in) -------------------------------------------------------------


@bp.route("/account/password", methods=["GET", "POST"])
@access.SIGNED_IN
@ratelimit.password_checks_per_account
def change():
    account = current_user._get_current_object()
    form = ChangePasswordForm(account=account)
    if form.validate_on_submit():
        account.password_hash = passwords.hash_password(form.password.data)
        ended = sessions.revoke_all(account, except_current=True, reason="password changed")
        _cancel_open_resets(account)
        audit.record("password.changed", subject=account, details={"sessions_ended": ended})
        _tell_password_changed(account)
        commit()
        flash(_("Your password is changed. You are signed out everywhere else."), "success")
        return redirect(url_for(".change"))
    if form.wrong_current_password:
        audit.record(
            "password.changed",
            subject=account,
            outcome="failure",
            details={"reason": "wrong current password"},
        )
        commit()
    return render_template("portal/accounts/password_change.html", form=form)


# --- Email change -----------------------------------------------------------------------------


def _pending_email_change(account: Account) -> str | None:
    record = tokens.latest_open(account, TokenPurpose.EMAIL_CHANGE)
    if record is None or not record.is_usable:
        return None
    return (record.payload or {}).get("email")


@bp.route("/account/email", methods=["GET", "POST"])
@access.SIGNED_IN
@ratelimit.password_checks_per_account
def change_email():
    account = current_user._get_current_object()
    form = EmailChangeForm(account=account)
    if form.validate_on_submit():
        new_address = form.normalized_email
        token = tokens.issue(account, TokenPurpose.EMAIL_CHANGE, payload={"email": new_address})
        mail.queue(
            new_address,
            "email_change",
            language=account.language,
            account=account,
            link=external_url("portal.password.confirm_email", token=token),
            hours=tokens.lifetime_hours(TokenPurpose.EMAIL_CHANGE),
        )
        audit.record("email_change.requested", subject=account)
        commit()
        flash(
            _(
                "We sent a link to %(email)s. Your address changes when you follow it.",
                email=new_address,
            ),
            "success",
        )
        return redirect(url_for(".change_email"))
    if form.wrong_current_password:
        audit.record(
            "email_change.requested",
            subject=account,
            outcome="failure",
            details={"reason": "wrong current password"},
        )
        commit()
    return render_template(
        "portal/accounts/email_change.html", form=form, pending=_pending_email_change(account)
    )


@bp.route("/account/email/confirm/<token>", methods=["GET", "POST"])
@access.PUBLIC
@ratelimit.token_form_per_address
def confirm_email(token: str):
    record, problem = tokens.find(token, TokenPurpose.EMAIL_CHANGE)
    if problem:
        return _token_problem(problem)
    account = record.account
    new_address = (record.payload or {}).get("email")
    if not account.is_active or not new_address:
        return _token_problem(TokenProblem.UNKNOWN)
    taken = service.find_by_email(new_address)
    if taken is not None and taken.id != account.id:
        html = render_template(
            "portal/accounts/link_problem.html",
            message=_("Another account now uses this address, so it cannot be yours as well."),
        )
        return _private(html, 409)
    if request.method == "POST":
        if not tokens.consume(record):
            return _token_problem(TokenProblem.USED)
        old_address = account.email
        account.email = new_address
        _cancel_open_resets(account)
        audit.record("email_change.completed", actor=account, subject=account)
        mail.queue(
            old_address,
            "email_changed",
            language=account.language,
            old_email=old_address,
            when=clock.now(),
        )
        commit()
        if current_user.is_authenticated and current_user.id == account.id:
            flash(_("Your email address is changed to %(email)s.", email=new_address), "success")
            return redirect(url_for(".change_email"))
        flash(_("Your email address is changed. Sign in with the new address."), "success")
        return redirect(url_for("portal.accounts.login"))
    html = render_template(
        "portal/accounts/email_change_confirm.html", account=account, new_email=new_address
    )
    return _private(html)
