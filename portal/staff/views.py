"""`/staff/...`: support finds companies and accounts, reads them, and views the portal as a
customer account ("View as", see `portal.impersonation`)."""

import sqlalchemy as sa
from flask import current_app, flash, redirect, request, url_for
from flask_login import current_user

from portal import access, clock
from portal.accounts import sessions, twofactor
from portal.accounts.models import Account
from portal.accounts.service import current_manager
from portal.activity import sentences
from portal.activity.service import activity_query
from portal.companies.models import Company
from portal.contacts.forms import ROLE_LABELS
from portal.contacts.models import Contact
from portal.db import db
from portal.downloads.service import recent_downloads
from portal.forms import show_refusal
from portal.http import db_int
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.impersonation import service as impersonation
from portal.impersonation.models import EndReason
from portal.licenses import manager as license_manager
from portal.licenses.listing import LicenseQuery, translated_state_labels
from portal.members import service as members
from portal.refusals import Refusal
from portal.rendering import render_template
from portal.staff import search as company_search
from portal.staff.forms import ImpersonateForm, SearchForm

RECENT_ACTIVITY = 20
RECENT_DOWNLOADS = 10
IMPERSONATIONS_PAGE_SIZE = 50

END_REASON_LABELS = {
    EndReason.STOP: _l("Stopped"),
    EndReason.TIMEOUT: _l("Time limit reached"),
    EndReason.LOGOUT: _l("Signed out"),
    EndReason.STAFF_DEACTIVATED: _l("Staff account deactivated"),
    EndReason.ROLE_LOST: _l("Staff role removed"),
    EndReason.SESSION_ENDED: _l("Staff session ended"),
    EndReason.CUSTOMER_INACTIVE: _l("Customer account no longer active"),
}


@access.STAFF
def companies():
    form = SearchForm(request.args)
    query = (form.q.data or "").strip()
    result = company_search.search(query)
    return render_template(
        "portal/staff/companies.html",
        form=form,
        query=query,
        result=result,
        can_list_views=access.may_use("portal.staff.impersonations", current_user),
        can_add=access.may_use("portal.companies.new", current_user),
    )


@access.STAFF
def company(company_id: int):
    company = db.get_or_404(Company, company_id)
    licenses = db.session.execute(LicenseQuery().statement(company.id, clock.today())).all()
    contacts = db.session.scalars(
        sa.select(Contact)
        .where(Contact.company_id == company.id)
        .order_by(Contact.name, Contact.email)
    ).all()
    events = db.session.scalars(activity_query(company.id).limit(RECENT_ACTIVITY)).all()
    return render_template(
        "portal/staff/company.html",
        company=company,
        today=clock.today(),
        manager=current_manager(company),
        pending_manager=license_manager.pending_change(company),
        downloads=recent_downloads(company.id, RECENT_DOWNLOADS),
        licenses=licenses,
        state_labels=translated_state_labels(),
        contacts=contacts,
        role_labels=ROLE_LABELS,
        users=members.company_accounts(company.id),
        is_invited=members.is_invited,
        activity=sentences.describe(events),
        may_use=lambda endpoint: access.may_use(endpoint, current_user),
    )


@access.STAFF
def account(account_id: int):
    return _render_account(db.get_or_404(Account, account_id), ImpersonateForm())


@access.STAFF
def impersonate(account_id: int):
    target = db.get_or_404(Account, account_id)
    form = ImpersonateForm()
    form.validate_on_submit()  # the CSRF token; the reason's rule is the service's
    staff = current_user._get_current_object()
    try:
        impersonation.start(staff, target, form.reason.data, sessions.current_record())
    except Refusal as refusal:  # audited by the service
        if refusal.field:
            show_refusal(form, refusal)
            return _render_account(target, form)
        return _render_account(target, form, refusal=str(refusal)), 403
    flash(
        _(
            "You are viewing the portal as %(name)s. Nothing can be changed while you do;"
            " stop the view with the button at the top of the page.",
            name=target.display_name,
        ),
        "info",
    )
    return redirect(url_for("portal.shell.dashboard"))


def _render_account(target: Account, form: ImpersonateForm, refusal: str | None = None):
    problem = impersonation.target_problem(
        current_user._get_current_object(), target, sessions.current_record()
    )
    return render_template(
        "portal/staff/account.html",
        target=target,
        form=form,
        refusal=refusal,
        why_not=impersonation.PROBLEMS[problem] if problem else None,
        invited=members.is_invited(target),
        twofactor_on=twofactor.is_enabled(target),
        views=impersonation.views_of_account(target.id),
        end_reason_labels=END_REASON_LABELS,
        minutes=_minutes(),
        now=clock.now(),
    )


def _minutes() -> int:
    return current_app.config["PORTAL_IMPERSONATION_MINUTES"]


@access.STAFF_ADMIN
def impersonations():
    page = request.args.get("page", 1, type=db_int)
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
