"""gunicorn's access log without the secrets of mailed links.

    gunicorn --access-logfile - --logger-class portal.accesslog.TokenRedactingLogger wsgi:app

The token of a secret link (`/invite/<token>`, `/password/reset/<token>`, ...: the views marked
`portal.http.secret_link`) is written as `[token]` in the request line, the path and the
referrer, whatever the log format. The README shows the same for nginx.
"""

import re

from gunicorn.glogging import Logger

# The path segments a token follows; tests/test_secret_links.py checks that every secret link
# of the portal's URL map is covered.
SECRET_LINK_PATH = re.compile(
    r"(/(?:invite|password/reset|account/email/confirm|licenses/manager/confirm)/)[^/?#\s\"]+"
)
REDACTED = r"\1[token]"


def redact(text: str) -> str:
    return SECRET_LINK_PATH.sub(REDACTED, text)


class TokenRedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "f", "{referer}i"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        for key in [key for key in atoms if key.startswith("{") and key.endswith("}e")]:
            if isinstance(atoms[key], str):
                atoms[key] = redact(atoms[key])
        return atoms
