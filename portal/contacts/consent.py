"""Consent to being contacted by other parties: given and withdrawn, with the exact text agreed to.

The texts are declared once here, versioned; a new wording is a new version appended to
`CONSENT_TEXTS`, never an edit of an old one. Each record stores the version and the text itself,
so what a person agreed to stays readable after the wording changes. A record is active until it
is withdrawn; withdrawal sets `withdrawn_dt` and takes effect at once.

Plain functions that a view, a command and a job can all call; they never commit.
"""

from dataclasses import dataclass

import sqlalchemy as sa

from portal import audit, clock
from portal.accounts.models import Account
from portal.contacts.models import CONSENT_PURPOSE as PURPOSE
from portal.contacts.models import ConsentRecord, Contact, RecordedBy
from portal.db import db
from portal.i18n import LANGUAGES
from portal.i18n import lazy_gettext as _l
from portal.refusals import Refusal


@dataclass(frozen=True)
class ConsentText:
    version: int
    sv: str
    en: str

    def in_language(self, language: str) -> str:
        return self.en if language == "en" else self.sv


# Append a new version to change the wording; never edit a published one.
CONSENT_TEXTS: tuple[ConsentText, ...] = (
    ConsentText(
        1,
        sv=(
            "Jag samtycker till att leverantören lämnar mitt namn och min e-postadress till "
            "andra parter, till exempel samarbetspartner, så att de kan kontakta mig om "
            "leverantörens produkter. Jag kan när som helst återkalla samtycket i kundportalen; "
            "återkallelsen gäller genast."
        ),
        en=(
            "I agree that the vendor may give my name and email address to other parties, such "
            "as partners, so that they can contact me about the vendor's products. I can "
            "withdraw this consent at any time in the customer portal; the withdrawal takes "
            "effect at once."
        ),
    ),
)


def current_text() -> ConsentText:
    return CONSENT_TEXTS[-1]


def text_version(version: int) -> ConsentText | None:
    return next((text for text in CONSENT_TEXTS if text.version == version), None)


def _person_clause(person):
    if isinstance(person, Account):
        return ConsentRecord.account_id == person.id
    if isinstance(person, Contact):
        return ConsentRecord.contact_id == person.id
    raise TypeError(f"consent is given by an account or a contact, not {type(person).__name__}")


def history(person) -> list[ConsentRecord]:
    """Every consent the person has given, newest first."""
    return list(
        db.session.scalars(
            sa.select(ConsentRecord)
            .where(_person_clause(person), ConsentRecord.purpose == PURPOSE)
            .order_by(ConsentRecord.given_dt.desc(), ConsentRecord.id.desc())
        )
    )


def active_consent(person) -> ConsentRecord | None:
    return db.session.scalar(
        sa.select(ConsentRecord)
        .where(
            _person_clause(person),
            ConsentRecord.purpose == PURPOSE,
            ConsentRecord.withdrawn_dt.is_(None),
        )
        .order_by(ConsentRecord.given_dt.desc())
        .limit(1)
    )


def give(
    person, *, version: int, language: str, recorded_by: Account, as_role: RecordedBy
) -> ConsentRecord:
    """Record that the person agreed to text `version` in `language` (the one they were shown).

    Only the current version can be agreed to: a page shown before the wording changed is
    refused, so nobody is recorded as agreeing to a text they did not read.
    """
    text = current_text()
    if version != text.version:
        raise Refusal(_l("The text has changed since the page was shown. Read the new text."))
    if language not in LANGUAGES:
        raise Refusal(_l("Choose the language of the text."))
    if active_consent(person) is not None:
        raise Refusal(_l("The consent is already given."))
    record = ConsentRecord(
        account_id=person.id if isinstance(person, Account) else None,
        contact_id=person.id if isinstance(person, Contact) else None,
        purpose=PURPOSE,
        text_version=text.version,
        language=language,
        text=text.in_language(language),
        given_dt=clock.now(),
        recorded_by_account_id=recorded_by.id,
        recorded_by=as_role,
    )
    db.session.add(record)
    db.session.flush()
    audit.record(
        "consent.given",
        actor=recorded_by,
        subject=person,
        company_id=person.company_id,
        details={"consent_id": record.id, "version": text.version, "purpose": PURPOSE},
    )
    return record


def withdraw(person, *, recorded_by: Account, as_role: RecordedBy) -> ConsentRecord:
    """Withdraw the person's active consent, effective now."""
    record = active_consent(person)
    if record is None:
        raise Refusal(_l("There is no consent to withdraw."))
    record.withdrawn_dt = clock.now()
    record.withdrawn_by_account_id = recorded_by.id
    record.withdrawn_by = as_role
    audit.record(
        "consent.withdrawn",
        actor=recorded_by,
        subject=person,
        company_id=person.company_id,
        details={"consent_id": record.id, "purpose": PURPOSE},
    )
    return record
