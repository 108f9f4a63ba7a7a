"""`/company/users`: a company admin invites its users and reads them in a list;
`/company/users/<id>`: one person's page (role, status, sessions, removal), whose buttons post to
the actions below and come back to it."""

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from portal import access
from portal.accounts import sessions
from portal.accounts.models import Account, CompanyRole
from portal.accounts.service import is_license_manager
from portal.forms import show_refusal
from portal.i18n import gettext as _
from portal.members import service
from portal.members.forms import InviteForm, RoleForm
from portal.refusals import Refusal
from portal.rendering import render_template


def _member_or_404(account_id: int) -> Account:
    account = service.account_of_company(account_id, current_user.company_id)
    if account is None:
        abort(404)
    return account


@access.COMPANY_ADMIN
def index():
    form = InviteForm()
    if form.validate_on_submit():
        try:
            service.invite(
                current_user, form.email.data, name=form.name.data, role=CompanyRole(form.role.data)
            )
        except Refusal as refusal:
            show_refusal(form, refusal, "email")
        else:
            flash(_("The invitation has been sent to %(email)s.", email=form.email.data), "success")
            return redirect(url_for(".index"))
    return render_template(
        "portal/members/index.html",
        form=form,
        accounts=service.company_accounts(current_user.company_id),
        is_invited=service.is_invited,
        is_license_manager=is_license_manager,
    )


@access.COMPANY_ADMIN
def person(account_id: int):
    account = _member_or_404(account_id)
    return render_template(
        "portal/members/person.html",
        account=account,
        role_form=RoleForm(formdata=None, role=account.company_role.value),
        invited=service.is_invited(account),
        manages_licenses=is_license_manager(account),
        sessions=sessions.active_sessions(account),
        is_yourself=account.id == current_user.id,
    )


@access.COMPANY_ADMIN
def change_role(account_id: int):
    account = _member_or_404(account_id)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    return _apply(
        service.change_role,
        account,
        CompanyRole(form.role.data),
        done=_("The role of %(name)s is changed."),
    )


@access.COMPANY_ADMIN
def deactivate(account_id: int):
    return _apply(
        service.deactivate, _member_or_404(account_id), done=_("%(name)s can no longer sign in.")
    )


@access.COMPANY_ADMIN
def reactivate(account_id: int):
    return _apply(
        service.reactivate, _member_or_404(account_id), done=_("%(name)s can sign in again.")
    )


@access.COMPANY_ADMIN
def resend_invitation(account_id: int):
    return _apply(
        service.resend_invitation,
        _member_or_404(account_id),
        done=_("A new invitation has been sent to %(name)s."),
    )


@access.COMPANY_ADMIN
def cancel_invitation(account_id: int):
    return _apply(
        service.cancel_invitation,
        _member_or_404(account_id),
        done=_("The invitation to %(name)s is cancelled."),
        gone=True,
    )


@access.COMPANY_ADMIN
def remove(account_id: int):
    account = _member_or_404(account_id)
    if request.method == "POST":
        return _apply(
            service.remove,
            account,
            done=_("The login of %(name)s is removed."),
            gone=True,
        )
    return render_template(
        "portal/members/remove.html", account=account, manages_licenses=is_license_manager(account)
    )


def _apply(action, account: Account, *args, done: str, gone: bool = False):
    """Do it, then show the person's page again (or the list, when the account is gone)."""
    name = account.display_name
    back = url_for(".person", account_id=account.id)
    try:
        action(current_user, account, *args)
    except Refusal as refusal:
        flash(str(refusal), "error")
        return redirect(back)
    flash(done % {"name": name}, "success")
    return redirect(url_for(".index") if gone else back)
