"""Factories for test data, built through the same services the portal uses."""

import io
import itertools
import re
from contextlib import contextmanager
from datetime import date
from urllib.parse import urlsplit

import sqlalchemy as sa

from portal.accounts import service as accounts
from portal.accounts.models import Account, AccountKind, CompanyRole, StaffRole
from portal.companies import service as companies
from portal.companies.models import Company
from portal.db import db
from portal.licenses import service as licenses

PASSWORD = "correct horse battery staple 42"
_sequence = itertools.count(1)


def valid_orgnr(number: int) -> str:
    from stdnum import luhn

    base = f"55{number % 10_000_000:07d}"
    return f"{base[:6]}-{base[6:]}{luhn.calc_check_digit(base)}"


def make_company(name: str | None = None, *, ended_on: date | None = None) -> Company:
    n = next(_sequence)
    company = companies.add_company(name or f"Company {n} AB", valid_orgnr(n), actor_label="test")
    if ended_on is not None:
        company.relationship_ended_on = ended_on
    db.session.flush()
    return company


def make_account(
    role: str = "member",
    *,
    company: Company | None = None,
    email: str | None = None,
    name: str | None = "Test Person",
    kind: AccountKind = AccountKind.PERSONAL,
    password: str | None = PASSWORD,
) -> Account:
    n = next(_sequence)
    staff_role = StaffRole(role) if role in {r.value for r in StaffRole} else None
    if staff_role is None and company is None:
        company = make_company()
    account = accounts.add_account(
        email or f"person{n}@example.com",
        company=None if staff_role else company,
        company_role=None if staff_role else CompanyRole(role),
        staff_role=staff_role,
        kind=kind,
        name=name,
        password=password,
        actor_label="test",
    )
    db.session.flush()
    return account


def make_license(company: Company, product: str = "safelink", **kwargs):
    kwargs.setdefault("seats", 5)
    license = licenses.add_license(
        company, licenses.product_by_code(product), actor_label="test", **kwargs
    )
    db.session.flush()
    return license


def make_machine(
    license,
    *,
    fingerprint: str | None = None,
    hostname: str = "machine",
    version: str = "6.2",
    kind: str = "online",
):
    """A machine with a seat of the license, through the activation rules."""
    from portal.machines import service as machines
    from portal.machines.models import MachineKind

    report = machines.MachineReport(
        fingerprint or f"fingerprint-{next(_sequence):08d}", hostname, version
    )
    machine, _created = machines.activate(
        machines.lock_license(license), report, MachineKind(kind), actor_label="test"
    )
    return machine


def make_api_token(company, admin, scopes=("licenses:read", "releases:download"), days=30):
    """An API token of the company and its secret."""
    from datetime import timedelta

    from portal import clock
    from portal.machines import api_tokens

    return api_tokens.create(
        company.id, "Test token", list(scopes), clock.today() + timedelta(days=days), actor=admin
    )


def make_release(product: str = "safelink", version: str | None = None, content: bytes = b"", **kw):
    version = version or f"9.{next(_sequence)}"
    content = content or f"installer of {product} {version}\n".encode() * 100
    release = licenses.add_release(
        licenses.product_by_code(product),
        version,
        io.BytesIO(content),
        kw.pop("filename", f"{product}-{version}.zip"),
        actor_label="test",
        **kw,
    )
    db.session.flush()
    return release


CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    page = client.get(path, follow_redirects=True).get_data(as_text=True)
    match = CSRF_PATTERN.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, account_or_email, password: str = PASSWORD, **extra):
    email = getattr(account_or_email, "email", account_or_email)
    token = csrf_token(client, "/login")
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token, **extra}
    )


def post(client, path: str, data: dict | None = None, page: str = "/", **kwargs):
    """POST a form with a valid CSRF token taken from a page the client can see."""
    data = dict(data or {})
    data.setdefault("csrf_token", csrf_token(client, page))
    return client.post(path, data=data, **kwargs)


def login_as(client, account, password: str = PASSWORD):
    """Sign in as the account, completing every step the account's sign-in requires.

    Staff must use two-factor, so a staff account without it is enrolled first (with
    TOTP_SECRET); an account with two-factor gets the second step done with a valid code.
    """
    from portal.accounts import twofactor

    if twofactor.is_required(account) and not twofactor.is_enabled(account):
        enable_twofactor(account)
    response = login(client, account, password)
    location = response.headers.get("Location", "")
    if response.status_code == 302 and urlsplit(location).path == "/login/two-factor":
        token = csrf_token(client, "/login/two-factor")
        response = client.post(
            "/login/two-factor", data={"code": totp_code(account), "csrf_token": token}
        )
    return response


