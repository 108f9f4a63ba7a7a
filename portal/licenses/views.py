"""The company's licenses: the list, one license with its releases, revealing a key, and the
license manager (the company admin's choice, and the confirmation link of a function address)."""

from collections.abc import Callable

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from portal import access, audit, clock, http, ratelimit
from portal.accounts import tokens, twofactor
from portal.accounts.forms import NewPasswordForm
from portal.accounts.service import (
    LICENSE_MANAGER_OR_ADMIN,
    current_designation,
    current_manager,
)
from portal.db import db
from portal.forms import show_refusal
from portal.i18n import gettext as _
from portal.licenses import entitlement, manager
from portal.licenses.forms import PERSONAL, ManagerForm
from portal.licenses.listing import LicenseQuery, filter_selects, translated_state_labels
from portal.licenses.models import IN_FORCE, STATE_LABELS, License, LicenseState, Product
from portal.refusals import Refusal
from portal.rendering import render_template
from portal.signin import service as signin


@access.CUSTOMER
def index():
    products = db.session.scalars(sa.select(Product).order_by(Product.name)).all()
    query = LicenseQuery.from_args(request.args, {product.code for product in products})
    rows = db.session.execute(query.statement(current_user.company_id, clock.today())).all()
    return render_template(
        "portal/licenses/list.html",
        filters=filter_selects(query, products),
        filtered=query.filtered,
        rows=rows,
        state_labels=translated_state_labels(),
        today=clock.today(),
    )


@access.CUSTOMER
def detail(license_id: int):
    return _render_detail(license_id)


@LICENSE_MANAGER_OR_ADMIN
def reveal(license_id: int):
    return http.no_store(_render_detail(license_id, reveal_key=True))


# Sections a higher feature adds to the license page (portal.machines: the license's machines):
# each takes the license and its state and returns the context its own included template reads.
LICENSE_PAGE_SECTIONS: list[Callable[[License, LicenseState], dict]] = []


def _render_detail(license_id: int, *, reveal_key: bool = False):
    license, state = _company_license_or_404(license_id)
    if reveal_key:
        audit.record("license.key_revealed", subject=license, company_id=license.company_id)
    sections = {}
    for section in LICENSE_PAGE_SECTIONS:
        sections.update(section(license, state))
    return render_template(
        "portal/licenses/detail.html",
        license=license,
        state=state,
        state_label=STATE_LABELS[state],
        releases=entitlement.offered_releases(license.company_id, license_id=license.id),
        revealed_key=license.key if reveal_key else None,
        can_reveal=LICENSE_MANAGER_OR_ADMIN.allows(current_user),
        **sections,
        maintenance_ended=_maintenance_ended(license, state),
    )


def _maintenance_ended(license: License, state: LicenseState) -> bool:
    """In force, but its maintenance is over: newer releases are not included."""
    ended = license.maintenance_until is not None and license.maintenance_until < clock.today()
    return ended and state in IN_FORCE


def _company_license_or_404(license_id: int) -> tuple[License, LicenseState]:
    """The license with its state, if it belongs to the signed-in user's company."""
    row = db.session.execute(
        sa.select(License, License.state_expression(clock.today())).where(
            License.id == license_id, License.company_id == current_user.company_id
        )
    ).first()
    if row is None:
        abort(404)
    return row[0], LicenseState(row[1])


# --- the license manager --------------------------------------------------------------------


@access.COMPANY_ADMIN
def manage_manager():
    admin = current_user._get_current_object()
    company = admin.company
    people = manager.designatable_accounts(company)
    form = ManagerForm(people=people)
    if form.validate_on_submit():
        before = current_manager(company)
        try:
            if form.choice.data == PERSONAL:
                chosen = next((p for p in people if str(p.id) == form.account.data), None)
                manager.designate_personal(company, chosen, admin)
                message = _flash_personal(chosen, before)
            else:
                pending = manager.designate_function_address(company, form.email.data, admin)
                message = _flash_function(pending, before)
        except Refusal as refusal:
            show_refusal(form, refusal)  # the service changed nothing but its audit event
        else:
            flash(message, "success")
            return redirect(url_for(".manager"))
    return render_template(
        "portal/licenses/manager.html",
        form=form,
        current=current_manager(company),
        designation=current_designation(company),
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


@access.PUBLIC
@http.secret_link
@ratelimit.token_form_per_address
def confirm_manager(token: str):
    confirmation, problem = manager.find_confirmation(token)
    if problem:
        return tokens.problem_page(problem)
    account = confirmation.account
    company = confirmation.company
    form = NewPasswordForm(email=account.email)
    if form.validate_on_submit():
        problem = manager.confirm(confirmation, form.password.data)
        if problem:
            return tokens.problem_page(problem)
        confirmed = _(
            "Confirmed: %(email)s now manages the licenses of %(company)s.",
            email=account.email,
            company=company.name,
        )
        if twofactor.is_enabled(account):
            # A mailed link never replaces the second factor: sign in the ordinary way.
            next_step = _("Sign in with the new password and your code.")
            flash(f"{confirmed} {next_step}", "success")
            return redirect(url_for("portal.signin.login"))
        if current_user.is_authenticated:
            signin.end_current(reason="signed in as another account")
        signin.finish_sign_in(account)
        signed_in = _("The password is set and you are signed in.")
        flash(f"{confirmed} {signed_in}", "success")
        return redirect(url_for("portal.shell.dashboard"))
    html = render_template(
        "portal/licenses/manager_confirm.html",
        form=form,
        account=account,
        company=company,
        requested_by=confirmation.pending.requested_by,
    )
    return html
