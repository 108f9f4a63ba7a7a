"""The scheduler: one active process at a time through a database lease, a standby that takes
over, the jobs and their times, and missed purges made up once at start-up."""

import os
import signal
import subprocess
import time
import types
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import click
import pytest
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from portal import clock, demo
from portal.accounts.models import Account
from portal.db import db
from portal.licenses import notices
from portal.machines.service import free_stale_machines
from portal.mail import outbox
from portal.retention import lease, purge, scheduler
from portal.retention.models import RetentionRun, RunStatus, SchedulerLease
from portal.retention.scheduler import PortalScheduler, last_scheduled_purge, purge_was_missed
from tests import factories
from tests.conftest import TEST_DATABASE_URL
from tests.test_retention import SeparateDatabase, portal_process

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # the frozen clock: 10:00 in Stockholm
STOCKHOLM = ZoneInfo("Europe/Stockholm")

calls: list[str] = []


def record_call():
    """A job target for the tests."""
    calls.append("ran")


@pytest.fixture(autouse=True)
def _now(frozen_clock):
    assert clock.now() == NOW
    calls.clear()


@pytest.fixture
def separate_db(tmp_path):
    database = SeparateDatabase(tmp_path)
    yield database
    database.drop()


@pytest.fixture
def make_scheduler(app):
    made = []

    def make(jobs=()):
        instance = PortalScheduler(app, BackgroundScheduler, jobs=jobs)
        made.append(instance)
        return instance

    yield make
    for instance in made:
        instance.stop()


def finished_run(started: datetime, *, dry_run=False, status=RunStatus.FINISHED):
    run = RetentionRun(
        started_dt=started,
        finished_dt=started + timedelta(seconds=5),
        as_of_on=started.date(),
        dry_run=dry_run,
        status=status,
        origin="scheduler",
        holder="earlier:1:abcd",
        months=24,
    )
    db.session.add(run)
    db.session.commit()
    return run


def schedule_started(moment: datetime):
    """A scheduler first became active on this database at `moment` (its lease row)."""
    db.session.add(
        SchedulerLease(
            name=lease.SCHEDULER,
            holder="earlier:1:abcd",
            created_dt=moment,
            acquired_dt=moment,
            expires_dt=moment + timedelta(minutes=1),
        )
    )
    db.session.commit()


def runs(origin: str) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(RetentionRun.id)).where(RetentionRun.origin == origin)
    )


# --- the 03:00 in Stockholm ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (NOW, datetime(2026, 11, 2, 2, 0, tzinfo=UTC)),  # winter: 03:00 CET is 02:00 UTC
        (datetime(2026, 11, 2, 1, 59, tzinfo=UTC), datetime(2026, 11, 1, 2, 0, tzinfo=UTC)),
        (datetime(2026, 7, 1, 12, 0, tzinfo=UTC), datetime(2026, 7, 1, 1, 0, tzinfo=UTC)),
        # The night summer time ends (25 Oct 2026): 02:30 CET is after 03:00 CEST... of the day
        # before, since 03:00 CET that night is still to come.
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), datetime(2026, 10, 24, 1, 0, tzinfo=UTC)),
        (datetime(2026, 10, 25, 2, 0, tzinfo=UTC), datetime(2026, 10, 25, 2, 0, tzinfo=UTC)),
    ],
)
def test_the_last_scheduled_purge_is_the_latest_0300_in_stockholm(now, expected):
    assert last_scheduled_purge(now) == expected
    assert expected.astimezone(STOCKHOLM).hour == 3


