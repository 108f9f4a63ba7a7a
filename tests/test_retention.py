"""The retention purge: accounts go on their date with everything personal that hangs on them,
and nothing else; in batches, safely repeatable, with a report of counts only."""

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import audit, clock, register
from portal.accounts import tokens
from portal.accounts.models import (
    Account,
    AccountKind,
    AccountToken,
    LicenseManagerDesignation,
    LoginSession,
    RecoveryCode,
    TokenPurpose,
    TwoFactorSecret,
)
from portal.accounts.pseudonyms import pseudonym
from portal.audit import AuditEvent
from portal.companies import service as companies
from portal.companies.models import Company
from portal.contacts import consent
from portal.contacts.models import ConsentRecord, Contact, RecordedBy
from portal.db import db
from portal.downloads.models import DownloadRecord
from portal.licenses.models import License
from portal.machines.models import Machine
from portal.refusals import Refusal
from portal.retention import lease
from portal.retention import purge as retention
from portal.retention.models import RetentionRun, RunStatus
from tests import factories
from tests.conftest import TEST_DATABASE_URL
from tests.factories import count_queries, enable_twofactor, make_contact, valid_orgnr

TODAY = date(2026, 11, 2)  # the frozen clock's day
ENDED = date(2024, 11, 2)  # 24 months before TODAY: purged today, kept yesterday
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def _today(frozen_clock):
    assert clock.today() == TODAY


@pytest.fixture
def ended_company(make_company, make_license):
    company = make_company("Slutad AB", ended_on=ENDED)
    make_license(company, "safelink", maintenance_until=None)
    return company


def person(company, *, kind=AccountKind.PERSONAL, email=None, name="Anna Andersson", **extra):
    """An account with everything a purge must take along: session, tokens, two-factor,
    recovery codes, consent, download, and audit events it did and that are about it."""
    account = factories.make_account(
        "member", company=company, kind=kind, email=email, name=name, **extra
    )
    db.session.add(
        LoginSession(
            key_hash=hashlib.sha256(f"key {account.id}".encode()).hexdigest(),
            account_id=account.id,
            expires_dt=clock.now() + timedelta(hours=1),
            ip_address="192.0.2.7",
        )
    )
    tokens.issue(account, TokenPurpose.PASSWORD_RESET)
    enable_twofactor(account)
    db.session.add(RecoveryCode(account_id=account.id, code_hash=f"{account.id:064d}"))
    consent.give(
        account,
        version=consent.current_text().version,
        language="sv",
        recorded_by=account,
        as_role=RecordedBy.SELF,
    )
    audit.record("login.succeeded", actor=account, subject=account)
    db.session.flush()
    return account


def download(account, release):
    record = DownloadRecord(
        account_id=account.id, company_id=account.company_id, release_file_id=release.files[0].id
    )
    db.session.add(record)
    db.session.flush()
    return record


def run(today=TODAY, **kwargs) -> retention.PurgeReport:
    db.session.commit()  # the set-up is in place before the purge starts, as in production
    return retention.purge(today, **kwargs)


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def accounts_of(company) -> int:
    return count(Account, Account.company_id == company.id)


def rows_about(account_id: int) -> dict[str, int]:
    return {
        "accounts": count(Account, Account.id == account_id),
        "sessions": count(LoginSession, LoginSession.account_id == account_id),
        "tokens": count(AccountToken, AccountToken.account_id == account_id),
        "twofactor": count(TwoFactorSecret, TwoFactorSecret.account_id == account_id),
        "recovery": count(RecoveryCode, RecoveryCode.account_id == account_id),
        "consents": count(ConsentRecord, ConsentRecord.account_id == account_id),
        "designations": count(
            LicenseManagerDesignation, LicenseManagerDesignation.account_id == account_id
        ),
    }


# --- the dates ----------------------------------------------------------------------------------


def test_account_cutoff_is_the_latest_end_date_whose_purge_date_has_come():
    for months in (1, 6, 12, 24, 25):
        day = date(2026, 1, 1)
        while day < date(2027, 3, 5):
            cutoff = retention.account_cutoff(day, months)
            assert register.account_purge_date(cutoff, months) <= day
            assert register.account_purge_date(cutoff + DAY, months) > day
            day += DAY


