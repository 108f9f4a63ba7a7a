"""Checking the portal's Ed25519 signatures as a SafeLink client would: with OpenSSL's command
line and with the public key published at /api/v1/signing-keys, not with the portal's code."""

import base64
import re
import subprocess
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

HEADER = re.compile(r"^keyid=(?P<key_id>[0-9a-f]{16}), ed25519=(?P<signature>[A-Za-z0-9+/]{86}==)$")


def parse_header(value: str) -> tuple[str, bytes]:
    match = HEADER.match(value or "")
    assert match, f"not a Portal-Signature header: {value!r}"
    return match["key_id"], base64.b64decode(match["signature"])


def openssl_verifies(public_key_pem: str, data: bytes, signature: bytes, folder: Path) -> bool:
    """`openssl pkeyutl -verify -pubin -rawin -inkey pub.pem -in body -sigfile sig`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pub.pem").write_text(public_key_pem)
    (folder / "body").write_bytes(data)
    (folder / "sig").write_bytes(signature)
    result = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-rawin",
            "-inkey",
            str(folder / "pub.pem"),
            "-in",
            str(folder / "body"),
            "-sigfile",
            str(folder / "sig"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0 and "Signature Verified Successfully" in result.stdout


def published_key(client, key_id: str) -> str:
    keys = client.get("/api/v1/signing-keys").get_json()["keys"]
    return next(key["public_key_pem"] for key in keys if key["id"] == key_id)


def library_verifies(public_key_pem: str, data: bytes, signature: bytes) -> bool:
    """The same check with the `cryptography` library (OpenSSL 3.0's command line cannot read
    an empty message: "Could not allocate 0 bytes for oneshot sign/verify buffer")."""
    key = serialization.load_pem_public_key(public_key_pem.encode())
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def verify_response(client, response, folder: Path) -> bool:
    """The response's signature verifies with the key its header names: by OpenSSL, and for an
    empty body (a 204) by the `cryptography` library."""
    key_id, signature = parse_header(response.headers.get("Portal-Signature"))
    public_key = published_key(client, key_id)
    if not response.get_data():
        return library_verifies(public_key, b"", signature)
    return openssl_verifies(public_key, response.get_data(), signature, folder)