def test_the_jobs_run_at_their_times_in_stockholm_coalesced_with_a_misfire_grace(app):
    instance = PortalScheduler(app, BackgroundScheduler)
    jobs = {job.id: job for job in instance.scheduler.get_jobs()}
    assert set(jobs) == {
        "lease",
        "retention_purge",
        "stale_machines",
        "license_notices",
        "mail_delivery",
        "release_store_sweep",
    }
    after = NOW  # 10:00 in Stockholm
    next_purge = jobs["retention_purge"].trigger.get_next_fire_time(None, after)
    assert next_purge == datetime(2026, 11, 3, 3, 0, tzinfo=STOCKHOLM)
    next_stale = jobs["stale_machines"].trigger.get_next_fire_time(None, after)
    assert next_stale == datetime(2026, 11, 3, 4, 30, tzinfo=STOCKHOLM)
    next_notices = jobs["license_notices"].trigger.get_next_fire_time(None, after)
    assert next_notices == datetime(2026, 11, 3, 6, 0, tzinfo=STOCKHOLM)
    assert isinstance(jobs["mail_delivery"].trigger, IntervalTrigger)
    assert jobs["mail_delivery"].trigger.interval == timedelta(seconds=scheduler.MAIL_EVERY_SECONDS)
    for job_id in ("retention_purge", "stale_machines", "license_notices", "mail_delivery"):
        assert jobs[job_id].coalesce is True
        assert jobs[job_id].misfire_grace_time == scheduler.MISFIRE_GRACE_SECONDS
        assert jobs[job_id].max_instances == 1
    assert jobs["lease"].trigger.interval == timedelta(seconds=instance.lease_seconds / 3)
    assert isinstance(jobs["retention_purge"].trigger, CronTrigger)


def test_every_job_runs_a_function_of_the_portal():
    jobs = {job.id: job.run for job in scheduler.JOBS}
    assert jobs["license_notices"] is notices.run_notices
    assert jobs["mail_delivery"] is outbox.deliver_due
    assert jobs["retention_purge"] is scheduler.scheduled_purge
    assert jobs["stale_machines"] is free_stale_machines


# --- one active scheduler -----------------------------------------------------------------------


def test_only_the_scheduler_holding_the_lease_runs_jobs(make_scheduler):
    first, second = make_scheduler(), make_scheduler()
    assert first.keep_lease() is True
    assert second.keep_lease() is False
    second.runner(record_call)()
    assert calls == []
    first.runner(record_call)()
    assert calls == ["ran"]


def test_the_active_scheduler_keeps_its_lease_by_renewing_it(make_scheduler):
    first, second = make_scheduler(), make_scheduler()
    first.keep_lease()
    for _ in range(10):
        clock.advance(timedelta(seconds=first.lease_seconds / 3))
        assert first.keep_lease() is True
        assert second.keep_lease() is False


def test_a_standby_takes_over_once_the_lease_of_a_dead_scheduler_expires(make_scheduler):
    first, second = make_scheduler(), make_scheduler()
    first.keep_lease()  # ... and then it dies: no more renewals
    clock.advance(timedelta(seconds=first.lease_seconds - 1))
    assert second.keep_lease() is False
    clock.advance(timedelta(seconds=2))
    assert first.is_active() is False  # it would not run jobs even if it were only stuck
    assert second.keep_lease() is True
    assert first.keep_lease() is False
    assert lease.current(lease.SCHEDULER).holder == second.holder


def test_a_stopped_scheduler_hands_the_lease_over_at_once(make_scheduler):
    first, second = make_scheduler(), make_scheduler()
    first.keep_lease()
    first.stop()
    assert second.keep_lease() is True


def test_a_failing_job_is_rolled_back_and_the_scheduler_carries_on(make_scheduler):
    instance = make_scheduler()
    instance.keep_lease()

    def broken():
        db.session.add(factories.make_company("Halvfärdig AB"))
        raise RuntimeError("boom")

    instance.runner(broken)()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Account)) == 0
    from portal.companies.models import Company

    assert db.session.scalar(sa.select(Company.id).where(Company.name == "Halvfärdig AB")) is None


# --- missed runs --------------------------------------------------------------------------------


def test_a_scheduler_started_after_a_missed_0300_runs_the_purge_once(make_scheduler, make_company):
    finished_run(datetime(2026, 11, 1, 2, 0, 5, tzinfo=UTC))  # yesterday's; today's was missed
    company = make_company("Slutad AB", ended_on=date(2024, 11, 2))
    factories.make_account("member", company=company)
    db.session.commit()

    first = make_scheduler()
    first.keep_lease()
    assert first.catch_up() is True
    assert runs("catch-up") == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Account)) == 0
    first.stop()

    clock.advance(timedelta(minutes=5))  # restarted: the purge is not made up a second time
    second = make_scheduler()
    second.keep_lease()
    assert second.catch_up() is False
    assert runs("catch-up") == 1


