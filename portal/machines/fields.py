"""What a SafeLink client sends about itself, each value's rule written once.

The JSON API validates its bodies with these, the OpenAPI document publishes them as patterns,
and the offline-machine form and the machine request file are checked with the same rules.
A pattern is a regular expression without anchors; it must match the whole value.
"""

import re
from dataclasses import dataclass

from portal.i18n import lazy_gettext as _l
from portal.licenses import keys
from portal.machines import versions
from portal.refusals import Refusal

INVALID_FIELD = "invalid_field"


@dataclass(frozen=True)
class Field:
    name: str
    pattern: str
    max_length: int
    description: str
    example: str
    min_length: int = 1

    def check(self, value: object) -> str:
        """The value if it follows the rule; else a refusal naming the field."""
        if not isinstance(value, str):
            raise Refusal(
                _l("%(field)s must be a string.", field=self.name),
                field=self.name,
                code=INVALID_FIELD,
            )
        if not self.min_length <= len(value) <= self.max_length or not self.matches(value):
            raise Refusal(
                _l("%(field)s is not valid: %(rule)s", field=self.name, rule=self.description),
                field=self.name,
                code=INVALID_FIELD,
            )
        return value

    def matches(self, value: str) -> bool:
        return _compiled(self.pattern).fullmatch(value) is not None

    def json_schema(self) -> dict:
        return {
            "type": "string",
            "minLength": self.min_length,
            "maxLength": self.max_length,
            "pattern": f"^(?:{self.pattern})$",
            "description": str(self.description),
            "examples": [self.example],
        }


_PATTERNS: dict[str, re.Pattern] = {}


def _compiled(pattern: str) -> re.Pattern:
    if pattern not in _PATTERNS:
        _PATTERNS[pattern] = re.compile(pattern)
    return _PATTERNS[pattern]


_KEY_CHARACTER = f"[{keys.ALPHABET}{keys.ALPHABET.lower()}]"
_KEY_GROUP = f"{_KEY_CHARACTER}{{{keys.GROUP_LENGTH}}}"

LICENSE_KEY = Field(
    "license_key",
    f"{_KEY_GROUP}(-{_KEY_GROUP}){{{keys.GROUPS - 1}}}",
    keys.GROUPS * (keys.GROUP_LENGTH + 1) - 1,
    _l("the license key as printed, five groups of five characters separated by hyphens"),
    "7KQ2M-XH4PD-9RTWC-FJ3AN-6BVEY",
)
FINGERPRINT = Field(
    "fingerprint",
    "[A-Za-z0-9._:+/=-]{8,128}",
    128,
    _l("8 to 128 letters a–z, digits or . _ : + / = -, the same on every start of the machine"),
    "4f9c2a7e1b8d4c3a9e6f0b2d7c5a1e8f",
    min_length=8,
)
HOSTNAME = Field(
    "hostname",
    "[A-Za-z0-9]([A-Za-z0-9._-]{0,252})",
    253,
    _l("the machine's name: letters a–z, digits, dots, hyphens and underscores (at most 253)"),
    "ekonomi-srv01.example.se",
)
PRODUCT_VERSION = Field(
    "product_version",
    versions.PATTERN,
    versions.MAX_LENGTH,
    _l("the installed version: up to four dot-separated numbers, e.g. 6.2.1"),
    "6.2.1",
)
NONCE = Field(
    "nonce",
    "[A-Za-z0-9._~+/=-]{8,128}",
    128,
    _l("8 to 128 characters of your choosing (letters, digits or . _ ~ + / = -), new each time"),
    "b7f3c9d2e4a14c6f8a0b",
    min_length=8,
)


def normalized_key(value: str) -> str:
    """License keys are stored in upper case; a client may send them in either case."""
    return value.upper()
