"""Odd input never makes a server error: every rule of the URL map, as every role, with integers
beyond the database's range, control characters, very long and non-UTF-8 values in the path and
the query (GET), and in the form of every route that takes a POST.

A fixed walk sends each kind of odd value to every argument of every rule; then Hypothesis sends
values it makes up. The roles and their objects are the access matrix's.
"""

from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import IntegerConverter

from tests import factories
from tests.test_access_matrix import (
    ENDS_THE_VIEW,
    IMPERSONATING,
    ROLES,
    URL_VALUES,
    _sign_in,
    world,  # noqa: F401  (the matrix's fixture)
)

# The integers a database cannot hold, or that no id has (PostgreSQL INTEGER is 32 bits).
ODD_INTEGERS = (2**31, 2**31 - 1, 2**32, 2**63, 2**63 - 1, 2**64, 10**30, 0)
# Already percent-encoded where the bytes are not UTF-8.
ODD_TEXTS = (
    "\x01\x1b[31m",
    "a\r\nSet-Cookie: x=1",
    "\x7f\u0085\u2028",
    "x" * 5000,
    "%FF%FE%80",
    "%C0%AF..%2F",
    "\u202e\ufeff",
    "-1",
    "9" * 40,
)
# Every query parameter a portal page reads, and two it does not.
QUERY_NAMES = (
    "page",
    "company",
    "subject",
    "format",
    "next",
    "product",
    "state",
    "sort",
    "order",
    "q",
    "email",
    "id",
)
# Form fields posted with the odd values (beside a valid CSRF token).
FORM_NAMES = ("email", "password", "name", "next", "reason", "role", "code", "page", "id")


def _quoted(value: str) -> str:
    return value if "%" in value else quote(value, safe="")


def _rules(app):
    return sorted(app.url_map.iter_rules(), key=lambda rule: (rule.rule, rule.endpoint))


def _path(app, rule, the_world, odd: dict[str, str]) -> str:
    """The rule's path with its arguments: the odd value where given (raw, not converted)."""
    values = {**URL_VALUES.get(rule.endpoint, lambda _w: {})(the_world)}
    trace = rule._trace[rule._trace.index((False, "|")) + 1 :]  # after the (empty) host part
    path = ""
    for is_dynamic, piece in trace:
        if not is_dynamic:
            path += piece
        elif piece in odd:
            path += odd[piece]
        else:
            converter = rule._converters[piece]
            default = 1 if isinstance(converter, IntegerConverter) else "x"
            path += quote(str(values.get(piece, default)), safe="")
    return path


def _send(client, rule, path: str, query: str, form: dict, token: str, role: str) -> list[str]:
    failures = []
    for method in sorted(rule.methods & {"GET", "POST"}):
        if method == "POST" and (
            rule.endpoint in ENDS_THE_VIEW or rule.endpoint == "portal.signin.logout"
        ):
            continue  # signing out or stopping the view would end the role for the rest
        kwargs = {}
        if method == "POST":
            kwargs["data"] = {"csrf_token": token, **form}
        response = client.open(f"{path}?{query}" if query else path, method=method, **kwargs)
        if response.status_code >= 500:
            failures.append(f"{role} {method} {path[:120]}?{query[:120]}: {response.status_code}")
    return failures


def _odd_arguments(rule, value_for) -> dict[str, str]:
    odd = {}
    for name, converter in rule._converters.items():
        odd[name] = value_for(isinstance(converter, IntegerConverter), name)
    return odd


def _signed_in(app, client, world, role) -> str:  # noqa: F811
    _sign_in(client, world, role)
    return factories.csrf_token(client, "/login" if role == "anonymous" else "/")


