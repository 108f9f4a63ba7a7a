"""Signing in and out, the second step, password reset by email, and accepting an invitation.

- `/password/forgot` answers the same page and status whether or not the address has an
  account; an active account gets a single-use link valid one hour.
- `/password/reset/<token>` sets the new password, ends every session of the account and sends
  the person to sign in (no automatic sign-in: a staff account's second factor still applies),
  with the account's failed sign-ins forgotten so that the owner is not kept out by an attacker.
- `/invite/<token>` chooses the password of an invited account, then signs in the way a
  password does (staff enrol their second factor first).
"""

from flask import flash, redirect, request, url_for
from flask_login import current_user, logout_user

from portal import access, audit, http, mail, ratelimit
from portal.accounts import passwords, service, sessions, tokens, twofactor
from portal.accounts.forms import ConfirmEnrolmentForm, NewPasswordForm, SecondStepForm
from portal.accounts.models import Account, TokenPurpose
from portal.accounts.views import (
    WRONG_CODE,
    password_changed,
    render_enrolment,
    show_recovery_codes,
)
from portal.emails import normalize_email
from portal.http import safe_next_url
from portal.i18n import gettext as _
from portal.rendering import render_template
from portal.signin import service as signin
from portal.signin.forms import ForgotPasswordForm, LoginForm
from portal.urls import external_url


def _start_page() -> str:
    return url_for("portal.shell.dashboard")


def _to_login():
    return redirect(url_for(".login"))


def after_password(account: Account, *, remember: bool = False, next_url: str | None = None):
    """The response to a right password: a session, or the code page, or forced enrolment."""
    if not twofactor.is_enabled(account) and not twofactor.is_required(account):
        signin.finish_sign_in(account, remember=remember)
        return redirect(safe_next_url(next_url) or _start_page())
    signin.start_second_step(account, remember=remember, next_url=next_url)
    if twofactor.is_enabled(account):
        return redirect(url_for(".two_factor"))
    return redirect(url_for(".two_factor_enrolment"))


@access.PUBLIC
@ratelimit.login_per_address
@ratelimit.login_failures_per_account
def login():
    if current_user.is_authenticated:
        return redirect(_start_page())
    form = LoginForm()
    if form.validate_on_submit():
        account = service.authenticate(form.email.data, form.password.data)
        if account is not None:
            return after_password(
                account, remember=form.remember.data, next_url=request.args.get("next")
            )
        audit.record(
            "login.failed",
            actor_label="anonymous",
            outcome="failure",
            subject=service.find_by_valid_email(form.email.data),
        )
        form.password.errors.append(_("The email address or the password is wrong."))
    return render_template("portal/signin/login.html", form=form)


@access.SIGNED_IN
@access.ends_impersonation
def logout():
    audit.record("logout", subject=sessions.signed_in_account())
    signin.end_current(reason="logout")
    return _to_login()


@access.PUBLIC
def two_factor():
    if current_user.is_authenticated:
        return redirect(_start_page())
    pending = signin.pending_second_step()
    if pending is None:
        return _to_login()
    account = pending.account
    if not twofactor.is_enabled(account):
        if twofactor.is_required(account):
            return redirect(url_for(".two_factor_enrolment"))
        signin.forget_second_step()
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
            signin.finish_sign_in(account, remember=pending.remember, second_factor=method)
            return redirect(pending.next_url or _start_page())
        if signin.record_wrong_code(pending, "challenge"):
            return _to_login()
        form.code.errors.append(str(WRONG_CODE))
    return http.no_store(
        render_template("portal/signin/two_factor.html", form=form, account=account)
    )


@access.PUBLIC
def two_factor_enrolment():
    """Staff without two-factor set it up here after the password step, before any session."""
    if current_user.is_authenticated:
        return redirect(_start_page())
    pending = signin.pending_second_step()
    if pending is None:
        return _to_login()
    account = pending.account
    if twofactor.is_enabled(account):
        return redirect(url_for(".two_factor"))
    if not twofactor.is_required(account):
        signin.forget_second_step()
        return _to_login()
    record = twofactor.start_enrolment(account)  # kept, so that a reload shows the same secret
    form = ConfirmEnrolmentForm()
    if form.validate_on_submit():
        codes = twofactor.confirm_enrolment(account, form.code.data)
        if codes is not None:
            signin.finish_sign_in(account, remember=pending.remember, second_factor="totp")
            return show_recovery_codes(codes, pending.next_url or _start_page())
        if signin.record_wrong_code(pending, "enrolment"):
            return _to_login()
        form.code.errors.append(str(WRONG_CODE))
    return render_enrolment(form, record, account, forced=True)


@access.PUBLIC
@ratelimit.reset_requests_per_address
@ratelimit.reset_requests_per_email
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        address = normalize_email(form.email.data)
        account = service.find_by_email(address)
        sent = account is not None and account.is_active
        if sent:
            token = tokens.issue(account, TokenPurpose.PASSWORD_RESET)
            mail.queue(
                account.email,
                "portal/accounts/mail/password_reset",
                language=account.language,
                account=account,
                link=mail.Secret(external_url("portal.signin.reset_password", token=token)),
                minutes=tokens.lifetime_minutes(TokenPurpose.PASSWORD_RESET),
            )
        audit.record(
            "password_reset.requested",
            actor_label=None if current_user.is_authenticated else "anonymous",
            subject=account,
            outcome="success" if sent else "ignored",
            details={"email_known": account is not None, "link_sent": sent},
        )
        # The same page and status for every address: the answer tells nothing about accounts.
        return render_template("portal/signin/password_forgot_sent.html", email=address)
    return render_template("portal/signin/password_forgot.html", form=form)


@access.PUBLIC
@http.secret_link
@ratelimit.token_form_per_address
def reset_password(token: str):
    record, problem = tokens.find(token, TokenPurpose.PASSWORD_RESET)
    if problem:
        return tokens.problem_page(problem)
    account = record.account
    if not account.is_active:
        return tokens.problem_page(tokens.TokenProblem.UNKNOWN)
    form = NewPasswordForm(email=account.email)
    if form.validate_on_submit():
        if not tokens.consume(record):
            return tokens.problem_page(tokens.TokenProblem.USED)
        account.password_hash = passwords.hash_password(form.password.data)
        ended = password_changed(account, reason="password reset")
        audit.record(
            "password_reset.completed",
            actor=account,
            subject=account,
            details={"sessions_ended": ended},
        )
        ratelimit.forget_login_failures(account.email)
        if current_user.is_authenticated and current_user.id == account.id:
            logout_user()  # this browser's session was among those just ended
        flash(_("Your new password is saved. Sign in with it."), "success")
        return _to_login()
    html = render_template("portal/signin/password_reset.html", form=form, account=account)
    return html


@access.PUBLIC
@http.secret_link
@ratelimit.token_form_per_address
def accept_invitation(token: str):
    record, problem = tokens.find(token, TokenPurpose.INVITATION)
    if problem:
        return tokens.problem_page(problem)
    account = record.account
    form = NewPasswordForm(email=account.email)
    if form.validate_on_submit():
        if not tokens.consume(record):
            return tokens.problem_page(tokens.TokenProblem.USED)
        account.password_hash = passwords.hash_password(form.password.data)
        audit.record("invitation.accepted", actor=account, subject=account)
        flash(_("Welcome! Your password is set."), "success")
        # The same second step as a sign-in: staff enrol two-factor before any session.
        return after_password(account)
    return render_template("portal/signin/accept_invitation.html", form=form, account=account)
