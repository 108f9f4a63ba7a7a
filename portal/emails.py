"""Email addresses as the portal stores them: syntax-checked and lower-cased, one way everywhere.

Logins, contacts, invitations, function addresses and the rate limits all normalise an address
with `normalize_email`, so one address is one account and one counter.
"""

from email_validator import EmailNotValidError, validate_email

from portal.i18n import lazy_gettext as _l
from portal.refusals import Refusal

EMAIL_MAX_LENGTH = 254

NOT_AN_ADDRESS = _l("Enter an email address like name@company.se.")


def normalize_email(value: str | None) -> str:
    """The address lower-cased, or a Refusal for the `email` field (no network look-up)."""
    # The raw value's length first: nothing longer is stripped, normalised or hashed.
    if value is not None and len(value) > EMAIL_MAX_LENGTH:
        raise Refusal(_l("The email address is too long."), field="email", code="invalid_email")
    text = (value or "").strip()
    if len(text) > EMAIL_MAX_LENGTH:
        raise Refusal(_l("The email address is too long."), field="email", code="invalid_email")
    try:
        address = validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        raise Refusal(NOT_AN_ADDRESS, field="email", code="invalid_email") from None
    return address.lower()
