"""Every model of the portal, imported in one place so the metadata is complete."""

from portal.accounts.models import Account, LoginSession
from portal.accounts.tokens import AccountToken
from portal.audit import AuditEvent
from portal.companies.models import Company
from portal.contacts.models import Contact
from portal.licenses.models import (
    License,
    LicenseManagerDesignation,
    Product,
    Release,
    ReleaseFile,
)
from portal.mail.models import OutboxMail

__all__ = [
    "Account",
    "AccountToken",
    "AuditEvent",
    "Company",
    "Contact",
    "License",
    "LicenseManagerDesignation",
    "LoginSession",
    "OutboxMail",
    "Product",
    "Release",
    "ReleaseFile",
]
