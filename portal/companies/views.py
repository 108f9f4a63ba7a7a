"""`/staff/companies/...`: the staff admin adds a company and ends or restarts its customer
relationship, with the rules the command line uses (`portal.companies.service`).

Companies is the lowest feature: these pages use only the core and companies, and link to
support's company page by its endpoint name.
"""

from flask import current_app, flash, redirect, url_for
from flask_login import current_user

from portal import access, clock
from portal.companies import service
from portal.companies.forms import CompanyForm, ConfirmForm, EndRelationshipForm
from portal.companies.models import Company
from portal.db import db
from portal.forms import show_refusal
from portal.i18n import gettext as _
from portal.refusals import Refusal
from portal.register import account_purge_date
from portal.rendering import render_template

COMPANY_PAGE = "portal.staff.company"


def _actor():
    return current_user._get_current_object()


def _retention_months() -> int:
    return current_app.config["PORTAL_ACCOUNT_RETENTION_MONTHS"]


@access.STAFF_ADMIN
def new():
    form = CompanyForm()
    if form.validate_on_submit():
        try:
            company = service.add_company(form.name.data, form.org_number.data, actor=_actor())
        except Refusal as refusal:
            show_refusal(form, refusal, "name")
        else:
            flash(
                _(
                    "%(name)s (%(number)s) is added.",
                    name=company.name,
                    number=company.org_number,
                ),
                "success",
            )
            return redirect(url_for(COMPANY_PAGE, company_id=company.id))
    return render_template("portal/companies/new.html", form=form)


@access.STAFF_ADMIN
def end(company_id: int):
    company = db.get_or_404(Company, company_id)
    form = EndRelationshipForm(ended_on=company.relationship_ended_on or clock.today())
    if form.validate_on_submit():
        service.end_relationship(company, form.ended_on.data, actor=_actor())
        purge_on = account_purge_date(form.ended_on.data, _retention_months())
        flash(
            _(
                "The customer relationship of %(name)s ended on %(day)s. Its login accounts are"
                " removed on %(purge)s.",
                name=company.name,
                day=form.ended_on.data.isoformat(),
                purge=purge_on.isoformat(),
            ),
            "success",
        )
        return redirect(url_for(COMPANY_PAGE, company_id=company.id))
    return render_template(
        "portal/companies/end.html", form=form, company=company, months=_retention_months()
    )


@access.STAFF_ADMIN
def restart(company_id: int):
    company = db.get_or_404(Company, company_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            service.restart_relationship(company, actor=_actor())
        except Refusal as refusal:
            flash(str(refusal), "error")
        else:
            flash(_("%(name)s is a customer again.", name=company.name), "success")
        return redirect(url_for(COMPANY_PAGE, company_id=company.id))
    return render_template("portal/companies/restart.html", form=form, company=company)
