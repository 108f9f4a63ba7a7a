"""Who manages a company's licenses: the designation the company admin chooses."""

import sqlalchemy as sa

from portal.db import db
from portal.licenses.models import LicenseManagerDesignation


def is_license_manager(account) -> bool:
    return (
        db.session.scalar(
            sa.select(LicenseManagerDesignation.id).where(
                LicenseManagerDesignation.account_id == account.id,
                LicenseManagerDesignation.company_id == account.company_id,
            )
        )
        is not None
    )
