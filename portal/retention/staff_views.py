"""`/staff/retention`: upcoming purges, the reports of past runs, and the mails the outbox
gave up on (staff admins: the portal's operations page)."""

import sqlalchemy as sa

from portal import access, clock
from portal.db import db
from portal.i18n import lazy_gettext as _l
from portal.mail import outbox
from portal.rendering import render_template
from portal.retention import purge
from portal.retention.models import RetentionRun, RunStatus

UPCOMING_SHOWN = 200
RUNS_SHOWN = 50
FAILED_MAILS_SHOWN = 50

COUNT_LABELS = {
    "companies": _l("Companies"),
    "accounts": _l("Accounts"),
    "function_accounts": _l("of which function accounts"),
    "login_sessions": _l("Sessions"),
    "tokens": _l("Tokens and invitations"),
    "twofactor_secrets": _l("Two-factor secrets"),
    "recovery_codes": _l("Recovery codes"),
    "consents": _l("Consents"),
    "manager_designations": _l("License manager designations"),
    "download_records": _l("Download records without the person"),
    "outbox_mails": _l("Mails to the removed addresses"),
    "disclosures": _l("Disclosures without the person"),
    "audit_events": _l("Audit events pseudonymised"),
    "contacts": _l("Personal contacts"),
    "accounting_records": _l("Accounting records past bookkeeping"),
    "api_tokens": _l("API tokens"),
    "machines": _l("Machines on the licenses"),
    "orders_pseudonymised": _l("Orders whose orderer became a pseudonym"),
    "order_addresses_removed": _l("Invoice-reference addresses removed from orders"),
    "orders_removed": _l("Orders past their bookkeeping period"),
    "order_lines_removed": _l("Order lines past their bookkeeping period"),
}
# What started a run (RetentionRun.origin).
ORIGIN_LABELS = {
    "command": _l("The command line"),
    "scheduler": _l("The scheduler at 03:00"),
    "catch-up": _l("The scheduler, making up a missed run"),
}
STATUS_LABELS = {
    RunStatus.RUNNING: _l("Running"),
    RunStatus.FINISHED: _l("Finished"),
    RunStatus.FAILED: _l("Failed"),
}


@access.STAFF_ADMIN
def index():
    upcoming = purge.upcoming()
    runs = db.session.scalars(
        sa.select(RetentionRun)
        .order_by(RetentionRun.started_dt.desc(), RetentionRun.id.desc())
        .limit(RUNS_SHOWN)
    ).all()
    return render_template(
        "portal/retention/staff_index.html",
        today=clock.today(),
        months=purge.retention_months(),
        upcoming=upcoming[:UPCOMING_SHOWN],
        upcoming_hidden=max(len(upcoming) - UPCOMING_SHOWN, 0),
        runs=runs,
        count_labels=[(name, COUNT_LABELS[name]) for name in purge.COUNT_NAMES],
        status_labels=STATUS_LABELS,
        waiting_mails=outbox.waiting_count(),
        failed_mails=outbox.failed_mails(FAILED_MAILS_SHOWN),
        failed_mail_count=outbox.failed_count(),
        origin_labels=ORIGIN_LABELS,
    )
