"""The JSON API's endpoints: machine activation, validation and deactivation for SafeLink (the
license key in the body), the public signing keys, and the company's automation with API
tokens (licenses, entitled releases, release files). Every JSON answer is signed
(`portal.api.responses`); a refusal becomes the error shape there."""

from flask import current_app, request, url_for

from portal import access, clock, ratelimit
from portal.api import bodies, openapi
from portal.api.responses import empty_response, json_response
from portal.downloads import delivery
from portal.downloads.service import record_download
from portal.i18n import lazy_gettext as _l
from portal.licenses import entitlement
from portal.machines import api_tokens, service, signing
from portal.machines.fields import normalized_key
from portal.machines.license_files import iso_moment
from portal.machines.models import ApiToken, Machine
from portal.machines.service import MachineReport
from portal.refusals import Refusal

# --- machine endpoints (SafeLink) -------------------------------------------------------------


@access.API
@ratelimit.machine_requests_per_address
@ratelimit.machine_requests_per_license_key
def activate():
    body = bodies.ACTIVATE.read()
    report = MachineReport(body["fingerprint"], body["hostname"], body["product_version"])
    machine, created = service.activate_by_key(normalized_key(body["license_key"]), report)
    license = machine.license
    payload = {
        "machine": machine_json(machine),
        "license": {
            "product": license.product.code,
            "seats": license.seats,
            "seats_used": service.seats_used(license.id),
            "valid_until": _day(license.valid_until),
            "maintenance_until": _day(license.maintenance_until),
        },
    }
    return json_response(payload, 201 if created else 200)


VALIDATION_MESSAGES = {
    service.VALID: _l("The license is valid for this machine and version."),
    service.EXPIRED: _l("The license has expired."),
    service.REVOKED: _l("The license is revoked."),
    service.NOT_YET_VALID: _l("The license is not valid yet."),
    service.NOT_ACTIVATED: _l("This machine is not activated with this license key."),
    service.MAINTENANCE_ENDED: _l(
        "This version was released after the license's maintenance ended."
    ),
    service.UPGRADE_REQUIRED: _l("This version is older than the oldest version allowed."),
}


@access.API
@ratelimit.machine_requests_per_address
@ratelimit.machine_requests_per_license_key
def validate():
    body = bodies.VALIDATE.read()
    result = service.validate(
        normalized_key(body["license_key"]), body["fingerprint"], body["product_version"]
    )
    license, minimum = result.license, result.minimum
    payload = {
        "valid": result.valid,
        "code": result.code,
        "message": str(VALIDATION_MESSAGES[result.code]),
        "nonce": body["nonce"],
        "checked_at": iso_moment(clock.now()),
        "license": None
        if license is None
        else {
            "product": license.product.code,
            "seats": license.seats,
            "valid_until": _day(license.valid_until),
            "maintenance_until": _day(license.maintenance_until),
        },
        "machine": None if result.machine is None else machine_json(result.machine),
        "minimum_version": None
        if minimum is None
        else {"version": minimum.version, "effective_on": minimum.effective_on.isoformat()},
        "newest_version": result.newest_version,
    }
    return json_response(payload)


@access.API
@ratelimit.machine_requests_per_address
@ratelimit.machine_requests_per_license_key
def deactivate():
    body = bodies.DEACTIVATE.read()
    # The same answer whether or not the fingerprint held a seat: nothing tells a key exists.
    service.deactivate_by_key(normalized_key(body["license_key"]), body["fingerprint"])
    return empty_response()


@access.API
@ratelimit.machine_requests_per_address
def signing_keys():
    keys = [
        {"id": key.id, "public_key_pem": key.public_key_pem, "active": key.active}
        for key in signing.published_keys()
    ]
    return json_response({"keys": keys})


def machine_json(machine: Machine) -> dict:
    return {
        "id": machine.id,
        "fingerprint": machine.fingerprint,
        "hostname": machine.hostname,
        "product_version": machine.product_version,
        "kind": machine.kind.value,
        "activated_at": iso_moment(machine.activated_dt),
        "last_validated_at": _moment(machine.last_validated_dt),
        "stale": service.is_stale(machine),
    }


