"""The OpenAPI 3.1 description of the JSON API, served at `/api/v1/openapi.json`.

Request bodies come from their declarations in `portal.api.bodies` (the same rules validate the
requests); tests check that every route under `/api/v1` is described and Schemathesis checks
the answers against this document.
"""

from portal.api import bodies
from portal.machines import api_tokens, service, signing

ERROR_CODE_PATTERN = "^[a-z][a-z0-9_]*$"
SIGNATURE_PATTERN = "^keyid=[0-9a-f]{16}, ed25519=[A-Za-z0-9+/]{86}==$"
DATE = {"type": "string", "format": "date"}
OPTIONAL_DATE = {"type": ["string", "null"], "format": "date"}
MOMENT = {"type": "string", "format": "date-time"}
OPTIONAL_MOMENT = {"type": ["string", "null"], "format": "date-time"}
STRING = {"type": "string"}
ID = {"type": "integer", "minimum": 1}


def _object(properties: dict, description: str = "") -> dict:
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": list(properties),
        "properties": properties,
    }
    if description:
        schema["description"] = description
    return schema


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS = {
    "Error": _object(
        {
            "error": _object(
                {
                    "code": {"type": "string", "pattern": ERROR_CODE_PATTERN},
                    "message": {"type": "string"},
                }
            )
        },
        "Every error: a stable snake_case code for programs and a message for people.",
    ),
    "Machine": _object(
        {
            "id": ID,
            "fingerprint": STRING,
            "hostname": STRING,
            "product_version": STRING,
            "kind": {"type": "string", "enum": ["online", "offline"]},
            "activated_at": MOMENT,
            "last_validated_at": OPTIONAL_MOMENT,
            "stale": {
                "type": "boolean",
                "description": "Online and not seen for PORTAL_MACHINE_STALE_DAYS days.",
            },
        }
    ),
    "ActivationResponse": _object(
        {
            "machine": _ref("Machine"),
            "license": _object(
                {
                    "product": STRING,
                    "seats": {"type": "integer", "minimum": 1},
                    "seats_used": {"type": "integer", "minimum": 0},
                    "valid_until": OPTIONAL_DATE,
                    "maintenance_until": OPTIONAL_DATE,
                }
            ),
        }
    ),
    "ValidationResponse": _object(
        {
            "valid": {"type": "boolean"},
            "code": {"type": "string", "enum": list(service.VALIDATION_CODES)},
            "message": STRING,
            "nonce": {"type": "string", "description": "The request's nonce, echoed."},
            "checked_at": MOMENT,
            "license": {
                "oneOf": [
                    {"type": "null"},
                    _object(
                        {
                            "product": STRING,
                            "seats": {"type": "integer", "minimum": 1},
                            "valid_until": OPTIONAL_DATE,
                            "maintenance_until": OPTIONAL_DATE,
                        }
                    ),
                ],
                "description": "Null when the machine is not activated with the key.",
            },
            "machine": {"oneOf": [{"type": "null"}, _ref("Machine")]},
            "minimum_version": {
                "oneOf": [
                    {"type": "null"},
                    _object({"version": STRING, "effective_on": DATE}),
                ],
                "description": "The oldest version of the product allowed from a day on.",
            },
            "newest_version": {
                "type": ["string", "null"],
                "description": "The newest version the license may download.",
            },
        }
    ),
    "SigningKeys": _object(
        {
            "keys": {
                "type": "array",
                "items": _object(
                    {
                        "id": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
                        "public_key_pem": STRING,
                        "active": {"type": "boolean"},
                    }
                ),
            }
        },
        "The key in use (active) and former keys still within their grace period.",
    ),
    "License": _object(
        {
            "id": ID,
            "key": STRING,
            "product": STRING,
            "product_name": STRING,
            "state": {
                "type": "string",
                "enum": ["upcoming", "active", "expiring", "expired", "revoked"],
            },
            "seats": {"type": "integer", "minimum": 1},
            "seats_used": {"type": "integer", "minimum": 0},
            "valid_from": DATE,
            "valid_until": OPTIONAL_DATE,
            "maintenance_until": OPTIONAL_DATE,
            "machines": {"type": "array", "items": _ref("Machine")},
        }
    ),
    "Release": _object(
        {
            "id": ID,
            "product": STRING,
            "product_name": STRING,
            "version": STRING,
            "released_on": DATE,
            "end_of_life_on": OPTIONAL_DATE,
            "notes": STRING,
            "files": {
                "type": "array",
                "items": _object(
                    {
                        "id": ID,
                        "filename": STRING,
                        "size": {"type": "integer", "minimum": 0},
                        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                        "url": {"type": "string", "description": "Where to download it."},
                    }
                ),
            },
        }
    ),
    **{
        body.name: body.json_schema()
        for body in (bodies.ACTIVATE, bodies.VALIDATE, bodies.DEACTIVATE)
    },
}

