"""Staff pages: disclosures (`/staff/disclosures/`) and a company's contacts, read-only.

Support and staff admins record what data about a company or a person was handed out, to whom
and on what ground. Customers get 404 here (the STAFF rule hides the pages).
"""

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from portal import access
from portal.accounts.models import Account
from portal.companies.models import Company
from portal.contacts import consent, disclosures, service
from portal.contacts.disclosures import RECIPIENT_KIND_LABELS, DisclosureRequest
from portal.contacts.forms import (
    KIND_LABELS,
    ROLE_LABELS,
    DisclosureForm,
    LiftConfidentialityForm,
)
from portal.contacts.models import Contact, Disclosure, SubjectKind
from portal.db import db
from portal.forms import show_refusal
from portal.http import db_int
from portal.i18n import gettext as _
from portal.refusals import Refusal
from portal.rendering import render_template

COMPANY_SUBJECT = "company"


def _company_or_404(company_id) -> Company:
    return db.first_or_404(sa.select(Company).where(Company.id == company_id))


@access.STAFF
def disclosures_index():
    records = db.session.execute(
        sa.select(Disclosure, Company)
        .join(Company, Company.id == Disclosure.company_id)
        .order_by(Disclosure.disclosed_on.desc(), Disclosure.id.desc())
    ).all()
    return render_template(
        "portal/contacts/staff_disclosures_index.html",
        records=records,
        subjects=_subject_labels([d for d, _c in records]),
        recipient_labels=RECIPIENT_KIND_LABELS,
    )


def _subject_labels(records: list[Disclosure]) -> dict[int, str]:
    account_ids = {d.account_id for d in records if d.account_id}
    contact_ids = {d.contact_id for d in records if d.contact_id}
    accounts = {
        a.id: a for a in db.session.scalars(sa.select(Account).where(Account.id.in_(account_ids)))
    }
    contacts = {
        c.id: c for c in db.session.scalars(sa.select(Contact).where(Contact.id.in_(contact_ids)))
    }
    labels = {}
    for record in records:
        if record.subject_kind == SubjectKind.COMPANY:
            labels[record.id] = _("The company")
        elif record.account_id in accounts:
            account = accounts[record.account_id]
            labels[record.id] = _("Login: %(who)s", who=_person(account.name, account.email))
        elif record.contact_id in contacts:
            contact = contacts[record.contact_id]
            labels[record.id] = _("Contact: %(who)s", who=_person(contact.name, contact.email))
        else:
            labels[record.id] = _("A person who has since been erased")
    return labels


def _person(name, email) -> str:
    return f"{name} <{email}>" if name else email


def _subject_choices(company: Company) -> list[SelectChoice]:
    # A required select starts with an empty choice, so that nobody is chosen by default.
    choices = [
        SelectChoice("", _("Choose…")),
        SelectChoice(COMPANY_SUBJECT, _("The company itself")),
    ]
    for account in db.session.scalars(
        sa.select(Account).where(Account.company_id == company.id).order_by(Account.email)
    ):
        who = _person(account.name, account.email)
        choices.append(SelectChoice(f"account:{account.id}", _("Login: %(who)s", who=who)))
    for contact in service.contacts_of(company.id):
        who = _person(contact.name, contact.email)
        choices.append(SelectChoice(f"contact:{contact.id}", _("Contact: %(who)s", who=who)))
    return choices


def _subject(company: Company, value: str):
    if value == COMPANY_SUBJECT:
        return company
    kind, _sep, raw_id = value.partition(":")
    model = {"account": Account, "contact": Contact}.get(kind)
    if model is None or not raw_id.isdigit():
        return None
    return db.session.scalar(
        sa.select(model).where(model.id == int(raw_id), model.company_id == company.id)
    )


@access.STAFF
def new_disclosure():
    company_id = request.args.get("company", type=db_int)
    if company_id is None:
        if request.method == "POST":
            abort(400)
        companies = db.session.scalars(sa.select(Company).order_by(Company.name)).all()
        return render_template(
            "portal/contacts/staff_disclosures_choose_company.html", companies=companies
        )
    company = _company_or_404(company_id)
    form = DisclosureForm()
    form.subject.choices = _subject_choices(company)
    if request.method == "GET" and request.args.get("subject"):
        form.subject.data = request.args["subject"]
    if form.validate_on_submit():
        subject = _subject(company, form.subject.data)
        try:
            if subject is None:
                raise Refusal(_("Choose whom the data was about."), field="subject")
            disclosures.record_disclosure(
                company,
                subject,
                DisclosureRequest(
                    recipient_kind=form.recipient(),
                    recipient_name=form.recipient_name.data,
                    data_disclosed=form.data_disclosed.data,
                    disclosed_on=form.disclosed_on.data,
                    decision_reference=form.decision_reference.data or None,
                    purpose=form.purpose.data or None,
                    confidential=form.confidential.data,
                ),
                actor=current_user._get_current_object(),
            )
        except Refusal as refusal:
            show_refusal(form, refusal, "subject")
        else:
            flash(_("The disclosure is recorded."), "success")
            return redirect(url_for(".staff_disclosures"))
    return render_template("portal/contacts/staff_disclosures_new.html", form=form, company=company)


@access.STAFF
def lift_confidentiality(disclosure_id: int):
    record = db.first_or_404(sa.select(Disclosure).where(Disclosure.id == disclosure_id))
    company = db.session.get(Company, record.company_id)
    form = LiftConfidentialityForm()
    if form.validate_on_submit():
        try:
            disclosures.lift_confidentiality(
                record, form.reason.data, actor=current_user._get_current_object()
            )
        except Refusal as refusal:
            show_refusal(form, refusal)
        else:
            flash(_("The disclosure is no longer confidential: the company sees it."), "success")
            return redirect(url_for(".staff_disclosures"))
    return render_template(
        "portal/contacts/staff_disclosures_lift.html",
        form=form,
        record=record,
        company=company,
        subject=_subject_labels([record])[record.id],
        recipient_labels=RECIPIENT_KIND_LABELS,
    )


@access.STAFF
def company_contacts(company_id: int):
    company = _company_or_404(company_id)
    contacts = service.contacts_of(company.id)
    return render_template(
        "portal/contacts/staff_disclosures_company_contacts.html",
        company=company,
        contacts=contacts,
        consenting={c.id for c in contacts if consent.active_consent(c) is not None},
        role_labels=ROLE_LABELS,
        kind_labels=KIND_LABELS,
    )
