"""The license manager page (company admins) and the confirmation link of a function address."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import access, audit, ratelimit
from portal.accounts import sessions, twofactor
from portal.accounts.forms import NewPasswordForm
from portal.accounts.views import render_token_problem
from portal.licenses import manager
from portal.licenses.manager_forms import PERSONAL, ManagerForm
from portal.transaction import commit

bp = Blueprint("license_manager", __name__, url_prefix="/licenses/manager")


@bp.route("", methods=["GET", "POST"])
@access.COMPANY_ADMIN
def manage():
    admin = current_user._get_current_object()
    company = admin.company
    people = manager.designatable_accounts(company)
    form = ManagerForm(people=people)
    if form.validate_on_submit():
        before = manager.current_manager(company)
        try:
            if form.choice.data == PERSONAL:
                chosen = next((p for p in people if str(p.id) == form.account.data), None)
                manager.designate_personal(company, chosen, admin)
                message = _flash_personal(chosen, before)
            else:
                pending = manager.designate_function_address(company, form.email.data, admin)
                message = _flash_function(pending, before)
        except manager.ManagerError as error:
            getattr(form, error.field).errors.append(str(error.message))
            commit()  # only the audit event of a refused address; the service changed nothing
        else:
            commit()
            flash(message, "success")
            return redirect(url_for(".manage"))
    return render_template(
        "portal/licenses/manager.html",
        form=form,
        current=manager.current_manager(company),
        designation=manager.current_designation(company),
        pending=manager.pending_change(company),
    )


def _flash_personal(chosen, before) -> str:
    if before is not None and before.id == chosen.id:
        return _(
            "The pending change is withdrawn. %(name)s still manages the licenses.",
            name=chosen.display_name,
        )
    return _(
        "%(name)s now manages the licenses. We have told them by email.",
        name=chosen.display_name,
    )


def _flash_function(pending, before) -> str:
    if pending is None:
        return _(
            "The pending change is withdrawn. %(name)s still manages the licenses.",
            name=before.display_name,
        )
    if before is None:
        return _(
            "We have mailed a link to %(email)s. The change takes effect when someone there"
            " follows it; until then the company's admins receive the license notices.",
            email=pending.account.email,
        )
    return _(
        "We have mailed a link to %(email)s. The change takes effect when someone there"
        " follows it; until then %(name)s still manages the licenses.",
        email=pending.account.email,
        name=before.display_name,
    )


@bp.route("/confirm/<token>", methods=["GET", "POST"])
@access.PUBLIC
@ratelimit.token_form_per_address
def confirm(token: str):
    confirmation, problem = manager.find_confirmation(token)
    if problem:
        return render_token_problem(problem)
    account = confirmation.account
    company = confirmation.company
    requested_by = confirmation.pending.requested_by
    form = NewPasswordForm(email=account.email)
    if form.validate_on_submit():
        problem = manager.confirm(confirmation, form.password.data)
        if problem:
            return render_token_problem(problem)
        confirmed = _(
            "Confirmed: %(email)s now manages the licenses of %(company)s.",
            email=account.email,
            company=company.name,
        )
        if twofactor.is_enabled(account):
            # A mailed link never replaces the second factor: sign in the ordinary way.
            commit()
            next_step = _("Sign in with the new password and your code.")
            flash(f"{confirmed} {next_step}", "success")
            return redirect(url_for("portal.accounts.login"))
        if current_user.is_authenticated:
            sessions.end_current(reason="signed in as another account")
        sessions.start(account)
        audit.record("login.succeeded", actor=account, subject=account)
        commit()
        signed_in = _("The password is set and you are signed in.")
        flash(f"{confirmed} {signed_in}", "success")
        return redirect(url_for("portal.core.dashboard"))
    return render_template(
        "portal/licenses/manager_confirm.html",
        form=form,
        account=account,
        company=company,
        requested_by=requested_by,
    )