def designate_license_manager(account):
    from portal.accounts.models import LicenseManagerDesignation

    db.session.add(LicenseManagerDesignation(company_id=account.company_id, account_id=account.id))
    db.session.flush()


def company_objects(company, admin) -> dict:
    """Objects of one company that URLs in the access matrix point at: one for each route that
    changes or removes its object, so that no route finds its object gone."""
    from portal import clock
    from portal.accounts import tokens
    from portal.accounts.models import TokenPurpose
    from portal.contacts import disclosures
    from portal.contacts.models import RecipientKind
    from portal.licenses import manager

    objects = {}
    objects["invitee"] = make_account("member", company=company, password=None)
    objects["cancelled_invitee"] = make_account("member", company=company, password=None)
    objects["reinvited"] = make_account("member", company=company, password=None)
    objects["deactivated"] = make_account("member", company=company)
    objects["removed"] = make_account("member", company=company)
    objects["erasable"] = make_account("member", company=company)
    objects["license"] = make_license(company, "safelink", maintenance_until=None)
    objects["release"] = make_release("safelink")
    objects["release_file"] = objects["release"].files[0]
    objects["contact"] = make_contact(company, contract_party=True)
    objects["deletable_contact"] = make_contact(company)
    objects["machine"] = make_machine(objects["license"], hostname="matrix-online")
    objects["offline_machine"] = make_machine(
        objects["license"], hostname="matrix-offline", kind="offline"
    )
    objects["api_token"] = make_api_token(company, admin)[0]
    # Live links: a form posted without its fields answers the form again, and changes nothing.
    objects["invitation"] = tokens.issue(objects["invitee"], TokenPurpose.INVITATION)
    objects["reset"] = tokens.issue(objects["erasable"], TokenPurpose.PASSWORD_RESET)
    objects["email_change"] = tokens.issue(
        objects["removed"], TokenPurpose.EMAIL_CHANGE, payload={"email": "moved@example.com"}
    )
    set_prices("safelink")
    objects["order"] = make_order(admin, objects["license"])
    objects["declined_order"] = make_order(admin, objects["license"])
    objects["cart_line"] = _cart_line(admin, objects["license"])
    objects["confidential_disclosure"] = disclosures.record_disclosure(
        company,
        company,
        disclosures.DisclosureRequest(
            recipient_kind=RecipientKind.AUTHORITY,
            recipient_name="Polismyndigheten",
            data_disclosed="the company's users",
            disclosed_on=clock.today(),
            decision_reference="Dnr 1",
            confidential=True,
        ),
        actor=admin,
    )
    pending = manager.designate_function_address(company, "licenses@company-a.example", admin)
    objects["manager_confirmation"] = tokens.issue(
        pending.account, TokenPurpose.MANAGER_CONFIRMATION, payload={"pending_id": pending.id}
    )
    return objects


# A fixed TOTP secret for tests (base32, 160 bits), so that tests can compute the codes.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def enable_twofactor(account, secret: str = TOTP_SECRET):
    """Two-factor on for the account with a known secret, as if enrolment had been confirmed."""
    from portal import clock
    from portal.accounts.models import TwoFactorSecret

    record = TwoFactorSecret(account_id=account.id, secret=secret, confirmed_dt=clock.now())
    db.session.add(record)
    db.session.flush()
    return record


def totp_code(account) -> str:
    """A code the portal accepts now: the current step's, or a later one in the window when the
    current step was already used (codes are never accepted twice)."""
    import pyotp
    import sqlalchemy as sa

    from portal import clock
    from portal.accounts.models import TwoFactorSecret
    from portal.accounts.twofactor import VALID_WINDOW

    secret, last_used = db.session.execute(
        sa.select(TwoFactorSecret.secret, TwoFactorSecret.last_used_step).where(
            TwoFactorSecret.account_id == account.id
        )
    ).one()
    totp = pyotp.TOTP(secret)
    current = totp.timecode(clock.now())
    step = current if last_used is None or last_used < current else last_used + 1
    assert step <= current + VALID_WINDOW, "every code of this time window is used: advance it"
    return totp.generate_otp(step)


def request_password_reset(client, email: str, **kwargs):
    """Ask for a reset link on /password/forgot (kwargs go to client.post, e.g. environ_base)."""
    token = csrf_token(client, "/password/forgot")
    return client.post("/password/forgot", data={"email": email, "csrf_token": token}, **kwargs)


def set_new_password(client, path: str, password: str, confirm: str | None = None, **kwargs):
    """Submit the new-password form behind a mailed reset link (`path` from `mail.path()`)."""
    token = csrf_token(client, "/password/forgot")  # any form page: the link may be spent
    data = {"password": password, "confirm": password if confirm is None else confirm}
    return client.post(path, data={**data, "csrf_token": token}, **kwargs)


