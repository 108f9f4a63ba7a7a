import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.accounts.models import Account
from portal.db import db, enum_column


class LicenseState(enum.StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


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

    def state_on(self, day: date) -> LicenseState:
        if self.revoked_dt is not None:
            return LicenseState.REVOKED
        if self.valid_until is not None and self.valid_until < day:
            return LicenseState.EXPIRED
        return LicenseState.ACTIVE

    @property
    def state(self) -> LicenseState:
        return self.state_on(clock.today())


class LicenseManagerDesignation(db.Model):
    """Which account of a company manages its licenses (one per company)."""

    __tablename__ = "license_manager_designations"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        sa.ForeignKey("companies.id", ondelete="CASCADE"), unique=True
    )
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    designated_dt: Mapped[datetime] = mapped_column(default=clock.now)


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
        sa.ForeignKey("accounts.id", ondelete="SET NULL")
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