def test_no_purge_is_made_up_when_todays_0300_run_finished(make_scheduler):
    finished_run(datetime(2026, 11, 2, 2, 0, 5, tzinfo=UTC))
    assert purge_was_missed() is False
    instance = make_scheduler()
    instance.keep_lease()
    assert instance.catch_up() is False
    assert runs("catch-up") == 0


def test_dry_runs_and_failed_runs_do_not_count_as_the_daily_purge():
    schedule_started(datetime(2026, 10, 30, 12, 0, tzinfo=UTC))
    finished_run(datetime(2026, 11, 2, 2, 0, 5, tzinfo=UTC), dry_run=True)
    finished_run(datetime(2026, 11, 2, 2, 30, tzinfo=UTC), status=RunStatus.FAILED)
    assert purge_was_missed() is True


def test_a_fresh_instance_whose_schedule_never_ran_makes_up_nothing(make_scheduler, make_company):
    company = make_company("Slutad AB", ended_on=date(2024, 11, 2))
    factories.make_account("member", company=company)
    db.session.commit()
    assert purge_was_missed() is False  # no scheduler has ever run here
    instance = make_scheduler()
    instance.keep_lease()  # the first scheduler: the schedule starts now, after today's 03:00
    assert purge_was_missed() is False
    assert instance.catch_up() is False
    assert runs("catch-up") == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Account)) == 1


def test_a_schedule_that_started_before_a_missed_0300_makes_it_up():
    schedule_started(datetime(2026, 11, 1, 20, 0, tzinfo=UTC))  # yesterday evening
    assert purge_was_missed() is True  # and no run since: this morning's 03:00 was missed
    finished_run(datetime(2026, 11, 2, 2, 0, 5, tzinfo=UTC))
    assert purge_was_missed() is False


def test_the_demo_keeps_its_retention_example_after_the_scheduler_starts(make_scheduler, app):
    demo.load_demo_data()
    db.session.commit()
    instance = make_scheduler()
    instance.keep_lease()
    assert instance.catch_up() is False
    report = purge.purge(dry_run=True)
    assert report.counts["accounts"] >= 1  # the ended company's accounts are still there to see
    assert report.counts["companies"] >= 1
    upcoming = {item.company_name: item for item in purge.upcoming()}
    assert upcoming["Gamla Kunden AB"].is_due(clock.today())
    # ... and one that is not due yet, so the staff page shows what comes later
    assert any(not item.is_due(clock.today()) for item in upcoming.values())


def test_a_standby_makes_up_nothing(make_scheduler):
    first, second = make_scheduler(), make_scheduler()
    first.keep_lease()
    second.keep_lease()
    assert second.catch_up() is False
    assert runs("catch-up") == 0


# --- where a scheduler may run ------------------------------------------------------------------


def test_no_scheduler_starts_in_the_web_process_under_testing(app):
    assert app.config["PORTAL_SCHEDULER"] is False
    assert scheduler.start_in_background(app) is None
    assert "portal_scheduler" not in app.extensions


def test_gunicorn_workers_never_start_one(monkeypatch, caplog):
    monkeypatch.setenv("SERVER_SOFTWARE", "gunicorn/23.0.0")
    assert "gunicorn" in scheduler.may_run_in_web_process()
    assert scheduler.start_in_background(types.SimpleNamespace(testing=False)) is None
    assert "PORTAL_SCHEDULER=on ignored" in caplog.text


def test_only_the_run_command_may_start_one_in_process(monkeypatch):
    monkeypatch.delenv("SERVER_SOFTWARE", raising=False)
    with click.Context(click.Command("purge")):
        assert scheduler.may_run_in_web_process() is not None
    with click.Context(click.Command("run")):
        assert scheduler.may_run_in_web_process() is None
    assert scheduler.may_run_in_web_process() is None  # a WSGI server imported the app


def test_the_scheduler_command_is_registered(app):
    assert "scheduler" in app.cli.commands
    assert {"purge", "preview"} <= set(app.cli.commands["retention"].commands)


# --- two processes ------------------------------------------------------------------------------

