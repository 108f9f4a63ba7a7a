"""Every model of the portal, imported in one place so the metadata is complete."""

from portal.accounts.models import Account, LoginSession
from portal.accounts.tokens import AccountToken
from portal.accounts.twofactor import RecoveryCode, TwoFactorSecret
from portal.audit import AuditEvent
from portal.companies.models import Company
from portal.contacts.consent import ConsentRecord
from portal.contacts.disclosures import Disclosure
from portal.contacts.models import Contact
from portal.downloads.models import DownloadRecord
from portal.impersonation.models import Impersonation
from portal.licenses.models import (
    License,
    LicenseManagerDesignation,
    NoticeSent,
    PendingManagerDesignation,
    Product,
    Release,
    ReleaseFile,
)
from portal.mail.models import OutboxMail
from portal.news.models import News
from portal.retention.lease import SchedulerLease
from portal.retention.models import RetentionRun

__all__ = [
    "Account",
    "AccountToken",
    "AuditEvent",
    "Company",
    "ConsentRecord",
    "Contact",
    "Disclosure",
    "DownloadRecord",
    "Impersonation",
    "License",
    "LicenseManagerDesignation",
    "LoginSession",
    "News",
    "NoticeSent",
    "OutboxMail",
    "PendingManagerDesignation",
    "Product",
    "RecoveryCode",
    "Release",
    "ReleaseFile",
    "RetentionRun",
    "SchedulerLease",
    "TwoFactorSecret",
]
