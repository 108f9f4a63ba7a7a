"""/readyz: whether this instance can serve, and what it serves without.

`status` is "ok", "degraded" (it serves, but Redis or the scheduler is missing: rate limits
count per process, mails wait in the outbox) or "unavailable" (the database does not answer, or
its schema is behind this code's migrations), answered with 503 so that a load balancer takes
the instance out. /healthz stays the cheap liveness probe.
"""

from datetime import timedelta
from functools import cache

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import current_app

from portal import clock, ratelimit
from portal.db import MIGRATIONS, db
from portal.mail import outbox
from portal.mail.models import OutboxMail
from portal.retention import lease
from portal.retention.models import SchedulerLease

UNKNOWN = "unknown"


@cache
def _scripts(directory: str) -> tuple[frozenset[str], frozenset[str]]:
    """The code's heads and every revision it knows, read once per process."""
    scripts = ScriptDirectory(directory)
    known = frozenset(revision.revision for revision in scripts.walk_revisions())
    return frozenset(scripts.get_heads()), known


def schema_state() -> str:
    """The schema: "ok", "behind" (a migration of this code is not applied: `portal db upgrade`),
    "ahead" (the database has a migration this code does not know: a newer release ran)."""
    migrations = current_app.extensions[MIGRATIONS]
    heads, known = _scripts(migrations["directory"])
    table = sa.table(migrations["version_table"], sa.column("version_num"))
    if not sa.inspect(db.session.connection()).has_table(migrations["version_table"]):
        return "behind"
    applied = frozenset(db.session.scalars(sa.select(table.c.version_num)))
    if applied == heads:
        return "ok"
    if applied - known:
        return "ahead"
    return "behind"


def scheduler_state() -> str:
    """The scheduler: "ok" while some process holds the scheduler's lease, else "missing"."""
    expires = db.session.scalar(
        sa.select(SchedulerLease.expires_dt).where(SchedulerLease.name == lease.SCHEDULER)
    )
    return "ok" if expires is not None and expires > clock.now() else "missing"


def outbox_state() -> dict:
    oldest = db.session.scalar(
        sa.select(sa.func.min(OutboxMail.created_dt)).where(
            OutboxMail.sent_dt.is_(None), OutboxMail.failed_dt.is_(None)
        )
    )
    if oldest is not None and oldest.tzinfo is None:  # min() of SQLite forgets the type
        oldest = oldest.replace(tzinfo=clock.now().tzinfo)
    age = clock.now() - oldest if oldest is not None else timedelta(0)
    return {
        "waiting": outbox.waiting_count(),
        "failed": outbox.failed_count(),
        "oldest_waiting_seconds": max(0, int(age.total_seconds())),
    }


def redis_state() -> str:
    """Redis: "ok", "down", or "not_configured" (limits counted in this process's memory)."""
    state = ratelimit.storage_state()
    return "not_configured" if state == "memory" else state


def check() -> tuple[dict, int]:
    report = {"status": "ok", "database": "ok", "schema": UNKNOWN, "redis": redis_state()}
    try:
        db.session.execute(sa.text("SELECT 1"))
        report["schema"] = schema_state()
        report["outbox"] = outbox_state()
        report["scheduler"] = scheduler_state()
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        report.update(database="unreachable", outbox=UNKNOWN, scheduler=UNKNOWN)
    if report["database"] != "ok" or report["schema"] == "behind":
        report["status"] = "unavailable"
        return report, 503
    if report["redis"] == "down" or report["scheduler"] != "ok" or report["schema"] != "ok":
        report["status"] = "degraded"
    return report, 200
