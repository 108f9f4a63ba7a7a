"""Test data for the browser tests, run in its own process against the server's database.

`python -m tests.browser.seed` (with the server's PORTAL_* environment): the demo data is
loaded by `portal demo` first; this adds what the browser flows need beyond it.
"""

import sqlalchemy as sa

from portal import clock, create_app, transaction
from portal.accounts.models import Account, TwoFactorSecret
from portal.db import db

SUPPORT_EMAIL = "support@leverantor.example.com"
STAFF_ADMIN_EMAIL = "staffadmin@leverantor.example.com"
# The staff accounts' TOTP secrets (base32), so that the tests can compute their codes.
SUPPORT_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
STAFF_ADMIN_TOTP_SECRET = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"


def main() -> None:
    app = create_app()
    with app.app_context(), transaction.step():
        for email, secret in (
            (SUPPORT_EMAIL, SUPPORT_TOTP_SECRET),
            (STAFF_ADMIN_EMAIL, STAFF_ADMIN_TOTP_SECRET),
        ):
            staff = db.session.scalars(sa.select(Account).where(Account.email == email)).one()
            db.session.add(
                TwoFactorSecret(account_id=staff.id, secret=secret, confirmed_dt=clock.now())
            )


if __name__ == "__main__":
    main()
