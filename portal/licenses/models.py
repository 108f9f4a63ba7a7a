import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.db import db


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