SIGNED = {
    signing.HEADER: {
        "description": "Ed25519 signature of the exact body bytes, by the key `keyid` "
        "(see /signing-keys).",
        "required": True,
        "schema": {"type": "string", "pattern": SIGNATURE_PATTERN},
    }
}


def _json(schema: dict, description: str, **headers) -> dict:
    return {
        "description": description,
        "headers": {**SIGNED, **headers},
        "content": {"application/json": {"schema": schema}},
    }


def _error(description: str, **headers) -> dict:
    return _json(_ref("Error"), description, **headers)


RESPONSES = {
    "BadRequest": _error(
        "The request is malformed: not JSON, unknown or missing fields, or a value outside its "
        "rule (codes `invalid_json`, `invalid_body`, `unknown_field`, `missing_field`, "
        "`invalid_field`, `bad_request`)."
    ),
    "TooLarge": _error(
        f"The body is larger than {bodies.MAX_BODY_BYTES} bytes (`body_too_large`)."
    ),
    "UnsupportedMediaType": _error(
        "The body is not `application/json` (`unsupported_media_type`)."
    ),
    "RateLimited": _error(
        "Too many requests from this address or for this license key (`rate_limited`).",
        **{
            "Retry-After": {
                "description": "Seconds to wait.",
                "required": True,
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            }
        },
    ),
    "Unauthorized": _error(
        "No API token, or one that is unknown, expired or revoked (`token_missing`, "
        "`token_invalid`, `token_expired`, `token_revoked`).",
        **{
            "WWW-Authenticate": {
                "description": "The Bearer scheme.",
                "required": True,
                "schema": STRING,
            }
        },
    ),
    "InsufficientScope": _error("The token lacks the scope (`insufficient_scope`)."),
}


def _response(name: str) -> dict:
    return {"$ref": f"#/components/responses/{name}"}


def _body(body: bodies.Body) -> dict:
    return {"required": True, "content": {"application/json": {"schema": _ref(body.name)}}}


MACHINE_ERRORS = {
    "400": _response("BadRequest"),
    "413": _response("TooLarge"),
    "415": _response("UnsupportedMediaType"),
    "429": _response("RateLimited"),
}
TOKEN_ERRORS = {
    "400": _response("BadRequest"),
    "401": _response("Unauthorized"),
    "403": _response("InsufficientScope"),
    "429": _response("RateLimited"),
}
BEARER = [{"apiToken": []}]


