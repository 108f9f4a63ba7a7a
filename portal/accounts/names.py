"""The one rule for a person's name, wherever it is entered (profile, invitation, command line).

A name is one line of printable text: no control characters, no line or paragraph separators,
no invisible formatting characters (a right-to-left override shows other text than is stored),
at most `NAME_MAX_LENGTH` characters once runs of spaces are made one. Names appear in pages,
mails to colleagues and the audit trail, so nothing in them can start a new line of a mail.
"""

import unicodedata

from wtforms.validators import ValidationError

from portal.i18n import lazy_gettext as _l
from portal.refusals import Refusal

NAME_MAX_LENGTH = 100
# Unicode categories that are no part of a printed name: controls, invisible formatting,
# surrogates, private use, unassigned, and the line and paragraph separators.
_NOT_PRINTABLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def clean_name(value: str | None) -> str | None:
    """The name as stored (NFC, single spaces, trimmed), None when empty, or a Refusal."""
    text = unicodedata.normalize("NFC", value or "")
    if any(unicodedata.category(char) in _NOT_PRINTABLE for char in text):
        raise Refusal(
            _l("Write the name on one line, without line breaks or invisible characters."),
            field="name",
            code="name_not_printable",
        )
    text = " ".join(text.split())
    if len(text) > NAME_MAX_LENGTH:
        raise Refusal(
            _l("A name can be at most %(max)d characters long.", max=NAME_MAX_LENGTH),
            field="name",
            code="name_too_long",
        )
    return text or None


def valid_name(_form, field) -> None:
    """The WTForms validator of every name field: the same rule, shown beside the field."""
    try:
        clean_name(field.data)
    except Refusal as refusal:
        raise ValidationError(str(refusal)) from None