def test_account_cutoff_covers_every_end_date_clamped_to_a_short_month():
    # 29, 30 and 31 August plus six months all fall on 28 February.
    assert retention.account_cutoff(date(2027, 2, 28), 6) == date(2026, 8, 31)
    assert retention.account_cutoff(date(2027, 2, 27), 6) == date(2026, 8, 27)


def test_bookkeeping_cutoff_is_the_end_of_the_eighth_year_back():
    assert retention.bookkeeping_cutoff(date(2026, 1, 1)) == date(2018, 12, 31)
    assert retention.bookkeeping_cutoff(date(2025, 12, 31)) == date(2017, 12, 31)
    assert register.bookkeeping_end(date(2018, 12, 31)) < date(2026, 1, 1)
    assert not register.bookkeeping_end(date(2019, 1, 1)) < date(2026, 1, 1)


def test_every_foreign_key_to_a_table_the_purge_deletes_from_is_indexed():
    purged = {"accounts", "contacts", "consent_records", "login_sessions", "account_tokens"}
    unindexed = []
    for table in db.metadata.sorted_tables:
        leading = {index.columns.keys()[0] for index in table.indexes}
        leading |= {
            constraint.columns.keys()[0]
            for constraint in table.constraints
            if isinstance(constraint, sa.UniqueConstraint | sa.PrimaryKeyConstraint)
        }
        for key in table.foreign_keys:
            if key.column.table.name in purged and key.parent.name not in leading:
                unindexed.append(f"{table.name}.{key.parent.name}")
    assert unindexed == []


# --- what goes, what stays ----------------------------------------------------------------------


def test_accounts_are_kept_the_day_before_their_purge_date(ended_company):
    anna = person(ended_company)
    report = run(TODAY - DAY)
    assert report.counts["accounts"] == 0
    assert rows_about(anna.id) == dict.fromkeys(rows_about(anna.id), 1) | {"designations": 0}


def test_accounts_are_removed_on_their_purge_date_with_what_hangs_on_them(ended_company):
    anna = person(ended_company)
    factories.designate_license_manager(anna)
    report = run()
    assert rows_about(anna.id) == dict.fromkeys(rows_about(anna.id), 0)
    assert report.counts["accounts"] == 1
    assert report.counts["login_sessions"] == 1
    assert report.counts["twofactor_secrets"] == 1
    assert report.counts["recovery_codes"] == 1
    assert report.counts["consents"] == 1
    assert report.counts["manager_designations"] == 1
    assert report.counts["tokens"] == 1


def test_invitations_and_function_accounts_go_too(ended_company):
    invited = factories.make_account("member", company=ended_company, password=None)
    tokens.issue(invited, TokenPurpose.INVITATION)
    function = person(ended_company, kind=AccountKind.FUNCTION, name=None)
    report = run()
    assert accounts_of(ended_company) == 0
    assert count(AccountToken, AccountToken.account_id.in_([invited.id, function.id])) == 0
    assert (report.counts["accounts"], report.counts["function_accounts"]) == (2, 1)


def test_the_company_its_licenses_and_function_contacts_stay(ended_company):
    person(ended_company)
    office = make_contact(ended_company, email="office@slutad.example", kind=AccountKind.FUNCTION)
    run()
    assert count(Company, Company.id == ended_company.id) == 1
    assert count(License, License.company_id == ended_company.id) == 1
    assert count(Contact, Contact.id == office.id) == 1


def test_companies_that_did_not_end_or_ended_later_lose_nothing(make_company):
    customer = make_company("Kund AB")
    later = make_company("Senare AB", ended_on=ENDED + DAY)
    people = [person(customer), person(later)]
    contacts = [make_contact(customer), make_contact(later)]
    report = run()
    assert report.counts["accounts"] == 0
    assert count(Account, Account.id.in_([p.id for p in people])) == 2
    assert count(Contact, Contact.id.in_([c.id for c in contacts])) == 2


def test_a_relationship_restarted_before_the_date_loses_nothing(ended_company):
    anna = person(ended_company)
    contact = make_contact(ended_company)
    companies.restart_relationship(ended_company, actor_label="test")
    report = run(TODAY + timedelta(days=3650))
    assert report.counts == dict.fromkeys(retention.COUNT_NAMES, 0)
    assert rows_about(anna.id)["accounts"] == 1
    assert count(Contact, Contact.id == contact.id) == 1


