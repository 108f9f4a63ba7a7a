"""Audit events as sentences in the reader's language, naming who did what to which object:
"Karin Ek revealed the key of SafeLink PFR, 25 seats."

`describe(events)` looks up the names of the people and objects of a page of events with one
query per kind of object present, and never shows a pseudonym: a removed person is "a removed
person". An action without a sentence here falls back to its code (tests/test_activity.py
fails for any action the portal records that has none).
"""

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa

from portal.accounts.models import ROLE_LABELS, Account, CompanyRole, StaffRole
from portal.accounts.pseudonyms import PSEUDONYM_PREFIX
from portal.audit import AuditEvent
from portal.companies.models import Company
from portal.contacts.models import Contact, RecipientKind
from portal.db import db
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.licenses.models import License, Product

READ_ONLY_REFUSAL = "read-only view as a customer"  # access.refused's `required` in a support view


@dataclass(frozen=True)
class Sentence:
    done: object  # "%(actor)s ... %(subject)s."
    self_done: object | None = None  # when the subject is the actor: "... their password."
    failed: object | None = None  # when the outcome is not a success


SENTENCES: dict[str, Sentence] = {
    # Sign-ins and security
    "login.succeeded": Sentence(_l("%(actor)s signed in.")),
    "login.failed": Sentence(_l("Someone tried to sign in as %(subject)s with a wrong password.")),
    "login.second_factor_failed": Sentence(_l("%(actor)s entered a wrong two-factor code.")),
    "login.recovery_code_used": Sentence(_l("%(actor)s signed in with a recovery code.")),
    "login.second_factor_locked": Sentence(
        _l("Two-factor codes for %(subject)s are refused for an hour after too many wrong ones.")
    ),
    "logout": Sentence(_l("%(actor)s signed out.")),
    "session.revoked": Sentence(
        _l("%(actor)s ended the sessions of %(subject)s."),
        self_done=_l("%(actor)s ended their other sessions."),
    ),
    "password.changed": Sentence(
        _l("%(actor)s changed the password of %(subject)s."),
        self_done=_l("%(actor)s changed their password."),
        failed=_l("%(actor)s gave a wrong current password when changing the password."),
    ),
    "password_reset.requested": Sentence(
        _l("%(actor)s asked for a password reset link for %(subject)s.")
    ),
    "password_reset.completed": Sentence(_l("%(actor)s chose a new password with a reset link.")),
    "email_change.requested": Sentence(
        _l("%(actor)s asked to change the email address of %(subject)s."),
        self_done=_l("%(actor)s asked to change their email address."),
        failed=_l("%(actor)s gave a wrong password when changing the email address."),
    ),
    "email_change.completed": Sentence(_l("%(actor)s confirmed their new email address.")),
    # Staff only (audit.STAFF_ONLY_ACTIONS): the company's own log never shows it.
    "email_change.refused": Sentence(
        _l("%(actor)s asked to change their email address to one that has an account.")
    ),
    "2fa.enrolled": Sentence(_l("%(actor)s turned on two-factor authentication.")),
    "2fa.disabled": Sentence(
        _l("%(actor)s turned off two-factor authentication for %(subject)s."),
        self_done=_l("%(actor)s turned off two-factor authentication."),
    ),
    "2fa.recovery_codes_regenerated": Sentence(_l("%(actor)s made new recovery codes.")),
    "2fa.reset": Sentence(_l("%(actor)s reset the two-factor authentication of %(subject)s.")),
    "access.refused": Sentence(_l("%(actor)s was refused a page they may not use.")),
    # Users and invitations
    "account.created": Sentence(_l("%(actor)s created the account of %(subject)s.")),
    "account.deactivated": Sentence(_l("%(actor)s deactivated %(subject)s.")),
    "account.reactivated": Sentence(_l("%(actor)s reactivated %(subject)s.")),
    "account.removed": Sentence(_l("%(actor)s removed the login of %(subject)s.")),
    "account.erased": Sentence(_l("%(actor)s erased the personal data of %(subject)s.")),
    "account.role_changed": Sentence(_l("%(actor)s made %(subject)s %(role)s.")),
    "account.profile_updated": Sentence(
        _l("%(actor)s updated the details of %(subject)s."),
        self_done=_l("%(actor)s updated their details."),
    ),
    "invitation.sent": Sentence(_l("%(actor)s invited %(subject)s.")),
    "invitation.accepted": Sentence(_l("%(actor)s accepted the invitation.")),
    "invitation.cancelled": Sentence(_l("%(actor)s cancelled the invitation of %(subject)s.")),
    "invitation.refused": Sentence(
        _l("%(actor)s tried to invite an address that cannot be invited.")
    ),
    # Licenses and the license manager
    "license.created": Sentence(_l("%(actor)s added the license %(subject)s.")),
    "license.extended": Sentence(_l("%(actor)s changed the dates of the license %(subject)s.")),
    "license.revoked": Sentence(_l("%(actor)s revoked the license %(subject)s.")),
    "license.key_revealed": Sentence(_l("%(actor)s revealed the key of %(subject)s.")),
    "license.seats_changed": Sentence(
        _l("%(actor)s changed the number of seats of the license %(subject)s.")
    ),
    # Orders
    "order.placed": Sentence(_l("%(actor)s placed %(subject)s.")),
    "order.accepted": Sentence(_l("%(actor)s accepted %(subject)s.")),
    "order.declined": Sentence(_l("%(actor)s declined %(subject)s.")),
    "order.exported": Sentence(_l("%(actor)s exported the orders for the bookkeeping.")),
    "order_price.changed": Sentence(_l("%(actor)s changed the prices of %(subject)s.")),
    "manager.designated": Sentence(_l("%(actor)s chose %(subject)s to manage the licenses.")),
    "manager.designation_requested": Sentence(
        _l("%(actor)s asked %(subject)s to confirm managing the licenses.")
    ),
    "manager.confirmation_sent": Sentence(
        _l("%(actor)s sent the confirmation link to %(subject)s.")
    ),
    "manager.confirmed": Sentence(_l("%(actor)s confirmed managing the licenses.")),
    "manager.request_replaced": Sentence(
        _l("%(actor)s withdrew the request to %(subject)s to manage the licenses.")
    ),
    "manager.designation_refused": Sentence(
        _l("%(actor)s tried to choose a license manager from outside the company.")
    ),
    # Downloads, and the vendor's releases and news (events without a company)
    "release.downloaded": Sentence(_l("%(actor)s downloaded %(subject)s.")),
    "release.published": Sentence(_l("%(actor)s published %(subject)s.")),
    "release.end_of_life_set": Sentence(_l("%(actor)s set the end of life of %(subject)s.")),
    "product.created": Sentence(_l("%(actor)s added the product %(subject)s.")),
    "news.published": Sentence(_l("%(actor)s published the news item “%(subject)s”.")),
    # Contacts and consents
    "contact.created": Sentence(_l("%(actor)s added the contact %(subject)s.")),
    "contact.updated": Sentence(_l("%(actor)s changed the contact %(subject)s.")),
    "contact.deleted": Sentence(_l("%(actor)s deleted a contact.")),
    "contact.replaced": Sentence(
        _l("%(actor)s replaced a personal contact by the function address %(subject)s.")
    ),
    "consent.given": Sentence(_l("%(actor)s recorded the consent of %(subject)s.")),
    "consent.withdrawn": Sentence(_l("%(actor)s withdrew the consent of %(subject)s.")),
    # Support and disclosures
    "impersonation.started": Sentence(
        _l("%(actor)s started viewing the portal as %(subject)s: %(reason)s")
    ),
    "impersonation.stopped": Sentence(_l("%(actor)s stopped viewing the portal as %(subject)s.")),
    "impersonation.expired": Sentence(
        _l("The view of %(actor)s as %(subject)s reached its time limit.")
    ),
    "impersonation.refused": Sentence(
        _l("%(actor)s was refused viewing the portal as %(subject)s.")
    ),
    "disclosure.recorded": Sentence(_l("%(actor)s recorded a disclosure to %(recipient)s.")),
    "disclosure.confidentiality_lifted": Sentence(
        _l("%(actor)s lifted the confidentiality of a disclosure to %(recipient)s: %(reason)s")
    ),
    # Machines, minimum versions and API tokens
    "machine.activated": Sentence(
        _l("%(actor)s activated the machine %(host)s on the license %(subject)s.")
    ),
    "machine.activation_refused": Sentence(
        _l("%(actor)s was refused activating the machine %(host)s on the license %(subject)s.")
    ),
    "machine.deactivated": Sentence(
        _l("%(actor)s deactivated the machine %(host)s on the license %(subject)s.")
    ),
    "machine.license_file_issued": Sentence(
        _l("%(actor)s downloaded a license file for the machine %(host)s (%(subject)s).")
    ),
    "product.minimum_version_set": Sentence(
        _l("%(actor)s set the minimum version of %(subject)s.")
    ),
    "product.minimum_version_removed": Sentence(
        _l("%(actor)s removed the minimum version of %(subject)s.")
    ),
    "api_token.created": Sentence(_l("%(actor)s created the API token %(subject)s.")),
    "api_token.revoked": Sentence(_l("%(actor)s revoked the API token %(subject)s.")),
    "api_token.used": Sentence(_l("%(actor)s used the API token %(subject)s.")),
    "api_token.refused": Sentence(_l("%(actor)s was refused with the API token %(subject)s.")),
    # The customer relationship and data exports
    "company.created": Sentence(_l("%(actor)s added the company %(subject)s.")),
    "company.relationship_ended": Sentence(
        _l("%(actor)s recorded that the customer relationship ended on %(day)s.")
    ),
    "company.relationship_restarted": Sentence(_l("%(actor)s made %(subject)s a customer again.")),
    "export.downloaded": Sentence(_l("%(actor)s downloaded their own data.")),
    "activity.exported": Sentence(_l("%(actor)s exported the activity log.")),
}
READ_ONLY_REFUSED = _l("%(actor)s tried to change something during a read-only support view.")

