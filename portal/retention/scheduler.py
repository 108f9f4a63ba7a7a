"""The scheduler: every periodic job of the portal, run by one process at a time.

Production runs `portal scheduler`, a blocking scheduler in its own process (one or more, on
one or more hosts: the extra ones are standbys). For single-process use (`make run`),
`PORTAL_SCHEDULER=on` starts a background scheduler inside the web process instead. Under
gunicorn PORTAL_SCHEDULER must stay off: every worker would start one. The portal refuses to
start it there (with a warning) and in any command other than `run`.

Every scheduler process schedules all the jobs, but runs them only while it holds the
"scheduler" lease (`portal.retention.lease`): it tries to take or renew the lease every third
of `PORTAL_SCHEDULER_LEASE_SECONDS` (60 s by default), and a job whose turn comes while the
process does not hold it returns at once. A standby keeps trying, and takes over within the
lease time when the active process dies.

Jobs (times are Europe/Stockholm): the retention purge daily at 03:00, the sweep of release
files no release refers to daily at 04:00, freeing stale machines daily at 04:30 (only with
`PORTAL_FREE_STALE_MACHINES` on), the license notices daily at 06:00, the delivery of waiting
mails every few seconds. Each runs in its own app context, as one step
(`portal.transaction.step`) or, for the purge, the stale machines, the notices and the mails,
as steps of their own. Runs missed while the process was busy are coalesced into one (`coalesce`,
`misfire_grace_time`); runs missed while no scheduler was active are made up
once when a process becomes the active one: the purge when no finished (non-dry) run has
started since the last 03:00 although the schedule was already running then, and the notices,
which never send a notice twice. A fresh instance (the first scheduler on its database) has
missed nothing: its first purge is the next 03:00 one, so `make run` keeps its demo data.
"""

import atexit
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import click
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from portal import clock, transaction
from portal.db import db
from portal.licenses import store
from portal.licenses.notices import run_notices
from portal.machines.service import free_stale_machines
from portal.mail.outbox import deliver_due
from portal.refusals import Refusal
from portal.retention import lease, purge
from portal.retention.models import RetentionRun, RunStatus, SchedulerLease

log = logging.getLogger(__name__)

LOCAL_TIME = clock.LOCAL_TIMEZONE
PURGE_AT = time(3, 0)
STALE_MACHINES_AT = time(4, 30)
NOTICES_AT = time(6, 0)
SWEEP_AT = time(4, 0)
# A run whose time passed while the process was busy or asleep still runs within this window.
MISFIRE_GRACE_SECONDS = 6 * 3600
# Waiting mails go out within this many seconds (no request sends a mail itself).
MAIL_EVERY_SECONDS = 5
JOB_DEFAULTS = {"coalesce": True, "misfire_grace_time": MISFIRE_GRACE_SECONDS, "max_instances": 1}


# --- the purge job and its catch-up ------------------------------------------------------------


def scheduled_purge(origin: str = "scheduler"):
    try:
        report = purge.purge(origin=origin)
    except Refusal as refusal:
        log.info("retention purge skipped: %s", refusal)
        return None
    log.info("%s", report.summary())
    return report


@dataclass(frozen=True)
class Job:
    id: str
    run: Callable[[], object]
    trigger: Callable[[], object]


def _daily(at: time):
    return lambda: CronTrigger(hour=at.hour, minute=at.minute, timezone=LOCAL_TIME)


JOBS: tuple[Job, ...] = (
    Job("retention_purge", scheduled_purge, _daily(PURGE_AT)),
    Job("stale_machines", free_stale_machines, _daily(STALE_MACHINES_AT)),
    Job("license_notices", run_notices, _daily(NOTICES_AT)),
    Job("mail_delivery", deliver_due, lambda: IntervalTrigger(seconds=MAIL_EVERY_SECONDS)),
    Job("release_store_sweep", store.sweep, _daily(SWEEP_AT)),
)


def last_scheduled_purge(now: datetime) -> datetime:
    """The latest 03:00 in Stockholm at or before `now` (aware UTC)."""
    local = now.astimezone(LOCAL_TIME)
    moment = datetime.combine(local.date(), PURGE_AT, tzinfo=LOCAL_TIME)
    if moment > local:
        moment = datetime.combine(local.date() - timedelta(days=1), PURGE_AT, tzinfo=LOCAL_TIME)
    return moment.astimezone(UTC)


def purge_was_missed(now: datetime | None = None) -> bool:
    """The last 03:00 purge was due and did not run: no finished real purge has started since,
    and either an earlier one did or the schedule had started before it (the scheduler's lease
    was first taken earlier). On a fresh instance no purge was ever due."""
    now = now or clock.now()
    due = last_scheduled_purge(now)
    last = db.session.scalar(
        sa.select(sa.func.max(RetentionRun.started_dt)).where(
            RetentionRun.status == RunStatus.FINISHED, RetentionRun.dry_run.is_(False)
        )
    )
    if last is None:
        last = schedule_started()
        return last is not None and _aware(last) < due
    return _aware(last) < due


