"""Swedish by default, English on request: the portal's own catalog, language and formats.

The portal translates its pages, mails and messages from its own catalog (`portal/translations`),
never through a host site's Flask-Babel, and renders its pages in its own Jinja environment
(`portal.rendering`), so a host keeps its own catalog, locale selector and templates.

A request's language: the portal's language switch (a cookie), then the signed-in account's
language, then the host's own choice when the host runs Flask-Babel and chose a language the
portal has (Swedish when it chose another), then the browser's, then Swedish. Mails and commands
choose theirs with `force_language`. The language and its catalog are looked up once a request.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

import babel.dates
import babel.numbers
from babel.support import NullTranslations, Translations
from flask import current_app, g, has_app_context, has_request_context, request
from flask_babel import LazyString
from flask_babel import get_locale as host_locale
from flask_login import current_user
from wtforms.fields.choices import SelectChoice
from wtforms.i18n import get_translations as wtforms_catalog

from portal import clock

# The portal's languages, each named in itself; the first is the default.
LANGUAGE_NAMES = {"sv": "Svenska", "en": "English"}
LANGUAGES = tuple(LANGUAGE_NAMES)
DEFAULT_LANGUAGE = LANGUAGES[0]
LANGUAGE_COOKIE = "portal_lang"
TRANSLATIONS = Path(__file__).parent / "translations"
_LANGUAGE = "portal_language"


def language_choices() -> list[SelectChoice]:
    return [SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()]


# --- the language ---------------------------------------------------------------------------


def current_language() -> str:
    if not has_app_context():
        return DEFAULT_LANGUAGE
    language = g.get(_LANGUAGE)
    if language is None:
        language = g.setdefault(_LANGUAGE, select_language())
    return language


def select_language() -> str:
    if not has_request_context():  # a command or a scheduled job: mails set their own language
        return DEFAULT_LANGUAGE
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGE_NAMES:
        return chosen
    account_language = getattr(current_user, "language", None)
    if account_language in LANGUAGE_NAMES:
        return account_language
    if "babel" in current_app.extensions:  # mounted beside the host's Flask-Babel
        host = host_locale()
        return (
            host.language
            if host is not None and host.language in LANGUAGE_NAMES
            else (DEFAULT_LANGUAGE)
        )
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)


def choose_language(language: str) -> None:
    """This request speaks `language` (the JSON API: what the client asks for, else English)."""
    setattr(g, _LANGUAGE, language if language in LANGUAGE_NAMES else DEFAULT_LANGUAGE)


@contextmanager
def force_language(language: str) -> Iterator[None]:
    """Speak `language` inside the block (a mail in its recipient's language, a command)."""
    before = g.get(_LANGUAGE)
    setattr(g, _LANGUAGE, language if language in LANGUAGE_NAMES else DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        if before is None:
            g.pop(_LANGUAGE, None)
        else:
            setattr(g, _LANGUAGE, before)


# --- translations ---------------------------------------------------------------------------


@cache
def catalog(language: str) -> NullTranslations:
    """The portal's compiled catalog of a language, read once per process."""
    if language == "en":  # the source language
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS), [language], "messages")


def translate(string: str) -> str:
    """The bare translation (templates format it themselves)."""
    return catalog(current_language()).ugettext(string)


def translate_plural(singular: str, plural: str, num: int) -> str:
    return catalog(current_language()).ungettext(singular, plural, num)


def gettext(string: str, **variables) -> str:
    text = catalog(current_language()).ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    return catalog(current_language()).ungettext(singular, plural, num) % variables


def lazy_gettext(string: str, **variables) -> LazyString:
    """A text translated when it is shown, in the language of that moment."""
    return LazyString(gettext, string, **variables)


def wtforms_translations():
    """WTForms' own messages ("Not a valid date value") in the portal's language."""
    return _wtforms_catalog(current_language())


@cache
def _wtforms_catalog(language: str):
    return wtforms_catalog([language])


# --- formats --------------------------------------------------------------------------------


def format_datetime(moment: datetime, pattern: str = "yyyy-MM-dd HH:mm") -> str:
    """A moment in Stockholm time, in the request's language."""
    return babel.dates.format_datetime(
        moment, pattern, tzinfo=clock.LOCAL_TIMEZONE, locale=current_language()
    )


def machine_datetime(moment: datetime) -> str:
    """A moment for `<time datetime>`: UTC to the second (HTML allows at most 3 decimals)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_date(day: date | datetime, pattern: str = "yyyy-MM-dd") -> str:
    if isinstance(day, datetime):
        day = day.astimezone(clock.LOCAL_TIMEZONE).date()
    return babel.dates.format_date(day, pattern, locale=current_language())


SIZE_UNITS = ("B", "kB", "MB", "GB", "TB")


def human_size(size: int) -> str:
    """Bytes in decimal units, with the language's number format: `1,5 MB` in Swedish."""
    value = float(size)
    for unit in SIZE_UNITS:
        if value < 1000 or unit == SIZE_UNITS[-1]:
            break
        value /= 1000
    number_format = "#,##0" if unit == "B" else "#,##0.0"
    number = babel.numbers.format_decimal(value, format=number_format, locale=current_language())
    return f"{number}\N{NO-BREAK SPACE}{unit}"