def test_download_records_stay_and_lose_the_account(ended_company, make_release):
    anna = person(ended_company)
    record = download(anna, make_release("safelink"))
    report = run()
    assert db.session.execute(
        sa.select(DownloadRecord.account_id, DownloadRecord.company_id).where(
            DownloadRecord.id == record.id
        )
    ).one() == (None, ended_company.id)
    assert report.counts["download_records"] == 1


def test_mails_to_purged_addresses_are_removed_from_the_outbox(ended_company, make_account):
    from portal import mail
    from portal.mail.models import OutboxMail

    anna = person(ended_company)
    customer = make_account("member")
    for account in (anna, customer):
        mail.queue(
            account.email, "portal/accounts/mail/invitation", account=account, link="x", hours=72
        )
    db.session.commit()

    report = run()

    assert count(OutboxMail, OutboxMail.recipient == anna.email) == 0
    assert count(OutboxMail, OutboxMail.recipient == customer.email) == 1
    assert report.counts["outbox_mails"] == 1


def _audit_dump() -> list[dict]:
    rows = db.session.execute(sa.select(AuditEvent.__table__)).mappings().all()
    return [dict(row) for row in rows]


def test_audit_events_keep_what_happened_and_lose_who(ended_company, make_account):
    anna = person(ended_company, email="anna.andersson@slutad.example")
    staff = make_account("support")
    audit.record("impersonation.started", actor=staff, acting_as=anna, subject=ended_company)
    audit.record(
        "note",
        actor=staff,
        company_id=ended_company.id,
        subject_label="about anna.andersson@slutad.example",
    )
    audit.record(
        "manager.designated",
        actor=staff,
        subject=ended_company,
        details={"previous_account_id": anna.id, "contact": "Anna.Andersson@slutad.example"},
    )
    events_before = count(AuditEvent)
    anna_id, label = anna.id, pseudonym(anna.id)
    report = run()

    assert count(AuditEvent) == events_before  # every event kept
    dump = _audit_dump()
    text = json.dumps(dump, default=str).lower()
    assert "anna.andersson@slutad.example" not in text
    for event in dump:
        assert anna_id not in (event["actor_account_id"], event["acting_as_account_id"])
        assert not (event["subject_type"] == "Account" and event["subject_id"] == anna_id)
        assert (event["details"] or {}).get("previous_account_id") != anna_id
    by_action = {event["action"]: event for event in dump}
    assert by_action["login.succeeded"]["actor_label"] == label
    assert by_action["login.succeeded"]["subject_label"] == label
    assert by_action["login.succeeded"]["ip_address"] is None
    assert by_action["impersonation.started"]["details"]["acting_as"] == label
    assert by_action["manager.designated"]["details"]["previous_account_id"] == label
    assert by_action["impersonation.started"]["actor_account_id"] == staff.id  # others keep theirs
    assert report.counts["audit_events"] >= 5


def test_personal_contacts_go_with_the_accounts(ended_company):
    person(ended_company)
    personal = make_contact(ended_company, name="Bo Berg", contract_party=True)
    consent.give(
        personal,
        version=consent.current_text().version,
        language="en",
        recorded_by=factories.make_account("admin", company=ended_company),
        as_role=RecordedBy.COMPANY_ADMIN,
    )
    report = run()
    assert count(Contact, Contact.id == personal.id) == 0
    assert count(ConsentRecord, ConsentRecord.contact_id == personal.id) == 0
    assert report.counts["contacts"] == 1


def test_accounting_records_stay_until_the_bookkeeping_period_is_over(ended_company):
    record = make_contact(ended_company, name="Faktura Person", is_accounting_record=True)
    consent.give(
        record,
        version=consent.current_text().version,
        language="sv",
        recorded_by=factories.make_account("admin", company=ended_company),
        as_role=RecordedBy.COMPANY_ADMIN,
    )
    last_day = register.bookkeeping_end(ENDED)
    report = run(last_day)
    assert count(Contact, Contact.id == record.id) == 1
    assert count(ConsentRecord, ConsentRecord.contact_id == record.id) == 0  # no other purpose
    assert (report.counts["contacts"], report.counts["accounting_records"]) == (0, 0)