TICK_EVERY_SECOND = """
import os

import sqlalchemy as sa
from apscheduler.triggers.interval import IntervalTrigger

from portal.retention import scheduler


def tick():
    from portal.db import db

    db.session.execute(
        sa.text("INSERT INTO scheduler_test_ticks (pid) VALUES (:pid)"), {"pid": os.getpid()}
    )


scheduler.JOBS = (
    *scheduler.JOBS,
    scheduler.Job("test_tick", tick, lambda: IntervalTrigger(seconds=1)),
)
"""
LEASE_SECONDS = 3


def _wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.mark.no_transaction
@pytest.mark.skipif(
    not TEST_DATABASE_URL,
    reason="two scheduler processes are tested on PostgreSQL (set PORTAL_TEST_DATABASE_URL)",
)
def test_two_scheduler_processes_run_each_job_once_and_the_standby_takes_over(
    separate_db, tmp_path
):
    with separate_db.engine.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE TABLE scheduler_test_ticks"
                " (id serial PRIMARY KEY, pid integer, at timestamptz DEFAULT clock_timestamp())"
            )
        )
        # The schedule ran before (two days ago) and then stopped: the last 03:00 was missed.
        earlier = datetime.now(UTC) - timedelta(days=2)
        connection.execute(
            RetentionRun.__table__.insert().values(
                started_dt=earlier,
                finished_dt=earlier,
                as_of_on=earlier.date(),
                dry_run=False,
                status=RunStatus.FINISHED,
                origin="scheduler",
                holder="earlier:1:abcd",
                months=24,
                batches=0,
                counts={},
            )
        )

    def ticks(pid: int) -> int:
        with separate_db.engine.connect() as connection:
            return connection.scalar(
                sa.text("SELECT count(*) FROM scheduler_test_ticks WHERE pid = :pid"), {"pid": pid}
            )

    def start(name: str) -> tuple[subprocess.Popen, os.PathLike]:
        command, env = portal_process(separate_db, tmp_path, "scheduler", hook=TICK_EVERY_SECOND)
        env["PORTAL_SCHEDULER_LEASE_SECONDS"] = str(LEASE_SECONDS)
        log = tmp_path / f"{name}.log"
        with log.open("w") as handle:
            process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
        return process, log

    first = second = None
    try:
        first, _ = start("first")
        _wait_for(lambda: ticks(first.pid) >= 1, 60, "the first scheduler's job")
        second, second_log = start("second")
        _wait_for(lambda: "started" in second_log.read_text(), 60, "the second scheduler")
        standing_by = ticks(first.pid)
        _wait_for(lambda: ticks(first.pid) >= standing_by + 3, 30, "three more ticks")
        assert ticks(second.pid) == 0  # it tried the lease every second, and stood by

        first.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        first.wait(timeout=10)
        renew = LEASE_SECONDS / 3
        _wait_for(lambda: ticks(second.pid) >= 1, LEASE_SECONDS + 20, "the takeover")
        took = time.monotonic() - killed_at
        # The lease runs out at most LEASE_SECONDS after the kill; the standby tries every
        # `renew` seconds and its job comes within a second after that (plus slack for a busy
        # machine).
        assert took <= LEASE_SECONDS + renew + 1 + 3, f"takeover after {took:.1f} s"

        with separate_db.engine.connect() as connection:
            last_of_first = connection.scalar(
                sa.text("SELECT max(at) FROM scheduler_test_ticks WHERE pid = :pid"),
                {"pid": first.pid},
            )
            first_of_second = connection.scalar(
                sa.text("SELECT min(at) FROM scheduler_test_ticks WHERE pid = :pid"),
                {"pid": second.pid},
            )
            catch_ups = connection.scalar(
                sa.text(
                    "SELECT count(*) FROM retention_runs"
                    " WHERE origin = 'catch-up' AND status = 'finished'"
                )
            )
        assert first_of_second > last_of_first  # never both at once
        assert catch_ups == 1  # the missed purge made up once, not again by the standby

        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=20) == 0
        with separate_db.engine.connect() as connection:
            expires = connection.scalar(
                sa.text("SELECT expires_dt FROM scheduler_leases WHERE name = 'scheduler'")
            )
        assert expires < datetime.now(UTC)  # handed over at once on a clean stop
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=10)
