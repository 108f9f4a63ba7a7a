"""Which releases a company may download: the entitlement rule, stated once, asked in SQL.

A release is offered to a company when the company holds a license for the release's product
that is in force today (`License.is_active_on`) and whose maintenance covers the release's date
(`License.covers`). Lists, the license page, single downloads and the release notices all ask
these two conditions.
"""

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

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


def offered_releases(
    company_id: int, *, license_id: int | None = None, today: date | None = None
) -> list[Release]:
    """The releases offered, with their files: by product name, newest first (two queries)."""
    today = today or clock.today()
    statement = (
        sa.select(Release)
        .join(Release.product)
        .where(offered(company_id, today, license_id=license_id))
        .options(selectinload(Release.files))
        .order_by(Product.name, Release.released_on.desc(), Release.id.desc())
    )
    return list(db.session.scalars(statement).unique())


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
