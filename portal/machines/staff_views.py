"""Staff pages of machines: products' minimum versions (staff admins set them), the machines
below them across companies, and a license's machines, read-only for support."""

import sqlalchemy as sa
from flask import flash, redirect, url_for
from flask_login import current_user

from portal import access
from portal.companies.models import Company
from portal.db import db
from portal.forms import show_refusal
from portal.i18n import gettext as _
from portal.licenses.forms import ConfirmForm
from portal.licenses.models import License, Product
from portal.machines import service, versions
from portal.machines.forms import MinimumVersionForm
from portal.machines.views import machine_table_context
from portal.refusals import Refusal
from portal.rendering import render_template


@access.STAFF
def index():
    products = db.session.scalars(sa.select(Product).order_by(Product.name)).all()
    return render_template(
        "portal/machines/staff_index.html",
        products=products,
        minimums=service.minimum_versions(),
        outdated=service.outdated_by_company(),
        version_of_key=versions.from_sort_key,
        can_change=access.STAFF_ADMIN.allows(current_user),
        remove_form=ConfirmForm(),
    )


@access.STAFF_ADMIN
def minimum_version(product_id: int):
    product = db.get_or_404(Product, product_id)
    minimum = service.minimum_version_of(product.id)
    form = MinimumVersionForm(minimum=minimum)
    if form.validate_on_submit():
        try:
            service.set_minimum_version(
                product,
                form.version.data,
                form.effective_on.data,
                actor=current_user._get_current_object(),
            )
        except Refusal as refusal:
            show_refusal(form, refusal, "version")
        else:
            flash(
                _(
                    "%(product)s %(version)s is the minimum version from %(day)s.",
                    product=product.name,
                    version=form.version.data,
                    day=form.effective_on.data.isoformat(),
                ),
                "success",
            )
            return redirect(url_for(".staff_index"))
    return render_template(
        "portal/machines/staff_minimum_version.html", form=form, product=product, minimum=minimum
    )


@access.STAFF_ADMIN
def remove_minimum_version(product_id: int):
    product = db.get_or_404(Product, product_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        if service.remove_minimum_version(product, actor=current_user._get_current_object()):
            flash(_("%(product)s has no minimum version now.", product=product.name), "success")
        else:
            flash(_("%(product)s had no minimum version.", product=product.name), "info")
    return redirect(url_for(".staff_index"))


@access.STAFF
def license_machines(license_id: int):
    license = db.get_or_404(License, license_id)
    company = db.session.get(Company, license.company_id)
    machines = service.machines_of(license.id)
    return render_template(
        "portal/machines/staff_license.html",
        license=license,
        company=company,
        machines=machines,
        seats_used=len(machines),
        machine_states=machine_table_context(machines),
    )
