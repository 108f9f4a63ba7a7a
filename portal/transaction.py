"""One commit per request or job step; mails of the committed work go out right after."""

from portal import mail
from portal.db import db


def commit() -> None:
    db.session.commit()
    mail.deliver_committed()