def _paths() -> dict:
    return {
        "/machines/activate": {
            "post": {
                "operationId": "activateMachine",
                "summary": "Activate this machine: it takes a seat of the license.",
                "description": "Activating a fingerprint that is already active answers 200 and "
                "updates its hostname and version.",
                "requestBody": _body(bodies.ACTIVATE),
                "responses": {
                    "201": _json(_ref("ActivationResponse"), "Activated: a seat is taken."),
                    "200": _json(_ref("ActivationResponse"), "Already active on this license."),
                    "403": _error(
                        "The license is not in force, or the version is below the product's "
                        "minimum (`license_expired`, `license_revoked`, `license_not_yet_valid`, "
                        "`upgrade_required`)."
                    ),
                    "404": _error("No license has this key (`unknown_license`)."),
                    "409": _error("Every seat is taken (`seats_exhausted`)."),
                    **MACHINE_ERRORS,
                },
            }
        },
        "/machines/validate": {
            "post": {
                "operationId": "validateMachine",
                "summary": "Whether this machine may run this version now (signed, nonce echoed).",
                "requestBody": _body(bodies.VALIDATE),
                "responses": {
                    "200": _json(_ref("ValidationResponse"), "The verdict; `code` says why."),
                    **MACHINE_ERRORS,
                },
            }
        },
        "/machines/deactivate": {
            "post": {
                "operationId": "deactivateMachine",
                "summary": "Free this machine's seat (the same answer if it held none).",
                "requestBody": _body(bodies.DEACTIVATE),
                "responses": {
                    "204": {"description": "The fingerprint holds no seat.", "headers": SIGNED},
                    **MACHINE_ERRORS,
                },
            }
        },
        "/signing-keys": {
            "get": {
                "operationId": "signingKeys",
                "summary": "The public keys that verify Portal-Signature and license files.",
                "responses": {
                    "200": _json(_ref("SigningKeys"), "The keys, the active one first."),
                    "400": _response("BadRequest"),
                    "429": _response("RateLimited"),
                },
            }
        },
        "/licenses": {
            "get": {
                "operationId": "listLicenses",
                "summary": "The company's licenses with their machines (scope licenses:read).",
                "security": BEARER,
                "responses": {
                    "200": _json(
                        _object({"licenses": {"type": "array", "items": _ref("License")}}),
                        "The licenses, oldest first.",
                    ),
                    **TOKEN_ERRORS,
                },
            }
        },
        "/releases": {
            "get": {
                "operationId": "listReleases",
                "summary": "The releases the company may download (scope releases:download).",
                "security": BEARER,
                "responses": {
                    "200": _json(
                        _object({"releases": {"type": "array", "items": _ref("Release")}}),
                        "By product, newest first.",
                    ),
                    **TOKEN_ERRORS,
                },
            }
        },
        "/releases/files/{file_id}": {
            "get": {
                "operationId": "downloadReleaseFile",
                "summary": "The bytes of a release file (scope releases:download); recorded as "
                "a download of the company, like one from the web.",
                "security": BEARER,
                "parameters": [
                    {
                        "name": "file_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 0, "maximum": 2147483647},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "The file (Range and If-None-Match are honoured).",
                        "content": {
                            "application/octet-stream": {
                                "schema": {"type": "string", "format": "binary"}
                            }
                        },
                    },
                    "302": {
                        "description": "With a release store on S3: a redirect to the file "
                        "(a short-lived signed URL).",
                        "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
                    },
                    "404": _error("No such file is offered to the company (`not_found`)."),
                    **TOKEN_ERRORS,
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document.",
                "responses": {
                    "200": _json({"type": "object"}, "The OpenAPI 3.1 description."),
                },
            }
        },
    }


def document(server: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Kundportalen API",
            "version": "1",
            "description": "SafeLink's machine endpoints (the license key in the body; every "
            "JSON answer signed in Portal-Signature) and the company's automation with API "
            'tokens. Errors are `{"error": {"code", "message"}}` with a 4xx status.',
        },
        "servers": [{"url": server}],
        "paths": _paths(),
        "components": {
            "schemas": SCHEMAS,
            "responses": RESPONSES,
            "securitySchemes": {
                "apiToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A company API token (`slp_...`) with its scopes: "
                    + ", ".join(api_tokens.SCOPES),
                }
            },
        },
    }
