"""The accounts' tables: logins, their sessions, mailed links, second factors and company roles."""

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.companies.models import Company
from portal.db import db, enum_column
from portal.i18n import lazy_gettext as _l
from portal.sealing import SealedString


class AccountKind(enum.StrEnum):
    PERSONAL = "personal"
    FUNCTION = "function"


class CompanyRole(enum.StrEnum):
    MEMBER = "member"
    ADMIN = "admin"


class StaffRole(enum.StrEnum):
    SUPPORT = "support"
    STAFF_ADMIN = "staff_admin"


# The roles in words, lower-case for use inside a sentence ("Karin Ek (admin)").
ROLE_LABELS = {
    CompanyRole.MEMBER: _l("member"),
    CompanyRole.ADMIN: _l("admin"),
    StaffRole.SUPPORT: _l("support"),
    StaffRole.STAFF_ADMIN: _l("staff admin"),
}


class Account(db.Model):
    """A login. Either a customer account of one company, or a vendor staff account."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, which makes the unique constraint case-insensitive on every database.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    name: Mapped[str | None] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    kind: Mapped[AccountKind] = mapped_column(
        enum_column(AccountKind), default=AccountKind.PERSONAL
    )
    company_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("companies.id", ondelete="RESTRICT"), index=True
    )
    company_role: Mapped[CompanyRole | None] = mapped_column(enum_column(CompanyRole))
    staff_role: Mapped[StaffRole | None] = mapped_column(enum_column(StaffRole))
    language: Mapped[str] = mapped_column(sa.String(5), default="sv")
    is_active: Mapped[bool] = mapped_column(default=True)
    # Set when a staff admin resets a customer's second factor: the next sign-in enrols again.
    twofactor_reenrol: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_dt: Mapped[datetime] = mapped_column(default=clock.now)
    last_login_dt: Mapped[datetime | None]

    company: Mapped[Company | None] = relationship(lazy="joined", innerjoin=False)

    # Flask-Login's user protocol. The id Flask-Login keeps is the login session's key, set
    # when the session is loaded, so that ending the session record ends the login.
    session_key = None
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str | None:
        return self.session_key

    __table_args__ = (
        sa.CheckConstraint(
            "(company_id IS NOT NULL AND company_role IS NOT NULL AND staff_role IS NULL)"
            " OR (company_id IS NULL AND company_role IS NULL AND staff_role IS NOT NULL)",
            name="customer_or_staff",
        ),
    )

    @property
    def is_staff(self) -> bool:
        return self.staff_role is not None

    @property
    def is_company_admin(self) -> bool:
        return self.company_role == CompanyRole.ADMIN

    @property
    def role_label(self):
        """The staff or company role in words, in the reader's language."""
        return ROLE_LABELS[self.staff_role or self.company_role]

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def __repr__(self) -> str:
        return f"<Account {self.id}>"


class LoginSession(db.Model):
    """The server's record of a signed-in browser; a cookie is honoured only while it is live."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the random key in the cookie: a copy of this table cannot sign anybody in.
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    created_dt: Mapped[datetime] = mapped_column(default=clock.now)
    last_seen_dt: Mapped[datetime] = mapped_column(default=clock.now)
    expires_dt: Mapped[datetime]
    remember: Mapped[bool] = mapped_column(default=False)
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))
    revoked_dt: Mapped[datetime | None]

    account: Mapped[Account] = relationship(lazy="joined", innerjoin=True)


class TokenPurpose(enum.StrEnum):
    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"  # noqa: S105  # nosec B105 # a purpose, not a password
    EMAIL_CHANGE = "email_change"
    MANAGER_CONFIRMATION = "manager_confirmation"


class AccountToken(db.Model):
    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    purpose: Mapped[TokenPurpose] = mapped_column(enum_column(TokenPurpose))
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    created_dt: Mapped[datetime] = mapped_column(default=clock.now)
    expires_dt: Mapped[datetime]
    used_dt: Mapped[datetime | None]
    cancelled_dt: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    payload: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    account: Mapped[Account] = relationship(foreign_keys=[account_id], lazy="joined")

    @property
    def is_usable(self) -> bool:
        return self.used_dt is None and self.cancelled_dt is None and clock.now() < self.expires_dt


TOTP_SECRET_PURPOSE = "twofactor_secret"  # noqa: S105  # nosec B105 # a sealing purpose, not a secret


class TwoFactorSecret(db.Model):
    """An account's TOTP secret; two-factor is on once the secret is confirmed with a code."""

    __tablename__ = "twofactor_secrets"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), unique=True
    )
    # Sealed at rest (portal.sealing); None in Python when the current secret key cannot open it.
    secret: Mapped[str | None] = mapped_column(SealedString(TOTP_SECRET_PURPOSE), nullable=False)
    created_dt: Mapped[datetime] = mapped_column(default=clock.now)
    confirmed_dt: Mapped[datetime | None]
    # The time step of the last accepted code: codes of this step or earlier are refused.
    last_used_step: Mapped[int | None] = mapped_column(sa.BigInteger)


class RecoveryCode(db.Model):
    """A single-use code that stands in for the authenticator app; only its hash is stored."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    created_dt: Mapped[datetime] = mapped_column(default=clock.now)
    used_dt: Mapped[datetime | None]

    __table_args__ = (sa.UniqueConstraint("account_id", "code_hash"),)


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
