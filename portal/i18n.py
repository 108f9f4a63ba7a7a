"""Swedish by default, English on request: the switch, then the account, then the browser."""

from pathlib import Path

from flask import has_request_context, request
from flask_babel import Babel
from flask_login import current_user

from portal import clock

LANGUAGES = ("sv", "en")
DEFAULT_LANGUAGE = "sv"
LANGUAGE_COOKIE = "portal_lang"
TRANSLATIONS = Path(__file__).parent / "translations"

babel = Babel()


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
