"""`portal orders export`: the bookkeeping's CSV of order lines for a period."""

from pathlib import Path

import click

from portal import audit
from portal.commands import CLI_ACTOR, ISO_DATE, PortalGroup, fail
from portal.orders import service

orders_cli = PortalGroup("orders", help="Orders placed in the portal.")


@orders_cli.command("export")
@click.option("--from", "start", type=ISO_DATE, help="First day (orders placed on or after).")
@click.option("--to", "end", type=ISO_DATE, help="Last day (orders placed on or before).")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the CSV to this file (default: standard output).",
)
def export(start, end, output: Path | None):
    """One row per order line, separated by semicolons, amounts with a decimal comma."""
    if start and end and end < start:
        fail("--to is before --from")
    body = service.export_csv(start, end)
    audit.record(
        "order.exported",
        actor_label=CLI_ACTOR,
        details={
            "from": start.isoformat() if start else None,
            "to": end.isoformat() if end else None,
        },
    )
    if output is None:
        click.echo(body, nl=False)
    else:
        output.write_text(body, encoding="utf-8")
