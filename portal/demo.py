"""Demo data for `make run`: two customers, an ended one, staff, licenses and releases."""

import io
from dataclasses import dataclass
from datetime import date, timedelta

import click
import sqlalchemy as sa

from portal import clock, news
from portal.accounts import service as accounts
from portal.accounts.models import AccountKind, CompanyRole, LicenseManagerDesignation, StaffRole
from portal.commands import OneLineCommand
from portal.companies import service as companies
from portal.companies.models import Company
from portal.contacts.models import Contact
from portal.db import db
from portal.downloads.models import DownloadRecord
from portal.licenses import service as licenses
from portal.licenses.models import Release
from portal.machines import service as machines
from portal.machines.models import MachineKind
from portal.orders import service as orders
from portal.orders.models import Item

DEMO_PASSWORD = "demo-kundportal-2026"  # noqa: S105  # nosec B105 # demo data, printed by make run
ACTOR = "demo"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str


DEMO_LOGINS = (
    DemoLogin("admin@nordiskbetal.example.com", "company admin, Nordisk Betalservice AB"),
    DemoLogin("anna.berg@nordiskbetal.example.com", "member, Nordisk Betalservice AB"),
    DemoLogin("licenser@nordiskbetal.example.com", "license manager (function address), Nordisk"),
    DemoLogin("admin@fjallfrakt.example.com", "company admin, Fjällfrakt AB"),
    DemoLogin("olle.lind@fjallfrakt.example.com", "member, Fjällfrakt AB"),
    DemoLogin("support@leverantor.example.com", "support (vendor staff)"),
    DemoLogin("staffadmin@leverantor.example.com", "staff admin (vendor staff)"),
)


def _months_before(day: date, months: int) -> date:
    year, month_index = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month_index + 1, min(day.day, 28))


RELEASE_NOTES = {
    ("safelink", "6.1"): "Stöd för de nya ISO 20022-formaten pain.001.001.09 och camt.054.\n\n"
    "Snabbare inläsning av stora betalfiler.",
    ("safelink", "5.4"): "Sista versionen av SafeLink 5. Den slutar fungera vid årsskiftet.",
}


