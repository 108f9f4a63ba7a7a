"""Factories for test data, built through the same services the portal uses."""

import io
import itertools
import re
from datetime import date

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
    """Sign in as the account, completing every step the account's sign-in requires."""
    return login(client, account, password)


def designate_license_manager(account):
    from portal.licenses.models import LicenseManagerDesignation

    db.session.add(LicenseManagerDesignation(company_id=account.company_id, account_id=account.id))
    db.session.flush()


def company_objects(company) -> dict:
    """Objects of one company that URLs in the access matrix point at."""
    return {}
