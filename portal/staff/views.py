"""`/staff/...`: support finds companies and accounts, reads them, and views the portal as a
customer account ("View as", see `portal.impersonation`)."""

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import access, audit, clock
from portal.accounts import members, sessions, twofactor
from portal.accounts.models import Account
from portal.audit import AuditEvent
from portal.companies.models import Company
from portal.contacts.forms import ROLE_LABELS
from portal.contacts.models import Contact
from portal.db import db
from portal.impersonation import service as impersonation
from portal.impersonation.models import EndReason
from portal.licenses import keys
from portal.licenses.listing import STATE_LABELS, LicenseQuery
from portal.staff import search as company_search
from portal.staff.forms import ImpersonateForm, SearchForm
from portal.transaction import commit

bp = Blueprint("staff", __name__, url_prefix="/staff")

RECENT_ACTIVITY = 20
IMPERSONATIONS_PAGE_SIZE = 50

# Why "View as" was refused, for the staff member.
PROBLEMS = {
    "not_allowed": _l("Only support and staff admins may view the portal as a customer."),
    "self": _l("You cannot view the portal as yourself."),
    "staff_target": _l("Staff accounts cannot be viewed as; only customer accounts."),
    "inactive": _l("This account is deactivated, so nobody sees the portal as it."),
    "invited": _l("This person has not accepted the invitation yet and has never signed in."),
    "nested": _l("You are already viewing the portal as someone. Stop that view first."),
    "reason_missing": _l("Give a reason: a ticket reference or a few words on why."),
    "reason_too_short": _l(
        "Give a ticket reference such as ÄRENDE-1234 or #1234, or at least 10 characters."
    ),
    "reason_too_long": _l("The reason can be at most 500 characters."),
}
REASON_PROBLEMS = {"reason_missing", "reason_too_short", "reason_too_long"}

END_REASON_LABELS = {
    EndReason.STOP: _l("Stopped"),
    EndReason.TIMEOUT: _l("Time limit reached"),
    EndReason.LOGOUT: _l("Signed out"),
    EndReason.STAFF_DEACTIVATED: _l("Staff account deactivated"),
    EndReason.ROLE_LOST: _l("Staff role removed"),
    EndReason.SESSION_ENDED: _l("Staff session ended"),
    EndReason.CUSTOMER_INACTIVE: _l("Customer account no longer active"),
}


@bp.get("/companies")
@access.STAFF
def companies():
    form = SearchForm(request.args)
    query = (form.q.data or "").strip()
    result = company_search.search(query)
    return render_template(
        "portal/staff/staff_companies.html",
        form=form,
        query=query,
        result=result,
        can_list_views=access.may_use("portal.staff.impersonations", current_user),
    )


@bp.get("/companies/<int:company_id>")
@access.STAFF
def company(company_id: int):
    company = db.get_or_404(Company, company_id)
    licenses = db.session.execute(LicenseQuery().statement(company.id, clock.today())).all()
    contacts = db.session.scalars(
        sa.select(Contact)
        .where(Contact.company_id == company.id)
        .order_by(Contact.name, Contact.email)
    ).all()
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.company_id == company.id)
        .order_by(AuditEvent.occurred_dt.desc(), AuditEvent.id.desc())
        .limit(RECENT_ACTIVITY)
    ).all()
    return render_template(
        "portal/staff/staff_companies_show.html",
        company=company,
        licenses=licenses,
        mask=keys.mask,
        state_labels=STATE_LABELS,
        contacts=contacts,
        role_labels=ROLE_LABELS,
        users=members.company_accounts(company.id),
        is_invited=members.is_invited,
        events=events,
        names=audit.account_names(events),
        may_use=lambda endpoint: access.may_use(endpoint, current_user),
    )


@bp.get("/accounts/<int:account_id>")
@access.STAFF
def account(account_id: int):
    return _render_account(db.get_or_404(Account, account_id), ImpersonateForm())


@bp.post("/accounts/<int:account_id>/impersonate")
@access.STAFF
def impersonate(account_id: int):
    target = db.get_or_404(Account, account_id)
    form = ImpersonateForm()
    form.validate_on_submit()  # the CSRF token; the reason's rule is the service's
    staff = current_user._get_current_object()
    try:
        impersonation.start(staff, target, form.reason.data, sessions.current_record())
    except impersonation.Refused as refusal:
        commit()  # the refusal is audited
        message = PROBLEMS[refusal.problem]
        if refusal.problem in REASON_PROBLEMS:
            form.reason.errors = [message]
            return _render_account(target, form)
        return _render_account(target, form, refusal=message), 403
    commit()
    flash(
        _(
            "You are viewing the portal as %(name)s. Nothing can be changed while you do;"
            " stop the view with the button at the top of the page.",
            name=target.display_name,
        ),
        "info",
    )
    return redirect(url_for("portal.core.dashboard"))


def _render_account(target: Account, form: ImpersonateForm, refusal: str | None = None):
    problem = impersonation.target_problem(
        current_user._get_current_object(), target, sessions.current_record()
    )
    return render_template(
        "portal/staff/staff_account.html",
        target=target,
        form=form,
        refusal=refusal,
        why_not=PROBLEMS[problem] if problem else None,
        invited=members.is_invited(target),
        twofactor_on=twofactor.is_enabled(target),
        views=impersonation.views_of_account(target.id),
        end_reason_labels=END_REASON_LABELS,
        minutes=_minutes(),
        now=clock.now(),
    )


def _minutes() -> int:
    return current_app.config["PORTAL_IMPERSONATION_MINUTES"]


@bp.get("/impersonations")
@access.STAFF_ADMIN
def impersonations():
    page = request.args.get("page", 1, type=int)
    views = db.paginate(
        impersonation.all_views_query(),
        page=max(page, 1),
        per_page=IMPERSONATIONS_PAGE_SIZE,
        error_out=False,
    )
    company_ids = {view.company_id for view in views.items if view.company_id}
    companies = (
        dict(
            db.session.execute(
                sa.select(Company.id, Company.name).where(Company.id.in_(company_ids))
            ).all()
        )
        if company_ids
        else {}
    )
    return render_template(
        "portal/staff/impersonations.html",
        views=views,
        companies=companies,
        end_reason_labels=END_REASON_LABELS,
        now=clock.now(),
    )
