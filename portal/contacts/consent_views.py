"""`/account/consents`: a signed-in customer's own consents, given and withdrawn by themselves."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal import access
from portal.contacts import consent
from portal.contacts.forms import ConsentForm
from portal.transaction import commit

bp = Blueprint("consents", __name__, url_prefix="/account/consents")


@bp.get("")
@access.CUSTOMER
def overview():
    account = current_user._get_current_object()
    return render_template(
        "portal/contacts/consents.html",
        active_consent=consent.active_consent(account),
        consents=consent.history(account),
        consent_text=consent.current_text(),
        form=ConsentForm(formdata=None, language=str(get_locale() or "sv")),
        language=str(get_locale() or "sv"),
    )


@bp.post("/give")
@access.CUSTOMER
def give():
    account = current_user._get_current_object()
    form = ConsentForm()
    if not form.validate_on_submit():
        flash(_("The consent could not be recorded. Read the text and try again."), "error")
        return redirect(url_for(".overview"))
    try:
        consent.give(
            account,
            version=form.version.data,
            language=form.language.data,
            recorded_by=account,
            as_role=consent.RecordedBy.SELF,
        )
    except consent.ConsentError as error:
        flash(str(error.message), "error")
    else:
        commit()
        flash(
            _("Thank you. Your consent is recorded; you can withdraw it here at any time."),
            "success",
        )
    return redirect(url_for(".overview"))


@bp.post("/withdraw")
@access.CUSTOMER
def withdraw():
    account = current_user._get_current_object()
    try:
        consent.withdraw(account, recorded_by=account, as_role=consent.RecordedBy.SELF)
    except consent.ConsentError as error:
        flash(str(error.message), "error")
    else:
        commit()
        flash(_("Your consent is withdrawn. It applies from now on."), "success")
    return redirect(url_for(".overview"))
