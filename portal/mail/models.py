from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal import clock
from portal.db import db


class OutboxMail(db.Model):
    """A mail written in the same transaction as the action that caused it (see outbox.py)."""

    __tablename__ = "outbox_mails"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    # Rendered with placeholders for its secrets, which are sealed here until delivery.
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text)
    sealed: Mapped[str | None] = mapped_column(sa.Text)
    created_dt: Mapped[datetime] = mapped_column(default=clock.now)
    sent_dt: Mapped[datetime | None]
    failed_dt: Mapped[datetime | None]  # given up after MAX_ATTEMPTS
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_dt: Mapped[datetime] = mapped_column(default=clock.now)
    claimed_until: Mapped[datetime | None]  # a process is sending it until then
    last_error: Mapped[str | None] = mapped_column(sa.String(500))

    __table_args__ = (sa.Index("ix_outbox_mails_unsent", "sent_dt", "next_attempt_dt"),)
