import sys

import click

from portal import transaction
from portal.accounts import service, twofactor
from portal.accounts.models import AccountKind, CompanyRole, StaffRole
from portal.commands import CLI_ACTOR, PortalGroup, fail
from portal.companies.service import company_or_refuse

user_cli = PortalGroup("user", help="Login accounts.")


@user_cli.command("add")
@click.argument("email")
@click.option("--company", "company_id", type=int, help="Company id of a customer account.")
@click.option("--role", type=click.Choice([r.value for r in CompanyRole]), help="Company role.")
@click.option("--staff", type=click.Choice([r.value for r in StaffRole]), help="Staff role.")
@click.option("--name", default=None, help="Full name (leave out for a function address).")
@click.option("--function", "is_function", is_flag=True, help="A function address, no person.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def add(email, company_id, role, staff, name, is_function, password_stdin):
    """Add an account; prints its id. Without --password-stdin an invitation is mailed."""
    if (company_id is None) == (staff is None):
        fail("give either --company with --role, or --staff")
    if company_id is not None and role is None:
        fail("--company needs --role member or --role admin")
    if staff is not None and role is not None:
        fail("--role is for company accounts; staff accounts take --staff only")
    if is_function and name:
        fail("a function account (--function) is an address, not a person: leave out --name")
    company = company_or_refuse(company_id) if company_id is not None else None
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("no password on standard input")
    account = service.add_account(
        email,
        company=company,
        company_role=CompanyRole(role) if role else None,
        staff_role=StaffRole(staff) if staff else None,
        kind=AccountKind.FUNCTION if is_function else AccountKind.PERSONAL,
        name=name,
        password=password,
        actor_label=CLI_ACTOR,
    )
    if password is None:
        service.send_invitation(account, actor_label=CLI_ACTOR)
    click.echo(account.id)


@user_cli.command("reencrypt-secrets")
def reencrypt_secrets():
    """Re-seal the TOTP secrets under the current secret key, after a change of the key.

    Reads the former secret key from standard input (one line). Prints how many secrets were
    re-sealed; exits non-zero when some open with neither key (reset their second factor).
    """
    former = sys.stdin.readline().rstrip("\r\n")
    if not former:
        fail("no former secret key on standard input")
    with transaction.step():  # what could be re-sealed stays so, whatever is said below
        resealed, current, unreadable = twofactor.reseal_all(former.encode())
    click.echo(f"{resealed} re-encrypted, {current} already current")
    if unreadable:
        fail(
            f"{unreadable} secrets open with neither the current nor the former key:"
            " a staff admin must reset their second factor"
        )