def test_accounting_records_are_removed_once_the_bookkeeping_period_is_over(ended_company):
    record = make_contact(ended_company, name="Faktura Person", is_accounting_record=True)
    report = run(register.bookkeeping_end(ENDED) + DAY)
    assert count(Contact, Contact.id == record.id) == 0
    assert report.counts["accounting_records"] == 1


def test_retention_months_come_from_the_configuration(app, ended_company, monkeypatch):
    anna = person(ended_company)
    monkeypatch.setitem(app.config, "PORTAL_ACCOUNT_RETENTION_MONTHS", 12)
    purge_on = register.account_purge_date(ENDED, 12)
    assert run(purge_on - DAY).counts["accounts"] == 0
    assert rows_about(anna.id)["accounts"] == 1
    assert run(purge_on).counts["accounts"] == 1
    assert rows_about(anna.id)["accounts"] == 0


# --- how it runs --------------------------------------------------------------------------------


def _snapshot() -> dict[str, list]:
    tables = ("accounts", "login_sessions", "account_tokens", "contacts", "consent_records")
    snapshot = {
        name: sorted(map(tuple, db.session.execute(sa.select(db.metadata.tables[name])).all()))
        for name in tables
    }
    snapshot["audit_events"] = sorted(
        (event["id"], event["actor_account_id"], event["subject_id"], event["subject_label"])
        for event in _audit_dump()
    )
    return snapshot


def test_a_dry_run_changes_nothing_and_counts_what_a_real_run_removes(ended_company, make_release):
    anna = person(ended_company)
    download(anna, make_release("safelink"))
    person(ended_company, kind=AccountKind.FUNCTION, name=None)
    make_contact(ended_company)
    db.session.commit()
    before = _snapshot()

    dry = run(dry_run=True)
    assert _snapshot() == before
    assert dry.dry_run
    assert dry.counts["accounts"] == 2
    real = run()
    assert real.counts == dry.counts
    stored = db.session.get(RetentionRun, dry.run_id)
    assert (stored.dry_run, stored.status, stored.counts) == (True, RunStatus.FINISHED, dry.counts)


def test_a_second_run_does_nothing(ended_company):
    person(ended_company)
    make_contact(ended_company)
    assert run().counts["accounts"] == 1
    assert run().counts == dict.fromkeys(retention.COUNT_NAMES, 0)


def test_accounts_go_in_batches_that_each_report_progress(ended_company, make_company):
    other = make_company("Också Slutad AB", ended_on=ENDED - timedelta(days=40))
    for company, n in ((ended_company, 3), (other, 2)):
        for _ in range(n):
            factories.make_account("member", company=company, password=None)
    seen = []
    report = run(batch_size=2, progress=seen.append)
    assert seen == [2, 2, 1]
    assert report.counts["accounts"] == 5
    assert report.counts["companies"] == 2
    # Three account batches and one contacts step for the page of companies.
    assert report.batches == 4


def test_the_queries_follow_what_is_due_not_the_size_of_the_tables(ended_company, make_company):
    for _ in range(3):
        factories.make_account("member", company=ended_company, password=None)
    run(dry_run=True)  # warm-up: the lease row exists from here on
    with count_queries() as few_customers:
        run(dry_run=True)
    for n in range(6):
        customer = make_company(f"Kund {n} AB")
        factories.make_account("member", company=customer, password=None)
        make_contact(customer)
    with count_queries() as many_customers:
        run(dry_run=True)
    assert len(many_customers) == len(few_customers)


def test_the_report_holds_counts_and_no_personal_data(ended_company):
    person(ended_company, email="anna.andersson@slutad.example", name="Anna Andersson")
    make_contact(ended_company, email="bo.berg@slutad.example", name="Bo Berg")
    report = run()
    row = (
        db.session.execute(
            sa.select(RetentionRun.__table__).where(RetentionRun.id == report.run_id)
        )
        .mappings()
        .one()
    )
    assert row["status"] == "finished"
    assert row["dry_run"] is False or row["dry_run"] == 0
    assert row["as_of_on"] == TODAY
    assert row["finished_dt"] is not None
    assert row["holder"].split(":")[1] == str(os.getpid())
    assert row["account_cutoff_on"] == ENDED
    counts = row["counts"] if isinstance(row["counts"], dict) else json.loads(row["counts"])
    assert counts["accounts"] == 1 and counts["contacts"] == 1
    text = json.dumps(dict(row), default=str).lower()
    for personal in ("anna", "andersson", "bo.berg", "slutad"):
        assert personal not in text
    assert set(counts) == set(retention.COUNT_NAMES)


