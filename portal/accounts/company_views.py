"""`/company/...`: a company admin manages the company's users and reads its activity."""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import access, audit
from portal.accounts import members
from portal.accounts.company_forms import InviteForm, RoleForm
from portal.accounts.models import Account, CompanyRole
from portal.audit import AuditEvent
from portal.db import db
from portal.licenses.manager import is_license_manager
from portal.transaction import commit

bp = Blueprint("company", __name__, url_prefix="/company")

ACTIVITY_PAGE_SIZE = 50

MEMBER_ERRORS = {
    "already_in_company": _l("This address already has an account in your company."),
    "last_admin": _l("The company must keep at least one active admin."),
    "self": _l("You cannot do this to your own account."),
    "not_invited": _l("This person has already accepted the invitation."),
}


def _member_or_404(account_id: int) -> Account:
    account = members.account_of_company(account_id, current_user.company_id)
    if account is None:
        abort(404)
    return account


@bp.route("/users", methods=["GET", "POST"])
@access.COMPANY_ADMIN
def users():
    form = InviteForm()
    if form.validate_on_submit():
        try:
            members.invite(
                current_user,
                form.email.data,
                name=form.name.data,
                role=CompanyRole(form.role.data),
            )
        except members.MemberError as error:
            form.email.errors.append(MEMBER_ERRORS[str(error)])
        else:
            commit()
            flash(_("The invitation has been sent to %(email)s.", email=form.email.data), "success")
            return redirect(url_for(".users"))
    accounts = members.company_accounts(current_user.company_id)
    return render_template(
        "portal/company/users.html",
        form=form,
        accounts=accounts,
        is_invited=members.is_invited,
        is_license_manager=is_license_manager,
        role_form=RoleForm,
    )


@bp.post("/users/<int:account_id>/role")
@access.COMPANY_ADMIN
def change_role(account_id: int):
    account = _member_or_404(account_id)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    return _apply(
        members.change_role,
        account,
        CompanyRole(form.role.data),
        done=_("The role of %(name)s is changed."),
    )


@bp.post("/users/<int:account_id>/deactivate")
@access.COMPANY_ADMIN
def deactivate(account_id: int):
    return _apply(
        members.deactivate, _member_or_404(account_id), done=_("%(name)s can no longer sign in.")
    )


@bp.post("/users/<int:account_id>/reactivate")
@access.COMPANY_ADMIN
def reactivate(account_id: int):
    return _apply(
        members.reactivate, _member_or_404(account_id), done=_("%(name)s can sign in again.")
    )


@bp.post("/users/<int:account_id>/invitation/resend")
@access.COMPANY_ADMIN
def resend_invitation(account_id: int):
    return _apply(
        members.resend_invitation,
        _member_or_404(account_id),
        done=_("A new invitation has been sent to %(name)s."),
    )


@bp.post("/users/<int:account_id>/invitation/cancel")
@access.COMPANY_ADMIN
def cancel_invitation(account_id: int):
    return _apply(
        members.cancel_invitation,
        _member_or_404(account_id),
        done=_("The invitation to %(name)s is cancelled."),
    )


@bp.route("/users/<int:account_id>/remove", methods=["GET", "POST"])
@access.COMPANY_ADMIN
def remove(account_id: int):
    account = _member_or_404(account_id)
    if request.method == "POST":
        return _apply(members.remove, account, done=_("%(name)s has been removed."))
    return render_template("portal/company/remove_user.html", account=account)


def _apply(action, account: Account, *args, done: str):
    name = account.display_name
    try:
        action(current_user, account, *args)
    except members.MemberError as error:
        db.session.rollback()
        flash(MEMBER_ERRORS[str(error)], "error")
    else:
        commit()
        flash(done % {"name": name}, "success")
    return redirect(url_for(".users"))


@bp.get("/activity")
@access.COMPANY_ADMIN
def activity():
    page = request.args.get("page", 1, type=int)
    query = (
        sa.select(AuditEvent)
        .where(AuditEvent.company_id == current_user.company_id)
        .order_by(AuditEvent.occurred_dt.desc(), AuditEvent.id.desc())
    )
    events = db.paginate(query, page=max(page, 1), per_page=ACTIVITY_PAGE_SIZE, error_out=False)
    return render_template(
        "portal/company/activity.html", events=events, names=audit.account_names(events.items)
    )
