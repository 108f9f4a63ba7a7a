"""One commit per request or job step, made here and nowhere else.

Views and services change the session and never commit. A portal request commits once, after
its view has answered below 500, and rolls back on a 5xx or an exception (`finish_request`,
`end_request`, wired to the portal's blueprint); a job step or a command runs in `step()`.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from portal.db import db


def finish_request(response):
    """The portal blueprint's last `after_request`: commit what the request did, or roll back."""
    if response.status_code >= 500:
        db.session.rollback()
    else:
        db.session.commit()
    return response


def end_request(exception: BaseException | None) -> None:
    """Teardown: an exception that escaped the view leaves nothing behind."""
    if exception is not None:
        db.session.rollback()


@contextmanager
def step() -> Iterator[None]:
    """A job step or a command: commit when the block ends, roll back when it raises."""
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
