"""`portal retention purge|preview` and `portal scheduler`."""

import logging
import signal
import sys

import click
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import current_app

from portal import clock
from portal.commands import ISO_DATE, OneLineCommand, PortalGroup
from portal.retention import purge as retention
from portal.retention.scheduler import PortalScheduler

retention_cli = PortalGroup("retention", help="Removing login accounts after the relationship.")


@retention_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would go; change nothing.")
@click.option("--today", type=ISO_DATE, help="Run as if today were this day (default today).")
@click.option(
    "--batch-size",
    type=click.IntRange(1, retention.MAX_BATCH_SIZE),
    default=retention.DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Accounts per transaction.",
)
def purge(dry_run: bool, today, batch_size: int):
    """Remove the accounts (and personal data) that are due; prints a summary line."""
    today = today or clock.today()
    if sys.stdout.isatty():
        total = retention.count_due_accounts(today)
        with click.progressbar(length=total, label="Accounts") as bar:
            report = retention.purge(
                today, dry_run=dry_run, batch_size=batch_size, progress=bar.update
            )
    else:
        report = retention.purge(today, dry_run=dry_run, batch_size=batch_size)
    click.echo(report.summary())


@retention_cli.command("preview")
def preview():
    """Upcoming purges: company id, end date, purge date, accounts (tab-separated)."""
    for item in retention.upcoming():
        click.echo(
            f"{item.company_id}\t{item.ended_on.isoformat()}\t{item.purge_on.isoformat()}"
            f"\t{item.accounts}"
        )


def _stop_on_sigterm(_signum, _frame):
    raise SystemExit(0)


@click.command("scheduler", cls=OneLineCommand)
def scheduler_command():
    """Run the periodic jobs until stopped; a second process stands by."""
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job run otherwise
    runner = PortalScheduler(current_app._get_current_object(), BlockingScheduler)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        runner.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        runner.stop()