# --- automation (API tokens) ------------------------------------------------------------------

TOKEN_MESSAGES = {
    api_tokens.TOKEN_MISSING: _l("Send an API token: Authorization: Bearer <token>."),
    api_tokens.TOKEN_INVALID: _l("This API token is not valid."),
    api_tokens.TOKEN_EXPIRED: _l("This API token has expired. Create a new one in the portal."),
    api_tokens.TOKEN_REVOKED: _l("This API token has been revoked."),
    api_tokens.INSUFFICIENT_SCOPE: _l("This API token may not do this (its scopes)."),
}


def _token_for(scope: str) -> ApiToken:
    """The bearer token of the request, if it may do `scope`; every attempt is audited."""
    scheme, _space, secret = request.headers.get("Authorization", "").partition(" ")
    secret = secret.strip() if scheme.lower() == "bearer" else None
    result = api_tokens.check(secret, scope)
    api_tokens.record_use(result, endpoint=request.endpoint, method=request.method)
    if result.problem is not None:
        raise Refusal(TOKEN_MESSAGES[result.problem], code=result.problem)
    return result.token


@access.API
@ratelimit.api_requests_per_address
def licenses():
    token = _token_for(api_tokens.LICENSES_READ)
    rows = service.licenses_with_machines(token.company_id)
    return json_response(
        {
            "licenses": [
                {
                    "id": row.license.id,
                    "key": row.license.key,
                    "product": row.license.product.code,
                    "product_name": row.license.product.name,
                    "state": row.state,
                    "seats": row.license.seats,
                    "seats_used": len(row.machines),
                    "valid_from": row.license.valid_from.isoformat(),
                    "valid_until": _day(row.license.valid_until),
                    "maintenance_until": _day(row.license.maintenance_until),
                    "machines": [machine_json(machine) for machine in row.machines],
                }
                for row in rows
            ]
        }
    )


@access.API
@ratelimit.api_requests_per_address
def releases():
    token = _token_for(api_tokens.RELEASES_DOWNLOAD)
    offered = entitlement.offered_releases(token.company_id)
    return json_response(
        {
            "releases": [
                {
                    "id": release.id,
                    "product": release.product_code,
                    "product_name": release.product,
                    "version": release.version,
                    "released_on": release.released_on.isoformat(),
                    "end_of_life_on": _day(release.end_of_life_on),
                    "notes": release.notes,
                    "files": [
                        {
                            "id": file.id,
                            "filename": file.filename,
                            "size": file.size,
                            "sha256": file.sha256,
                            "url": url_for(".release_file", file_id=file.id),
                        }
                        for file in release.files
                    ],
                }
                for release in offered
            ]
        }
    )


NO_SUCH_FILE = _l("No release file with this id is offered to your company.")


@access.API
@ratelimit.api_requests_per_address
def release_file(file_id: int):
    token = _token_for(api_tokens.RELEASES_DOWNLOAD)
    offered = entitlement.offered_file(token.company_id, file_id)
    response = None
    if offered is not None:
        response = delivery.deliver(
            offered,
            lambda: record_download(
                None, offered, company_id=token.company_id, actor_label=api_tokens.label(token)
            ),
        )
    if response is None:
        raise Refusal(NO_SUCH_FILE, code="not_found")
    if response.status_code in (200, 206):
        # The bytes as bytes, whatever the file's name suggests (the API document says so).
        response.mimetype = "application/octet-stream"
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the description --------------------------------------------------------------------------


@access.API
def openapi_document():
    prefix = current_app.extensions["portal"].url_prefix
    return json_response(openapi.document(server=f"{request.script_root}{prefix}/api/v1"))


def _day(day) -> str | None:
    return day.isoformat() if day is not None else None


def _moment(moment) -> str | None:
    return iso_moment(moment) if moment is not None else None
