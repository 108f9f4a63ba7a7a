"""Machines on licenses, products' minimum versions, API tokens and the signing keys in use."""

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.accounts.models import Account
from portal.db import db, enum_column
from portal.licenses.models import License, Product
from portal.machines import versions


class MachineKind(enum.StrEnum):
    ONLINE = "online"  # activated by SafeLink itself, validates over the API
    OFFLINE = "offline"  # added in the portal, runs on a downloaded license file


class Machine(db.Model):
    """A machine holding a seat of a license: one per fingerprint and license.

    A deactivated machine is deleted (its audit events keep the history), so every row holds a
    seat and the seat count is a count of rows.
    """

    __tablename__ = "machines"

    id: Mapped[int] = mapped_column(primary_key=True)
    license_id: Mapped[int] = mapped_column(sa.ForeignKey("licenses.id", ondelete="CASCADE"))
    kind: Mapped[MachineKind] = mapped_column(enum_column(MachineKind))
    fingerprint: Mapped[str] = mapped_column(sa.String(128))
    hostname: Mapped[str] = mapped_column(sa.String(253))
    product_version: Mapped[str] = mapped_column(sa.String(versions.MAX_LENGTH))
    # `versions.sort_key(product_version)`, so that SQL compares versions by their numbers.
    version_key: Mapped[str] = mapped_column(sa.String(versions.SORT_KEY_LENGTH))
    activated_dt: Mapped[datetime] = mapped_column(default=clock.now)
    # The last activation or validation; an online machine not seen for a while is stale.
    last_seen_dt: Mapped[datetime] = mapped_column(default=clock.now)
    last_validated_dt: Mapped[datetime | None]

    license: Mapped[License] = relationship()

    __table_args__ = (
        # Also the index of a license's machines, and what makes activation idempotent.
        sa.UniqueConstraint("license_id", "fingerprint"),
        sa.Index("ix_machines_kind_last_seen", "kind", "last_seen_dt"),
    )

    def set_version(self, version: str) -> None:
        self.product_version = version
        self.version_key = versions.sort_key(version)


class MinimumVersion(db.Model):
    """The oldest version of a product that may run from a day on (set by staff admins)."""

    __tablename__ = "minimum_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        sa.ForeignKey("products.id", ondelete="CASCADE"), unique=True
    )
    version: Mapped[str] = mapped_column(sa.String(versions.MAX_LENGTH))
    version_key: Mapped[str] = mapped_column(sa.String(versions.SORT_KEY_LENGTH))
    effective_on: Mapped[date]
    set_dt: Mapped[datetime] = mapped_column(default=clock.now)
    set_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )

    product: Mapped[Product] = relationship()

    def in_effect_on(self, day: date) -> bool:
        return self.effective_on <= day

    def rejects(self, version: str, day: date) -> bool:
        """A machine of this version must upgrade on `day`."""
        return self.in_effect_on(day) and versions.is_older(version, self.version)


class ApiToken(db.Model):
    """A company's token for automation. Only the SHA-256 of the token is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(80))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The token's first characters, shown in lists so that people can tell tokens apart.
    prefix: Mapped[str] = mapped_column(sa.String(16))
    scopes: Mapped[str] = mapped_column(sa.String(200))  # space-separated
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    created_dt: Mapped[datetime] = mapped_column(default=clock.now)
    expires_dt: Mapped[datetime]
    revoked_dt: Mapped[datetime | None]
    last_used_dt: Mapped[datetime | None]

    created_by: Mapped[Account | None] = relationship(lazy="joined", innerjoin=False)

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    def is_live(self, moment: datetime) -> bool:
        return self.revoked_dt is None and moment < self.expires_dt


class SigningKey(db.Model):
    """A public key the portal has signed with, kept so that it stays verifiable after rotation.

    Each process records its key the first time it answers an API request; a key is published
    as inactive for the grace period after a newer key was first used.
    """

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    public_key_pem: Mapped[str] = mapped_column(sa.Text)
    first_used_dt: Mapped[datetime] = mapped_column(default=clock.now)