def schedule_started() -> datetime | None:
    """When a scheduler first became active on this database (None: never)."""
    return db.session.scalar(
        sa.select(SchedulerLease.created_dt).where(SchedulerLease.name == lease.SCHEDULER)
    )


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


# --- the scheduler -----------------------------------------------------------------------------


class PortalScheduler:
    """An APScheduler scheduler whose jobs run only while this process holds the lease."""

    def __init__(self, app: Flask, scheduler_class: type[BaseScheduler], jobs=None):
        self.app = app
        self.holder = lease.holder_name()
        self.lease_seconds = app.config["PORTAL_SCHEDULER_LEASE_SECONDS"]
        self._valid_until: datetime | None = None
        self._state = threading.Lock()
        self.scheduler = scheduler_class(timezone=LOCAL_TIME, job_defaults=JOB_DEFAULTS)
        self.scheduler.add_job(
            self.keep_lease,
            IntervalTrigger(seconds=self.lease_seconds / 3),
            id="lease",
            next_run_time=datetime.now(LOCAL_TIME),
            coalesce=True,
            misfire_grace_time=None,
            max_instances=1,
        )
        for job in JOBS if jobs is None else jobs:
            self.scheduler.add_job(
                self.runner(job.run), job.trigger(), id=job.id, name=job.id, **JOB_DEFAULTS
            )

    # The lease --------------------------------------------------------------------------------

    def is_active(self) -> bool:
        with self._state:
            return self._valid_until is not None and clock.now() < self._valid_until

    def keep_lease(self) -> bool:
        """Take or renew the lease; on becoming the active scheduler, make up missed runs."""
        started = clock.now()
        was_active = self.is_active()
        with self.app.app_context():
            try:
                with transaction.step():
                    held = lease.acquire(lease.SCHEDULER, self.holder, self.lease_seconds)
            except sa.exc.SQLAlchemyError:
                log.exception("scheduler lease not renewed; it runs out by itself")
                return self.is_active()
        with self._state:
            self._valid_until = started + timedelta(seconds=self.lease_seconds) if held else None
        if held and not was_active:
            log.info("scheduler %s is now the active one", self.holder)
            self._schedule_catch_up()
        elif was_active and not held:
            log.warning("scheduler %s lost the lease; standing by", self.holder)
        return held

    def _schedule_catch_up(self) -> None:
        if self.scheduler.state == STATE_STOPPED:
            return  # not started (a test drives the steps itself)
        self.scheduler.add_job(self.catch_up, id="catch_up", replace_existing=True)

    def catch_up(self) -> bool:
        """Run the purge when the last 03:00 run was missed, and the idempotent notices."""
        if not self.is_active():
            return False
        ran = False
        with self.app.app_context():
            if purge_was_missed():
                ran = scheduled_purge(origin="catch-up") is not None
            db.session.rollback()
        self.runner(run_notices)()
        return ran

    # Jobs -------------------------------------------------------------------------------------

    def runner(self, job: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            if not self.is_active():
                return
            with self.app.app_context():
                try:
                    with transaction.step():
                        job()
                except Exception:
                    log.exception("scheduled job %s failed", job.__name__)

        run.__name__ = job.__name__
        return run

    # Starting and stopping --------------------------------------------------------------------

    def start(self) -> None:
        """Start scheduling (a BlockingScheduler blocks here until `stop`)."""
        log.info("scheduler %s started; it runs jobs while it holds the lease", self.holder)
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.state != STATE_STOPPED:
            self.scheduler.shutdown(wait=False)
        if self.is_active():
            with self.app.app_context():
                try:
                    with transaction.step():
                        lease.release(lease.SCHEDULER, self.holder)
                except sa.exc.SQLAlchemyError:
                    pass  # the lease runs out by itself
        with self._state:
            self._valid_until = None


def may_run_in_web_process() -> str | None:
    """Why this process must not run a background scheduler, or None when it may."""
    if os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn"):
        return "under gunicorn every worker would run one; run `portal scheduler` instead"
    context = click.get_current_context(silent=True)
    if context is not None and context.command.name != "run":
        return "a command is running, not the web server"
    return None


def start_in_background(app: Flask) -> PortalScheduler | None:
    """The scheduler inside the web process (PORTAL_SCHEDULER=on), for single-process use."""
    if app.testing:
        return None
    refusal = may_run_in_web_process()
    if refusal is not None:
        if refusal.startswith("under gunicorn"):
            log.warning("PORTAL_SCHEDULER=on ignored: %s", refusal)
        return None
    scheduler = PortalScheduler(app, BackgroundScheduler)
    scheduler.start()
    app.extensions["portal_scheduler"] = scheduler
    atexit.register(scheduler.stop)
    return scheduler