OUTCOME_LABELS = {
    "success": _l("Done"),
    "failure": _l("Failed"),
    "refused": _l("Refused"),
    "ignored": _l("Nothing done"),
}
# Who acted when no account did (AuditEvent.actor_label), at the start of a sentence.
ACTOR_LABELS = {
    "anonymous": _l("Someone who was not signed in"),
    "cli": _l("The vendor (command line)"),
    "demo": _l("The demo data"),
    "removed staff account": _l("A removed staff member"),
}
RECIPIENTS = {
    RecipientKind.AUTHORITY.value: _l("an authority"),
    RecipientKind.BUSINESS_PARTNER.value: _l("a business partner"),
    RecipientKind.OTHER_PARTY.value: _l("another party"),
}


@dataclass(frozen=True)
class Line:
    """One event as the reader sees it."""

    event: AuditEvent
    who: str
    sentence: str
    outcome: str


def describe(events) -> list[Line]:
    events = list(events)
    names = _Names(events)
    return [_line(event, names) for event in events]


def _line(event: AuditEvent, names: "_Names") -> Line:
    who = names.actor(event)
    values = {
        "actor": who,
        "subject": names.subject(event),
        "reason": event.reason or "",
        **_extras(event),
    }
    sentence = SENTENCES.get(event.action)
    if sentence is None:
        text = _("%(actor)s: %(action)s", actor=who, action=event.action)
    else:
        text = str(_choose(sentence, event)) % values
    outcome = OUTCOME_LABELS.get(event.outcome, event.outcome)
    return Line(event=event, who=who, sentence=text, outcome=str(outcome))


