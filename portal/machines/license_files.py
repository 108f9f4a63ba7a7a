"""Offline license files, and the machine request files SafeLink writes for them.

A license file is text: a `SAFELINK LICENSE` block holding the base64 of a JSON document, then a
`SAFELINK SIGNATURE` block holding the base64 of the Ed25519 signature of exactly those JSON
bytes (decoded from the first block), made with the key named in the document's `key_id`:

    -----BEGIN SAFELINK LICENSE-----
    eyJmb3JtYXQiOjEsImlzc3VlZCI6IjIwMjYtMTItMDJUMDk6MDA6MDBaIiwi...
    -----END SAFELINK LICENSE-----
    -----BEGIN SAFELINK SIGNATURE-----
    mX3l0Xy6c0F1...==
    -----END SAFELINK SIGNATURE-----

The document: `format` (1), `key_id`, `issued` and `expires` (ISO 8601 UTC), `license` (id,
product, seats, valid_from, valid_until, maintenance_until), `machine` (id, fingerprint,
hostname, product_version) and `minimum_version` ({version, effective_on} or null). Base64 lines
are 64 characters; the README shows how to verify a file with OpenSSL.

A machine request file is what SafeLink writes on a machine without internet: a
`SAFELINK MACHINE REQUEST` block holding the base64 of `{"fingerprint", "hostname",
"product_version"}` (a bare JSON object is accepted too).
"""

import base64
import binascii
import json
import re
import textwrap
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app

from portal import audit, clock
from portal.i18n import lazy_gettext as _l
from portal.licenses.models import License
from portal.machines import fields, service, signing
from portal.machines.models import Machine, MachineKind, MinimumVersion
from portal.machines.service import MachineReport
from portal.machines.signing import Signer
from portal.refusals import Refusal

FORMAT = 1
LICENSE_BLOCK = "SAFELINK LICENSE"
SIGNATURE_BLOCK = "SAFELINK SIGNATURE"
REQUEST_BLOCK = "SAFELINK MACHINE REQUEST"
LINE_LENGTH = 64
MAX_REQUEST_FILE_BYTES = 4096
REQUEST_FIELDS = (fields.FINGERPRINT, fields.HOSTNAME, fields.PRODUCT_VERSION)


def iso_moment(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _block(name: str, data: bytes) -> str:
    lines = textwrap.wrap(base64.b64encode(data).decode("ascii"), LINE_LENGTH)
    return "\n".join([f"-----BEGIN {name}-----", *lines, f"-----END {name}-----"])


def _end_of_day(day: date) -> datetime:
    """The moment a license valid until `day` ends: midnight after it, in Stockholm."""
    local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=clock.LOCAL_TIMEZONE)
    return local.astimezone(UTC)


def expiry(license: License, issued: datetime, days: int) -> datetime:
    """`days` after issue, but never past the license's own end."""
    expires = issued + timedelta(days=days)
    if license.valid_until is not None:
        expires = min(expires, _end_of_day(license.valid_until))
    return expires


def document(
    license: License,
    machine: Machine,
    minimum: MinimumVersion | None,
    *,
    key_id: str,
    issued: datetime,
    expires: datetime,
) -> dict:
    return {
        "format": FORMAT,
        "key_id": key_id,
        "issued": iso_moment(issued),
        "expires": iso_moment(expires),
        "license": {
            "id": license.id,
            "product": license.product.code,
            "seats": license.seats,
            "valid_from": license.valid_from.isoformat(),
            "valid_until": _iso_day(license.valid_until),
            "maintenance_until": _iso_day(license.maintenance_until),
        },
        "machine": {
            "id": machine.id,
            "fingerprint": machine.fingerprint,
            "hostname": machine.hostname,
            "product_version": machine.product_version,
        },
        "minimum_version": (
            None
            if minimum is None
            else {"version": minimum.version, "effective_on": minimum.effective_on.isoformat()}
        ),
    }