def test_the_purge_refuses_while_another_process_holds_the_lock(ended_company):
    person(ended_company)
    assert lease.acquire(lease.RETENTION, "elsewhere:1:abcd", 600)
    with pytest.raises(Refusal):
        run()
    assert accounts_of(ended_company) == 1


def test_a_run_that_died_is_marked_failed_by_the_next(ended_company):
    person(ended_company)
    dead = RetentionRun(as_of_on=TODAY, origin="command", holder="gone:1:dead", months=24)
    db.session.add(dead)
    report = run()
    db.session.refresh(dead)
    assert (dead.status, dead.error) == (RunStatus.FAILED, "interrupted")
    assert db.session.get(RetentionRun, report.run_id).status == RunStatus.FINISHED


def test_a_failing_purge_stores_a_failed_report_and_keeps_the_batch(ended_company, monkeypatch):
    anna = person(ended_company)

    def broken(ids):
        raise RuntimeError("anna@example.com could not be pseudonymised")

    monkeypatch.setattr(retention, "pseudonymise_accounts", broken)
    with pytest.raises(RuntimeError):
        run()
    assert rows_about(anna.id)["accounts"] == 1
    stored = db.session.scalars(sa.select(RetentionRun).order_by(RetentionRun.id.desc())).first()
    assert (stored.status, stored.error) == (RunStatus.FAILED, "RuntimeError")
    assert lease.acquire(lease.RETENTION, "next:1:run")  # the lock was given back


# --- the commands -------------------------------------------------------------------------------


