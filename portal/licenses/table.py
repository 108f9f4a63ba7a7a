"""The license list's table, rendered once for each distinct content and then reused.

A hundred rows of escaping and lookups are most of the list's cost, and the same rows come back
on almost every visit. The table is cached under everything it is made of: the template
environment, the language, the list's address and the rows themselves (with their shown state).
A changed license makes a different key, so a cached table is never stale and nothing has to be
invalidated; the least recently used tables are dropped beyond `CACHED_TABLES`.

The template is rendered with its inputs only, without the request's context (no `current_user`,
`request` or `session`), so that nothing of one user can end up in a table shown to another.
"""

import functools
from collections.abc import Sequence

from flask import current_app, url_for
from flask_babel import get_locale
from markupsafe import Markup
from sqlalchemy import Row

from portal.licenses import keys
from portal.licenses.listing import STATE_LABELS

CACHED_TABLES = 256


def license_table(rows: Sequence[Row]) -> Markup:
    """The table of these rows of `LicenseQuery.row_statement`, in the request's language."""
    return _render(
        current_app.jinja_env, str(get_locale()), url_for("portal.licenses.index"), tuple(rows)
    )


@functools.lru_cache(maxsize=CACHED_TABLES)
def _render(jinja_env, language: str, list_url: str, rows: tuple[Row, ...]) -> Markup:
    html = jinja_env.get_template("portal/licenses/table.html").render(
        rows=rows,
        list_url=list_url,
        mask=keys.mask,
        # Translated once per table, not once per row: a lazy string is looked up at each use.
        state_labels={state: str(label) for state, label in STATE_LABELS.items()},
    )
    return Markup(html)  # noqa: S704 (rendered by Jinja with autoescaping)