def _choose(sentence: Sentence, event: AuditEvent):
    if event.action == "access.refused" and (event.details or {}).get("required") == (
        READ_ONLY_REFUSAL
    ):
        return READ_ONLY_REFUSED
    if event.outcome not in ("success", "ignored") and sentence.failed is not None:
        return sentence.failed
    about_themselves = (
        event.subject_type == "Account"
        and event.subject_id is not None
        and event.subject_id in (event.actor_account_id, event.acting_as_account_id)
    )
    if about_themselves and sentence.self_done is not None:
        return sentence.self_done
    return sentence.done


def _extras(event: AuditEvent) -> dict[str, str]:
    details = event.details or {}
    extras = {}
    if event.action == "account.role_changed":
        role = details.get("to")
        extras["role"] = str(ROLE_LABELS[CompanyRole(role)]) if role in _COMPANY_ROLES else ""
    if event.action == "company.relationship_ended":
        extras["day"] = details.get("ended_on") or ""
    if event.action.startswith("machine."):
        extras["host"] = details.get("hostname") or details.get("fingerprint") or ""
    if event.action in ("disclosure.recorded", "disclosure.confidentiality_lifted"):
        extras["recipient"] = str(RECIPIENTS.get(details.get("recipient_kind"), _l("someone")))
    return extras