def test_purge_command_prints_one_summary_line(runner, ended_company):
    person(ended_company)
    db.session.commit()
    result = runner.invoke(args=["retention", "purge", "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert "accounts=1 " in lines[0]
    assert "as of 2026-11-02" in lines[0]


def test_purge_command_dry_run_says_so_and_keeps_the_accounts(runner, ended_company):
    person(ended_company)
    db.session.commit()
    result = runner.invoke(args=["retention", "purge", "--dry-run", "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    assert "dry run" in result.stdout and "accounts=1 " in result.stdout
    assert accounts_of(ended_company) == 1


@pytest.mark.parametrize(
    "args", [["--today", "2026-02-30"], ["--today", "tomorrow"], ["--batch-size", "0"]]
)
def test_purge_command_refuses_bad_input_in_one_line(runner, args):
    result = runner.invoke(args=["retention", "purge", *args])
    assert result.exit_code != 0
    assert len(result.stderr.strip().splitlines()) == 1


def test_purge_command_refuses_in_one_line_while_the_lock_is_held(runner, ended_company):
    person(ended_company)
    lease.acquire(lease.RETENTION, "elsewhere:1:abcd", 600)
    result = runner.invoke(args=["retention", "purge"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: another purge holds the lock (elsewhere:1:abcd)"
    ]
    assert accounts_of(ended_company) == 1


def test_preview_lists_company_end_date_purge_date_and_accounts(runner, ended_company):
    person(ended_company, email="anna.andersson@slutad.example")
    person(ended_company)
    db.session.commit()
    result = runner.invoke(args=["retention", "preview"])
    assert result.exit_code == 0, result.output
    assert f"{ended_company.id}\t2024-11-02\t2026-11-02\t2" in result.stdout.splitlines()
    assert "anna" not in result.stdout and "Slutad" not in result.stdout


# --- the staff page -----------------------------------------------------------------------------


def test_staff_admins_see_upcoming_purges_and_past_reports(client, ended_company, make_account):
    person(ended_company)
    run(dry_run=True)
    factories.login_as(client, make_account("staff_admin"))
    page = factories.in_english(client).get("/staff/retention/").get_data(as_text=True)
    assert "Slutad AB" in page
    assert "2026-11-02" in page  # the purge date
    assert "Dry run" in page and "Finished" in page
    assert "anna" not in page.lower()


# --- a crash in the middle ----------------------------------------------------------------------

KILL_AFTER_FIRST_BATCH = """
import os
import signal

import portal.retention.purge as purge_module

_purge = purge_module.purge


def purge(*args, progress=None, **kwargs):
    def kill_after_first_batch(count):
        os.kill(os.getpid(), signal.SIGKILL)

    return _purge(*args, progress=kill_after_first_batch, **kwargs)


purge_module.purge = purge
"""
SECRET = "crash test secret"


class SeparateDatabase:
    """A database of its own for processes: a temporary SQLite file, or a PostgreSQL schema."""

    def __init__(self, tmp_path):
        if TEST_DATABASE_URL:
            self.schema = f"retention_{uuid.uuid4().hex[:12]}"
            admin = sa.create_engine(TEST_DATABASE_URL)
            with admin.begin() as connection:
                connection.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
            admin.dispose()
            self.url = f"{TEST_DATABASE_URL}?options=-csearch_path%3D{self.schema}"
        else:
            self.schema = None
            self.url = f"sqlite:///{tmp_path / 'separate.sqlite3'}"
        self.engine = sa.create_engine(self.url)
        db.metadata.create_all(self.engine)

    def drop(self):
        self.engine.dispose()
        if self.schema:
            admin = sa.create_engine(TEST_DATABASE_URL)
            with admin.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            admin.dispose()


@pytest.fixture
def separate_db(tmp_path):
    database = SeparateDatabase(tmp_path)
    yield database
    database.drop()


def portal_process(database, tmp_path, *args, hook: str | None = None, **kwargs):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "PYTHONPATH"))}
    env.update(
        PORTAL_DATABASE_URL=database.url,
        PORTAL_INSTANCE_PATH=str(tmp_path / "instance"),
        PORTAL_SECRET_KEY=SECRET,
        PORTAL_MAIL_URL="console",
        PORTAL_SCHEDULER_LEASE_SECONDS="2",
    )
    if hook:
        hook_dir = tmp_path / f"hook_{uuid.uuid4().hex[:6]}"
        hook_dir.mkdir()
        (hook_dir / "sitecustomize.py").write_text(hook)
        env["PYTHONPATH"] = str(hook_dir)
    command = [str(Path(sys.executable).with_name("portal")), *map(str, args)]
    return command, env


def _build_crash_database(engine) -> dict:
    """Two due companies (3 + 2 accounts) and one customer, written with plain inserts."""
    t = db.metadata.tables
    now = datetime(2026, 11, 1, 12, tzinfo=UTC)
    ids = {"due": [], "customer": []}
    with engine.begin() as connection:
        connection.execute(t["products"].insert().values(code="safelink", name="SafeLink"))
        product_id = connection.execute(sa.select(t["products"].c.id)).scalar_one()
        for n, (label, ended, people) in enumerate(
            (("due", ENDED, 3), ("due", ENDED - DAY, 2), ("customer", None, 1)), start=1
        ):
            company_id = connection.execute(
                t["companies"]
                .insert()
                .values(
                    name=f"Bolag {n} AB", org_number=valid_orgnr(n), relationship_ended_on=ended
                )
                .returning(t["companies"].c.id)
            ).scalar_one()
            connection.execute(
                t["licenses"]
                .insert()
                .values(
                    company_id=company_id,
                    product_id=product_id,
                    key=f"KEY{n:02d}-AAAAA-BBBBB-CCCCC-DDDDD"[:29],
                    seats=5,
                    valid_from=date(2020, 1, 1),
                )
            )
            connection.execute(
                t["contacts"]
                .insert()
                .values(company_id=company_id, kind="personal", email=f"contact{n}@bolag.example")
            )
            for p in range(people):
                email = f"person{n}.{p}@bolag.example"
                account_id = connection.execute(
                    t["accounts"]
                    .insert()
                    .values(email=email, company_id=company_id, company_role="member")
                    .returning(t["accounts"].c.id)
                ).scalar_one()
                ids[label].append(account_id)
                connection.execute(
                    t["login_sessions"]
                    .insert()
                    .values(
                        key_hash=hashlib.sha256(email.encode()).hexdigest(),
                        account_id=account_id,
                        expires_dt=now + timedelta(days=1),
                    )
                )
                connection.execute(
                    t["audit_events"]
                    .insert()
                    .values(
                        action="login.succeeded",
                        actor_account_id=account_id,
                        subject_type="Account",
                        subject_id=account_id,
                        company_id=company_id,
                        occurred_dt=now,
                    )
                )
    return ids


def _state(engine, account_ids) -> dict:
    t = db.metadata.tables
    with engine.connect() as connection:

        def n(table, *where):
            return connection.scalar(sa.select(sa.func.count()).select_from(t[table]).where(*where))

        return {
            account_id: (
                n("accounts", t["accounts"].c.id == account_id),
                n("login_sessions", t["login_sessions"].c.account_id == account_id),
                n("audit_events", t["audit_events"].c.actor_account_id == account_id),
                n("audit_events", t["audit_events"].c.actor_label == _pseudonym(account_id)),
            )
            for account_id in account_ids
        }


def _pseudonym(account_id: int) -> str:
    digest = hmac.new(SECRET.encode(), str(account_id).encode(), hashlib.sha256).hexdigest()
    return "pseudonym:" + digest[:12]


def _wait_for_lease_to_expire(engine, timeout=15.0):
    table = db.metadata.tables["scheduler_leases"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            expires = connection.scalar(
                sa.select(table.c.expires_dt).where(table.c.name == lease.RETENTION)
            )
        if expires is None or expires < datetime.now(UTC):
            return
        time.sleep(0.2)
    raise AssertionError("the dead process's lease never expired")


@pytest.mark.no_transaction
def test_a_purge_killed_after_its_first_batch_loses_nothing_and_the_next_run_finishes(
    separate_db, tmp_path
):
    ids = _build_crash_database(separate_db.engine)
    gone = {account_id: (0, 0, 0, 1) for account_id in ids["due"][:2]}
    intact = {account_id: (1, 1, 1, 0) for account_id in ids["due"][2:] + ids["customer"]}
    command, env = portal_process(
        separate_db, tmp_path, "retention", "purge", "--batch-size", 2,
        "--today", TODAY, hook=KILL_AFTER_FIRST_BATCH,
    )  # fmt: skip
    killed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    # The first batch is gone completely; everything else is as it was.
    assert _state(separate_db.engine, gone) == gone
    assert _state(separate_db.engine, intact) == intact
    t = db.metadata.tables
    with separate_db.engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(t["contacts"])) == 3
        assert connection.scalar(sa.select(sa.func.count()).select_from(t["licenses"])) == 3
        statuses = connection.scalars(sa.select(t["retention_runs"].c.status)).all()
    assert statuses == ["running"]

    _wait_for_lease_to_expire(separate_db.engine)
    command, env = portal_process(
        separate_db, tmp_path, "retention", "purge", "--batch-size", 2, "--today", TODAY
    )
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "accounts=3 " in rerun.stdout and "contacts=2 " in rerun.stdout

    every_due = {account_id: (0, 0, 0, 1) for account_id in ids["due"]}
    customer = {account_id: (1, 1, 1, 0) for account_id in ids["customer"]}
    assert _state(separate_db.engine, every_due) == every_due
    assert _state(separate_db.engine, customer) == customer
    with separate_db.engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(t["contacts"])) == 1
        assert connection.scalar(sa.select(sa.func.count()).select_from(t["licenses"])) == 3
        runs = connection.execute(
            sa.select(t["retention_runs"].c.status, t["retention_runs"].c.error).order_by(
                t["retention_runs"].c.id
            )
        ).all()
    assert [tuple(r) for r in runs] == [("failed", "interrupted"), ("finished", None)]


def test_machines_go_with_the_accounts_and_their_licenses_stay(frozen_clock, make_company):
    # Machines are activated while the licenses are in force, and the relationship ends later.
    ended = make_company("Slutad AB")
    staying = make_company("Kvar AB")
    ended_license = factories.make_license(ended, seats=3)
    factories.make_machine(ended_license, hostname="annas-laptop")
    factories.make_machine(ended_license, hostname="kassan")
    factories.make_machine(factories.make_license(staying), hostname="kvar")
    ended.relationship_ended_on = date(2024, 11, 2)
    db.session.commit()

    dry = retention.purge(clock.today(), dry_run=True)
    assert dry.counts["machines"] == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Machine)) == 3

    report = retention.purge(clock.today())
    assert report.counts["machines"] == 2
    assert "machines=2" in report.summary()
    assert db.session.scalars(sa.select(Machine.hostname)).all() == ["kvar"]
    assert db.session.get(License, ended_license.id) is not None
    assert retention.purge(clock.today()).counts["machines"] == 0


