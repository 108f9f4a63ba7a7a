"""License and release rules shared by the staff pages, the command line and the demo data."""

from datetime import date
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa

from portal import audit, clock
from portal.companies.models import Company
from portal.db import db
from portal.licenses import keys, store
from portal.licenses.models import License, Product, Release, ReleaseFile

PRODUCT_CODES = ("safelink", "safelink-pfr", "secure-envelope")


class LicenseError(ValueError):
    """A license or release request that cannot be carried out; the message says why."""


def product_by_code(code: str) -> Product:
    product = db.session.scalar(sa.select(Product).where(Product.code == code))
    if product is None:
        known = ", ".join(db.session.scalars(sa.select(Product.code).order_by(Product.code)))
        raise LicenseError(f"unknown product {code!r} (known: {known})")
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
        raise LicenseError("seats must be at least 1")
    valid_from = valid_from or clock.today()
    if valid_until is not None and valid_until < valid_from:
        raise LicenseError("valid until is before valid from")
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
        raise LicenseError("the version is empty")
    if not filename:
        raise LicenseError("the file has no name")
    exists = db.session.scalar(
        sa.select(Release.id).where(Release.product_id == product.id, Release.version == version)
    )
    if exists is not None:
        raise LicenseError(f"{product.name} {version} already exists")
    try:
        stored = store.save(source, max_size=max_size)
    except store.FileTooLarge as error:
        raise LicenseError(str(error)) from None
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
