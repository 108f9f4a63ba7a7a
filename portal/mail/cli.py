import click

from portal.commands import PortalGroup
from portal.mail import outbox

mail_cli = PortalGroup("mail", help="The mail outbox.")


@mail_cli.command("retry")
def retry():
    """Send the mails that are due for another attempt."""
    sent = outbox.retry_due()
    click.echo(f"{sent} sent", err=True)