# --- orders: accounting records that outlive the accounts --------------------------------------

ORDERED = date(2024, 6, 1)  # before the relationship ended


def placed_order(company, orderer):
    """An order of extra seats placed by `orderer` on ORDERED, with a new invoice reference."""
    from portal.orders import service as orders

    factories.set_prices("safelink")
    license = db.session.scalar(sa.select(License).where(License.company_id == company.id))
    order = factories.make_order(
        orderer,
        license,
        reference=orders.NewReference("Ingrid Faktura", "ingrid@slutad.example.com", None),
    )
    order.ordered_on = ORDERED
    db.session.flush()
    return order


def test_orders_stay_with_the_orderer_pseudonymised_and_the_invoice_reference_name(ended_company):
    from portal.orders.models import Order, OrderLine

    anna = person(ended_company)
    order = placed_order(ended_company, anna)
    order_id, anna_id = order.id, anna.id
    report = run()
    db.session.expire_all()
    kept = db.session.get(Order, order_id)
    assert kept is not None and count(OrderLine, OrderLine.order_id == order_id) == 1
    assert kept.orderer_account_id is None
    assert kept.orderer_label == pseudonym(anna_id)
    assert kept.orderer_shown() == pseudonym(anna_id)
    assert kept.invoice_reference_name == "Ingrid Faktura"
    assert kept.invoice_reference_email is None
    assert (report.counts["orders_pseudonymised"], report.counts["order_addresses_removed"]) == (
        1,
        1,
    )
    # The invoice reference is an accounting record: kept for the bookkeeping period.
    assert count(Contact, Contact.email == "ingrid@slutad.example.com") == 1
    assert run().counts == dict.fromkeys(retention.COUNT_NAMES, 0)


