"""Swedish by default, English on request; the Swedish catalog keeps up with the sources."""

from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from portal.db import db
from portal.i18n import LANGUAGE_COOKIE
from tests.factories import login_as

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "portal" / "translations" / "sv" / "LC_MESSAGES" / "messages.po"
COMPILED = CATALOG.with_suffix(".mo")


@pytest.fixture(scope="module")
def source_messages(tmp_path_factory):
    """Every msgid in the sources, extracted the way `make translations` does it."""
    template = tmp_path_factory.mktemp("i18n") / "messages.pot"
    CommandLineInterface().run(
        [
            "pybabel", "--quiet", "extract", "-F", str(ROOT / "babel.cfg"),
            "-k", "_l", "-k", "lazy_gettext", "--no-location",
            "-o", str(template), str(ROOT / "portal"), str(ROOT / "templates"),
        ]
    )  # fmt: skip
    with template.open("rb") as handle:
        return [message for message in read_po(handle) if message.id]


@pytest.fixture(scope="module")
def swedish():
    with CATALOG.open("rb") as handle:
        return read_po(handle)


def label(message_id) -> str:
    return message_id[0] if isinstance(message_id, tuple) else message_id


def test_sources_have_messages_to_translate(source_messages):
    ids = {label(message.id) for message in source_messages}
    assert "Sign in" in ids
    assert "Page not found" in ids  # a lazy_gettext (_l) message


def test_swedish_catalog_translates_every_message_of_the_sources(source_messages, swedish):
    problems = []
    for message in source_messages:
        translated = swedish.get(message.id)
        if translated is None:
            problems.append(f"missing: {label(message.id)!r}")
        elif translated.fuzzy:
            problems.append(f"fuzzy: {label(message.id)!r}")
        elif not all(translated.string) if translated.pluralizable else not translated.string:
            problems.append(f"untranslated: {label(message.id)!r}")
    assert problems == [], f"{len(problems)} messages (run `make translations`):\n" + "\n".join(
        problems[:40]
    )


def test_compiled_catalog_matches_the_swedish_catalog(swedish):
    assert COMPILED.exists(), "run `make catalogs`"
    with COMPILED.open("rb") as handle:
        compiled = read_mo(handle)
    translated = {m.id: m.string for m in swedish if m.id and m.string and not m.fuzzy}

    def plain(string):  # a plural's forms are a tuple in the .po and a list in the .mo
        return tuple(string) if isinstance(string, list | tuple) else string

    def compiled_string(message_id):
        message = compiled.get(message_id)
        return None if message is None else plain(message.string)

    stale = [label(i) for i, text in translated.items() if compiled_string(i) != plain(text)]
    assert stale == [], "run `make catalogs`"


def page_language(response) -> str:
    text = response.get_data(as_text=True)
    return text.split('<html lang="', 1)[1].split('"', 1)[0]


def test_page_without_a_language_header_is_swedish(client):
    assert page_language(client.get("/login")) == "sv"


def test_browser_asking_for_english_gets_english(client):
    response = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert page_language(response) == "en"
    assert "<h1>Sign in</h1>" in response.get_data(as_text=True)


def test_browser_language_the_portal_does_not_speak_gets_swedish(client):
    response = client.get("/login", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert page_language(response) == "sv"


def test_language_switch_wins_over_the_browser_language(client):
    client.set_cookie(LANGUAGE_COOKIE, "sv")
    response = client.get("/login", headers={"Accept-Language": "en"})
    assert page_language(response) == "sv"


def test_signed_in_account_language_wins_over_the_browser(client, make_account):
    account = make_account("member")
    account.language = "en"
    db.session.flush()
    login_as(client, account)
    response = client.get("/", headers={"Accept-Language": "sv"})
    assert page_language(response) == "en"


def test_language_switch_offers_the_other_language(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'lang="en">English</a>' in page
    assert 'aria-current="true" lang="sv">Svenska</span>' in page


def test_no_translated_string_hides_inside_an_f_string():
    """Babel's extractor cannot see `_()` inside an f-string; such a text stays English."""
    import re
    from pathlib import Path

    pattern = re.compile(r"""f(["']).*\{_l?\(""")
    offenders = [
        f"{path}:{number}"
        for path in (Path(__file__).parent.parent / "portal").rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders, offenders
