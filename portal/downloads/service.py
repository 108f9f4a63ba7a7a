"""Downloads: recording one, and the end-of-life warnings that follow from what was downloaded.

End-of-life warnings: where the company's most recent download of a product is a release whose
end-of-life date has passed or is at most `WARN_DAYS_BEFORE_END_OF_LIFE` away, the dashboard
warns and points to the newest release of that product the company may download. Downloads that
support made while viewing the portal as the customer are recorded as theirs but do not count:
what support fetched to look into a problem says nothing about what the customer runs.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from portal import audit, clock
from portal.accounts.models import Account
from portal.db import db
from portal.downloads.models import DownloadRecord
from portal.licenses import entitlement
from portal.licenses.models import WARN_DAYS_BEFORE_END_OF_LIFE, Product, Release, ReleaseFile


@dataclass(frozen=True)
class EndOfLifeWarning:
    release: Release  # the release the company downloaded last
    successor: Release | None  # the newest newer release it may download, if any
    today: date

    @property
    def has_ended(self) -> bool:
        return self.release.end_of_life_on < self.today


def warnings_for(company_id: int, *, today: date | None = None) -> list[EndOfLifeWarning]:
    """At most two queries: the last download per product, then the successors."""
    today = today or clock.today()
    ranked = (
        sa.select(
            ReleaseFile.release_id,
            sa.func.row_number()
            .over(
                partition_by=Release.product_id,
                order_by=(DownloadRecord.downloaded_dt.desc(), DownloadRecord.id.desc()),
            )
            .label("position"),
        )
        .select_from(DownloadRecord)
        .join(ReleaseFile, ReleaseFile.id == DownloadRecord.release_file_id)
        .join(Release, Release.id == ReleaseFile.release_id)
        .where(
            DownloadRecord.company_id == company_id,
            DownloadRecord.impersonator_account_id.is_(None),
        )
        .subquery()
    )
    horizon = today + timedelta(days=WARN_DAYS_BEFORE_END_OF_LIFE)
    last_downloaded = db.session.scalars(
        sa.select(Release)
        .join(ranked, ranked.c.release_id == Release.id)
        .where(
            ranked.c.position == 1,
            Release.end_of_life_on.is_not(None),
            Release.end_of_life_on <= horizon,
        )
        .order_by(Release.end_of_life_on, Release.id)
    ).all()
    if not last_downloaded:
        return []
    newest = entitlement.newest_offered_by_product(
        company_id, {release.product_id for release in last_downloaded}, today=today
    )
    warnings = []
    for release in last_downloaded:
        candidate = newest.get(release.product_id)
        newer = candidate is not None and (candidate.released_on, candidate.id) > (
            release.released_on,
            release.id,
        )
        warnings.append(EndOfLifeWarning(release, candidate if newer else None, today))
    return warnings


def record_download(
    account: Account | None,
    release_file: ReleaseFile,
    *,
    impersonator=None,
    company_id: int | None = None,
    actor_label: str | None = None,
) -> None:
    """A download has started: its record for the company, and its audit event.

    From the web an account downloads for its company; through the JSON API an API token does
    (no account: `company_id` and the token's `actor_label`).
    """
    company_id = account.company_id if account is not None else company_id
    db.session.add(
        DownloadRecord(
            account_id=getattr(account, "id", None),
            company_id=company_id,
            impersonator_account_id=getattr(impersonator, "id", None),
            release_file_id=release_file.id,
            downloaded_dt=clock.now(),
        )
    )
    release = release_file.release
    audit.record(
        "release.downloaded",
        actor=account,
        actor_label=actor_label,
        subject=release_file,
        subject_label=release_file.filename,
        company_id=company_id,
        details={
            "product": release.product.code,
            "version": release.version,
            "sha256": release_file.sha256,
        },
    )


@dataclass(frozen=True)
class RecentDownload:
    downloaded_dt: datetime
    release: str  # "SafeLink 6.1"
    filename: str
    by: str | None  # the account's name; None when the retention purge removed it
    by_support: str | None  # support's name when support downloaded while viewing as the account


def recent_downloads(company_id: int, limit: int = 10) -> list[RecentDownload]:
    """The company's latest downloads, newest first, with who made them (one query)."""
    by = aliased(Account)
    support = aliased(Account)
    rows = db.session.execute(
        sa.select(
            DownloadRecord.downloaded_dt,
            Product.name,
            Release.version,
            ReleaseFile.filename,
            sa.func.coalesce(by.name, by.email),
            sa.func.coalesce(support.name, support.email),
        )
        .join(ReleaseFile, ReleaseFile.id == DownloadRecord.release_file_id)
        .join(Release, Release.id == ReleaseFile.release_id)
        .join(Product, Product.id == Release.product_id)
        .outerjoin(by, by.id == DownloadRecord.account_id)
        .outerjoin(support, support.id == DownloadRecord.impersonator_account_id)
        .where(DownloadRecord.company_id == company_id)
        .order_by(DownloadRecord.downloaded_dt.desc(), DownloadRecord.id.desc())
        .limit(limit)
    ).all()
    return [
        RecentDownload(when, f"{product} {version}", filename, name, support_name)
        for when, product, version, filename, name, support_name in rows
    ]