# Transaction control the test harness adds (each test runs in savepoints); not the app's queries.
_HARNESS_STATEMENTS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


class QueryCounter:
    """The SQL statements run while it is active (`with count_queries() as queries`)."""

    def __init__(self):
        self.statements: list[str] = []

    def __len__(self) -> int:
        return len(self.statements)

    def _before_cursor_execute(self, _conn, _cursor, statement, _params, _context, _many):
        if not statement.lstrip().upper().startswith(_HARNESS_STATEMENTS):
            self.statements.append(statement)


@contextmanager
def count_queries():
    """Count every statement sent to the database, login and session loading included."""
    counter = QueryCounter()
    sa.event.listen(db.engine, "before_cursor_execute", counter._before_cursor_execute)
    try:
        yield counter
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", counter._before_cursor_execute)


def in_english(client):
    """Pages in English (the default is Swedish), so tests can read the English texts."""
    client.set_cookie("portal_lang", "en")
    return client


def make_contact(
    company,
    *,
    email: str | None = None,
    name: str | None = "Contact Person",
    kind: AccountKind = AccountKind.PERSONAL,
    phone_e164: str | None = None,
    invoice_reference: bool = False,
    contract_party: bool = False,
    technical_contact: bool = True,
    is_accounting_record: bool = False,
):
    """A contact of the company, made through the contacts service (audited as the test)."""
    from portal.contacts import service as contacts
    from portal.contacts.models import Contact, ContactRole

    roles = {
        ContactRole.INVOICE_REFERENCE: invoice_reference,
        ContactRole.CONTRACT_PARTY: contract_party,
        ContactRole.TECHNICAL_CONTACT: technical_contact,
    }
    data = contacts.ContactData(
        kind=kind,
        name=name,
        email=contacts.normalize_email(email or f"contact{next(_sequence)}@example.com"),
        phone_e164=phone_e164,
        roles=frozenset(role for role, held in roles.items() if held),
    )
    contact = contacts.create_contact(company.id, data, actor=None)
    contact.is_accounting_record = is_accounting_record
    db.session.flush()
    assert isinstance(contact, Contact)
    return contact


def view_as(client, staff, customer, reason: str = "ÄRENDE-1234"):
    """Sign in as the staff member and view the portal as the customer ("View as")."""
    response = login_as(client, staff)
    assert response.status_code == 302, "the staff member could not sign in"
    return post(
        client,
        f"/staff/accounts/{customer.id}/impersonate",
        {"reason": reason},
        page=f"/staff/accounts/{customer.id}",
    )


# --- orders -----------------------------------------------------------------------------------

DEFAULT_PRICES = {"renewal_12": 12_000_00, "renewal_36": 30_000_00, "extra_seat": 1_500_00}


def set_prices(product: str = "safelink", **amounts):
    """The product's price list (öre, excl. VAT): the defaults, with `amounts` instead."""
    from portal.orders import service as orders
    from portal.orders.models import Item

    values = {**DEFAULT_PRICES, **amounts}
    orders.set_prices(
        licenses.product_by_code(product),
        {Item(name): value for name, value in values.items()},
        actor_label="test",
    )


def _cart_line(account, license, item: str = "extra_seat", quantity: int = 1):
    from portal.orders import service as orders
    from portal.orders.models import Item

    return orders.add_to_cart(account, license, Item(item), quantity)


def make_order(
    account,
    license,
    item: str = "extra_seat",
    quantity: int = 1,
    reference=None,
    po_number: str | None = None,
):
    """An order of one line, placed by `account` (a license manager or company admin)."""
    from portal.orders import service as orders

    _cart_line(account, license, item, quantity)
    if reference is None:
        reference = orders.NewReference(
            f"Invoice Reference {next(_sequence)}", f"invoice{next(_sequence)}@example.com", None
        )
    order = orders.place_order(account, reference=reference, po_number=po_number)
    db.session.flush()
    return order


@contextmanager
def app_on_own_schema(app_config: dict, instance_path, schema: str, *, connections: int):
    """A portal of its own on a fresh PostgreSQL schema of PORTAL_TEST_DATABASE_URL, with room
    for `connections` threads; its requests commit for real (not in a test's rolled-back
    transaction). The schema holds the tables and the SafeLink product, and is dropped after."""
    import os

    from portal import create_app
    from portal.licenses.models import Product

    database_url = os.environ["PORTAL_TEST_DATABASE_URL"]
    admin = sa.create_engine(database_url)
    with admin.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = sa.make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    app = create_app(
        {
            **app_config,
            "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": connections, "max_overflow": 0},
            "PORTAL_INSTANCE_PATH": str(instance_path),
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        db.create_all()
        db.session.add(Product(code="safelink", name="SafeLink"))
        db.session.commit()
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()
