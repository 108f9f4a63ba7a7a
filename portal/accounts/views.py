"""`/account/...`: a person's own profile, sessions, password, email address and second factor.

- `/account/password` changes the password of the signed-in person and ends their other
  sessions; `/account/email` mails a link to the new address, which takes effect only when it is
  followed (`/account/email/confirm/<token>`, public so that it works in another browser); the
  old address is told. Every change of a password or address is mailed to the account, and the
  links of earlier password reset mails stop working.
- `/account/two-factor/...`: turning the second factor on and off, and new recovery codes.
"""

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from portal import access, audit, clock, http, mail, phone, ratelimit
from portal.accounts import passwords, service, sessions, tokens, twofactor
from portal.accounts.forms import (
    ChangePasswordForm,
    ConfirmEnrolmentForm,
    DisableForm,
    EmailChangeForm,
    ProfileForm,
    RegenerateForm,
)
from portal.accounts.models import Account, TokenPurpose
from portal.accounts.qrcode import qr_svg
from portal.i18n import LANGUAGE_COOKIE
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.rendering import render_template
from portal.urls import external_url

# Pages about one's own security and data, linked from /account when the user may use them.
ACCOUNT_LINKS = (
    ("portal.accounts.change_password", _l("Change password")),
    ("portal.accounts.change_email", _l("Change email address")),
    ("portal.accounts.two_factor", _l("Two-factor authentication")),
    ("portal.contacts.my_consents", _l("My consents")),
    ("portal.privacy.export", _l("Export my data")),
    ("portal.impersonation.my_views", _l("When support viewed the portal as me")),
)


def _account() -> Account:
    return current_user._get_current_object()


# --- profile and sessions -------------------------------------------------------------------


@access.SIGNED_IN
def overview():
    account = _account()
    form = ProfileForm(
        data={
            "name": account.name,
            "phone": phone.national(account.phone),
            "language": account.language,
        }
    )
    if form.validate_on_submit():
        account.name = (form.name.data or "").strip() or None
        account.phone = phone.to_e164(form.phone.data) if form.phone.data else None
        account.language = form.language.data
        audit.record("account.profile_updated", subject=account)
        flash(_("Your details are saved."), "success")
        response = redirect(url_for(".overview"))
        response.delete_cookie(LANGUAGE_COOKIE)  # the chosen language now follows the account
        return response
    show_sessions = not access.is_read_only()  # support must not see where the person is
    return render_template(
        "portal/accounts/overview.html",
        form=form,
        sessions=sessions.active_sessions(account) if show_sessions else [],
        show_sessions=show_sessions,
        current_session=sessions.current_record(),
        account_links=[
            (endpoint, label)
            for endpoint, label in ACCOUNT_LINKS
            if access.may_use(endpoint, account)
        ],
    )


@access.SIGNED_IN
@access.not_while_impersonating
def end_session(session_id: int):
    record = next((s for s in sessions.active_sessions(_account()) if s.id == session_id), None)
    if record is None:
        abort(404)
    if record.id == sessions.current_record().id:
        abort(400)
    sessions.revoke(record, reason="ended by owner")
    flash(_("The session is ended."), "success")
    return redirect(url_for(".overview"))


@access.SIGNED_IN
@access.not_while_impersonating
def end_other_sessions():
    count = sessions.revoke_all(_account(), except_current=True, reason="ended by owner")
    flash(_("%(count)d other sessions are ended.", count=count), "success")
    return redirect(url_for(".overview"))


# --- password and email address -------------------------------------------------------------


def password_changed(account: Account, *, reason: str, keep_current: bool = False) -> int:
    """After a new password: other sessions end, reset links stop working, the owner is told."""
    ended = sessions.revoke_all(account, except_current=keep_current, reason=reason)
    tokens.cancel_open(account, TokenPurpose.PASSWORD_RESET)
    mail.queue(
        account.email,
        "portal/accounts/mail/password_changed",
        language=account.language,
        account=account,
        when=clock.now(),
    )
    return ended


@access.SIGNED_IN
@ratelimit.password_checks_per_account
def change_password():
    account = _account()
    form = ChangePasswordForm(account=account)
    if form.validate_on_submit():
        account.password_hash = passwords.hash_password(form.password.data)
        ended = password_changed(account, reason="password changed", keep_current=True)
        audit.record("password.changed", subject=account, details={"sessions_ended": ended})
        flash(_("Your password is changed. You are signed out everywhere else."), "success")
        return redirect(url_for(".change_password"))
    if form.wrong_current_password:
        audit.record(
            "password.changed",
            subject=account,
            outcome="failure",
            details={"reason": "wrong current password"},
        )
    return render_template("portal/accounts/password_change.html", form=form)


def _pending_email_change(account: Account) -> str | None:
    record = tokens.latest_open(account, TokenPurpose.EMAIL_CHANGE)
    if record is None or not record.is_usable:
        return None
    return (record.payload or {}).get("email")


