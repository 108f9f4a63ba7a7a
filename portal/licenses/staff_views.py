"""Staff pages for licenses, products and releases: staff read, staff admins change.

Every change is audited by the service it calls; each request commits once at its end.
"""

from pathlib import PurePosixPath

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload

from portal import access, clock, http
from portal.companies.models import Company
from portal.config import max_upload_bytes, upload_body_bytes
from portal.db import db
from portal.forms import show_refusal
from portal.i18n import gettext as _
from portal.i18n import human_size
from portal.licenses import service
from portal.licenses.forms import (
    ConfirmForm,
    EndOfLifeForm,
    ExtendLicenseForm,
    LicenseForm,
    ProductForm,
    ReleaseForm,
)
from portal.licenses.listing import LicenseQuery, translated_state_labels
from portal.licenses.models import (
    IN_FORCE,
    WARN_DAYS_BEFORE_END_OF_LIFE,
    License,
    Product,
    Release,
)
from portal.refusals import Refusal
from portal.rendering import render_template


def _actor():
    return current_user._get_current_object()


def _can_change() -> bool:
    return access.STAFF_ADMIN.allows(current_user)


@access.STAFF
def index():
    today = clock.today()
    # Counted by the license's id, which the outer join leaves empty for a company without any
    # (its empty columns would otherwise read as one perpetual license in force).
    in_force = sa.func.count(
        sa.case((License.state_expression(today).in_([s.value for s in IN_FORCE]), License.id))
    )
    rows = db.session.execute(
        sa.select(Company, sa.func.count(License.id), in_force)
        .outerjoin(License, License.company_id == Company.id)
        .group_by(Company.id)
        .order_by(Company.name, Company.id)
    ).all()
    return render_template("portal/licenses/staff_index.html", rows=rows, can_change=_can_change())


@access.STAFF
def company(company_id: int):
    company = db.get_or_404(Company, company_id)
    rows = db.session.execute(LicenseQuery().statement(company.id, clock.today())).all()
    return render_template(
        "portal/licenses/staff_company.html",
        company=company,
        rows=rows,
        state_labels=translated_state_labels(),
        can_change=_can_change(),
    )


@access.STAFF_ADMIN
def new_license():
    form = LicenseForm()
    company_id = request.args.get("company", type=http.db_int)
    if request.method == "GET" and company_id is not None:
        form.company.data = company_id
    if form.validate_on_submit():
        company = db.session.get(Company, form.company.data)
        product = db.session.get(Product, form.product.data)
        try:
            license = service.add_license(
                company,
                product,
                seats=form.seats.data,
                valid_from=form.valid_from.data,
                valid_until=form.valid_until.data,
                maintenance_until=form.maintenance_until.data,
                actor=_actor(),
            )
        except Refusal as refusal:
            show_refusal(form, refusal, "seats")
        else:
            flash(
                _("A %(product)s license for %(company)s is created.", **_names(license)),
                "success",
            )
            return redirect(url_for(".staff_company", company_id=company.id))
    return render_template(
        "portal/licenses/staff_form.html",
        form=form,
        title=_("New license"),
        intro=_("The license key is generated when the license is created."),
        submit=_("Create the license"),
        back=url_for(".staff_index"),
    )


@access.STAFF_ADMIN
def extend(license_id: int):
    license = db.get_or_404(License, license_id)
    back = url_for(".staff_company", company_id=license.company_id)
    if license.revoked_dt is not None:
        flash(_("This license is revoked and cannot be changed."), "error")
        return redirect(back)
    form = ExtendLicenseForm(license=license)
    if form.validate_on_submit():
        service.extend_license(
            license,
            valid_until=form.valid_until.data,
            maintenance_until=form.maintenance_until.data,
            actor=_actor(),
        )
        flash(_("The %(product)s license of %(company)s is changed.", **_names(license)), "success")
        return redirect(back)
    return render_template(
        "portal/licenses/staff_form.html",
        form=form,
        title=_("Extend the %(product)s license of %(company)s", **_names(license)),
        intro=_("Key %(key)s, %(seats)d seats, valid from %(valid_from)s.", **_facts(license)),
        submit=_("Save the new dates"),
        back=back,
    )


