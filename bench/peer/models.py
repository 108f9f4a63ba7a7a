"""The peer's tables: companies, accounts, server-side sessions, products, licenses, releases."""

import secrets
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from flask_login import UserMixin
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped, mapped_column, relationship

db = SQLAlchemy()

EXPIRING_WITHIN = timedelta(days=60)
KEY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_license_key() -> str:
    """Five groups of five random characters: `ABCDE-FGHJK-...`."""
    return "-".join("".join(secrets.choice(KEY_ALPHABET) for _ in range(5)) for _ in range(5))


class Company(db.Model):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    orgnr: Mapped[str] = mapped_column(sa.String(20), unique=True)


class Account(UserMixin, db.Model):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    company: Mapped[Company] = relationship(lazy="joined", innerjoin=True)

    @property
    def is_active(self) -> bool:
        return self.active


class LoginSession(db.Model):
    """A signed-in browser: the cookie holds a random key, this row says if it is still valid."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    user_agent: Mapped[str] = mapped_column(sa.String(300), default="")

    account: Mapped[Account] = relationship(lazy="joined", innerjoin=True)

    def is_valid(self, now: datetime, idle: timedelta) -> bool:
        return (
            self.revoked_at is None
            and now < self.expires_at
            and now - self.last_seen_at < idle
            and self.account.is_active
        )


class Product(db.Model):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))


class License(db.Model):
    __tablename__ = "licenses"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"))
    key: Mapped[str] = mapped_column(sa.String(29), unique=True, default=new_license_key)
    seats: Mapped[int]
    valid_from: Mapped[date]
    valid_until: Mapped[date | None]
    maintenance_until: Mapped[date | None]
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    company: Mapped[Company] = relationship()
    product: Mapped[Product] = relationship()

    @property
    def masked_key(self) -> str:
        first, *rest = self.key.split("-")
        return "-".join([first] + ["•••••"] * len(rest))

    @property
    def state(self) -> str:
        today = date.today()
        if self.revoked_at is not None:
            return "revoked"
        if self.valid_until is not None and self.valid_until < today:
            return "expired"
        if self.valid_until is not None and self.valid_until <= today + EXPIRING_WITHIN:
            return "expiring"
        return "active"

    def covers(self, release: "Release") -> bool:
        return self.maintenance_until is None or release.released_on <= self.maintenance_until


class Release(db.Model):
    __tablename__ = "releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"))
    version: Mapped[str] = mapped_column(sa.String(40))
    released_on: Mapped[date]
    end_of_life_on: Mapped[date | None]

    product: Mapped[Product] = relationship()
    files: Mapped[list["ReleaseFile"]] = relationship(
        back_populates="release", order_by="ReleaseFile.filename"
    )

    __table_args__ = (sa.UniqueConstraint("product_id", "version"),)


class ReleaseFile(db.Model):
    __tablename__ = "release_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(sa.ForeignKey("releases.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))

    release: Mapped[Release] = relationship(back_populates="files")
