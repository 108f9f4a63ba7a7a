import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.accounts.models import Account
from portal.db import db, enum_column


class EndReason(enum.StrEnum):
    STOP = "stop"
    TIMEOUT = "timeout"
    LOGOUT = "logout"
    STAFF_DEACTIVATED = "staff_deactivated"
    ROLE_LOST = "role_lost"
    SESSION_ENDED = "session_ended"  # the staff member's own session ended (idle, revoked)
    CUSTOMER_INACTIVE = "customer_inactive"  # the customer account was deactivated or removed


class Impersonation(db.Model):
    """One time a staff member viewed the portal as a customer account.

    The rows are history as well as state: the account columns are set to NULL when an account
    is purged (never a cascade), so the record of the view survives, pseudonymised. A view is
    active while `ended_dt` is empty; only one per login session.
    """

    __tablename__ = "impersonations"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    customer_account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    company_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("companies.id", ondelete="SET NULL"), index=True
    )
    # The staff member's own login session, which stays as it was during the view. SET NULL, not
    # CASCADE: removing old session records must not remove the history of views.
    login_session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("login_sessions.id", ondelete="SET NULL"), index=True
    )
    reason: Mapped[str] = mapped_column(sa.String(500))
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    started_dt: Mapped[datetime] = mapped_column(default=clock.now, index=True)
    expires_dt: Mapped[datetime]
    ended_dt: Mapped[datetime | None]
    end_reason: Mapped[EndReason | None] = mapped_column(
        enum_column(EndReason, name="impersonationend")
    )

    staff: Mapped[Account | None] = relationship(foreign_keys=[staff_account_id], lazy="joined")
    customer: Mapped[Account | None] = relationship(
        foreign_keys=[customer_account_id], lazy="joined"
    )

    __table_args__ = (
        # At most one active view per login session, even with two requests at once.
        sa.Index(
            "uq_impersonations_active_login_session",
            "login_session_id",
            unique=True,
            sqlite_where=sa.text("ended_dt IS NULL"),
            postgresql_where=sa.text("ended_dt IS NULL"),
        ),
    )

    def __repr__(self) -> str:
        return f"<Impersonation {self.id}>"
