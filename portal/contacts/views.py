"""`/contacts/`: the company's contacts (members read them; company admins change them), and
`/account/consents`: a signed-in customer's own consents, given and withdrawn by themselves."""

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from portal import access
from portal.accounts.models import Account
from portal.accounts.service import is_license_manager
from portal.contacts import consent, erasure, service
from portal.contacts.forms import (
    KIND_LABELS,
    ROLE_LABELS,
    ConsentForm,
    ContactForm,
    ReplaceForm,
)
from portal.contacts.models import Contact, RecordedBy
from portal.db import db
from portal.forms import show_refusal
from portal.i18n import current_language, ngettext
from portal.i18n import gettext as _
from portal.refusals import Refusal
from portal.register import BOOKKEEPING_YEARS, REGISTER, RetentionRule, bookkeeping_end
from portal.rendering import render_template


def _actor() -> Account:
    return current_user._get_current_object()


def _contact(contact_id: int) -> Contact:
    """A contact of the signed-in person's company; any other answers 404."""
    return db.first_or_404(
        sa.select(Contact).where(
            Contact.id == contact_id, Contact.company_id == current_user.company_id
        )
    )


def _labels() -> dict:
    return {"role_labels": ROLE_LABELS, "kind_labels": KIND_LABELS}


@access.CUSTOMER
def index():
    people = []
    if current_user.is_company_admin:
        people = db.session.scalars(
            sa.select(Account)
            .where(Account.company_id == current_user.company_id, Account.id != current_user.id)
            .order_by(Account.email)
        ).all()
    return render_template(
        "portal/contacts/index.html",
        contacts=service.contacts_of(current_user.company_id),
        people=people,
        **_labels(),
    )


@access.CUSTOMER
def show(contact_id: int):
    contact = _contact(contact_id)
    return render_template(
        "portal/contacts/show.html",
        contact=contact,
        consents=consent.history(contact),
        active_consent=consent.active_consent(contact),
        consent_text=consent.current_text(),
        consent_form=ConsentForm(formdata=None, language=current_language()),
        **_labels(),
    )


@access.COMPANY_ADMIN
def new():
    form = ContactForm()
    if form.validate_on_submit():
        try:
            contact = service.create_contact(
                current_user.company_id, form.contact_data(), actor=_actor()
            )
        except Refusal as refusal:
            show_refusal(form, refusal, "email")
        else:
            flash(_("The contact is added."), "success")
            return redirect(url_for(".show", contact_id=contact.id))
    return render_template("portal/contacts/form.html", form=form, contact=None)


@access.COMPANY_ADMIN
def edit(contact_id: int):
    contact = _contact(contact_id)
    form = ContactForm() if request.method == "POST" else ContactForm.for_contact(contact)
    if form.validate_on_submit():
        try:
            changed = service.update_contact(contact, form.contact_data(), actor=_actor())
        except Refusal as refusal:
            show_refusal(form, refusal, "email")
        else:
            flash(_("The contact is saved.") if changed else _("Nothing was changed."), "success")
            return redirect(url_for(".show", contact_id=contact.id))
    return render_template("portal/contacts/form.html", form=form, contact=contact)


@access.COMPANY_ADMIN
def delete(contact_id: int):
    contact = _contact(contact_id)
    problem = service.deletion_problem(contact)
    if request.method == "POST" and problem is None:
        service.delete_contact(contact, actor=_actor())
        flash(_("The contact is deleted."), "success")
        return redirect(url_for(".index"))
    return render_template(
        "portal/contacts/delete.html", contact=contact, problem=problem, **_labels()
    ), (409 if request.method == "POST" else 200)


@access.COMPANY_ADMIN
def replace(contact_id: int):
    contact = _contact(contact_id)
    if not contact.is_personal:
        abort(404)
    form = ReplaceForm()
    if form.validate_on_submit():
        try:
            result = service.replace_with_function_address(
                contact, form.email.data, form.name.data, actor=_actor()
            )
        except Refusal as refusal:
            show_refusal(form, refusal, "email")
        else:
            if result.personal_data_deleted:
                flash(
                    _("The function address has the roles now; the personal data is deleted."),
                    "success",
                )
            else:
                flash(
                    _(
                        "The function address has taken over the roles. The old contact is an "
                        "accounting record and is kept for the bookkeeping period."
                    ),
                    "success",
                )
            return redirect(url_for(".show", contact_id=result.contact.id))
    return render_template("portal/contacts/replace.html", form=form, contact=contact, **_labels())


