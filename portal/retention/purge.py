"""The retention purge: login accounts go when the processing register says, and nothing else.

For every company whose relationship ended on or before the account cut-off (the latest end date
whose `register.account_purge_date` has come, with `PORTAL_ACCOUNT_RETENTION_MONTHS`), the purge
deletes its accounts, function accounts included, with what hangs on them: sessions, tokens
(invitations among them), two-factor secrets and recovery codes, consents and license manager
designations go by their ON DELETE CASCADE foreign keys; download records and disclosures keep
the fact and lose the person (SET NULL); audit events keep what happened and lose who
(`portal.accounts.pseudonyms`). The company's personal contacts go too, except accounting
records, which stay (without consents) until `register.bookkeeping_end` has passed. Orders are
accounting records too: they stay, their orderer becomes a pseudonym and of the invoice reference
only the name is kept; each order goes with its lines when `register.order_retention_end` has
passed (for every company: the bookkeeping period runs from the order). The company,
its licenses and its function contacts stay. A company whose end date was cleared is never
selected, so a restarted relationship loses nothing. The company's API tokens go with its
accounts (they act for its people).

The work is done in batches of accounts, each in its own transaction with the run's report, so a
crash loses nothing that must stay and the next run carries on; a second run finds nothing. Ids
are read in pages with LIMIT (companies by the index on their end date, then their accounts by
the index on company_id), so memory stays flat and the cost follows what is due, not the size of
the tables. Deletions are bulk statements. A dry run does the same work inside a SAVEPOINT that
it rolls back, so its counts are exactly what a real run would remove.

Two purges never run at once: each holds the "retention" lease while it works.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app

from portal import clock, register, transaction
from portal.accounts.models import (
    Account,
    AccountKind,
    AccountToken,
    LicenseManagerDesignation,
    LoginSession,
    RecoveryCode,
    TwoFactorSecret,
)
from portal.accounts.pseudonyms import pseudonym, pseudonymise_accounts
from portal.companies.models import Company
from portal.contacts.models import ConsentRecord, Contact, Disclosure
from portal.db import among, db
from portal.downloads.models import DownloadRecord
from portal.licenses.models import License, PendingManagerDesignation
from portal.machines.models import ApiToken, Machine
from portal.mail.models import OutboxMail
from portal.orders.models import Order, OrderLine
from portal.refusals import Refusal
from portal.retention import lease
from portal.retention.models import RetentionRun, RunStatus

DEFAULT_BATCH_SIZE = 500
# Each batch binds its ids a few times per statement; this keeps far below SQLite's limit.
MAX_BATCH_SIZE = 2000

# What a report counts, in this order. Rows that a cascade removes are counted before the delete.
COUNT_NAMES = (
    "companies",
    "accounts",
    "function_accounts",
    "login_sessions",
    "tokens",
    "twofactor_secrets",
    "recovery_codes",
    "consents",
    "manager_designations",
    "download_records",
    "outbox_mails",
    "disclosures",
    "audit_events",
    "contacts",
    "accounting_records",
    "api_tokens",
    "machines",
    "orders_pseudonymised",
    "order_addresses_removed",
    "orders_removed",
    "order_lines_removed",
)

_NO_SYNC = {"synchronize_session": False}


ANOTHER_PURGE = "purge_running"  # the refusal's code: another process holds the retention lease


@dataclass
class PurgeReport:
    run_id: int
    as_of_on: date
    dry_run: bool
    months: int
    account_cutoff_on: date | None
    bookkeeping_cutoff_on: date | None
    batches: int
    counts: dict[str, int]

    def summary(self) -> str:
        """One line: the day, whether it was a dry run, and every count (no personal data)."""
        kind = "dry run" if self.dry_run else "purged"
        counts = " ".join(f"{name}={self.counts.get(name, 0)}" for name in COUNT_NAMES)
        return f"retention {kind} as of {self.as_of_on.isoformat()}: {counts} (run {self.run_id})"


# --- the dates ---------------------------------------------------------------------------------


def _latest_day(is_due: Callable[[date], bool], today: date) -> date | None:
    """The latest end date that is due, for a rule that is due up to some day and not after.

    A binary search over the days up to `today` (nothing that ends after today is due), so the
    rule's own arithmetic in the register is the only copy of it.
    """
    low, high = date.min.toordinal(), today.toordinal()
    if not is_due(date.fromordinal(low)):
        return None
    while low < high:
        middle = (low + high + 1) // 2
        if is_due(date.fromordinal(middle)):
            low = middle
        else:
            high = middle - 1
    return date.fromordinal(low)


def retention_months() -> int:
    return current_app.config["PORTAL_ACCOUNT_RETENTION_MONTHS"]


def account_cutoff(today: date, months: int) -> date | None:
    """Companies that ended on or before this day lose their accounts on `today`."""
    return _latest_day(lambda ended: register.account_purge_date(ended, months) <= today, today)


def bookkeeping_cutoff(today: date) -> date | None:
    """Accounting records of companies that ended on or before this day are removed `today`."""
    return _latest_day(lambda ended: register.bookkeeping_end(ended) < today, today)


# --- questions ---------------------------------------------------------------------------------


def count_due_accounts(today: date, months: int | None = None) -> int:
    cutoff = account_cutoff(today, months or retention_months())
    if cutoff is None:
        return 0
    return db.session.scalar(
        sa.select(sa.func.count(Account.id))
        .join(Company, Company.id == Account.company_id)
        .where(Company.relationship_ended_on <= cutoff)
    )


@dataclass(frozen=True)
class UpcomingPurge:
    company_id: int
    company_name: str
    ended_on: date
    purge_on: date
    accounts: int

    def is_due(self, today: date) -> bool:
        return self.purge_on <= today


def upcoming(months: int | None = None) -> list[UpcomingPurge]:
    """Ended companies that still have accounts, soonest purge first (counts, no people)."""
    months = months or retention_months()
    rows = db.session.execute(
        sa.select(
            Company.id, Company.name, Company.relationship_ended_on, sa.func.count(Account.id)
        )
        .join(Account, Account.company_id == Company.id)
        .where(Company.relationship_ended_on.is_not(None))
        .group_by(Company.id, Company.name, Company.relationship_ended_on)
        .order_by(Company.relationship_ended_on, Company.id)
    ).all()
    return [
        UpcomingPurge(
            company_id, name, ended_on, register.account_purge_date(ended_on, months), accounts
        )
        for company_id, name, ended_on, accounts in rows
    ]


# --- the purge ---------------------------------------------------------------------------------


def purge(
    today: date | None = None,
    *,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
    origin: str = "command",
) -> PurgeReport:
    """Remove what is due on `today`; return (and store) the report.

    `progress(n)` is called after each batch of `n` accounts has committed. Refuses (code
    `ANOTHER_PURGE`) while another process holds the retention lease. Each batch is a step.
    """
    today = today or clock.today()
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch size must be between 1 and {MAX_BATCH_SIZE}")
    months = retention_months()
    holder = lease.holder_name()
    with transaction.step():
        taken = lease.acquire(lease.RETENTION, holder)
    if not taken:
        current = lease.current(lease.RETENTION)
        raise Refusal(
            f"another purge holds the lock ({current.holder if current else '?'})",
            code=ANOTHER_PURGE,
        )
    try:
        with transaction.step():
            # We hold the lease: a run still marked running died without finishing.
            db.session.execute(
                sa.update(RetentionRun)
                .where(RetentionRun.status == RunStatus.RUNNING)
                .values(status=RunStatus.FAILED, error="interrupted"),
                execution_options=_NO_SYNC,
            )
            run = RetentionRun(
                as_of_on=today,
                dry_run=dry_run,
                origin=origin,
                holder=holder,
                months=months,
                account_cutoff_on=account_cutoff(today, months),
                bookkeeping_cutoff_on=bookkeeping_cutoff(today),
                counts=dict.fromkeys(COUNT_NAMES, 0),
            )
            db.session.add(run)
        try:
            _Purge(run, holder, batch_size, progress).execute()
        except BaseException as error:
            with transaction.step():
                run.status = RunStatus.FAILED
                run.error = type(error).__name__[:120]
                run.finished_dt = clock.now()
            raise
        with transaction.step():
            run.status = RunStatus.FINISHED
            run.finished_dt = clock.now()
    finally:
        _release_quietly(holder)
    return PurgeReport(
        run_id=run.id,
        as_of_on=today,
        dry_run=dry_run,
        months=months,
        account_cutoff_on=run.account_cutoff_on,
        bookkeeping_cutoff_on=run.bookkeeping_cutoff_on,
        batches=run.batches,
        counts=dict(run.counts),
    )


def _release_quietly(holder: str) -> None:
    try:
        with transaction.step():
            lease.release(lease.RETENTION, holder)
    except sa.exc.SQLAlchemyError:
        pass  # the lease runs out by itself


class _Purge:
    def __init__(self, run: RetentionRun, holder: str, batch_size: int, progress):
        self.run = run
        self.holder = holder
        self.batch_size = batch_size
        self.progress = progress
        self.cutoff = run.account_cutoff_on
        self.bookkeeping_cutoff = run.bookkeeping_cutoff_on
        self.counts = Counter(run.counts)
        self.renew_every = timedelta(seconds=lease.lease_seconds() / 3)
        self.renewed = clock.now()

    def execute(self) -> None:
        self._purge_expired_orders()
        if self.cutoff is None:
            return
        for page in self._company_pages():
            companies = self._companies_with_data(page)
            last_account = 0
            while batch := self._account_batch(page, last_account):
                self._renew_lease()
                self._unit(lambda batch=batch: self._purge_accounts(batch))
                if self.progress is not None:
                    self.progress(len(batch))
                last_account = batch[-1][0]
            self._renew_lease()
            self.counts["companies"] += companies
            self._unit(lambda page=page: self._purge_contacts(page))

    # Pages of due companies, by id; each page is re-checked against the cut-off in its queries,
    # so a company restarted meanwhile is left alone.
    def _company_pages(self):
        last = 0
        while True:
            page = db.session.scalars(
                sa.select(Company.id)
                .where(Company.relationship_ended_on <= self.cutoff, Company.id > last)
                .order_by(Company.id)
                .limit(self.batch_size)
            ).all()
            if not page:
                return
            yield page
            last = page[-1]

    def _due(self, page: list[int]):
        return sa.select(Company.id).where(
            among(Company.id, page), Company.relationship_ended_on <= self.cutoff
        )

    def _account_batch(self, page: list[int], after: int) -> list[tuple[int, AccountKind]]:
        return db.session.execute(
            sa.select(Account.id, Account.kind)
            .where(Account.company_id.in_(self._due(page)), Account.id > after)
            .order_by(Account.id)
            .limit(self.batch_size)
        ).all()

    def _removable_contacts(self, page: list[int]):
        """Personal contacts of the page that go: not accounting records, or past bookkeeping."""
        past_bookkeeping = (
            Company.relationship_ended_on <= self.bookkeeping_cutoff
            if self.bookkeeping_cutoff is not None
            else sa.false()
        )
        expired_records = sa.select(Company.id).where(
            among(Company.id, page), Company.relationship_ended_on <= self.cutoff, past_bookkeeping
        )
        return (
            Contact.company_id.in_(self._due(page)),
            Contact.kind == AccountKind.PERSONAL,
            sa.or_(
                Contact.is_accounting_record.is_(False),
                Contact.company_id.in_(expired_records),
            ),
        )

    def _companies_with_data(self, page: list[int]) -> int:
        has_accounts = sa.exists().where(Account.company_id == Company.id)
        has_contacts = sa.exists().where(
            Contact.company_id == Company.id, *self._removable_contacts(page)
        )
        has_tokens = sa.exists().where(ApiToken.company_id == Company.id)
        has_machines = sa.exists().where(
            Machine.license_id == License.id, License.company_id == Company.id
        )
        return db.session.scalar(
            sa.select(sa.func.count(Company.id)).where(
                Company.id.in_(self._due(page)),
                sa.or_(has_accounts, has_contacts, has_tokens, has_machines),
            )
        )

    def _unit(self, work: Callable[[], Counter]) -> None:
        """One step: the work (rolled back again in a dry run) and the report."""
        with transaction.step():
            if self.run.dry_run:
                savepoint = db.session.begin_nested()
                try:
                    found = work()
                finally:
                    savepoint.rollback()
            else:
                found = work()
            self.counts.update(found)
            self.run.counts = {name: self.counts[name] for name in COUNT_NAMES}
            self.run.batches += 1

    def _expired_orders(self):
        """Orders whose bookkeeping period ended before `as_of_on` (the register's rule alone)."""
        as_of = self.run.as_of_on
        last_day = _latest_day(lambda day: register.order_retention_end(day) < as_of, as_of)
        if last_day is None:
            return None
        return sa.select(Order.id).where(Order.ordered_on <= last_day).order_by(Order.id)

    def _purge_expired_orders(self) -> None:
        """A unit per batch of expired orders; a dry run counts them all in one."""
        expired = self._expired_orders()
        if expired is None:
            return
        while db.session.scalar(expired.limit(1)) is not None:
            self._renew_lease()
            self._unit(self._remove_expired_orders)
            if self.run.dry_run:
                return

    def _remove_expired_orders(self) -> Counter:
        """Orders (with their lines) whose bookkeeping period has ended, a batch at a time."""
        found = Counter()
        statement = self._expired_orders()
        if not self.run.dry_run:  # a dry run counts them all in its one rolled-back unit
            statement = statement.limit(self.batch_size)
        ids = db.session.scalars(statement).all()
        if not ids:
            return found
        found["order_lines_removed"] = db.session.execute(
            sa.delete(OrderLine).where(among(OrderLine.order_id, ids)), execution_options=_NO_SYNC
        ).rowcount
        found["orders_removed"] = db.session.execute(
            sa.delete(Order).where(among(Order.id, ids)),
            execution_options={"synchronize_session": "fetch"},
        ).rowcount
        return found

    def _renew_lease(self) -> None:
        if clock.now() - self.renewed < self.renew_every:
            return
        with transaction.step():
            held = lease.acquire(lease.RETENTION, self.holder)
        if not held:
            raise Refusal("the retention lock was lost to another process", code=ANOTHER_PURGE)
        self.renewed = clock.now()

    def _purge_accounts(self, batch: list[tuple[int, AccountKind]]) -> Counter:
        ids = [account_id for account_id, _ in batch]
        found = Counter(_count_dependents(ids))
        found["accounts"] = len(ids)
        found["function_accounts"] = sum(1 for _, kind in batch if kind == AccountKind.FUNCTION)
        found["audit_events"] = pseudonymise_accounts(ids)
        # Orders are accounting records and stay; who placed them becomes a pseudonym.
        found["orders_pseudonymised"] = db.session.execute(
            sa.update(Order)
            .where(among(Order.orderer_account_id, ids))
            .values(
                orderer_label=sa.case(
                    {account_id: pseudonym(account_id) for account_id in ids},
                    value=Order.orderer_account_id,
                ),
                orderer_account_id=None,
            ),
            execution_options=_NO_SYNC,
        ).rowcount
        # Mails to the purged addresses, sent or not, hold the address and often a name.
        found["outbox_mails"] = db.session.execute(
            sa.delete(OutboxMail).where(
                OutboxMail.recipient.in_(sa.select(Account.email).where(among(Account.id, ids)))
            ),
            execution_options=_NO_SYNC,
        ).rowcount
        db.session.execute(
            sa.delete(Account).where(among(Account.id, ids)),
            execution_options={"synchronize_session": "fetch"},
        )
        return found

    def _purge_contacts(self, page: list[int]) -> Counter:
        removable = self._removable_contacts(page)
        removable_ids = sa.select(Contact.id).where(*removable)
        found = Counter()
        counts = db.session.execute(
            sa.select(
                sa.select(sa.func.count(Contact.id))
                .where(*removable, Contact.is_accounting_record.is_(False))
                .scalar_subquery(),
                sa.select(sa.func.count(Contact.id))
                .where(*removable, Contact.is_accounting_record.is_(True))
                .scalar_subquery(),
                sa.select(sa.func.count(Disclosure.id))
                .where(Disclosure.contact_id.in_(removable_ids))
                .scalar_subquery(),
            )
        ).one()
        found["contacts"], found["accounting_records"], found["disclosures"] = counts
        # Accounting records that stay are kept for the bookkeeping law alone: no consents.
        found["consents"] = db.session.execute(
            sa.delete(ConsentRecord).where(
                ConsentRecord.contact_id.in_(
                    sa.select(Contact.id).where(
                        Contact.company_id.in_(self._due(page)),
                        Contact.kind == AccountKind.PERSONAL,
                    )
                )
            ),
            execution_options=_NO_SYNC,
        ).rowcount
        db.session.execute(
            sa.delete(Contact).where(Contact.id.in_(removable_ids)),
            execution_options={"synchronize_session": "fetch"},
        )
        # Of the invoice reference on an order only the name stays (the bookkeeping law's need).
        found["order_addresses_removed"] = db.session.execute(
            sa.update(Order)
            .where(
                Order.company_id.in_(self._due(page)), Order.invoice_reference_email.is_not(None)
            )
            .values(invoice_reference_email=None),
            execution_options=_NO_SYNC,
        ).rowcount
        # API tokens act for the company's people: they go with its accounts.
        found["api_tokens"] = db.session.execute(
            sa.delete(ApiToken).where(ApiToken.company_id.in_(self._due(page))),
            execution_options={"synchronize_session": "fetch"},
        ).rowcount
        # A machine's name often names its user ("annas-laptop"): machines go with the accounts,
        # and their licenses (the contract) stay.
        found["machines"] = db.session.execute(
            sa.delete(Machine).where(Machine.license_id.in_(self._licenses_of_due(page))),
            execution_options={"synchronize_session": "fetch"},
        ).rowcount
        return found

    def _licenses_of_due(self, page: list[int]) -> sa.Select:
        return sa.select(License.id).where(License.company_id.in_(self._due(page)))


def _count_dependents(ids: list[int]) -> dict[str, int]:
    """The rows that go with the accounts (cascades) or lose them (SET NULL), in one query."""

    def count(model, column):
        return sa.select(sa.func.count()).select_from(model).where(among(column, ids))

    queries = {
        "login_sessions": count(LoginSession, LoginSession.account_id),
        "tokens": count(AccountToken, AccountToken.account_id),
        "twofactor_secrets": count(TwoFactorSecret, TwoFactorSecret.account_id),
        "recovery_codes": count(RecoveryCode, RecoveryCode.account_id),
        "consents": count(ConsentRecord, ConsentRecord.account_id),
        "manager_designations": sa.select(
            count(LicenseManagerDesignation, LicenseManagerDesignation.account_id).scalar_subquery()
            + count(
                PendingManagerDesignation, PendingManagerDesignation.account_id
            ).scalar_subquery()
        ),
        "download_records": count(DownloadRecord, DownloadRecord.account_id),
        "disclosures": count(Disclosure, Disclosure.account_id),
    }
    row = db.session.execute(
        sa.select(*(query.scalar_subquery().label(name) for name, query in queries.items()))
    ).one()
    return row._asdict()