def issue(license: License, machine: Machine, *, actor=None) -> str:
    """A fresh license file for an offline machine of the license (audited).

    Refused while the license is not in force: a file must not outlive what it licenses.
    """
    if machine.kind != MachineKind.OFFLINE or machine.license_id != license.id:
        raise Refusal(_l("License files are made for offline machines only."), code="not_offline")
    service.check_license_takes_machines(license, clock.today())
    signer = signing.signer()
    issued = clock.now()
    expires = expiry(license, issued, current_app.config["PORTAL_OFFLINE_LICENSE_DAYS"])
    content = document(
        license,
        machine,
        service.minimum_version_of(license.product_id),
        key_id=signer.key_id,
        issued=issued,
        expires=expires,
    )
    audit.record(
        "machine.license_file_issued",
        actor=actor,
        subject=license,
        company_id=license.company_id,
        details={
            "machine_id": machine.id,
            "fingerprint": machine.fingerprint,
            "hostname": machine.hostname,
            "key_id": signer.key_id,
            "expires": content["expires"],
        },
    )
    return render(content, signer)


def _iso_day(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def render(content: dict, signer: Signer) -> str:
    """The license file of a document, signed over its exact JSON bytes."""
    payload = json.dumps(content, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    data = payload.encode("utf-8")
    return f"{_block(LICENSE_BLOCK, data)}\n{_block(SIGNATURE_BLOCK, signer.signature(data))}\n"


@dataclass(frozen=True)
class ReadFile:
    payload: bytes  # the signed JSON bytes
    signature: bytes

    @property
    def document(self) -> dict:
        return json.loads(self.payload)


def read(text: str) -> ReadFile:
    """The two blocks of a license file (what SafeLink does before it verifies the signature)."""
    payload = _decode_block(text, LICENSE_BLOCK)
    signature = _decode_block(text, SIGNATURE_BLOCK)
    if payload is None or signature is None:
        raise ValueError("not a SafeLink license file")
    return ReadFile(payload, signature)


def _decode_block(text: str, name: str) -> bytes | None:
    match = re.search(
        rf"-----BEGIN {name}-----\s*(?P<body>[A-Za-z0-9+/=\s]*?)\s*-----END {name}-----", text
    )
    if match is None:
        return None
    try:
        return base64.b64decode("".join(match["body"].split()), validate=True)
    except (binascii.Error, ValueError):
        return None


# --- machine request files -------------------------------------------------------------------

UNREADABLE = _l(
    "The file is not a SafeLink machine request. Choose the .req file SafeLink wrote on the"
    " machine, or type the machine's details instead."
)


def parse_request(data: bytes) -> MachineReport:
    """The machine described by a request file; refused (field `request_file`) otherwise."""
    if len(data) > MAX_REQUEST_FILE_BYTES:
        raise Refusal(UNREADABLE, field="request_file", code="invalid_request_file")
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise Refusal(UNREADABLE, field="request_file", code="invalid_request_file") from None
    inner = _decode_block(text, REQUEST_BLOCK)
    try:
        content = json.loads(inner if inner is not None else text)
    except (ValueError, UnicodeDecodeError):
        raise Refusal(UNREADABLE, field="request_file", code="invalid_request_file") from None
    if not isinstance(content, dict) or set(content) != {field.name for field in REQUEST_FIELDS}:
        raise Refusal(UNREADABLE, field="request_file", code="invalid_request_file")
    try:
        values = {field.name: field.check(content[field.name]) for field in REQUEST_FIELDS}
    except Refusal as refusal:
        raise Refusal(refusal.message, field="request_file", code=refusal.code) from None
    return MachineReport(**values)


def request_file(report: MachineReport) -> str:
    """A request file as SafeLink writes it (for tests and the README's example)."""
    content = {
        "fingerprint": report.fingerprint,
        "hostname": report.hostname,
        "product_version": report.product_version,
    }
    data = json.dumps(content, separators=(",", ":")).encode("utf-8")
    return _block(REQUEST_BLOCK, data) + "\n"