@access.COMPANY_ADMIN
def give_consent(contact_id: int):
    contact = _contact(contact_id)
    form = ConsentForm()
    if not form.validate_on_submit():
        flash(_("Choose the language of the text the person agreed to."), "error")
    else:
        try:
            consent.give(
                contact,
                version=form.version.data,
                language=form.language.data,
                recorded_by=_actor(),
                as_role=RecordedBy.COMPANY_ADMIN,
            )
        except Refusal as refusal:
            flash(str(refusal), "error")
        else:
            flash(_("The consent is recorded."), "success")
    return redirect(url_for(".show", contact_id=contact.id))


@access.COMPANY_ADMIN
def withdraw_consent(contact_id: int):
    contact = _contact(contact_id)
    try:
        consent.withdraw(contact, recorded_by=_actor(), as_role=RecordedBy.COMPANY_ADMIN)
    except Refusal as refusal:
        flash(str(refusal), "error")
    else:
        flash(_("The consent is withdrawn, from now on."), "success")
    return redirect(url_for(".show", contact_id=contact.id))


def erased_with_records(count: int) -> str:
    return ngettext(
        "The person's data is erased. %(num)d accounting record is kept for the bookkeeping"
        " period.",
        "The person's data is erased. %(num)d accounting records are kept for the bookkeeping"
        " period.",
        count,
    )


def _bookkeeping_purpose():
    return next(p for p in REGISTER if p.retention == RetentionRule.BOOKKEEPING)


@access.COMPANY_ADMIN
def erase(account_id: int):
    account = db.first_or_404(
        sa.select(Account).where(
            Account.id == account_id, Account.company_id == current_user.company_id
        )
    )
    problem = erasure.erasure_problem(account, _actor())
    if request.method == "POST" and problem is None:
        result = erasure.erase_person(account, actor=_actor())
        if result.accounting_records_kept:
            flash(erased_with_records(result.accounting_records_kept), "success")
        else:
            flash(_("The person's data is erased."), "success")
        return redirect(url_for(".index"))
    ended_on = current_user.company.relationship_ended_on
    return render_template(
        "portal/contacts/erase.html",
        account=account,
        plan=erasure.plan(account),
        problem=problem,
        bookkeeping_purpose=_bookkeeping_purpose(),
        bookkeeping_years=BOOKKEEPING_YEARS,
        kept_until=bookkeeping_end(ended_on) if ended_on else None,
        manages_licenses=is_license_manager(account),
        **_labels(),
    ), (409 if request.method == "POST" else 200)


# --- the person's own consents --------------------------------------------------------------


@access.CUSTOMER
def my_consents():
    account = current_user._get_current_object()
    return render_template(
        "portal/contacts/consents.html",
        active_consent=consent.active_consent(account),
        consents=consent.history(account),
        consent_text=consent.current_text(),
        form=ConsentForm(formdata=None, language=current_language()),
        language=current_language(),
    )


@access.CUSTOMER
def give_my_consent():
    account = current_user._get_current_object()
    form = ConsentForm()
    if not form.validate_on_submit():
        flash(_("The consent could not be recorded. Read the text and try again."), "error")
        return redirect(url_for(".my_consents"))
    try:
        consent.give(
            account,
            version=form.version.data,
            language=form.language.data,
            recorded_by=account,
            as_role=RecordedBy.SELF,
        )
    except Refusal as refusal:
        flash(str(refusal), "error")
    else:
        flash(
            _("Thank you. Your consent is recorded; you can withdraw it here at any time."),
            "success",
        )
    return redirect(url_for(".my_consents"))


@access.CUSTOMER
def withdraw_my_consent():
    account = current_user._get_current_object()
    try:
        consent.withdraw(account, recorded_by=account, as_role=RecordedBy.SELF)
    except Refusal as refusal:
        flash(str(refusal), "error")
    else:
        flash(_("Your consent is withdrawn. It applies from now on."), "success")
    return redirect(url_for(".my_consents"))
