from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import access, audit, ratelimit
from portal.accounts import passwords, service, sessions, tokens, twofactor_views
from portal.accounts.forms import LoginForm, NewPasswordForm
from portal.transaction import commit

bp = Blueprint("accounts", __name__)


@bp.route("/login", methods=["GET", "POST"])
@access.PUBLIC
@ratelimit.login_per_address
@ratelimit.login_failures_per_account
def login():
    if current_user.is_authenticated:
        return redirect(url_for("portal.core.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        account = service.authenticate(form.email.data, form.password.data)
        if account is not None:
            # A session now, or first the second factor (see twofactor_views).
            return twofactor_views.after_password(
                account, remember=form.remember.data, next_url=request.args.get("next")
            )
        audit.record(
            "login.failed",
            actor_label="anonymous",
            outcome="failure",
            subject=service.find_by_valid_email(form.email.data),
        )
        commit()
        form.password.errors.append(_("The email address or the password is wrong."))
    return render_template("portal/accounts/login.html", form=form)


@bp.post("/logout")
@access.SIGNED_IN
@access.ends_impersonation
def logout():
    audit.record("logout", subject=sessions.signed_in_account())
    sessions.end_current(reason="logout")
    commit()
    return redirect(url_for("portal.accounts.login"))


TOKEN_PROBLEM_TEXTS = {
    tokens.TokenProblem.UNKNOWN: _l("This link is not valid. Check that you copied all of it."),
    tokens.TokenProblem.USED: _l("This link has already been used. Each link works once."),
    tokens.TokenProblem.EXPIRED: _l("This link has expired. Ask for a new one."),
    tokens.TokenProblem.CANCELLED: _l("This link has been replaced by a newer one or cancelled."),
}


def render_token_problem(problem: tokens.TokenProblem):
    return render_template(
        "portal/accounts/link_problem.html", message=TOKEN_PROBLEM_TEXTS[problem]
    ), 410 if problem != tokens.TokenProblem.UNKNOWN else 404


@bp.route("/invite/<token>", methods=["GET", "POST"])
@access.PUBLIC
@ratelimit.token_form_per_address
def accept_invitation(token: str):
    record, problem = tokens.find(token, tokens.TokenPurpose.INVITATION)
    if problem:
        return render_token_problem(problem)
    account = record.account
    form = NewPasswordForm(email=account.email)
    if form.validate_on_submit():
        if not tokens.consume(record):
            return render_token_problem(tokens.TokenProblem.USED)
        account.password_hash = passwords.hash_password(form.password.data)
        audit.record("invitation.accepted", actor=account, subject=account)
        flash(_("Welcome! Your password is set."), "success")
        # The same second step as a sign-in: staff enrol two-factor before any session.
        return twofactor_views.after_password(account)
    return render_template("portal/accounts/accept_invitation.html", form=form, account=account)
