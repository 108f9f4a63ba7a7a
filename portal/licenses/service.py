"""License and release rules shared by the staff pages, the command line and the demo data."""

from datetime import date
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa

from portal import audit, clock
from portal.companies.models import Company
from portal.db import db
from portal.i18n import lazy_gettext as _l
from portal.licenses import keys, store
from portal.licenses.models import License, Product, Release, ReleaseFile
from portal.refusals import Refusal

# The refusal code of a release file above the upload limit (the view words it with the limit).
FILE_TOO_LARGE = "file_too_large"


def product_by_code(code: str) -> Product:
    product = db.session.scalar(sa.select(Product).where(Product.code == code))
    if product is None:
        known = ", ".join(db.session.scalars(sa.select(Product.code).order_by(Product.code)))
        raise Refusal(
            _l("Unknown product %(code)s (known: %(known)s).", code=repr(code), known=known),
            field="product",
            code="unknown_product",
        )
    return product


def add_license(
    company: Company,
    product: Product,
    *,
    seats: int,
    valid_from: date | None = None,
    valid_until: date | None = None,
    maintenance_until: date | None = None,
    actor=None,
    actor_label: str | None = None,
) -> License:
    if seats < 1:
        raise Refusal(_l("A license has at least 1 seat."), field="seats")
    valid_from = valid_from or clock.today()
    if valid_until is not None and valid_until < valid_from:
        raise Refusal(_l("The license cannot end before it starts."), field="valid_until")
    license = License(
        company_id=company.id,
        product=product,
        key=_unique_key(),
        seats=seats,
        valid_from=valid_from,
        valid_until=valid_until,
        maintenance_until=maintenance_until,
    )
    db.session.add(license)
    db.session.flush()
    audit.record(
        "license.created",
        actor=actor,
        actor_label=actor_label,
        subject=license,
        company_id=company.id,
        details={"product": product.code, "seats": seats},
    )
    return license


def _unique_key() -> str:
    while True:
        key = keys.generate()
        if db.session.scalar(sa.select(License.id).where(License.key == key)) is None:
            return key


def add_release(
    product: Product,
    version: str,
    source: BinaryIO,
    filename: str,
    *,
    released_on: date | None = None,
    end_of_life_on: date | None = None,
    notes: str = "",
    max_size: int | None = None,
    actor=None,
    actor_label: str | None = None,
) -> Release:
    version = version.strip()
    filename = Path(filename).name
    if not version:
        raise Refusal(_l("Enter the version."), field="version")
    if not filename:
        raise Refusal(_l("The file has no name."), field="file")
    exists = db.session.scalar(
        sa.select(Release.id).where(Release.product_id == product.id, Release.version == version)
    )
    if exists is not None:
        raise Refusal(
            _l("%(product)s %(version)s already exists.", product=product.name, version=version),
            field="version",
            code="duplicate_release",
        )
    try:
        stored = store.save(source, max_size=max_size)
    except store.FileTooLarge:
        raise Refusal(
            _l("The file is larger than %(bytes)d bytes.", bytes=max_size),
            field="file",
            code=FILE_TOO_LARGE,
        ) from None
    release = Release(
        product=product,
        version=version,
        released_on=released_on or clock.today(),
        end_of_life_on=end_of_life_on,
        notes=notes,
    )
    release.files.append(
        ReleaseFile(
            filename=filename,
            size=stored.size,
            sha256=stored.sha256,
            storage_key=stored.storage_key,
        )
    )
    db.session.add(release)
    db.session.flush()
    audit.record(
        "release.published",
        actor=actor,
        actor_label=actor_label,
        subject=release,
        details={"product": product.code, "version": version, "sha256": stored.sha256},
    )
    return release


def add_product(code: str, name: str, *, actor=None, actor_label: str | None = None) -> Product:
    code, name = code.strip().lower(), name.strip()
    if not code or not name:
        raise Refusal(_l("A product needs a code and a name."), field="code")
    if db.session.scalar(sa.select(Product.id).where(Product.code == code)) is not None:
        raise Refusal(
            _l("A product with the code %(code)s already exists.", code=repr(code)), field="code"
        )
    product = Product(code=code, name=name)
    db.session.add(product)
    db.session.flush()
    audit.record(
        "product.created",
        actor=actor,
        actor_label=actor_label,
        subject=product,
        subject_label=name,
        details={"code": code},
    )
    return product


def extend_license(
    license: License,
    *,
    valid_until: date | None,
    maintenance_until: date | None,
    actor=None,
    actor_label: str | None = None,
) -> None:
    """Set new end dates (None: perpetual / every release); a revoked license stays revoked."""
    if license.revoked_dt is not None:
        raise Refusal(_l("This license is revoked and cannot be changed."), code="revoked")
    if valid_until is not None and valid_until < license.valid_from:
        raise Refusal(_l("The license cannot end before it starts."), field="valid_until")
    before = {
        "valid_until": _iso(license.valid_until),
        "maintenance_until": _iso(license.maintenance_until),
    }
    license.valid_until = valid_until
    license.maintenance_until = maintenance_until
    audit.record(
        "license.extended",
        actor=actor,
        actor_label=actor_label,
        subject=license,
        details={
            "before": before,
            "after": {
                "valid_until": _iso(valid_until),
                "maintenance_until": _iso(maintenance_until),
            },
        },
    )


def add_seats(license: License, seats: int, *, actor=None, actor_label: str | None = None) -> None:
    """Raise the license's seat count by `seats` (an accepted order of extra seats)."""
    if license.revoked_dt is not None:
        raise Refusal(_l("This license is revoked and cannot be changed."), code="revoked")
    if seats < 1:
        raise Refusal(_l("Add at least 1 seat."), field="seats")
    before = license.seats
    license.seats = before + seats
    audit.record(
        "license.seats_changed",
        actor=actor,
        actor_label=actor_label,
        subject=license,
        details={"before": before, "after": license.seats},
    )


def revoke_license(license: License, *, actor=None, actor_label: str | None = None) -> bool:
    """Revoke the license from now on; False if it already was revoked."""
    if license.revoked_dt is not None:
        return False
    license.revoked_dt = clock.now()
    audit.record("license.revoked", actor=actor, actor_label=actor_label, subject=license)
    return True


def set_end_of_life(
    release: Release, end_of_life_on: date | None, *, actor=None, actor_label: str | None = None
) -> None:
    before = release.end_of_life_on
    release.end_of_life_on = end_of_life_on
    audit.record(
        "release.end_of_life_set",
        actor=actor,
        actor_label=actor_label,
        subject=release,
        details={"before": _iso(before), "after": _iso(end_of_life_on)},
    )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None