_COMPANY_ROLES = {role.value for role in CompanyRole}


def _is_pseudonym(label: str | None) -> bool:
    return bool(label) and label.startswith(PSEUDONYM_PREFIX)


class _Names:
    """The names a page of events mentions, looked up once: one query per kind of object."""

    def __init__(self, events: list[AuditEvent]):
        ids = defaultdict(set)
        for event in events:
            for account_id in (event.actor_account_id, event.acting_as_account_id):
                if account_id is not None:
                    ids["Account"].add(account_id)
            if event.subject_type is not None and event.subject_id is not None:
                ids[event.subject_type].add(event.subject_id)
        self.accounts = self._accounts(ids["Account"])
        self.licenses = self._rows(
            ids["License"],
            sa.select(License.id, Product.name, License.seats).join(License.product),
            License.id,
        )
        self.contacts = self._rows(
            ids["Contact"],
            sa.select(Contact.id, sa.func.coalesce(Contact.name, Contact.email)),
            Contact.id,
        )
        self.companies = self._rows(ids["Company"], sa.select(Company.id, Company.name), Company.id)
        codes = {
            (event.details or {}).get("product")
            for event in events
            if event.subject_type in ("ReleaseFile", "Release")
        }
        self.products = self._rows(
            codes - {None}, sa.select(Product.code, Product.name), Product.code
        )

    @staticmethod
    def _accounts(ids: set[int]) -> dict[int, tuple[str, StaffRole | None]]:
        if not ids:
            return {}
        rows = db.session.execute(
            sa.select(
                Account.id, sa.func.coalesce(Account.name, Account.email), Account.staff_role
            ).where(Account.id.in_(ids))
        )
        return {account_id: (name, role) for account_id, name, role in rows}

    @staticmethod
    def _rows(keys: set, statement: sa.Select, key_column) -> dict:
        if not keys:
            return {}
        rows = db.session.execute(statement.where(key_column.in_(keys)))
        return {row[0]: row[1:] if len(row) > 2 else row[1] for row in rows}

    # -- people ----------------------------------------------------------------------------

    def person(self, account_id: int | None, *, at_start: bool = False) -> str:
        if account_id in self.accounts:
            name, staff_role = self.accounts[account_id]
            if staff_role is not None:
                return _("%(name)s (%(role)s)", name=name, role=ROLE_LABELS[staff_role])
            return name
        return str(_l("A removed person") if at_start else _l("a removed person"))

    def actor(self, event: AuditEvent) -> str:
        if event.actor_account_id is not None:
            who = self.person(event.actor_account_id, at_start=True)
        elif event.actor_label in ACTOR_LABELS:
            who = str(ACTOR_LABELS[event.actor_label])
        elif _is_pseudonym(event.actor_label):
            who = str(_l("A removed person"))
        elif event.actor_label:
            who = event.actor_label
        else:
            who = str(_l("The vendor"))
        acting_as = event.acting_as_account_id
        pseudonymised_view = _is_pseudonym((event.details or {}).get("acting_as"))
        if event.action.startswith("impersonation.") or not (acting_as or pseudonymised_view):
            return who
        return _(
            "%(actor)s, viewing the portal as %(person)s,",
            actor=who,
            person=self.person(acting_as),
        )

    # -- objects ---------------------------------------------------------------------------

    def subject(self, event: AuditEvent) -> str:
        kind, key, label = event.subject_type, event.subject_id, event.subject_label
        details = event.details or {}
        if kind == "Account":
            return self.person(key) if key is not None else str(_l("a removed person"))
        if kind == "License" and key in self.licenses:
            product, seats = self.licenses[key]
            return _("%(product)s, %(seats)d seats", product=product, seats=seats)
        if kind == "Contact":
            return self.contacts.get(key) or str(_l("a contact that has since been deleted"))
        if kind == "Company" and key in self.companies:
            return self.companies[key]
        if kind in ("ReleaseFile", "Release"):
            product = self.products.get(details.get("product"), details.get("product", ""))
            release = f"{product} {details.get('version', '')}".strip()
            if kind == "ReleaseFile" and label:
                return _("%(release)s (%(file)s)", release=release, file=label)
            return release
        if kind == "Order" and key is not None:
            return _("order %(number)s", number=key)
        if _is_pseudonym(label):
            return str(_l("a removed person"))
        return label or ""
