"""Retention's tables: the report every purge leaves behind (when, as of which day, by which
process, and how many rows of each kind it removed: counts only, never personal data), and the
lease that lets one process at a time run the scheduler's jobs or a purge."""

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal import clock
from portal.db import db, enum_column


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    # Stopped by an error, or found still "running" by a later run (its process died).
    FAILED = "failed"


class RetentionRun(db.Model):
    __tablename__ = "retention_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_dt: Mapped[datetime] = mapped_column(default=clock.now, index=True)
    finished_dt: Mapped[datetime | None]
    # The day the purge ran as of (`--today`); the cut-offs follow from it and `months`.
    as_of_on: Mapped[date]
    dry_run: Mapped[bool] = mapped_column(default=False)
    status: Mapped[RunStatus] = mapped_column(
        enum_column(RunStatus, name="retentionrunstatus"), default=RunStatus.RUNNING
    )
    # What started it: "command", "scheduler" or "catch-up" (a run made up at start-up).
    origin: Mapped[str] = mapped_column(sa.String(20))
    # Which process: "hostname:pid:random" (the lease holder name).
    holder: Mapped[str] = mapped_column(sa.String(200))
    months: Mapped[int]
    # Companies whose relationship ended on or before this day lose their accounts.
    account_cutoff_on: Mapped[date | None]
    # ... and their accounting records when it ended on or before this one.
    bookkeeping_cutoff_on: Mapped[date | None]
    batches: Mapped[int] = mapped_column(default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # The exception's class name only: messages can quote the data (e.g. a constraint error).
    error: Mapped[str | None] = mapped_column(sa.String(120))

    __table_args__ = (sa.Index("ix_retention_runs_finished", "status", "dry_run", "started_dt"),)

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_dt is None:
            return None
        return (self.finished_dt - self.started_dt).total_seconds()


class SchedulerLease(db.Model):
    __tablename__ = "scheduler_leases"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)
    holder: Mapped[str] = mapped_column(sa.String(200))
    acquired_dt: Mapped[datetime] = mapped_column(default=clock.now)
    expires_dt: Mapped[datetime]
    # When the lease was first taken on this database: for the scheduler's, when the schedule
    # started, so that a fresh instance does not make up runs that were never due.
    created_dt: Mapped[datetime] = mapped_column(default=clock.now)
