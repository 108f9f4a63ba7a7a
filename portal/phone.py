"""Phone numbers: parsed with `phonenumbers` (Sweden by default), stored as E.164."""

import phonenumbers

DEFAULT_REGION = "SE"


class InvalidPhoneNumber(ValueError):
    pass


def to_e164(value: str, region: str = DEFAULT_REGION) -> str:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber(value) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(value)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def national(e164: str | None) -> str:
    """How a Swedish reader writes it: 070-123 45 67; foreign numbers keep their country code."""
    if not e164:
        return ""
    number = phonenumbers.parse(e164, None)
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if phonenumbers.region_code_for_number(number) == DEFAULT_REGION
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)
