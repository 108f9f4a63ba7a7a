import click

from portal.commands import PortalGroup
from portal.mail import outbox

mail_cli = PortalGroup("mail", help="The mail outbox.")


@mail_cli.command("send")
def send():
    """Deliver the mails that are waiting now (the scheduler does it every few seconds)."""
    sent = outbox.deliver_due()
    waiting = outbox.waiting_count()
    click.echo(f"{sent} sent, {waiting} waiting, {outbox.failed_count()} failed", err=True)