def _release(code, version, released_on, end_of_life=None, size=64 * 1024):
    product = licenses.product_by_code(code)
    payload = (f"{product.name} {version} demo installer\n".encode() * (size // 32 + 1))[:size]
    licenses.add_release(
        product,
        version,
        io.BytesIO(payload),
        f"{code}-{version}.zip",
        released_on=released_on,
        end_of_life_on=end_of_life,
        notes=RELEASE_NOTES.get((code, version), ""),
        actor_label=ACTOR,
    )


def load_demo_data() -> None:
    today = clock.today()
    _release("safelink", "5.4", date(2023, 3, 1), end_of_life=today + timedelta(days=33))
    _release("safelink", "6.0", date(2025, 2, 3))
    _release("safelink", "6.1", today - timedelta(days=40))
    _release("safelink-pfr", "2.3", date(2025, 9, 1))
    _release("secure-envelope", "1.8", date(2025, 11, 10))

    nordisk = companies.add_company("Nordisk Betalservice AB", "556677-8899", actor_label=ACTOR)
    fjall = companies.add_company("Fjällfrakt AB", "559123-4561", actor_label=ACTOR)
    # Two ended relationships for the retention pages: one due for removal (try
    # `portal retention purge --dry-run`), one whose accounts go in four months.
    ended = companies.add_company("Gamla Kunden AB", "556900-1232", actor_label=ACTOR)
    companies.end_relationship(ended, _months_before(today, 25), actor_label=ACTOR)
    leaving = companies.add_company("Sjöbris Konsult AB", "556811-2345", actor_label=ACTOR)
    companies.end_relationship(leaving, _months_before(today, 20), actor_label=ACTOR)

    people = [
        ("admin@nordiskbetal.example.com", "Karin Ek", nordisk, CompanyRole.ADMIN),
        ("anna.berg@nordiskbetal.example.com", "Anna Berg", nordisk, CompanyRole.MEMBER),
        ("admin@fjallfrakt.example.com", "Per Fjäll", fjall, CompanyRole.ADMIN),
        ("olle.lind@fjallfrakt.example.com", "Olle Lind", fjall, CompanyRole.MEMBER),
        ("it@gamlakunden.example.com", "Lisa Gammal", ended, CompanyRole.ADMIN),
        ("maja@sjobris.example.com", "Maja Sjö", leaving, CompanyRole.ADMIN),
    ]
    for email, name, company, role in people:
        accounts.add_account(
            email,
            company=company,
            company_role=role,
            name=name,
            password=DEMO_PASSWORD,
            actor_label=ACTOR,
        )
    accounts.add_account(
        "licenser@nordiskbetal.example.com",
        company=nordisk,
        company_role=CompanyRole.MEMBER,
        kind=AccountKind.FUNCTION,
        password=DEMO_PASSWORD,
        actor_label=ACTOR,
    )
    for email, name, role in (
        ("support@leverantor.example.com", "Sara Support", StaffRole.SUPPORT),
        ("staffadmin@leverantor.example.com", "Stefan Admin", StaffRole.STAFF_ADMIN),
    ):
        accounts.add_account(
            email, staff_role=role, name=name, password=DEMO_PASSWORD, actor_label=ACTOR
        )

    _contacts(nordisk, fjall, ended, leaving)
    _designate_function_manager(nordisk)
    news.publish(
        "SafeLink 6.1 är här",
        "SafeLink 6.1 stöder de nya ISO 20022-formaten. SafeLink 5 slutar fungera vid årsskiftet: "
        "byt till version 6 i god tid.",
        actor=None,
    )

    def product(code):
        return licenses.product_by_code(code)

    for company, code, seats, until, maintenance in (
        (nordisk, "safelink", 25, None, today + timedelta(days=300)),
        (nordisk, "safelink-pfr", 10, today + timedelta(days=45), today + timedelta(days=45)),
        (nordisk, "secure-envelope", 5, today + timedelta(days=400), None),
        (fjall, "safelink", 3, today + timedelta(days=200), date(2025, 6, 30)),
        (fjall, "secure-envelope", 2, today - timedelta(days=10), None),
        (ended, "safelink", 1, None, date(2024, 1, 31)),
    ):
        license = licenses.add_license(
            company,
            product(code),
            seats=seats,
            valid_from=date(2024, 1, 1),
            valid_until=until,
            maintenance_until=maintenance,
            actor_label=ACTOR,
        )
        if company is nordisk and code == "safelink":
            _machines(license)
    _record_old_download(nordisk)
    _prices(product)
    # SafeLink 6 from the new year, as the news says: Nordisk's 5.4 machine is on its start page.
    machines.set_minimum_version(
        product("safelink"), "6.0", date(today.year + 1, 1, 1), actor_label=ACTOR
    )


# The demo price list (öre, excluding VAT): renewal 12 months, 36 months, one extra seat.
DEMO_PRICES = {
    "safelink": (18_000_00, 45_000_00, 2_400_00),
    "safelink-pfr": (9_500_00, 24_000_00, 1_200_00),
    "secure-envelope": (6_000_00, 15_000_00, 900_00),
}


def _prices(product) -> None:
    for code, (renewal_12, renewal_36, extra_seat) in DEMO_PRICES.items():
        orders.set_prices(
            product(code),
            {Item.RENEWAL_12: renewal_12, Item.RENEWAL_36: renewal_36, Item.EXTRA_SEAT: extra_seat},
            actor_label=ACTOR,
        )


def _machines(license) -> None:
    """Nordisk's SafeLink machines: three that validate, one without internet."""
    for fingerprint, hostname, version, kind in (
        ("a41f09c2d7e84b6f9c3e1d5a7b2c8e60", "ekonomi-srv01", "6.1", MachineKind.ONLINE),
        ("5c7d2e9f1a3b4c6d8e0f2a4b6c8d0e1f", "lon-pc07", "6.0", MachineKind.ONLINE),
        ("9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b", "gamla-bokforing", "5.4", MachineKind.ONLINE),
        ("0f1e2d3c4b5a69788796a5b4c3d2e1f0", "valv-betalfiler", "6.1", MachineKind.OFFLINE),
    ):
        machines.activate(
            license,
            machines.MachineReport(fingerprint, hostname, version),
            kind,
            actor_label=ACTOR,
        )


def _contacts(*companies_) -> None:
    rows = {
        "Nordisk Betalservice AB": [
            (
                "Karin Ek",
                "karin.ek@nordiskbetal.example.com",
                "+46701234567",
                {"is_contract_party": True},
            ),
            (
                None,
                "faktura@nordiskbetal.example.com",
                None,
                {"is_invoice_reference": True, "is_accounting_record": True},
            ),
            (
                "Anna Berg",
                "anna.berg@nordiskbetal.example.com",
                "+46812345678",
                {"is_technical_contact": True},
            ),
        ],
        "Fjällfrakt AB": [
            (
                "Per Fjäll",
                "per.fjall@fjallfrakt.example.com",
                "+46702345678",
                {"is_contract_party": True, "is_invoice_reference": True},
            ),
        ],
        "Sjöbris Konsult AB": [
            ("Maja Sjö", "maja@sjobris.example.com", None, {"is_contract_party": True}),
        ],
        "Gamla Kunden AB": [
            ("Lisa Gammal", "lisa@gamlakunden.example.com", None, {"is_contract_party": True}),
            (
                None,
                "ekonomi@gamlakunden.example.com",
                None,
                {"is_invoice_reference": True, "is_accounting_record": True},
            ),
        ],
    }
    for company in companies_:
        for name, email, phone, roles in rows[company.name]:
            kind = AccountKind.PERSONAL if name else AccountKind.FUNCTION
            db.session.add(
                Contact(
                    company_id=company.id,
                    kind=kind,
                    name=name,
                    email=email,
                    phone_e164=phone,
                    **roles,
                )
            )


def _designate_function_manager(company) -> None:
    function_account = accounts.find_by_email("licenser@nordiskbetal.example.com")
    db.session.add(LicenseManagerDesignation(company_id=company.id, account_id=function_account.id))


def _record_old_download(company) -> None:
    """Nordisk last downloaded SafeLink 5.4: the dashboard warns of its end of life."""
    release = db.session.scalar(sa.select(Release).where(Release.version == "5.4"))
    admin = accounts.find_by_email("admin@nordiskbetal.example.com")
    db.session.add(
        DownloadRecord(
            account_id=admin.id, company_id=company.id, release_file_id=release.files[0].id
        )
    )


@click.command("demo", cls=OneLineCommand)
def demo_command():
    """Load demo data into an empty database, then print the demo logins."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Company)):
        click.echo("The database already holds data; no demo data loaded.", err=True)
    else:
        load_demo_data()
        click.echo("Demo data loaded.", err=True)
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for login in DEMO_LOGINS:
        click.echo(f"  {login.email:40} {login.role}")
