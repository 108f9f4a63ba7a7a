"""Products, releases and their files, licenses, pending manager choices and sent notices."""

import enum
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.accounts.models import Account
from portal.db import db, enum_column
from portal.i18n import lazy_gettext as _l
from portal.licenses import keys

# An active license whose valid-until date is at most this many days away is "expiring soon".
EXPIRING_WITHIN_DAYS = 60
# Customers whose latest download of a product is a release that stops working within this many
# days (or already has) are warned on their start page.
WARN_DAYS_BEFORE_END_OF_LIFE = 90


class LicenseState(enum.StrEnum):
    """A license's state on a day, in the order of its life."""

    UPCOMING = "upcoming"  # valid from a later day
    ACTIVE = "active"
    EXPIRING = "expiring"  # active, and valid until a day at most EXPIRING_WITHIN_DAYS away
    EXPIRED = "expired"
    REVOKED = "revoked"


STATE_LABELS = {
    LicenseState.UPCOMING: _l("Not yet valid"),
    LicenseState.ACTIVE: _l("Active"),
    LicenseState.EXPIRING: _l("Expiring soon"),
    LicenseState.EXPIRED: _l("Expired"),
    LicenseState.REVOKED: _l("Revoked"),
}
# The states in which a license is in force (`License.is_active_on`).
IN_FORCE = frozenset({LicenseState.ACTIVE, LicenseState.EXPIRING})


class Product(db.Model):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))


class Release(db.Model):
    __tablename__ = "releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="RESTRICT"))
    version: Mapped[str] = mapped_column(sa.String(40))
    released_on: Mapped[date]
    end_of_life_on: Mapped[date | None]
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_dt: Mapped[datetime] = mapped_column(default=clock.now)

    product: Mapped[Product] = relationship(lazy="joined", innerjoin=True)
    files: Mapped[list["ReleaseFile"]] = relationship(
        back_populates="release", order_by="ReleaseFile.filename"
    )

    __table_args__ = (
        sa.UniqueConstraint("product_id", "version"),
        sa.Index("ix_releases_product_released", "product_id", "released_on"),
    )


class ReleaseFile(db.Model):
    __tablename__ = "release_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(
        sa.ForeignKey("releases.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    # Name of the file inside the release store; never taken from a request.
    storage_key: Mapped[str] = mapped_column(sa.String(100), unique=True)

    release: Mapped[Release] = relationship(back_populates="files")

    __table_args__ = (sa.UniqueConstraint("release_id", "filename"),)


class License(db.Model):
    __tablename__ = "licenses"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        sa.ForeignKey("companies.id", ondelete="RESTRICT"), index=True
    )
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="RESTRICT"))
    key: Mapped[str] = mapped_column(sa.String(29), unique=True)
    seats: Mapped[int]
    valid_from: Mapped[date]
    valid_until: Mapped[date | None]  # empty: perpetual
    maintenance_until: Mapped[date | None]  # empty: every release
    revoked_dt: Mapped[datetime | None]
    created_dt: Mapped[datetime] = mapped_column(default=clock.now)

    product: Mapped[Product] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (sa.CheckConstraint("seats > 0", name="seats_positive"),)

    # The rules of a license's life, each written once: in Python for one license, and as the
    # same condition in SQL for queries over many (tests/test_licenses.py holds them together).

    @property
    def masked_key(self) -> str:
        return keys.mask(self.key)

    @hybrid_method
    def is_active_on(self, day: date) -> bool:
        """In force on `day`: not revoked, valid from that day or earlier, and not yet ended."""
        return (
            self.revoked_dt is None
            and self.valid_from <= day
            and (self.valid_until is None or self.valid_until >= day)
        )

    @is_active_on.expression
    def is_active_on(cls, day: date):
        return sa.and_(
            cls.revoked_dt.is_(None),
            cls.valid_from <= day,
            sa.or_(cls.valid_until.is_(None), cls.valid_until >= day),
        )

    @hybrid_method
    def covers(self, released_on: date) -> bool:
        """Its maintenance includes a release of that day (no maintenance end: every release)."""
        return self.maintenance_until is None or released_on <= self.maintenance_until

    @covers.expression
    def covers(cls, released_on):
        return sa.or_(cls.maintenance_until.is_(None), released_on <= cls.maintenance_until)

    def state_on(self, day: date) -> LicenseState:
        if self.revoked_dt is not None:
            return LicenseState.REVOKED
        if self.valid_until is not None and self.valid_until < day:
            return LicenseState.EXPIRED
        if self.valid_from > day:
            return LicenseState.UPCOMING
        if self.valid_until is not None and self.valid_until <= _expiring_horizon(day):
            return LicenseState.EXPIRING
        return LicenseState.ACTIVE

    @classmethod
    def state_expression(cls, day: date) -> sa.ColumnElement[str]:
        """`state_on(day)` in SQL, so that lists filter and sort by it without loading rows."""
        return sa.case(
            (cls.revoked_dt.is_not(None), LicenseState.REVOKED.value),
            (cls.valid_until < day, LicenseState.EXPIRED.value),
            (cls.valid_from > day, LicenseState.UPCOMING.value),
            (cls.valid_until <= _expiring_horizon(day), LicenseState.EXPIRING.value),
            else_=LicenseState.ACTIVE.value,
        )


def _expiring_horizon(day: date) -> date:
    return day + timedelta(days=EXPIRING_WITHIN_DAYS)


class PendingManagerDesignation(db.Model):
    """A function address chosen as license manager, waiting for someone there to confirm it.

    One per company: a newer choice replaces it. It takes effect (becomes the designation) only
    when the emailed link is followed; until then the current designation stands.
    """

    __tablename__ = "pending_manager_designations"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        sa.ForeignKey("companies.id", ondelete="CASCADE"), unique=True
    )
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    requested_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    requested_dt: Mapped[datetime] = mapped_column(default=clock.now)
    expires_dt: Mapped[datetime]

    account: Mapped[Account] = relationship(foreign_keys=[account_id], lazy="joined")
    requested_by: Mapped[Account | None] = relationship(foreign_keys=[requested_by_id])


class NoticeKind(enum.StrEnum):
    LICENSE_EXPIRING = "license_expiring"
    RELEASE_PUBLISHED = "release_published"


class NoticeSent(db.Model):
    """A license notice that went out: the unique key makes each one go exactly once.

    The row is written in the same transaction as the outbox mails of the notice, so a notice
    is either sent and recorded, or neither. `subject_id` is a license id or a release id
    (after `kind`); `threshold` is the days-before-expiry step (0 for a release);
    `reference_on` is the date the notice is about (the license's valid-until, or the release
    date), so an extended license is reminded again before its new end.
    """

    __tablename__ = "notices_sent"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[NoticeKind] = mapped_column(enum_column(NoticeKind))
    subject_id: Mapped[int]
    company_id: Mapped[int] = mapped_column(
        sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    threshold: Mapped[int]
    reference_on: Mapped[date]
    recipients: Mapped[int]
    sent_dt: Mapped[datetime] = mapped_column(default=clock.now)

    __table_args__ = (
        sa.UniqueConstraint(
            "kind",
            "subject_id",
            "company_id",
            "threshold",
            "reference_on",
            name="uq_notices_sent_once",
        ),
    )
