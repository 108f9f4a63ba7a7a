from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import access, audit
from portal.accounts import passwords, service, sessions, tokens
from portal.accounts.forms import LoginForm, NewPasswordForm
from portal.transaction import commit
from portal.web import safe_next_url

bp = Blueprint("accounts", __name__)


@bp.route("/login", methods=["GET", "POST"])
@access.PUBLIC
def login():
    if current_user.is_authenticated:
        return redirect(url_for("portal.core.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        account = service.authenticate(form.email.data, form.password.data)
        if account is not None:
            sessions.start(account, remember=form.remember.data)
            audit.record("login.succeeded", actor=account, subject=account)
            commit()
            return redirect(
                safe_next_url(request.args.get("next")) or url_for("portal.core.dashboard")
            )
        audit.record(
            "login.failed",
            actor_label="anonymous",
            outcome="failure",
            details={"email_known": service.find_by_email(form.email.data or "") is not None},
        )
        commit()
        form.password.errors.append(_("The email address or the password is wrong."))
    return render_template("portal/accounts/login.html", form=form)


@bp.post("/logout")
@access.SIGNED_IN
def logout():
    audit.record("logout", subject=current_user._get_current_object())
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
        sessions.start(account)
        commit()
        flash(_("Welcome! Your password is set and you are signed in."), "success")
        return redirect(url_for("portal.core.dashboard"))
    return render_template("portal/accounts/accept_invitation.html", form=form, account=account)
