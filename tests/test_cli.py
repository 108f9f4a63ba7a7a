"""The command line: `portal ...` prints new ids alone and refuses bad input in one line."""

import hashlib
import os
import re
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.accounts.models import Account, AccountKind, CompanyRole, StaffRole
from portal.companies.models import Company
from portal.db import db
from portal.licenses import keys, store
from portal.licenses.models import License, Release
from tests.factories import PASSWORD, login_as, post, valid_orgnr

PORTAL = str(Path(sys.executable).with_name("portal"))
KEY_PATTERN = re.compile(rf"^[{keys.ALPHABET}]{{5}}(-[{keys.ALPHABET}]{{5}}){{4}}$")


def invoke(runner, *args, input=None):
    return runner.invoke(args=[str(arg) for arg in args], input=input)


def stderr_lines(result) -> list[str]:
    return result.stderr.strip().splitlines()


# --- a real `portal` process on its own SQLite database ------------------------------------


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory, smtp_server):
    """A migrated SQLite database with one company and one account, used through `portal`."""
    folder = tmp_path_factory.mktemp("cli")
    env = {name: value for name, value in os.environ.items() if not name.startswith("PORTAL_")}
    env.update(
        PORTAL_INSTANCE_PATH=str(folder / "instance"),
        PORTAL_DATABASE_URL=f"sqlite:///{folder / 'portal.sqlite3'}",
        PORTAL_MAIL_URL=f"smtp://127.0.0.1:{smtp_server.port}",
        PORTAL_BASE_URL="http://portal.test",
    )

    def run(*args, input=None):
        return subprocess.run(
            [PORTAL, *map(str, args)],
            env=env,
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    upgrade = run("db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    company = run("company", "add", "Kund AB", "--orgnr", "556016-0680")
    assert company.returncode == 0, company.stderr
    user = run(
        "user", "add", "taken@kund.example", "--company", 1, "--role", "member",
        "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert user.returncode == 0, user.stderr
    run.path = folder / "portal.sqlite3"
    run.folder = folder
    return run


def snapshot(path: Path) -> dict[str, list]:
    """Every row of every table, so that a refused command can be shown to change nothing."""
    with sqlite3.connect(path) as connection:
        tables = [
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        return {
            table: connection.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall()  # noqa: S608
            for table in tables
        }


REFUSALS = {
    "invalid orgnr": (("company", "add", "Nytt AB", "--orgnr", "556016-0681"), "organisation"),
    "duplicate orgnr": (("company", "add", "Kopia AB", "--orgnr", "5560160680"), "already"),
    "unknown company": (("company", "end", "999", "--on", "2025-01-31"), "no company with id"),
    "malformed date": (("company", "end", "1", "--on", "31/01/2025"), "YYYY-MM-DD"),
    "impossible date": (("company", "end", "1", "--on", "2025-02-30"), "YYYY-MM-DD"),
    "duplicate email": (
        ("user", "add", "TAKEN@kund.example", "--company", "1", "--role", "admin"),
        "already exists",
    ),
    "invalid email": (("user", "add", "not-an-address", "--company", "1", "--role", "admin"), "@"),
    "user of unknown company": (
        ("user", "add", "new@kund.example", "--company", "42", "--role", "admin"),
        "no company with id",
    ),
    "company user without role": (("user", "add", "new@kund.example", "--company", "1"), "--role"),
    "unknown product": (
        ("license", "add", "--company", "1", "--product", "safelink-7", "--seats", "5"),
        "Unknown product",
    ),
    "license of unknown company": (
        ("license", "add", "--company", "7", "--product", "safelink", "--seats", "5"),
        "no company with id",
    ),
    "no seats": (
        ("license", "add", "--company", "1", "--product", "safelink", "--seats", "0"),
        "--seats",
    ),
    "missing file": (
        ("release", "add", "safelink", "6.9", "/nonexistent/setup.zip"),
        "no such file",
    ),
    "release of unknown product": (
        ("release", "add", "safelink-x", "1.0", __file__),
        "Unknown product",
    ),
}


@pytest.mark.no_transaction
@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_bad_input_exits_non_zero_with_one_line_on_stderr_and_changes_nothing(cli_db, case):
    args, reason = REFUSALS[case]
    before = snapshot(cli_db.path)
    result = cli_db(*args)
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert reason in lines[0]
    assert snapshot(cli_db.path) == before


@pytest.mark.no_transaction
def test_short_password_on_stdin_is_refused_in_one_line(cli_db):
    before = snapshot(cli_db.path)
    result = cli_db(
        "user", "add", "short@kund.example", "--company", 1, "--role", "member",
        "--password-stdin", input="too short\n",
    )  # fmt: skip
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == ["Error: Use at least 12 characters."]
    assert snapshot(cli_db.path) == before


@pytest.mark.no_transaction
def test_portal_script_prints_only_the_new_id_on_stdout(cli_db):
    result = cli_db("company", "add", "Skript AB", "--orgnr", valid_orgnr(4242))
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"\d+\n", result.stdout)


@pytest.mark.no_transaction
def test_flask_app_portal_takes_the_same_commands(cli_db):
    env = dict(os.environ)
    flask = str(Path(sys.executable).with_name("flask"))
    result = subprocess.run(
        [flask, "--app", "portal", "company", "list"],
        env={
            **{k: v for k, v in env.items() if not k.startswith("PORTAL_")},
            "PORTAL_INSTANCE_PATH": str(cli_db.folder / "instance"),
            "PORTAL_DATABASE_URL": f"sqlite:///{cli_db.path}",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "556016-0680\t-\tKund AB" in result.stdout


# --- in-process through the test runner ---------------------------------------------------


def test_company_add_prints_the_id_alone(runner, app_ctx):
    result = invoke(runner, "company", "add", "Nordkund AB", "--orgnr", "5560160680")
    assert result.exit_code == 0, result.output
    company = db.session.get(Company, int(result.stdout))
    assert result.stdout == f"{company.id}\n"
    assert (company.name, company.org_number) == ("Nordkund AB", "556016-0680")


def test_company_end_records_the_day_the_relationship_ended(runner, make_company):
    company = make_company()
    result = invoke(runner, "company", "end", company.id, "--on", "2025-06-30")
    assert result.exit_code == 0, result.output
    db.session.refresh(company)
    assert company.relationship_ended_on == date(2025, 6, 30)


def test_company_list_shows_id_orgnr_end_date_and_name(runner, make_company):
    active = make_company("Aktiv AB")
    ended = make_company("Slutad AB", ended_on=date(2024, 3, 31))
    lines = invoke(runner, "company", "list").stdout.splitlines()
    assert f"{active.id}\t{active.org_number}\t-\tAktiv AB" in lines
    assert f"{ended.id}\t{ended.org_number}\t2024-03-31\tSlutad AB" in lines


def test_user_add_with_password_stdin_creates_an_account_that_signs_in(
    runner, client, make_company
):
    company = make_company()
    result = invoke(
        runner, "user", "add", "Karin@Kund.example", "--company", company.id, "--role", "admin",
        "--name", "Karin Ek", "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    account = db.session.get(Account, int(result.stdout))
    assert (account.email, account.company_role) == ("karin@kund.example", CompanyRole.ADMIN)
    assert login_as(client, account).status_code == 302
    assert "Karin Ek" in client.get("/").get_data(as_text=True)


def test_user_add_staff_account_has_no_company(runner, app_ctx):
    result = invoke(
        runner, "user", "add", "stina@leverantor.example", "--staff", "support",
        "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    account = db.session.get(Account, int(result.stdout))
    assert (account.staff_role, account.company_id) == (StaffRole.SUPPORT, None)


def test_user_add_refuses_company_and_staff_together(runner, make_company):
    company = make_company()
    result = invoke(
        runner, "user", "add", "both@kund.example", "--company", company.id, "--staff", "support"
    )
    assert result.exit_code != 0
    assert len(stderr_lines(result)) == 1
    assert db.session.scalar(sa.select(Account).where(Account.email == "both@kund.example")) is None


def test_user_add_function_account_has_no_name(runner, make_company):
    company = make_company()
    result = invoke(
        runner, "user", "add", "licenser@kund.example", "--company", company.id, "--role",
        "member", "--function", "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    account = db.session.get(Account, int(result.stdout))
    assert (account.kind, account.name) == (AccountKind.FUNCTION, None)


def test_user_add_refuses_a_name_for_a_function_account(runner, make_company):
    company = make_company()
    result = invoke(
        runner, "user", "add", "licenser@kund.example", "--company", company.id, "--role",
        "member", "--function", "--name", "Karin Ek",
    )  # fmt: skip
    assert result.exit_code != 0
    assert len(stderr_lines(result)) == 1
    assert db.session.scalar(sa.select(Account).where(Account.kind == AccountKind.FUNCTION)) is None


def test_user_add_without_password_mails_an_invitation(runner, make_company, mailbox):
    company = make_company("Inbjudan AB")
    result = invoke(
        runner, "user", "add", "ny@inbjudan.example", "--company", company.id, "--role", "member"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().isdigit()
    [mail] = mailbox.to("ny@inbjudan.example")
    assert "Inbjudan AB" in mail.text
    assert mail.path().startswith("/invite/")


def test_invitation_link_lets_the_invitee_choose_a_password_and_sign_in(
    runner, client, make_company, mailbox
):
    company = make_company("Inbjudan AB")
    invoke(
        runner, "user", "add", "ny@inbjudan.example", "--company", company.id, "--role", "member"
    )
    path = mailbox.to("ny@inbjudan.example")[0].path()
    assert client.get(path).status_code == 200
    response = post(client, path, {"password": PASSWORD, "confirm": PASSWORD}, page=path)
    assert response.status_code == 302
    assert "Inbjudan AB" in client.get("/").get_data(as_text=True)
    post(client, "/logout")
    account = db.session.scalar(sa.select(Account).where(Account.email == "ny@inbjudan.example"))
    assert login_as(client, account).status_code == 302


def test_license_add_prints_the_id_and_makes_a_key_of_five_groups_of_five(runner, make_company):
    company = make_company()
    result = invoke(
        runner, "license", "add", "--company", company.id, "--product", "safelink-pfr",
        "--seats", 10, "--valid-until", "2027-12-31", "--maintenance-until", "2027-06-30",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    license = db.session.get(License, int(result.stdout))
    assert result.stdout == f"{license.id}\n"
    assert KEY_PATTERN.match(license.key)
    assert (license.product.code, license.seats) == ("safelink-pfr", 10)
    assert license.valid_until == date(2027, 12, 31)
    assert license.maintenance_until == date(2027, 6, 30)


def test_release_add_stores_the_file_with_its_size_and_sha256(runner, app_ctx, tmp_path):
    content = os.urandom(store.CHUNK_SIZE * 2 + 12345)  # more than one chunk
    installer = tmp_path / "safelink-6.7-setup.zip"
    installer.write_bytes(content)
    result = invoke(
        runner, "release", "add", "safelink", "6.7", installer,
        "--released-on", "2026-10-01", "--end-of-life", "2029-12-31",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    release = db.session.get(Release, int(result.stdout))
    [stored] = release.files
    assert (release.version, release.released_on) == ("6.7", date(2026, 10, 1))
    assert stored.filename == "safelink-6.7-setup.zip"
    assert stored.size == len(content)
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert store.path_of(stored.storage_key).read_bytes() == content


def test_release_add_refuses_a_version_that_exists(runner, make_release, tmp_path):
    existing = make_release("safelink", "6.8")
    installer = tmp_path / "again.zip"
    installer.write_bytes(b"again")
    result = invoke(runner, "release", "add", "safelink", existing.version, installer)
    assert result.exit_code != 0
    assert len(stderr_lines(result)) == 1
    assert "already exists" in result.stderr


def test_demo_loads_companies_accounts_licenses_and_releases_into_an_empty_database(
    runner, app_ctx
):
    result = invoke(runner, "demo")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Company)) == 4
    staff_roles = set(db.session.scalars(sa.select(Account.staff_role)).all()) - {None}
    assert staff_roles == {StaffRole.SUPPORT, StaffRole.STAFF_ADMIN}
    products = set(db.session.scalars(sa.select(Release.product_id).distinct()).all())
    assert len(products) == 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(License)) >= 3
    assert "admin@nordiskbetal.example.com" in result.stdout


def test_demo_has_an_end_of_life_release_and_companies_ended_25_and_20_months_ago(
    runner, app_ctx, frozen_clock
):
    invoke(runner, "demo")
    ended = db.session.scalars(
        sa.select(Company.relationship_ended_on)
        .where(Company.relationship_ended_on.is_not(None))
        .order_by(Company.relationship_ended_on)
    ).all()
    assert ended == [date(2024, 10, 2), date(2025, 3, 2)]  # one due for removal, one not yet
    safelink_5 = db.session.scalar(sa.select(Release).where(Release.version.like("5.%")))
    assert safelink_5.end_of_life_on is not None


def test_demo_a_second_time_changes_nothing(runner, app_ctx):
    invoke(runner, "demo")

    def counts():
        return {
            table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in db.metadata.sorted_tables
        }

    before = counts()
    result = invoke(runner, "demo")
    assert result.exit_code == 0
    assert "already holds data" in result.stderr
    assert counts() == before