@access.SIGNED_IN
@ratelimit.password_checks_per_account
def change_email():
    account = _account()
    form = EmailChangeForm(account=account)
    if form.validate_on_submit():
        new_address = form.normalized_email
        token = tokens.issue(account, TokenPurpose.EMAIL_CHANGE, payload={"email": new_address})
        mail.queue(
            new_address,
            "portal/accounts/mail/email_change",
            language=account.language,
            account=account,
            link=mail.Secret(external_url("portal.accounts.confirm_email", token=token)),
            hours=tokens.lifetime_hours(TokenPurpose.EMAIL_CHANGE),
        )
        audit.record("email_change.requested", subject=account)
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
    return render_template(
        "portal/accounts/email_change.html", form=form, pending=_pending_email_change(account)
    )


@access.PUBLIC
@http.secret_link
@ratelimit.token_form_per_address
def confirm_email(token: str):
    record, problem = tokens.find(token, TokenPurpose.EMAIL_CHANGE)
    if problem:
        return tokens.problem_page(problem)
    account = record.account
    new_address = (record.payload or {}).get("email")
    if not account.is_active or not new_address:
        return tokens.problem_page(tokens.TokenProblem.UNKNOWN)
    taken = service.find_by_email(new_address)
    if taken is not None and taken.id != account.id:
        message = _("Another account now uses this address, so it cannot be yours as well.")
        return tokens.problem_page(tokens.TokenProblem.UNKNOWN, message, 409)
    if request.method == "POST":
        if not tokens.consume(record):
            return tokens.problem_page(tokens.TokenProblem.USED)
        old_address = account.email
        account.email = new_address
        tokens.cancel_open(account, TokenPurpose.PASSWORD_RESET)
        audit.record("email_change.completed", actor=account, subject=account)
        mail.queue(
            old_address,
            "portal/accounts/mail/email_changed",
            language=account.language,
            old_email=old_address,
            when=clock.now(),
        )
        if current_user.is_authenticated and current_user.id == account.id:
            flash(_("Your email address is changed to %(email)s.", email=new_address), "success")
            return redirect(url_for(".change_email"))
        flash(_("Your email address is changed. Sign in with the new address."), "success")
        return redirect(url_for("portal.signin.login"))
    html = render_template(
        "portal/accounts/email_change_confirm.html", account=account, new_email=new_address
    )
    return html


# --- the second factor ----------------------------------------------------------------------


def render_enrolment(form, record, account: Account, *, forced: bool):
    uri = twofactor.provisioning_uri(record, account)
    return http.no_store(
        render_template(
            "portal/accounts/two_factor_enrol.html",
            form=form,
            account=account,
            secret=twofactor.grouped(record.secret),
            uri=uri,
            qr_code=qr_svg(uri, _("QR code with the key for %(email)s", email=account.email)),
            issuer=twofactor.ISSUER,
            forced=forced,
        )
    )


def show_recovery_codes(codes: list[str], next_url: str):
    """Shown once, in the response to the confirming POST: they are stored only as hashes."""
    return http.no_store(
        render_template(
            "portal/accounts/two_factor_recovery_codes.html", codes=codes, next_url=next_url
        )
    )


WRONG_CODE = _l("The code is wrong or has already been used. Try again.")


@access.SIGNED_IN
@access.not_while_impersonating
def two_factor():
    account = _account()
    return render_template(
        "portal/accounts/two_factor_manage.html",
        enabled=twofactor.is_enabled(account),
        enabled_since=twofactor.enabled_since(account),
        required=twofactor.is_required(account),
        remaining=twofactor.remaining_recovery_codes(account),
    )


@access.SIGNED_IN
@access.not_while_impersonating
def two_factor_enrol():
    account = _account()
    if twofactor.is_enabled(account):
        flash(_("Two-factor authentication is already on."), "info")
        return redirect(url_for(".two_factor"))
    record = twofactor.start_enrolment(account)  # kept, so that a reload shows the same secret
    form = ConfirmEnrolmentForm()
    if form.validate_on_submit():
        codes = twofactor.confirm_enrolment(account, form.code.data)
        if codes is not None:
            return show_recovery_codes(codes, url_for(".two_factor"))
        form.code.errors.append(str(WRONG_CODE))
    return render_enrolment(form, record, account, forced=False)


@access.CUSTOMER
@access.not_while_impersonating
def two_factor_disable():
    account = _account()
    if not twofactor.is_enabled(account):
        return redirect(url_for(".two_factor"))
    form = DisableForm()
    if form.validate_on_submit():
        if not passwords.verify(account.password_hash, form.password.data):
            form.password.errors.append(_("The password is wrong."))
        elif twofactor.verify_any(account, form.code.data) is None:
            form.code.errors.append(str(WRONG_CODE))
        else:
            twofactor.disable(account)
            flash(_("Two-factor authentication is off."), "success")
            return redirect(url_for(".two_factor"))
    return render_template("portal/accounts/two_factor_disable.html", form=form)


@access.SIGNED_IN
@access.not_while_impersonating
def recovery_codes():
    account = _account()
    if not twofactor.is_enabled(account):
        return redirect(url_for(".two_factor"))
    form = RegenerateForm()
    if form.validate_on_submit():
        if passwords.verify(account.password_hash, form.password.data):
            codes = twofactor.regenerate_recovery_codes(account)
            return show_recovery_codes(codes, url_for(".two_factor"))
        form.password.errors.append(_("The password is wrong."))
    return render_template("portal/accounts/two_factor_regenerate.html", form=form)
