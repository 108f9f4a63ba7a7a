from pathlib import Path

import click

from portal.commands import CLI_ACTOR, ISO_DATE, PortalGroup, fail
from portal.companies.service import company_or_refuse
from portal.licenses import service
from portal.licenses.notices import run_notices

license_cli = PortalGroup("license", help="Licenses of customer companies.")
release_cli = PortalGroup("release", help="Product releases and their files.")


@license_cli.command("add")
@click.option("--company", "company_id", type=int, required=True, help="Company id.")
@click.option("--product", "product_code", required=True, help="Product code, e.g. safelink.")
@click.option("--seats", type=click.IntRange(min=1), required=True, help="Number of seats.")
@click.option("--valid-from", type=ISO_DATE, help="First valid day (default today).")
@click.option("--valid-until", type=ISO_DATE, help="Last valid day (default: perpetual).")
@click.option("--maintenance-until", type=ISO_DATE, help="Releases up to this day are included.")
def add_license(company_id, product_code, seats, valid_from, valid_until, maintenance_until):
    """Add a license; prints its id."""
    company = company_or_refuse(company_id)
    license = service.add_license(
        company,
        service.product_by_code(product_code),
        seats=seats,
        valid_from=valid_from,
        valid_until=valid_until,
        maintenance_until=maintenance_until,
        actor_label=CLI_ACTOR,
    )
    click.echo(license.id)


@release_cli.command("add")
@click.argument("product_code")
@click.argument("version")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--released-on", type=ISO_DATE, help="Release date (default today).")
@click.option("--end-of-life", type=ISO_DATE, help="The day this release stops working.")
@click.option("--notes", default="", help="Release notes.")
def add_release(product_code, version, file: Path, released_on, end_of_life, notes):
    """Publish a release: the file is streamed into the release store; prints the release id."""
    if not file.is_file():
        fail(f"no such file: {file}")
    product = service.product_by_code(product_code)
    with file.open("rb") as source:
        release = service.add_release(
            product,
            version,
            source,
            file.name,
            released_on=released_on,
            end_of_life_on=end_of_life,
            notes=notes,
            actor_label=CLI_ACTOR,
        )
    click.echo(release.id)


@license_cli.command("notices")
@click.option("--today", type=ISO_DATE, help="Run as if today were this day (default today).")
def send_notices(today):
    """Send the due license notices (expiry and new releases); prints the counts."""
    for name, count in run_notices(today).items():
        click.echo(f"{name}: {count}")
