"""Pseudonyms in the audit trail: the trail keeps every event and loses the person's identity.

`pseudonymise_accounts` replaces the accounts' ids with a keyed pseudonym, so events of one person
still belong together but nobody without the secret key can tell whose they were. A company
admin's removal, a person's erasure and the retention purge all call it.
"""

import hashlib
import hmac
import re

import sqlalchemy as sa
from flask import current_app

from portal.accounts.models import Account
from portal.audit import AuditEvent
from portal.db import among, db

PSEUDONYM_PREFIX = "pseudonym:"
PSEUDONYM_LENGTH = 12


def pseudonym(account_id: int) -> str:
    """`pseudonym:` and the first 12 hex digits of HMAC-SHA256(secret key, account id)."""
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    digest = hmac.new(key, str(account_id).encode(), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_LENGTH]


def pseudonymise_account(account_id: int, email: str | None = None) -> int:
    """Replace the account's identity in every audit event by its pseudonym; return the count.

    Events it did lose the actor id and the address it came from; events about it lose the
    subject id and label; events where someone acted as it keep the pseudonym in `details`;
    any label that holds its email address is emptied.
    """
    return pseudonymise_accounts([account_id], emails={account_id: email} if email else None)


def pseudonymise_accounts(account_ids, emails: dict[int, str] | None = None) -> int:
    """`pseudonymise_account` for many accounts at once, with a few statements per call.

    The retention purge calls it once per batch. Ids and addresses in an event's `details`
    (keys ending in `account_id`, strings holding an address) are replaced too. Labels and
    details are searched among the events of the accounts' companies (those that carry the
    company, which `audit.record` fills in from the subject or actor, and those about the
    company itself), or among all events for an account without a company, so that the cost
    follows the people, not the size of the trail.
    """
    ids = sorted(set(account_ids))
    if not ids:
        return 0
    db.session.flush()
    people = db.session.execute(
        sa.select(Account.id, Account.email, Account.company_id).where(among(Account.id, ids))
    ).all()
    addresses = {account_id: address for account_id, address, _ in people}
    addresses.update({k: v for k, v in (emails or {}).items() if v})
    addresses = {k: v.lower() for k, v in addresses.items() if k in ids and v}
    companies = {company_id for _, _, company_id in people if company_id is not None}
    unscoped = len(people) < len(ids) or any(company_id is None for _, _, company_id in people)
    labels = {account_id: pseudonym(account_id) for account_id in ids}
    # One UPDATE for the events they did and the events about them (often the same event).
    events = AuditEvent.__table__
    did = among(events.c.actor_account_id, ids)
    about = sa.and_(events.c.subject_type == "Account", among(events.c.subject_id, ids))
    count = db.session.execute(
        events.update()
        .where(sa.or_(did, about))
        .values(
            actor_account_id=sa.case((did, None), else_=events.c.actor_account_id),
            actor_label=sa.case(
                (did, _pseudonym_of(events.c.actor_account_id, labels)),
                else_=events.c.actor_label,
            ),
            ip_address=sa.case((did, None), else_=events.c.ip_address),
            subject_id=sa.case((about, None), else_=events.c.subject_id),
            subject_label=sa.case(
                (about, _pseudonym_of(events.c.subject_id, labels)),
                else_=events.c.subject_label,
            ),
        )
    ).rowcount
    changes = {}
    for event_id, acting_as, details in db.session.execute(
        sa.select(AuditEvent.id, AuditEvent.acting_as_account_id, AuditEvent.details).where(
            among(AuditEvent.acting_as_account_id, ids)
        )
    ):
        changes[event_id] = {
            "id": event_id,
            "acting_as_account_id": None,
            "details": {**(details or {}), "acting_as": labels[acting_as]},
        }
    scope = (
        sa.true()
        if unscoped
        else sa.or_(
            among(AuditEvent.company_id, companies),
            sa.and_(AuditEvent.subject_type == "Company", among(AuditEvent.subject_id, companies)),
        )
    )
    # Labels and details that may name the people: read the few candidates, clean them here.
    details_text = sa.cast(AuditEvent.details, sa.Text)
    address_set = set(addresses.values())
    for event_id, label, details in db.session.execute(
        sa.select(AuditEvent.id, AuditEvent.subject_label, AuditEvent.details).where(
            scope,
            sa.or_(
                AuditEvent.subject_label.contains("@"),
                sa.and_(
                    AuditEvent.details.is_not(None),
                    sa.or_(details_text.contains("account_id"), details_text.contains("@")),
                ),
            ),
        )
    ):
        change = changes.get(event_id, {"id": event_id})
        if label and any(address in label.lower() for address in address_set):
            change["subject_label"] = None
        current = change.get("details", details)
        cleaned = _without_people(current, labels, address_set)
        if cleaned != current:
            change["details"] = cleaned
        if len(change) > 1:
            changes[event_id] = change
    if changes:
        db.session.execute(sa.update(AuditEvent), list(changes.values()))
        count += len(changes)
    db.session.flush()
    # Objects of this session loaded before the bulk updates must not write old values back.
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, AuditEvent):
            db.session.expire(obj)
    return count


_PSEUDONYM_PATTERN = re.compile(rf"{PSEUDONYM_PREFIX}[0-9a-f]{{{PSEUDONYM_LENGTH}}}")


def _pseudonym_of(column, labels: dict[int, str]):
    """`CASE column WHEN id THEN 'pseudonym' ... END`, written out as SQL text.

    Built as text because hundreds of CASE branches as SQLAlchemy objects (or bound parameters)
    cost more than the update itself; ids are integers and pseudonyms hex digits, so it is safe.
    """
    branches = []
    for account_id, label in labels.items():
        if not _PSEUDONYM_PATTERN.fullmatch(label):
            raise ValueError("not a pseudonym")
        branches.append(f"WHEN {int(account_id)} THEN '{label}'")
    return sa.literal_column(f"CASE {column.name} {' '.join(branches)} END", sa.String)


def _without_people(details, labels: dict[int, str], addresses: set[str]):
    """`details` with the accounts' ids replaced by pseudonyms and their addresses removed."""
    if isinstance(details, dict):
        cleaned = {}
        for key, value in details.items():
            if key.endswith("account_id") and isinstance(value, int) and value in labels:
                cleaned[key] = labels[value]
            else:
                cleaned[key] = _without_people(value, labels, addresses)
        return cleaned
    if isinstance(details, list):
        return [_without_people(value, labels, addresses) for value in details]
    if isinstance(details, str) and any(address in details.lower() for address in addresses):
        return None
    return details
