"""The activity log's one query: a company's audit events, newest first, filtered by kind and by
person. The company admin's page, its CSV export, support's company page and a person's page
all read it here, so that a rule about which events a company sees is written in one place."""

from dataclasses import dataclass

import sqlalchemy as sa

from portal.accounts.models import Account
from portal.audit import AuditEvent
from portal.contacts.disclosures import readable_by_the_company
from portal.db import db
from portal.i18n import lazy_gettext as _l


@dataclass(frozen=True)
class Kind:
    label: object
    # Actions whose name is one of these, or starts with one and a dot ("login" is "login.*").
    actions: tuple[str, ...]


# The kinds a reader filters by, in the order the filter lists them.
KINDS = {
    "sign_ins": Kind(
        _l("Sign-ins and security"),
        (
            "login",
            "logout",
            "session",
            "password",
            "password_reset",
            "email_change",
            "2fa",
            "access",
        ),
    ),
    "users": Kind(_l("Users and invitations"), ("account", "invitation")),
    "licenses": Kind(_l("Licenses and the license manager"), ("license", "manager")),
    "downloads": Kind(_l("Downloads"), ("release",)),
    "contacts": Kind(_l("Contacts and consents"), ("contact", "consent")),
    "support": Kind(_l("Support and disclosures"), ("impersonation", "disclosure")),
    "company": Kind(
        _l("The customer relationship and data exports"), ("company", "export", "activity")
    ),
}


def kind_condition(kind: str) -> sa.ColumnElement[bool]:
    conditions = []
    for action in KINDS[kind].actions:
        conditions.append(AuditEvent.action == action)
        conditions.append(AuditEvent.action.startswith(f"{action}.", autoescape=True))
    return sa.or_(*conditions)


def person_condition(account_id: int) -> sa.ColumnElement[bool]:
    """Events the person did, did as someone else's view, or that were about them."""
    return sa.or_(
        AuditEvent.actor_account_id == account_id,
        AuditEvent.acting_as_account_id == account_id,
        sa.and_(AuditEvent.subject_type == "Account", AuditEvent.subject_id == account_id),
    )


def activity_query(
    company_id: int, *, kind: str | None = None, person_id: int | None = None
) -> sa.Select:
    """The company's events, newest first (every reader of the activity log asks this), less
    those about a disclosure that is still confidential."""
    query = sa.select(AuditEvent).where(
        AuditEvent.company_id == company_id, readable_by_the_company()
    )
    if kind in KINDS:
        query = query.where(kind_condition(kind))
    if person_id is not None:
        query = query.where(person_condition(person_id))
    return query.order_by(AuditEvent.occurred_dt.desc(), AuditEvent.id.desc())


@dataclass(frozen=True)
class ActivityFilter:
    """What the reader asked for in the address (`kind`, `person`); unknown values are ignored."""

    kind: str | None = None
    person_id: int | None = None

    @classmethod
    def from_args(cls, args, people: dict[int, str]) -> "ActivityFilter":
        kind = args.get("kind")
        person = args.get("person", type=int)
        return cls(kind if kind in KINDS else None, person if person in people else None)

    @property
    def active(self) -> bool:
        return self.kind is not None or self.person_id is not None

    def args(self) -> dict[str, object]:
        """The filter as address arguments, for links to other pages and to the export."""
        values = {"kind": self.kind, "person": self.person_id}
        return {name: value for name, value in values.items() if value is not None}

    def query(self, company_id: int) -> sa.Select:
        return activity_query(company_id, kind=self.kind, person_id=self.person_id)


def people_of(company_id: int) -> dict[int, str]:
    """The company's accounts a reader can filter by: id -> name (removed people are gone)."""
    rows = db.session.execute(
        sa.select(Account.id, sa.func.coalesce(Account.name, Account.email))
        .where(Account.company_id == company_id)
        .order_by(sa.func.lower(sa.func.coalesce(Account.name, Account.email)), Account.id)
    )
    return dict(rows.all())
