"""Which releases a company may download: the entitlement rule, stated once, asked in SQL.

A release is offered to a company when the company holds a license for the release's product
that is in force today (`License.is_active_on`) and whose maintenance covers the release's date
(`License.covers`). Lists, the license page, single downloads and the release notices all ask
these two conditions.
"""

from dataclasses import dataclass
from datetime import date
from functools import cache
from itertools import groupby

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from portal import clock
from portal.db import db
from portal.licenses.models import License, Product, Release, ReleaseFile


def offered(company_id: int, today: date, *, license_id: int | None = None) -> sa.ColumnElement:
    """SQL condition on `Release`: the company (or that one license of it) entitles to it."""
    covering = sa.select(License.id).where(
        License.company_id == company_id,
        License.product_id == Release.product_id,
        License.is_active_on(today),
        License.covers(Release.released_on),
    )
    if license_id is not None:
        covering = covering.where(License.id == license_id)
    return covering.exists()


@dataclass(frozen=True)
class OfferedRelease:
    """A release offered to a company, with its files (rows of `offered_files`)."""

    id: int
    product: str
    product_code: str
    version: str
    released_on: date
    end_of_life_on: date | None
    notes: str
    files: tuple


# What the pages show of an offered file: plain rows, its release and product beside it.
FILE_COLUMNS = (
    Product.name.label("product"),
    Product.code.label("product_code"),
    Release.id.label("release_id"),
    Release.version,
    Release.released_on,
    Release.end_of_life_on,
    Release.notes,
    ReleaseFile.id,
    ReleaseFile.filename,
    ReleaseFile.size,
    ReleaseFile.sha256,
)


@cache
def _offered_files_statement(one_license: bool) -> sa.Select:
    """Built once per shape, with bound values: every request asks it."""
    condition = offered(
        sa.bindparam("company_id"),
        sa.bindparam("today", type_=sa.Date),
        license_id=sa.bindparam("license_id") if one_license else None,
    )
    return (
        sa.select(*FILE_COLUMNS)
        .join(Release.product)
        .join(ReleaseFile, ReleaseFile.release_id == Release.id)
        .where(condition)
        .order_by(Product.name, Release.released_on.desc(), Release.id.desc(), ReleaseFile.filename)
    )


def offered_releases(
    company_id: int, *, license_id: int | None = None, today: date | None = None
) -> list[OfferedRelease]:
    """The releases offered with their files: by product name, newest first (one query)."""
    rows = db.session.execute(
        _offered_files_statement(license_id is not None),
        {"company_id": company_id, "today": today or clock.today(), "license_id": license_id},
    ).all()
    releases = []
    for release_id, release_files in groupby(rows, key=lambda row: row.release_id):
        files = tuple(release_files)
        first = files[0]
        releases.append(
            OfferedRelease(
                id=release_id,
                product=first.product,
                product_code=first.product_code,
                version=first.version,
                released_on=first.released_on,
                end_of_life_on=first.end_of_life_on,
                notes=first.notes,
                files=files,
            )
        )
    return releases


def offered_file(company_id: int, file_id: int, *, today: date | None = None) -> ReleaseFile | None:
    """The release file with this id if the company may download it; else None (one query)."""
    today = today or clock.today()
    statement = (
        sa.select(ReleaseFile)
        .join(ReleaseFile.release)
        .where(ReleaseFile.id == file_id, offered(company_id, today))
    )
    return db.session.scalar(statement)


def newest_offered_by_product(
    company_id: int, product_ids: set[int], *, today: date | None = None
) -> dict[int, Release]:
    """The newest offered release of each of these products (one query)."""
    if not product_ids:
        return {}
    today = today or clock.today()
    ranked = (
        sa.select(
            Release.id.label("release_id"),
            sa.func.row_number()
            .over(
                partition_by=Release.product_id,
                order_by=(Release.released_on.desc(), Release.id.desc()),
            )
            .label("position"),
        )
        .where(Release.product_id.in_(product_ids), offered(company_id, today))
        .subquery()
    )
    statement = sa.select(Release).join(ranked, ranked.c.release_id == Release.id)
    statement = statement.where(ranked.c.position == 1)
    return {release.product_id: release for release in db.session.scalars(statement)}


@dataclass(frozen=True)
class WithheldRelease:
    """A release of a product the company holds a license for, that its maintenance misses."""

    product: str
    version: str
    released_on: date
    maintenance_ended_on: date  # the latest maintenance end of its licenses in force


@dataclass(frozen=True)
class LapsedLicense:
    """A product whose every license of the company has ended (none revoked, none in force)."""

    product: str
    ended_on: date


def withheld_releases(company_id: int, *, today: date | None = None) -> list[WithheldRelease]:
    """Releases not offered although the company holds a license in force for their product:
    published after every such license's maintenance ended (one query), newest first."""
    today = today or clock.today()
    held = aliased(License)  # not the License of `offered`'s own subquery
    maintenance_end = sa.func.max(held.maintenance_until)
    rows = db.session.execute(
        sa.select(Product.name, Release.version, Release.released_on, maintenance_end)
        .join(Release.product)
        .join(held, held.product_id == Release.product_id)
        .where(
            held.company_id == company_id,
            held.is_active_on(today),
            ~offered(company_id, today),
        )
        .group_by(Release.id, Product.name, Release.version, Release.released_on)
        .order_by(Product.name, Release.released_on.desc(), Release.id.desc())
    ).all()
    return [WithheldRelease(*row) for row in rows if row[3] is not None]


def lapsed_licenses(company_id: int, *, today: date | None = None) -> list[LapsedLicense]:
    """Products the company held licenses for that have all run out (one query)."""
    today = today or clock.today()
    in_force = sa.select(License.product_id).where(
        License.company_id == company_id, License.is_active_on(today)
    )
    rows = db.session.execute(
        sa.select(Product.name, sa.func.max(License.valid_until))
        .join(License.product)
        .where(
            License.company_id == company_id,
            License.revoked_dt.is_(None),
            License.valid_until < today,
            License.product_id.not_in(in_force),
        )
        .group_by(Product.name)
        .order_by(Product.name)
    ).all()
    return [LapsedLicense(*row) for row in rows]
