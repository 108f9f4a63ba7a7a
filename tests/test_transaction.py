"""One commit per request, in one place: what a request did stays only if it answered below 500.

Views and services never commit; `portal.transaction` commits after the response and rolls back
a 5xx or an exception. A view that raises after its service ran therefore leaves nothing in the
database and sends no mail, whatever the service had already written.
"""

import pytest
import sqlalchemy as sa

from portal.accounts.models import Account
from portal.audit import AuditEvent
from portal.db import db
from portal.mail.models import OutboxMail
from portal.members import service as members
from tests.factories import login_as, post

NEW_ADDRESS = "half.done@example.com"


@pytest.fixture
def invite_then_fail(monkeypatch):
    """The invitation service does all its work (account, token, mail, audit), then the view
    breaks."""
    invite = members.invite

    def invite_and_break(*args, **kwargs):
        invite(*args, **kwargs)
        db.session.flush()  # everything is in the database's transaction, not only in memory
        raise RuntimeError("the view breaks after its service ran")

    monkeypatch.setattr(members, "invite", invite_and_break)


def _nothing_of_the_invitation_is_left():
    account = db.session.scalar(sa.select(Account).where(Account.email == NEW_ADDRESS))
    assert account is None
    assert (
        db.session.scalars(sa.select(OutboxMail).where(OutboxMail.recipient == NEW_ADDRESS)).all()
        == []
    )
    actions = list(db.session.scalars(sa.select(AuditEvent.action)))
    assert "invitation.sent" not in actions
    assert actions.count("account.created") == 1  # the admin's own, made by the test


def _invite(client):
    return post(
        client,
        "/company/users",
        {"email": NEW_ADDRESS, "name": "Halv Färdig", "role": "member"},
        page="/company/users",
    )


def test_a_view_that_raises_after_its_service_ran_leaves_nothing_and_mails_nothing(
    app, client, make_account, mailbox, invite_then_fail, monkeypatch
):
    login_as(client, make_account("admin"))
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # as in production
    response = _invite(client)
    assert response.status_code == 500
    _nothing_of_the_invitation_is_left()
    assert mailbox.to(NEW_ADDRESS) == []


def test_an_exception_that_escapes_the_view_is_rolled_back_too(
    client, make_account, mailbox, invite_then_fail
):
    login_as(client, make_account("admin"))
    with pytest.raises(RuntimeError):  # TESTING propagates the exception past the error page
        _invite(client)
    _nothing_of_the_invitation_is_left()
    assert mailbox.to(NEW_ADDRESS) == []


def test_the_same_request_without_the_failure_commits_and_mails(client, make_account, mailbox):
    login_as(client, make_account("admin"))
    assert _invite(client).status_code == 302
    assert db.session.scalar(sa.select(Account).where(Account.email == NEW_ADDRESS)) is not None
    assert len(mailbox.to(NEW_ADDRESS)) == 1


def test_a_refused_request_keeps_its_audit_event(client, make_account):
    login_as(client, make_account("member"))
    assert client.get("/company/users").status_code == 403
    refused = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "access.refused")
    ).all()
    assert [event.details["endpoint"] for event in refused] == ["portal.members.index"]


def test_no_view_or_service_commits():
    """The commit point is `portal.transaction`; no other module of the portal commits."""
    from pathlib import Path

    import portal

    root = Path(portal.__file__).parent
    committing = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if ".commit()" in path.read_text() or "commit()\n" in path.read_text()
    )
    assert committing == ["transaction.py"]
