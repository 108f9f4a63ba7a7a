"""The request bodies of the machine endpoints: small JSON objects of known string fields.

Each body is declared once; the same declaration validates the request and writes its JSON
Schema into the OpenAPI document. Refused: another media type than JSON (415), a body over
`MAX_BODY_BYTES` (413, checked before it is read), bytes that are not UTF-8 JSON, duplicate or
unknown keys, missing fields, and values outside their field's rule (400).
"""

import json
from dataclasses import dataclass

from flask import request

from portal.i18n import lazy_gettext as _l
from portal.machines import fields
from portal.machines.fields import Field
from portal.refusals import Refusal

# Every API request: the machine bodies are far smaller.
MAX_BODY_BYTES = 4096


@dataclass(frozen=True)
class Body:
    name: str  # the schema's name in the OpenAPI document
    fields: tuple[Field, ...]

    def json_schema(self) -> dict:
        return {
            "type": "object",
            "additionalProperties": False,
            "required": [field.name for field in self.fields],
            "properties": {field.name: field.json_schema() for field in self.fields},
        }

    def read(self) -> dict[str, str]:
        """The request's body, checked; refused with a code the API answers."""
        if request.mimetype != "application/json":
            raise Refusal(
                _l("Send the body as JSON (Content-Type: application/json)."),
                code="unsupported_media_type",
            )
        content = _parse(request.get_data(cache=True))
        if not isinstance(content, dict):
            raise Refusal(_l("The body must be a JSON object."), code="invalid_body")
        names = [field.name for field in self.fields]
        unknown = sorted(set(content) - set(names))
        if unknown:
            raise Refusal(
                _l("Unknown field: %(names)s.", names=", ".join(unknown)), code="unknown_field"
            )
        missing = [name for name in names if name not in content]
        if missing:
            raise Refusal(
                _l("Missing field: %(names)s.", names=", ".join(missing)), code="missing_field"
            )
        return {field.name: field.check(content[field.name]) for field in self.fields}


def _no_duplicate_keys(pairs):
    keys = [key for key, _value in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


def _no_constants(name):
    raise ValueError(f"{name} is not JSON")


def _parse(data: bytes):
    try:
        return json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_no_duplicate_keys,
            parse_constant=_no_constants,
        )
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Refusal(_l("The body is not valid JSON."), code="invalid_json") from None


ACTIVATE = Body(
    "ActivationRequest",
    (fields.LICENSE_KEY, fields.FINGERPRINT, fields.HOSTNAME, fields.PRODUCT_VERSION),
)
VALIDATE = Body(
    "ValidationRequest",
    (fields.LICENSE_KEY, fields.FINGERPRINT, fields.PRODUCT_VERSION, fields.NONCE),
)
DEACTIVATE = Body("DeactivationRequest", (fields.LICENSE_KEY, fields.FINGERPRINT))