def test_orders_are_kept_seven_years_after_the_end_of_their_calendar_year(ended_company):
    from portal.orders.models import Order, OrderLine

    order_id = placed_order(
        ended_company, factories.make_account("admin", company=ended_company)
    ).id
    last_day = register.order_retention_end(ORDERED)
    assert last_day == date(2031, 12, 31)
    assert run(last_day).counts["orders_removed"] == 0
    assert count(Order, Order.id == order_id) == 1
    report = run(last_day + DAY)
    assert (report.counts["orders_removed"], report.counts["order_lines_removed"]) == (1, 1)
    assert count(Order, Order.id == order_id) == 0
    assert count(OrderLine, OrderLine.order_id == order_id) == 0


def test_orders_of_a_customer_are_not_removed_within_their_period(make_company, make_license):
    from portal.orders.models import Order

    company = make_company("Kund AB")
    make_license(company, "safelink", maintenance_until=None)
    order_id = placed_order(company, factories.make_account("admin", company=company)).id
    report = run()
    assert report.counts["orders_removed"] == 0 and report.counts["orders_pseudonymised"] == 0
    assert count(Order, Order.id == order_id) == 1


def test_a_dry_run_counts_the_orders_a_real_run_changes(ended_company):
    from portal.orders.models import Order

    anna = person(ended_company)
    order_id = placed_order(ended_company, anna).id
    dry = run(dry_run=True)
    assert dry.counts["orders_pseudonymised"] == 1
    assert db.session.get(Order, order_id).orderer_account_id == anna.id
    assert run().counts == dry.counts


def test_purge_command_counts_orders(runner, ended_company):
    placed_order(ended_company, person(ended_company))
    db.session.commit()
    result = runner.invoke(args=["retention", "purge", "--dry-run", "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert "orders_pseudonymised=1 " in result.stdout
    assert "order_addresses_removed=1 " in result.stdout
