"""Test data for the browser tests, run in its own process against the server's database.

`python -m tests.browser.seed` (with the server's PORTAL_* environment): the demo data is
loaded by `portal demo` first; this adds what the browser flows need beyond it.
"""

import sqlalchemy as sa

from portal import clock, create_app, transaction
from portal.accounts.models import Account, TwoFactorSecret
from portal.db import db

SUPPORT_EMAIL = "support@leverantor.example.com"
# The support account's TOTP secret (base32), so that the tests can compute its codes.
SUPPORT_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def main() -> None:
    app = create_app()
    with app.app_context(), transaction.step():
        support = db.session.scalars(sa.select(Account).where(Account.email == SUPPORT_EMAIL)).one()
        db.session.add(
            TwoFactorSecret(
                account_id=support.id, secret=SUPPORT_TOTP_SECRET, confirmed_dt=clock.now()
            )
        )


if __name__ == "__main__":
    main()
