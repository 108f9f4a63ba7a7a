"""License notices: 60, 30 and 7 days before a license ends and when a licensed product has a
new release, each exactly once, through the real SMTP catcher."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.db import db
from portal.licenses import notices
from portal.licenses.models import NoticeKind, NoticeSent
from tests.factories import designate_license_manager, make_account

TODAY = date(2026, 11, 2)  # the frozen clock's day


@pytest.fixture(autouse=True)
def _today(frozen_clock):
    assert clock.today() == TODAY


def person(role, company, **kwargs):
    account = make_account(role, company=company, **kwargs)
    account.language = "en"  # assertions on English text, whatever the Swedish catalog says
    db.session.flush()
    return account


@pytest.fixture
def company(make_company):
    return make_company("Kund AB")


@pytest.fixture
def license_manager(company):
    account = person("member", company, email="licenses@kund.example")
    designate_license_manager(account)
    return account


def expiring(make_license, company, days_left, **kwargs):
    return make_license(
        company,
        valid_from=TODAY - timedelta(days=300),
        valid_until=TODAY + timedelta(days=days_left),
        **kwargs,
    )


def run(today=TODAY):
    db.session.commit()  # the set-up is in place before the job starts, as in production
    return notices.run_notices(today)


def sent_rows():
    return db.session.execute(
        sa.select(NoticeSent.kind, NoticeSent.subject_id, NoticeSent.threshold)
    ).all()


# --- before a license ends --------------------------------------------------------------------


def test_the_thresholds_are_declared_once():
    assert notices.EXPIRY_THRESHOLDS_DAYS == (60, 30, 7)
    assert notices.threshold_for(61) is None
    assert notices.threshold_for(60) == 60
    assert notices.threshold_for(31) == 60
    assert notices.threshold_for(30) == 30
    assert notices.threshold_for(8) == 30
    assert notices.threshold_for(7) == 7
    assert notices.threshold_for(0) == 7


def test_the_manager_is_told_60_days_before_a_license_ends(
    company, license_manager, make_license, mailbox
):
    license = expiring(make_license, company, 60, seats=12)

    counts = run()

    assert counts["license_expiring"] == 1
    assert counts["mails"] == 1
    [mail] = mailbox.to("licenses@kund.example")
    assert mail.subject == "The SafeLink license of Kund AB ends on January 1, 2027"
    assert "12 seats" in mail.text
    assert "That is in 60 days." in mail.text
    assert license.key not in mail.text
    assert license.key[:5] in mail.text  # masked: first group only
    assert mail.path() == f"/licenses/{license.id}"
    assert "because you manage the licenses of Kund AB" in mail.text


def test_no_notice_before_the_first_threshold(company, license_manager, make_license, mailbox):
    expiring(make_license, company, 61)
    assert run()["license_expiring"] == 0
    assert mailbox.messages == []


def test_notices_go_60_30_and_7_days_before_and_not_in_between(
    company, license_manager, make_license, mailbox
):
    license = expiring(make_license, company, 60)

    sent_per_day = {}
    for offset in range(0, 61):
        counts = run(TODAY + timedelta(days=offset))
        if counts["license_expiring"]:
            sent_per_day[offset] = counts["license_expiring"]

    assert sent_per_day == {0: 1, 30: 1, 53: 1}  # 60, 30 and 7 days before
    assert sorted(row.threshold for row in sent_rows()) == [7, 30, 60]
    texts = [mail.text for mail in mailbox.to("licenses@kund.example")]
    assert len(texts) == 3
    assert "in 60 days" in texts[0]
    assert "in 30 days" in texts[1]
    assert "in 7 days" in texts[2]
    assert {row.subject_id for row in sent_rows()} == {license.id}


def test_running_the_job_twice_sends_each_notice_once(
    company, license_manager, make_license, mailbox
):
    expiring(make_license, company, 30)

    first = run()
    second = run()

    assert first["license_expiring"] == 1
    assert second["license_expiring"] == 0
    assert second["mails"] == 0
    assert len(mailbox.messages) == 1
    assert len(sent_rows()) == 1


def test_a_late_run_sends_only_the_nearest_passed_threshold(
    company, license_manager, make_license, mailbox
):
    expiring(make_license, company, 5)  # the job did not run at 60, 30 or 7 days before

    counts = run()
    run(TODAY + timedelta(days=1))

    assert counts["license_expiring"] == 1
    assert [row.threshold for row in sent_rows()] == [7]
    [mail] = mailbox.messages
    assert "That is in 5 days." in mail.text


def test_a_notice_on_the_last_day_says_today(company, license_manager, make_license, mailbox):
    expiring(make_license, company, 0)
    run()
    [mail] = mailbox.messages
    assert "That is today." in mail.text


def test_a_notice_another_run_sent_first_is_rolled_back_alone(
    company, license_manager, make_license, mailbox, monkeypatch
):
    """Two overlapping runs: both saw the notice as due; the unique key lets one send it."""
    raced = expiring(make_license, company, 30)
    other = expiring(make_license, company, 7)
    db.session.add(
        NoticeSent(
            kind=NoticeKind.LICENSE_EXPIRING,
            subject_id=raced.id,
            company_id=company.id,
            threshold=30,
            reference_on=raced.valid_until,
            recipients=1,
        )
    )
    # The other run commits its row after this run has read what was sent.
    monkeypatch.setattr(notices, "_not_yet_sent", lambda kind, due: due)

    counts = run()

    assert counts["already_sent"] == 1
    assert counts["license_expiring"] == 1
    [mail] = mailbox.messages
    assert "That is in 7 days." in mail.text
    assert sorted(row.subject_id for row in sent_rows()) == sorted([raced.id, other.id])


def test_a_run_that_crashed_halfway_is_finished_by_the_next(
    company, license_manager, make_license, mailbox, monkeypatch
):
    expiring(make_license, company, 30)
    expiring(make_license, company, 7)
    original = notices._mail_content
    calls = []

    def crash_on_second(notice, company, today):
        calls.append(notice)
        if len(calls) == 2:
            raise RuntimeError("the process died")
        return original(notice, company, today)

    monkeypatch.setattr(notices, "_mail_content", crash_on_second)
    with pytest.raises(RuntimeError):
        run()
    assert len(mailbox.messages) == 1
    assert len(sent_rows()) == 1
    monkeypatch.setattr(notices, "_mail_content", original)

    counts = run()

    assert counts["license_expiring"] == 1
    assert len(mailbox.messages) == 2
    assert len(sent_rows()) == 2


def test_an_extended_license_is_reminded_again_before_its_new_end(
    company, license_manager, make_license, mailbox
):
    license = expiring(make_license, company, 7)
    run()
    license.valid_until = TODAY + timedelta(days=365)

    later = TODAY + timedelta(days=305)
    counts = run(later)

    assert counts["license_expiring"] == 1
    assert len(mailbox.messages) == 2


def test_expired_revoked_perpetual_and_ended_customers_get_no_notice(
    company, license_manager, make_license, make_company, mailbox
):
    expiring(make_license, company, -1)
    revoked = expiring(make_license, company, 30)
    revoked.revoked_dt = clock.now()
    make_license(company, valid_until=None)
    ended = make_company(ended_on=TODAY - timedelta(days=10))
    person("admin", ended)
    expiring(make_license, ended, 30)

    counts = run()

    assert counts["license_expiring"] == 0
    assert mailbox.messages == []


# --- who receives them ------------------------------------------------------------------------


def test_the_admins_receive_the_notices_when_there_is_no_manager(company, make_license, mailbox):
    person("admin", company, email="boss@kund.example")
    person("admin", company, email="deputy@kund.example")
    person("member", company, email="member@kund.example")
    expiring(make_license, company, 30)

    counts = run()

    assert counts["mails"] == 2
    assert sorted(r for mail in mailbox.messages for r in mail.recipients) == [
        "boss@kund.example",
        "deputy@kund.example",
    ]
    assert "no license manager is chosen" in mailbox.messages[0].text


def test_only_the_manager_is_told_when_there_is_one(
    company, license_manager, make_license, mailbox
):
    person("admin", company, email="boss@kund.example")
    expiring(make_license, company, 30)
    run()
    assert [mail.recipients for mail in mailbox.messages] == [["licenses@kund.example"]]


def test_a_company_without_anybody_to_tell_is_tried_again_later(company, make_license, mailbox):
    expiring(make_license, company, 30)
    assert run()["without_recipient"] == 1
    assert sent_rows() == []

    person("admin", company, email="boss@kund.example")
    assert run()["license_expiring"] == 1
    assert len(mailbox.to("boss@kund.example")) == 1


# --- new releases -----------------------------------------------------------------------------


def test_a_release_is_announced_once_to_companies_licensed_for_the_product(
    company, license_manager, make_license, make_release, make_company, mailbox
):
    make_license(company, "safelink", valid_from=TODAY - timedelta(days=100))
    other = make_company()
    person("admin", other, email="pfr@other.example")
    make_license(other, "safelink-pfr", valid_from=TODAY - timedelta(days=100))
    make_release("safelink", "6.2", released_on=TODAY)

    first = run()
    second = run()

    assert first["release_published"] == 1
    assert second["release_published"] == 0
    [mail] = mailbox.messages
    assert mail.recipients == ["licenses@kund.example"]
    assert mail.subject == "SafeLink 6.2 is published"
    assert "Your company's license includes it." in mail.text
    assert mail.path() == "/downloads/"


def test_a_release_outside_the_maintenance_says_so(
    company, license_manager, make_license, make_release, mailbox
):
    make_license(
        company,
        "safelink",
        valid_from=TODAY - timedelta(days=100),
        maintenance_until=TODAY - timedelta(days=1),
    )
    make_release("safelink", "6.3", released_on=TODAY)
    run()
    [mail] = mailbox.messages
    assert "does not include this release" in mail.text
    assert "To renew, contact your contact person at the vendor." in mail.text


def test_the_release_mail_names_where_to_renew(
    app, company, license_manager, make_license, make_release, mailbox, monkeypatch
):
    monkeypatch.setitem(app.config, "PORTAL_SALES_EMAIL", "salj@leverantor.example")
    make_license(
        company,
        "safelink",
        valid_from=TODAY - timedelta(days=100),
        maintenance_until=TODAY - timedelta(days=1),
    )
    make_release("safelink", "6.3", released_on=TODAY, notes="Stöd för ISO 20022.")
    run()
    [mail] = mailbox.messages
    assert "To renew, write to salj@leverantor.example." in mail.text
    assert "Release notes:\nStöd för ISO 20022." in mail.text.replace("\r\n", "\n")


def test_the_release_mail_carries_the_release_notes(
    company, license_manager, make_license, make_release, mailbox
):
    make_license(company, "safelink", valid_from=TODAY - timedelta(days=100))
    make_release(
        "safelink", "6.4", released_on=TODAY, notes="Nya ISO 20022-format.\n\nSnabbare import."
    )
    run()
    [mail] = mailbox.messages
    text = mail.text.replace("\r\n", "\n")
    assert "Release notes:\nNya ISO 20022-format.\n\nSnabbare import." in text


def test_old_releases_and_companies_without_an_active_license_are_not_told(
    company, license_manager, make_license, make_release, mailbox
):
    expired = make_license(
        company, "secure-envelope", valid_from=TODAY - timedelta(days=400), valid_until=TODAY
    )
    expired.valid_until = TODAY - timedelta(days=1)
    make_license(company, "safelink", valid_from=TODAY - timedelta(days=100))
    make_release("safelink", "5.9", released_on=TODAY - timedelta(days=30))
    make_release("secure-envelope", "2.0", released_on=TODAY)

    counts = run()

    assert counts["release_published"] == 0
    assert mailbox.messages == []


def test_a_release_dated_in_the_future_is_announced_on_its_day(
    company, license_manager, make_license, make_release, mailbox
):
    make_license(company, "safelink", valid_from=TODAY - timedelta(days=100))
    make_release("safelink", "7.0", released_on=TODAY + timedelta(days=3))

    assert run()["release_published"] == 0
    assert run(TODAY + timedelta(days=3))["release_published"] == 1


# --- the command ------------------------------------------------------------------------------


def test_the_command_prints_the_counts(company, license_manager, make_license, runner, mailbox):
    expiring(make_license, company, 30)
    db.session.commit()

    result = runner.invoke(args=["license", "notices", "--today", TODAY.isoformat()])

    assert result.exit_code == 0, result.output
    assert "license_expiring: 1" in result.output
    assert "mails: 1" in result.output
    assert len(mailbox.messages) == 1


def test_the_command_refuses_a_bad_date(runner):
    result = runner.invoke(args=["license", "notices", "--today", "tomorrow"])
    assert result.exit_code != 0
    assert "YYYY-MM-DD" in result.output
