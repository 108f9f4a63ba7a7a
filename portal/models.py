"""Every model of the portal, imported in one place so the metadata is complete."""

from portal.accounts.models import (
    Account,
    AccountToken,
    LicenseManagerDesignation,
    LoginSession,
    RecoveryCode,
    TwoFactorSecret,
)
from portal.audit import AuditEvent
from portal.companies.models import Company
from portal.contacts.models import ConsentRecord, Contact, Disclosure
from portal.downloads.models import DownloadRecord
from portal.impersonation.models import Impersonation
from portal.licenses.models import (
    License,
    NoticeSent,
    PendingManagerDesignation,
    Product,
    Release,
    ReleaseFile,
)
from portal.machines.models import ApiToken, Machine, MinimumVersion, SigningKey
from portal.mail.models import OutboxMail
from portal.news import News
from portal.orders.models import CartLine, Order, OrderLine, Price
from portal.retention.models import RetentionRun, SchedulerLease

__all__ = [
    "Account",
    "AccountToken",
    "ApiToken",
    "AuditEvent",
    "CartLine",
    "Company",
    "ConsentRecord",
    "Contact",
    "Disclosure",
    "DownloadRecord",
    "Impersonation",
    "License",
    "LicenseManagerDesignation",
    "LoginSession",
    "Machine",
    "MinimumVersion",
    "News",
    "NoticeSent",
    "Order",
    "OrderLine",
    "OutboxMail",
    "PendingManagerDesignation",
    "Price",
    "Product",
    "RecoveryCode",
    "Release",
    "ReleaseFile",
    "RetentionRun",
    "SchedulerLease",
    "SigningKey",
    "TwoFactorSecret",
]
