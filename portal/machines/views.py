"""The machines on the license page, offline machines and their license files, and the company
admin's API tokens (`/company/api-tokens`)."""

import sqlalchemy as sa
from flask import abort, flash, make_response, redirect, url_for
from flask_login import current_user

from portal import access, clock, http
from portal.accounts.service import LICENSE_MANAGER_OR_ADMIN
from portal.db import db
from portal.forms import show_refusal
from portal.i18n import gettext as _
from portal.licenses.forms import ConfirmForm
from portal.licenses.models import License, LicenseState
from portal.machines import api_tokens, license_files, service
from portal.machines.forms import ApiTokenForm, OfflineMachineForm
from portal.machines.models import MachineKind
from portal.refusals import Refusal
from portal.rendering import render_template


def _actor():
    return current_user._get_current_object()


def _company_license_or_404(license_id: int) -> License:
    license = db.session.scalar(
        sa.select(License).where(
            License.id == license_id, License.company_id == current_user.company_id
        )
    )
    if license is None:
        abort(404)
    return license


def _machine_or_404(license: License, machine_id: int):
    machine = service.machine_of_license(license.id, machine_id)
    if machine is None:
        abort(404)
    return machine


def _back_to(license: License) -> str:
    return url_for("portal.licenses.detail", license_id=license.id, _anchor="machines")


# --- the license page's section ---------------------------------------------------------------


def license_section(license: License, state: LicenseState) -> dict:
    """The context of `portal/machines/license_section.html` on the license page."""
    machines = service.machines_of(license.id)
    can_manage = LICENSE_MANAGER_OR_ADMIN.allows(current_user) and not access.is_read_only()
    return {
        "machines": machines,
        "seats_used": len(machines),
        "machine_states": machine_table_context(machines),
        "can_manage_machines": can_manage,
    }


def machine_table_context(machines) -> dict:
    now = clock.now()
    return {
        "stale": {machine.id for machine in machines if service.is_stale(machine, now)},
        "stale_days": service.stale_days(),
    }


# --- offline machines -------------------------------------------------------------------------


@LICENSE_MANAGER_OR_ADMIN
def add_offline(license_id: int):
    license = _company_license_or_404(license_id)
    form = OfflineMachineForm()
    if form.validate_on_submit():
        try:
            report = form.machine_report()
            machine, created = service.activate(
                service.lock_license(license), report, MachineKind.OFFLINE, actor=_actor()
            )
        except Refusal as refusal:
            show_refusal(form, refusal)
        else:
            if created:
                message = _(
                    "%(hostname)s is added as an offline machine. Download its license file and"
                    " copy it to the machine.",
                    hostname=machine.hostname,
                )
            else:
                message = _(
                    "%(hostname)s already had a seat; it is now an offline machine.",
                    hostname=machine.hostname,
                )
            flash(message, "success")
            return redirect(_back_to(license))
    return render_template(
        "portal/machines/add_offline.html",
        form=form,
        license=license,
        seats_used=service.seats_used(license.id),
    )


@LICENSE_MANAGER_OR_ADMIN
@access.not_while_impersonating
def license_file(license_id: int, machine_id: int):
    license = _company_license_or_404(license_id)
    machine = _machine_or_404(license, machine_id)
    try:
        text = license_files.issue(license, machine, actor=_actor())
    except Refusal as refusal:
        flash(str(refusal), "error")
        return redirect(_back_to(license))
    response = make_response(text)
    response.mimetype = "text/plain"
    response.headers.set(
        "Content-Disposition", "attachment", filename=f"safelink-{machine.hostname}.lic"
    )
    return http.no_store(response)


@LICENSE_MANAGER_OR_ADMIN
def deactivate(license_id: int, machine_id: int):
    license = _company_license_or_404(license_id)
    machine = _machine_or_404(license, machine_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        service.deactivate(machine, actor=_actor())
        flash(
            _("%(hostname)s is deactivated: its seat is free.", hostname=machine.hostname),
            "success",
        )
        return redirect(_back_to(license))
    return render_template(
        "portal/machines/deactivate.html", form=form, license=license, machine=machine
    )


# --- API tokens -------------------------------------------------------------------------------


@access.COMPANY_ADMIN
def api_tokens_page():
    form = ApiTokenForm()
    created = None
    if form.validate_on_submit():
        try:
            created = api_tokens.create(
                current_user.company_id,
                form.name.data,
                form.chosen_scopes(),
                form.expires_on.data,
                actor=_actor(),
            )
        except Refusal as refusal:
            show_refusal(form, refusal, "name")
        else:
            form = ApiTokenForm(formdata=None)
    html = render_template(
        "portal/machines/api_tokens.html",
        form=form,
        tokens=api_tokens.company_tokens(current_user.company_id),
        token_state=api_tokens.token_state,
        scope_labels=api_tokens.SCOPES,
        created=created,
    )
    # The new token is on this page only: never kept by a browser or a proxy.
    return http.no_store(html) if created else html


@access.COMPANY_ADMIN
def revoke_api_token(token_id: int):
    token = api_tokens.token_of_company(current_user.company_id, token_id)
    if token is None:
        abort(404)
    form = ConfirmForm()
    if form.validate_on_submit():
        if api_tokens.revoke(token, actor=_actor()):
            flash(_("The token %(name)s is revoked.", name=token.name), "success")
        else:
            flash(_("This token was already revoked."), "info")
        return redirect(url_for(".api_tokens"))
    return render_template("portal/machines/revoke_api_token.html", form=form, token=token)
