"""Mutual exclusion across processes and hosts: a lease row in the database.

A lease has a unique name, a holder and an expiry. `acquire` takes it when it is free or expired,
or extends it when the caller already holds it, with one atomic UPDATE ... WHERE (or an INSERT
on first use, whose unique key decides a race). The same call renews a held lease, so a holder
calls it again well before the expiry (every third of the lease time). A process that dies
stops renewing, and another takes the lease over once it has expired.

This works on SQLite and PostgreSQL alike. The expiry compares the clocks of the hosts involved,
so they must be synchronised (NTP), which any production host is.

Each call commits through `portal.transaction.commit`: the lease must be visible to the other
processes at once. Call it outside a unit of work, never in the middle of one.
"""

import os
import secrets
import socket
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column

from portal import clock
from portal.db import db
from portal.transaction import commit

SCHEDULER = "scheduler"
RETENTION = "retention"


class SchedulerLease(db.Model):
    __tablename__ = "scheduler_leases"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)
    holder: Mapped[str] = mapped_column(sa.String(200))
    acquired_dt: Mapped[datetime] = mapped_column(default=clock.now)
    expires_dt: Mapped[datetime]


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
                        name=name, holder=holder, acquired_dt=now, expires_dt=expires
                    )
                )
            taken = 1
        except sa.exc.IntegrityError:
            taken = 0  # the row exists: another holder has a live lease
    commit()
    return bool(taken)


def release(name: str, holder: str) -> None:
    """Give the lease up at once (if still held), so a waiting process need not wait."""
    table = SchedulerLease.__table__
    db.session.execute(
        table.update()
        .where(table.c.name == name, table.c.holder == holder)
        .values(expires_dt=clock.now() - timedelta(seconds=1))
    )
    commit()


def current(name: str) -> SchedulerLease | None:
    return db.session.scalar(sa.select(SchedulerLease).where(SchedulerLease.name == name))
