import click
import sqlalchemy as sa

from portal.commands import CLI_ACTOR, ISO_DATE, PortalGroup
from portal.companies import service
from portal.companies.models import Company
from portal.db import db

company_cli = PortalGroup("company", help="Customer companies.")


@company_cli.command("add")
@click.argument("name")
@click.option("--orgnr", required=True, help="Swedish organisation number, e.g. 556016-0680.")
def add(name: str, orgnr: str):
    """Add a customer company; prints its id."""
    company = service.add_company(name, orgnr, actor_label=CLI_ACTOR)
    click.echo(company.id)


@company_cli.command("end")
@click.argument("company_id", type=int)
@click.option("--on", "ended_on", type=ISO_DATE, required=True, help="The day it ended.")
def end(company_id: int, ended_on):
    """Record the day the customer relationship ended."""
    company = service.company_or_refuse(company_id)
    service.end_relationship(company, ended_on, actor_label=CLI_ACTOR)
    click.echo(f"{company.name}: relationship ended on {ended_on.isoformat()}", err=True)


@company_cli.command("restart")
@click.argument("company_id", type=int)
def restart(company_id: int):
    """Make an ended company a customer again (clears the end date)."""
    company = service.company_or_refuse(company_id)
    service.restart_relationship(company, actor_label=CLI_ACTOR)
    click.echo(f"{company.name}: customer again", err=True)


@company_cli.command("list")
def list_companies():
    """List companies: id, organisation number, end date, name (tab-separated)."""
    for company in db.session.scalars(sa.select(Company).order_by(Company.id)):
        ended = company.relationship_ended_on.isoformat() if company.relationship_ended_on else "-"
        click.echo(f"{company.id}\t{company.org_number}\t{ended}\t{company.name}")
