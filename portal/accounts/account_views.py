"""`/account`: a person's own profile and the browsers signed in as them."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import access, audit, phone
from portal.accounts import sessions
from portal.accounts.account_forms import ProfileForm
from portal.i18n import LANGUAGE_COOKIE
from portal.impersonation import service as impersonation
from portal.transaction import commit

bp = Blueprint("account", __name__, url_prefix="/account")

# Pages about one's own security and data, linked from /account when the user may use them.
ACCOUNT_LINKS = (
    ("portal.password.change", _l("Change password")),
    ("portal.password.change_email", _l("Change email address")),
    ("portal.twofactor.manage", _l("Two-factor authentication")),
    ("portal.consents.overview", _l("My consents")),
    ("portal.export.overview", _l("Export my data")),
)


def account_links(account) -> list:
    return [
        (endpoint, label) for endpoint, label in ACCOUNT_LINKS if access.may_use(endpoint, account)
    ]


@bp.route("", methods=["GET", "POST"])
@access.SIGNED_IN
def overview():
    account = current_user._get_current_object()
    form = ProfileForm(
        data={
            "name": account.name,
            "phone": phone.national(account.phone),
            "language": account.language,
        }
    )
    if form.validate_on_submit():
        account.name = (form.name.data or "").strip() or None
        account.phone = phone.to_e164(form.phone.data) if form.phone.data else None
        account.language = form.language.data
        audit.record("account.profile_updated", subject=account)
        commit()
        flash(_("Your details are saved."), "success")
        response = redirect(url_for(".overview"))
        response.delete_cookie(LANGUAGE_COOKIE)  # the chosen language now follows the account
        return response
    viewed_by_support = impersonation.current() is not None  # support must not see sessions
    return render_template(
        "portal/account/overview.html",
        form=form,
        sessions=[] if viewed_by_support else sessions.active_sessions(account),
        show_sessions=not viewed_by_support,
        current_session=sessions.current_record(),
        account_links=account_links(account),
        support_views=impersonation.views_of_account(account.id),
    )


@bp.post("/sessions/<int:session_id>/end")
@access.SIGNED_IN
@access.not_while_impersonating
def end_session(session_id: int):
    record = next((s for s in sessions.active_sessions(current_user) if s.id == session_id), None)
    if record is None:
        abort(404)
    if record.id == sessions.current_record().id:
        abort(400)
    sessions.revoke(record, reason="ended by owner")
    commit()
    flash(_("The session is ended."), "success")
    return redirect(url_for(".overview"))


@bp.post("/sessions/end-others")
@access.SIGNED_IN
@access.not_while_impersonating
def end_other_sessions():
    count = sessions.revoke_all(current_user, except_current=True, reason="ended by owner")
    commit()
    flash(_("%(count)d other sessions are ended.", count=count), "success")
    return redirect(url_for(".overview"))
