"""`portal signing-key new FILE`: a new Ed25519 key for PORTAL_SIGNING_KEY_FILE (rotation)."""

import os
from pathlib import Path

import click

from portal.commands import PortalGroup, fail
from portal.machines import signing

signing_key_cli = PortalGroup("signing-key", help="The key that signs API answers and files.")


@signing_key_cli.command("new")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def new_signing_key(file: Path):
    """Write a new private key to FILE (mode 0600, never overwritten); prints its key id.

    Point PORTAL_SIGNING_KEY_FILE at it and restart to rotate: the former key stays published
    for PORTAL_SIGNING_KEY_GRACE_DAYS.
    """
    try:
        descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fail(f"{file} exists; a signing key is never overwritten")
    except OSError as error:
        fail(f"{file}: {error.strerror}")
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(signing.new_private_key_pem())
    click.echo(signing.load(str(file)).key_id)
