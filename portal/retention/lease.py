"""Mutual exclusion across processes and hosts: a lease row in the database.

A lease has a unique name, a holder and an expiry. `acquire` takes it when it is free or expired,
or extends it when the caller already holds it, with one atomic UPDATE ... WHERE (or an INSERT
on first use, whose unique key decides a race). The same call renews a held lease, so a holder
calls it again well before the expiry (every third of the lease time). A process that dies
stops renewing, and another takes the lease over once it has expired.

This works on SQLite and PostgreSQL alike. The expiry compares the clocks of the hosts involved,
so they must be synchronised (NTP), which any production host is.

The lease must be visible to the other processes at once: call `acquire` and `release` in a
step of their own (`portal.transaction.step`), never in the middle of other work.
"""

import os
import secrets
import socket
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from portal import clock
from portal.db import db
from portal.retention.models import SchedulerLease

SCHEDULER = "scheduler"
RETENTION = "retention"


def holder_name() -> str:
    """This process: host, pid and a random part (a pid can come back after a restart)."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{secrets.token_hex(4)}"


def lease_seconds() -> int:
    return current_app.config["PORTAL_SCHEDULER_LEASE_SECONDS"]


def acquire(name: str, holder: str, seconds: int | None = None) -> bool:
    """Take or renew the lease `name` for `seconds`; False while another holder has it."""
    now = clock.now()
    expires = now + timedelta(seconds=seconds or lease_seconds())
    table = SchedulerLease.__table__
    taken = db.session.execute(
        table.update()
        .where(
            table.c.name == name,
            sa.or_(table.c.expires_dt < now, table.c.holder == holder),
        )
        .values(
            holder=holder,
            expires_dt=expires,
            acquired_dt=sa.case((table.c.holder == holder, table.c.acquired_dt), else_=now),
        )
    ).rowcount
    exists = taken or db.session.scalar(sa.select(table.c.id).where(table.c.name == name))
    if not exists:
        try:
            with db.session.begin_nested():
                db.session.execute(
                    table.insert().values(
                        name=name,
                        holder=holder,
                        acquired_dt=now,
                        expires_dt=expires,
                        created_dt=now,
                    )
                )
            taken = 1
        except sa.exc.IntegrityError:
            taken = 0  # the row exists: another holder has a live lease
    return bool(taken)


def release(name: str, holder: str) -> None:
    """Give the lease up at once (if still held), so a waiting process need not wait."""
    table = SchedulerLease.__table__
    db.session.execute(
        table.update()
        .where(table.c.name == name, table.c.holder == holder)
        .values(expires_dt=clock.now() - timedelta(seconds=1))
    )


def current(name: str) -> SchedulerLease | None:
    return db.session.scalar(sa.select(SchedulerLease).where(SchedulerLease.name == name))
