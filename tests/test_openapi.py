"""`/api/v1/openapi.json` describes every API route, and Schemathesis holds the API to it: no
server error, no answer outside the document, invalid requests refused with a 4xx.

Schemathesis runs once (on SQLite, or wherever PORTAL_TEST_DATABASE_URL is not set) with a
bounded number of examples per operation, so the suite stays quick; the contract does not
depend on the database.
"""

import os
import re

import pytest
import schemathesis
from schemathesis.engine import Status, events

from portal.api.guard import API_PATH
from portal.db import db
from tests import factories

RUN_SCHEMATHESIS = not os.environ.get("PORTAL_TEST_DATABASE_URL")
EXAMPLES_PER_OPERATION = 100


def _documented(document) -> set[tuple[str, str]]:
    return {
        (f"{API_PATH}{path}", method.upper())
        for path, operations in document["paths"].items()
        for method in operations
    }


def _routed(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API_PATH):
            continue
        path = re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", r"{\1}", rule.rule)
        routes |= {(path, method) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def test_every_api_route_is_in_the_document_and_nothing_else(app, client):
    document = client.get(f"{API_PATH}/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert _routed(app) == _documented(document)


def test_the_document_is_signed_json_and_names_its_server(client):
    response = client.get(f"{API_PATH}/openapi.json")
    assert response.mimetype == "application/json"
    assert response.headers["Portal-Signature"].startswith("keyid=")
    assert response.get_json()["servers"] == [{"url": API_PATH}]


def test_the_request_bodies_are_the_ones_the_api_validates(client):
    from portal.api import bodies

    schemas = client.get(f"{API_PATH}/openapi.json").get_json()["components"]["schemas"]
    for body in (bodies.ACTIVATE, bodies.VALIDATE, bodies.DEACTIVATE):
        assert schemas[body.name] == body.json_schema()
        assert schemas[body.name]["additionalProperties"] is False


def test_a_mounted_portal_describes_its_api_under_its_prefix(app_config, tmp_path):
    from flask import Flask

    from portal import Portal

    host = Flask("host", instance_path=str(tmp_path / "host"))
    host.config.update({**app_config, "SECRET_KEY": "host secret"})
    Portal().init_app(host, url_prefix="/kundportal")
    client = host.test_client()
    document = client.get(f"/kundportal{API_PATH}/openapi.json").get_json()
    assert document["servers"] == [{"url": f"/kundportal{API_PATH}"}]
    missing = client.get(f"/kundportal{API_PATH}/nothing")
    assert (missing.status_code, missing.get_json()["error"]["code"]) == (404, "not_found")
    assert client.get("/not-the-portal").mimetype != "application/json"  # the host's own 404


# --- Schemathesis ---------------------------------------------------------------------------------


@pytest.fixture
def api_token(app_ctx):
    """A company with a license, a release and a token with both scopes, for the deep paths."""
    company = factories.make_company("Schema AB")
    admin = factories.make_account("admin", company=company)
    license = factories.make_license(company, "safelink", seats=3, maintenance_until=None)
    factories.make_machine(license, hostname="schema-machine")
    factories.make_release("safelink")
    _token, secret = factories.make_api_token(company, admin)
    db.session.commit()
    return secret


def _run_schemathesis(app, headers: dict) -> tuple[list[str], int]:
    """Every phase of a Schemathesis run (examples, coverage, fuzzing, stateful links) against the
    app through WSGI, in this thread; the failures found, and how many checks ran."""
    schema = schemathesis.openapi.from_wsgi(f"{API_PATH}/openapi.json", app)
    schema.config.update(headers=headers, workers=1)
    # Every check, except `ignored_auth`: its probe passes socket options to the WSGI client
    # (a Schemathesis 4.32 bug). tests/test_api_access.py checks the same thing, token by token.
    schema.config.checks.update(included_check_names=["all"], excluded_check_names=["ignored_auth"])
    schema.config.generation.update(
        max_examples=EXAMPLES_PER_OPERATION, deterministic=True, database="none"
    )
    failures, checks = [], 0
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.NonFatalError | events.FatalError):
            error = getattr(event, "value", None) or getattr(event, "exception", None)
            failures.append(f"error in {getattr(event, 'label', 'the run')}: {error!r}")
        if not isinstance(event, events.ScenarioFinished):
            continue
        for case_id, nodes in event.recorder.checks.items():
            for node in nodes:
                checks += 1
                if node.status == Status.FAILURE:
                    case = event.recorder.cases[case_id].value
                    failures.append(
                        f"{node.name}: {case.method} {case.formatted_path}: "
                        f"{node.failure_info.failure.title if node.failure_info else ''}"
                    )
    return failures, checks


@pytest.mark.skipif(not RUN_SCHEMATHESIS, reason="Schemathesis runs once, in the SQLite run")
def test_the_api_keeps_to_its_openapi_document(app, api_token):
    failures, checks = _run_schemathesis(app, {"Authorization": f"Bearer {api_token}"})
    assert checks > 1000, f"only {checks} checks ran"
    assert not failures, "\n".join(sorted(set(failures)))
