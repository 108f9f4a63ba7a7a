"""Swedish by default, English on request: the switch, then the account, then the browser."""

from pathlib import Path

from flask import has_request_context, request
from flask_babel import Babel, format_decimal
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from portal import clock

# The portal's languages, each named in itself; the first is the default.
LANGUAGE_NAMES = {"sv": "Svenska", "en": "English"}
LANGUAGES = tuple(LANGUAGE_NAMES)
DEFAULT_LANGUAGE = LANGUAGES[0]
LANGUAGE_COOKIE = "portal_lang"
TRANSLATIONS = Path(__file__).parent / "translations"

babel = Babel()


def language_choices() -> list[SelectChoice]:
    return [SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()]


def select_locale() -> str:
    if not has_request_context():  # a command or a scheduled job: mails set their own locale
        return DEFAULT_LANGUAGE
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    account_language = getattr(current_user, "language", None)
    if account_language in LANGUAGES:
        return account_language
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)


def init_app(app) -> None:
    directories = app.config.get("BABEL_TRANSLATION_DIRECTORIES")
    ours = str(TRANSLATIONS)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = f"{directories};{ours}" if directories else ours
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", clock.LOCAL_TIMEZONE.key)
    if "babel" not in app.extensions:
        babel.init_app(app, locale_selector=select_locale)


SIZE_UNITS = ("B", "kB", "MB", "GB", "TB")


def human_size(size: int) -> str:
    """Bytes in decimal units, with the locale's number format: `1,5 MB` in Swedish."""
    value = float(size)
    for unit in SIZE_UNITS:
        if value < 1000 or unit == SIZE_UNITS[-1]:
            break
        value /= 1000
    number_format = "#,##0" if unit == "B" else "#,##0.0"
    return f"{format_decimal(value, format=number_format)}\N{NO-BREAK SPACE}{unit}"