@pytest.mark.parametrize("role", ROLES)
def test_every_rule_answers_odd_input_without_a_server_error(app, client, world, role):  # noqa: F811
    token = _signed_in(app, client, world, role)
    failures = []
    numbers = [str(number) for number in ODD_INTEGERS]
    texts = [_quoted(text) for text in ODD_TEXTS]
    kinds = numbers + texts
    for rule in _rules(app):
        # Each odd number in the integer arguments, each odd text in the others (a rule with
        # neither: three rounds of odd queries and forms).
        has_int = any(isinstance(c, IntegerConverter) for c in rule._converters.values())
        has_text = any(not isinstance(c, IntegerConverter) for c in rule._converters.values())
        rounds = max(len(numbers) if has_int else 0, len(texts) if has_text else 0, 3)
        for n in range(rounds):
            odd = _odd_arguments(
                rule,
                lambda is_int, _name, n=n: (numbers if is_int else texts)[
                    n % len(numbers if is_int else texts)
                ],
            )
            # The query and the form odd too, a different kind for each name.
            query = "&".join(
                f"{name}={kinds[(n + i) % len(kinds)]}" for i, name in enumerate(QUERY_NAMES)
            )
            form = {name: _raw(kinds[(n + i) % len(kinds)]) for i, name in enumerate(FORM_NAMES)}
            failures += _send(client, rule, _path(app, rule, world, odd), query, form, token, role)
    assert not failures, "\n".join(failures[:40])
    if role == IMPERSONATING:
        assert "impersonation-banner" in client.get("/").get_data(as_text=True)


def _raw(value: str) -> str:
    """A form value: the text itself (percent-encoded bytes are sent as the characters)."""
    return value.replace("%FF", "\xff").replace("%FE", "\xfe").replace("%80", "\x80")


odd_int = st.one_of(
    st.sampled_from(ODD_INTEGERS),
    st.integers(min_value=2**31, max_value=2**80),
    st.integers(min_value=-(2**70), max_value=-1),
)
odd_text = st.one_of(
    st.text(min_size=1, max_size=60),
    st.text(alphabet=st.characters(max_codepoint=0x9F), min_size=1, max_size=20),
    st.binary(min_size=1, max_size=12).map(lambda b: "".join(f"%{byte:02X}" for byte in b)),
    st.sampled_from(ODD_TEXTS),
)
ODD = settings(
    max_examples=3,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("role", ROLES)
def test_hypothesis_finds_no_input_that_makes_a_server_error(app, client, world, role):  # noqa: F811
    token = _signed_in(app, client, world, role)
    rules = _rules(app)

    @ODD
    @given(data=st.data())
    def walk(data):
        failures = []
        for rule in rules:

            def value_for(is_int, _name):
                if is_int:
                    return str(data.draw(odd_int))
                return _quoted(data.draw(odd_text)) if data.draw(st.booleans()) else "x"

            odd = _odd_arguments(rule, value_for)
            query = urlencode({name: data.draw(odd_text) for name in QUERY_NAMES[:4]})
            form = {name: data.draw(odd_text) for name in FORM_NAMES[:3]}
            failures += _send(client, rule, _path(app, rule, world, odd), query, form, token, role)
        assert not failures, "\n".join(failures[:40])

    walk()


# The findings of the review, one by one ------------------------------------------------------


@pytest.mark.parametrize("next_url", ["/licenses/\x01", "/\r\nLocation: //evil.example", "/a\x7fb"])
def test_control_characters_in_next_after_signing_in_are_ignored(client, make_account, next_url):
    account = make_account("member")
    token = factories.csrf_token(client, "/login")
    response = client.post(
        "/login?" + urlencode({"next": next_url}),
        data={"email": account.email, "password": factories.PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("number", [2**31, 2**63, 2**64, 10**30])
@pytest.mark.parametrize(
    "path", ["/licenses/{}", "/contacts/{}", "/downloads/files/{}", "/staff/companies/{}"]
)
def test_an_id_beyond_the_databases_range_answers_404(client, make_account, path, number):
    factories.login_as(client, make_account("staff_admin" if "staff" in path else "admin"))
    assert client.get(path.format(number)).status_code == 404


@pytest.mark.parametrize("number", [2**31, 2**63, 10**30, -1])
def test_a_query_number_beyond_the_databases_range_is_ignored(client, make_account, number):
    factories.login_as(client, make_account("admin"))
    assert client.get(f"/company/activity?page={number}").status_code == 200
    factories.login_as(client, make_account("support"))
    response = client.get(f"/staff/disclosures/new?company={number}")
    assert response.status_code in (200, 404)