@access.STAFF_ADMIN
def revoke(license_id: int):
    license = db.get_or_404(License, license_id)
    back = url_for(".staff_company", company_id=license.company_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        if service.revoke_license(license, actor=_actor()):
            flash(
                _("The %(product)s license of %(company)s is revoked.", **_names(license)),
                "success",
            )
        else:
            flash(_("This license was already revoked."), "info")
        return redirect(back)
    return render_template(
        "portal/licenses/staff_revoke.html",
        form=form,
        license=license,
        names=_names(license),
        facts=_facts(license),
        back=back,
    )


@access.STAFF
def products():
    products = db.session.scalars(sa.select(Product).order_by(Product.name)).all()
    releases = db.session.scalars(
        sa.select(Release)
        .options(selectinload(Release.files))
        .order_by(Release.released_on.desc(), Release.id.desc())
    ).all()
    by_product = {product.id: [] for product in products}
    for release in releases:
        by_product[release.product_id].append(release)
    return render_template(
        "portal/licenses/staff_products.html",
        products=products,
        by_product=by_product,
        human_size=human_size,
        can_change=_can_change(),
    )


@access.STAFF_ADMIN
def new_product():
    form = ProductForm()
    if form.validate_on_submit():
        try:
            product = service.add_product(form.code.data, form.name.data, actor=_actor())
        except Refusal as refusal:
            show_refusal(form, refusal, "code")
        else:
            flash(_("The product %(name)s is created.", name=product.name), "success")
            return redirect(url_for(".staff_products"))
    return render_template(
        "portal/licenses/staff_form.html",
        form=form,
        title=_("New product"),
        intro=None,
        submit=_("Create the product"),
        back=url_for(".staff_products"),
    )


@access.STAFF_ADMIN
@http.accepts_body(upload_body_bytes)
def new_release():
    form = ReleaseForm()
    limit = max_upload_bytes(current_app.config)
    if form.validate_on_submit():
        product = db.session.get(Product, form.product.data)
        upload = form.file.data
        try:
            release = service.add_release(
                product,
                form.version.data,
                upload.stream,
                _clean_filename(upload.filename),
                released_on=form.released_on.data,
                end_of_life_on=form.end_of_life_on.data,
                notes=form.notes.data or "",
                max_size=limit,
                actor=_actor(),
            )
        except Refusal as refusal:
            if refusal.code == service.FILE_TOO_LARGE:
                form.file.errors.append(
                    _("The file is larger than %(limit)s.", limit=human_size(limit))
                )
            else:
                show_refusal(form, refusal, "file")
        else:
            flash(
                _(
                    "%(product)s %(version)s is published.",
                    product=product.name,
                    version=release.version,
                ),
                "success",
            )
            return redirect(url_for(".staff_products"))
    return render_template("portal/licenses/staff_upload.html", form=form, limit=human_size(limit))


@access.STAFF_ADMIN
def end_of_life(release_id: int):
    release = db.get_or_404(Release, release_id)
    form = EndOfLifeForm(release=release)
    if form.validate_on_submit():
        service.set_end_of_life(release, form.end_of_life_on.data, actor=_actor())
        flash(
            _(
                "The end of life of %(product)s %(version)s is saved.",
                product=release.product.name,
                version=release.version,
            ),
            "success",
        )
        return redirect(url_for(".staff_products"))
    return render_template(
        "portal/licenses/staff_form.html",
        form=form,
        title=_(
            "End of life of %(product)s %(version)s",
            product=release.product.name,
            version=release.version,
        ),
        intro=_(
            "Customers whose latest download of %(product)s is this release are warned on their "
            "start page from %(days)d days before this date.",
            product=release.product.name,
            days=WARN_DAYS_BEFORE_END_OF_LIFE,
        ),
        submit=_("Save the end-of-life date"),
        back=url_for(".staff_products"),
    )


def _names(license: License) -> dict[str, str]:
    company = db.session.get(Company, license.company_id)
    if company is None:
        abort(404)
    return {"product": license.product.name, "company": company.name}


def _facts(license: License) -> dict[str, object]:
    return {
        "key": license.masked_key,
        "seats": license.seats,
        "valid_from": license.valid_from.isoformat(),
    }


def _clean_filename(raw: str | None) -> str:
    """The base name a browser sent, without folders or control characters."""
    printable = "".join(character for character in raw or "" if character.isprintable())
    return PurePosixPath(printable.replace("\\", "/")).name.strip()[:255]
