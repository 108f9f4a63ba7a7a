"""License notices: before a license ends, and when a licensed product has a new release.

The license manager (or, with none, the company's admins) receives a notice 60, 30 and 7 days
before a license's valid-until date, and when a release of a product the company holds an
active license for is published.

Each notice goes exactly once, even when the job runs twice, two runs overlap or a run crashes
halfway: a `NoticeSent` row is written in the same transaction as the notice's outbox mails and
its unique key refuses a second one. Every notice commits on its own; a notice another run has
just sent is rolled back alone and the run carries on. A notice that comes due while the job
did not run is sent once, for the nearest threshold that has passed, not for every missed one.

The scheduler runs `run_notices` daily; `portal license notices` runs it by hand.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app

from portal import clock, mail, transaction
from portal.accounts.service import current_manager
from portal.companies.models import Company
from portal.db import db
from portal.licenses import keys
from portal.licenses.manager import recipients_for_license_notices
from portal.licenses.models import License, NoticeKind, NoticeSent, Release
from portal.urls import external_url

# Days before a license's valid-until date on which its manager is told.
EXPIRY_THRESHOLDS_DAYS = (60, 30, 7)
# A release is announced while its release date is at most this many days old, so that
# releases recorded after the fact (or before the job first ran) do not flood anybody.
RELEASE_NOTICE_WINDOW_DAYS = 14

COUNT_NAMES = (
    "license_expiring",
    "release_published",
    "mails",
    "already_sent",
    "without_recipient",
)


@dataclass(frozen=True)
class DueNotice:
    kind: NoticeKind
    subject_id: int  # a license id or a release id, after `kind`
    company_id: int
    threshold: int
    reference_on: date

    @property
    def key(self) -> tuple:
        return (self.kind, self.subject_id, self.company_id, self.threshold, self.reference_on)


def run_notices(today: date | None = None) -> dict[str, int]:
    """Send every notice that is due and not yet sent; return counts (no personal data)."""
    today = today or clock.today()
    counts = Counter(dict.fromkeys(COUNT_NAMES, 0))
    for notice in due_expiry_notices(today) + due_release_notices(today):
        # Each notice is a step of its own: sent and recorded, or (on any error) neither.
        try:
            with transaction.step():
                mails = _send(notice, today)
        except sa.exc.IntegrityError:  # another run has just sent it
            counts["already_sent"] += 1
            continue
        if mails:
            counts[notice.kind.value] += 1
            counts["mails"] += mails
        else:
            counts["without_recipient"] += 1
    return dict(counts)


def threshold_for(days_left: int) -> int | None:
    """The nearest threshold already reached: 45 days left gives 60, 3 gives 7, 90 none."""
    reached = [days for days in EXPIRY_THRESHOLDS_DAYS if days_left <= days]
    return min(reached) if reached else None


def due_expiry_notices(today: date) -> list[DueNotice]:
    horizon = today + timedelta(days=max(EXPIRY_THRESHOLDS_DAYS))
    rows = db.session.execute(
        sa.select(License.id, License.company_id, License.valid_until)
        .join(Company, Company.id == License.company_id)
        .where(
            License.revoked_dt.is_(None),
            License.valid_until.is_not(None),
            License.valid_until >= today,
            License.valid_until <= horizon,
            Company.relationship_ended_on.is_(None),
        )
        .order_by(License.valid_until, License.id)
    ).all()
    notices = [
        DueNotice(
            NoticeKind.LICENSE_EXPIRING,
            license_id,
            company_id,
            threshold_for((valid_until - today).days),
            valid_until,
        )
        for license_id, company_id, valid_until in rows
    ]
    return _not_yet_sent(NoticeKind.LICENSE_EXPIRING, notices)


def due_release_notices(today: date) -> list[DueNotice]:
    """Recent releases, once for every company holding an active license for the product."""
    window_start = today - timedelta(days=RELEASE_NOTICE_WINDOW_DAYS)
    rows = db.session.execute(
        sa.select(Release.id, License.company_id, Release.released_on)
        .join(License, License.product_id == Release.product_id)
        .join(Company, Company.id == License.company_id)
        .where(
            Release.released_on >= window_start,
            Release.released_on <= today,
            License.is_active_on(today),
            Company.relationship_ended_on.is_(None),
        )
        .distinct()
        .order_by(Release.released_on, Release.id, License.company_id)
    ).all()
    notices = [
        DueNotice(NoticeKind.RELEASE_PUBLISHED, release_id, company_id, 0, released_on)
        for release_id, company_id, released_on in rows
    ]
    return _not_yet_sent(NoticeKind.RELEASE_PUBLISHED, notices)


def _not_yet_sent(kind: NoticeKind, notices: list[DueNotice]) -> list[DueNotice]:
    """Leave out what earlier runs sent (one query); the unique key catches what races past."""
    if not notices:
        return []
    subject_ids = {notice.subject_id for notice in notices}
    sent = {
        tuple(row)
        for row in db.session.execute(
            sa.select(
                NoticeSent.kind,
                NoticeSent.subject_id,
                NoticeSent.company_id,
                NoticeSent.threshold,
                NoticeSent.reference_on,
            ).where(NoticeSent.kind == kind, NoticeSent.subject_id.in_(subject_ids))
        )
    }
    return [notice for notice in notices if notice.key not in sent]


def _send(notice: DueNotice, today: date) -> int:
    """Record the notice and queue its mails; the number of mails (0: nobody to tell)."""
    company = db.session.get(Company, notice.company_id)
    recipients = recipients_for_license_notices(company)
    if not recipients:
        return 0
    db.session.add(
        NoticeSent(
            kind=notice.kind,
            subject_id=notice.subject_id,
            company_id=notice.company_id,
            threshold=notice.threshold,
            reference_on=notice.reference_on,
            recipients=len(recipients),
            sent_dt=clock.now(),
        )
    )
    db.session.flush()  # another run that sent it first makes this fail here
    template, context = _mail_content(notice, company, today)
    manager = current_manager(company)
    as_manager = manager is not None and recipients == [manager]
    for recipient in recipients:
        mail.queue(
            recipient.email,
            template,
            language=recipient.language,
            company=company,
            as_manager=as_manager,
            **context,
        )
    return len(recipients)


def _mail_content(notice: DueNotice, company: Company, today: date) -> tuple[str, dict]:
    if notice.kind == NoticeKind.LICENSE_EXPIRING:
        license = db.session.get(License, notice.subject_id)
        return "portal/licenses/mail/notice_license_expiring", {
            "product": license.product.name,
            "seats": license.seats,
            "masked_key": keys.mask(license.key),
            "valid_until": license.valid_until,
            "days_left": (license.valid_until - today).days,
            "link": external_url("portal.licenses.detail", license_id=license.id),
        }
    release = db.session.get(Release, notice.subject_id)
    included = (
        db.session.scalar(
            sa.select(License.id)
            .where(
                License.company_id == company.id,
                License.product_id == release.product_id,
                License.is_active_on(today),
                License.covers(release.released_on),
            )
            .limit(1)
        )
        is not None
    )
    return "portal/licenses/mail/notice_release_published", {
        "product": release.product.name,
        "version": release.version,
        "released_on": release.released_on,
        "notes": release.notes.strip(),
        "included": included,
        "link": external_url("portal.downloads.index"),
        "sales_email": current_app.config["PORTAL_SALES_EMAIL"],
    }
