"""A round's closing date: reminders to non-completers only, N days before it, once each; a close by itself at the
date, with its figures; both audited."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import (
    AuditEvent,
    ConsentDecision,
    ConsentRecord,
    DomainError,
    MailKind,
    OutboxMail,
    Round,
    RoundResult,
    RoundStatus,
    Study,
    utcnow,
)
from delphi.services.invitations import non_completers
from delphi.services.outbox import deliver_due
from delphi.services.round_timing import (
    close_due_rounds,
    mail_text,
    save_mail_text,
    send_due_reminders,
    set_round_timing,
)
from delphi.services.rounds import open_next_round


@pytest.fixture
def open_study(app, make_study, make_panellist):
    """Round 1 open with four consented panellists: two with e-mail, one without, and one who will submit."""
    study_id = make_study()
    pids = [make_panellist(study_id, "staff", email=email)[0]
            for email in ("a@example.org", "b@example.org", None, "done@example.org")]
    with app.app_context():
        consent_everyone_and_open_round(study_id)
    return study_id, pids


def consent_everyone_and_open_round(study_id) -> Study:
    """Every panellist has consented and round 1 is open (inside an app context)."""
    study = db.session.get(Study, study_id)
    for panellist in study.panellists:
        panellist.consents.append(ConsentRecord(decision=ConsentDecision.given, consent_version=1))
    open_next_round(study)
    db.session.commit()
    return study


def current(study_id) -> Round:
    return db.session.get(Study, study_id).current_round


def test_reminders_go_to_non_completers_once_each_at_their_day(app, open_study, answer_round, smtp):
    study_id, pids = open_study
    answer_round(study_id, {pids[3]: {"A-01": 8, "A-02": 7, "B-01": 9}})
    now = utcnow()
    with app.app_context():
        set_round_timing(current(study_id), now + timedelta(days=10), [7, 2], auto_close=False, actor=None)
        db.session.commit()
        assert [p.id for p in non_completers(db.session.get(Study, study_id), current(study_id))] == pids[:3]

        assert send_due_reminders(now) == []  # ten days before: nothing due
        sent = send_due_reminders(now + timedelta(days=3, hours=1))
        assert [(days, queued) for _, days, queued in sent] == [(7, 2)]
        assert send_due_reminders(now + timedelta(days=3, hours=2)) == []  # once
        deliver_due()
        assert sorted(m["To"] for m in smtp.messages) == ["a@example.org", "b@example.org"]

        # A dry run says what would go, and sends and marks nothing.
        dry = send_due_reminders(now + timedelta(days=8, hours=1), dry_run=True)
        assert [(days, queued) for _, days, queued in dry] == [(2, 2)]
        assert [(days, queued) for _, days, queued in send_due_reminders(now + timedelta(days=8, hours=1))] == [(2, 2)]
        assert send_due_reminders(now + timedelta(days=9)) == []
        deliver_due()
        assert len(smtp.messages) == 4
        actions = db.session.scalars(sa.select(AuditEvent.action).where(
            AuditEvent.action == "round.reminder_scheduled")).all()
        assert len(actions) == 2
    # Each reminder carries the panellist's one link: the same both times.
    first, second = smtp.to("a@example.org")
    assert smtp.link(first) == smtp.link(second)


def test_a_late_start_sends_one_reminder_not_every_missed_one(app, open_study, smtp):
    study_id, _ = open_study
    now = utcnow()
    with app.app_context():
        set_round_timing(current(study_id), now + timedelta(days=1), [7, 2], auto_close=False, actor=None)
        db.session.commit()
        assert [days for _, days, _ in send_due_reminders(now)] == [2]
        assert send_due_reminders(now + timedelta(hours=1)) == []
        assert current(study_id).reminders_sent == [7, 2]


def test_the_round_closes_by_itself_at_its_date_with_its_figures(app, open_study, answer_round):
    study_id, pids = open_study
    answer_round(study_id, {pid: {"A-01": 8, "A-02": 7, "B-01": 9} for pid in pids})
    now = utcnow()
    with app.app_context():
        set_round_timing(current(study_id), now + timedelta(hours=1), [], auto_close=True, actor=None)
        db.session.commit()
        assert close_due_rounds(now) == []
        (closed,) = close_due_rounds(now + timedelta(hours=1, seconds=1))
        assert closed.status is RoundStatus.closed
        assert db.session.scalar(sa.select(sa.func.count(RoundResult.id))
                                 .where(RoundResult.round_id == closed.id)) > 0
        assert db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.action == "round.close")) is not None
        assert close_due_rounds(now + timedelta(days=1)) == []


def test_without_auto_close_the_date_passes_and_the_round_stays_open(app, open_study):
    study_id, _ = open_study
    with app.app_context():
        set_round_timing(current(study_id), utcnow() + timedelta(hours=1), [], auto_close=False, actor=None)
        db.session.commit()
        assert close_due_rounds(utcnow() + timedelta(days=2)) == []
        assert current(study_id).status is RoundStatus.open


@pytest.mark.parametrize("closes_in, days, auto_close, message", [
    (timedelta(hours=-1), [], False, "must be in the future"),
    (timedelta(days=3), [0], False, "whole numbers from 1 to 60"),
    (timedelta(days=3), [61], False, "whole numbers from 1 to 60"),
    (None, [7], False, "Set a closing date"),
    (None, [], True, "Set a closing date"),
])
def test_bad_timing_is_refused_with_a_reason(app, open_study, closes_in, days, auto_close, message):
    study_id, _ = open_study
    with app.app_context():
        with pytest.raises(DomainError, match=message):
            set_round_timing(current(study_id), utcnow() + closes_in if closes_in else None, days, auto_close, None)


def test_mail_texts_are_kept_per_study_and_language(app, make_study):
    study_id = make_study()
    with app.app_context():
        study = db.session.get(Study, study_id)
        default = mail_text(study, MailKind.reminder, "en")
        assert "{link}" in default[1]
        save_mail_text(study, MailKind.reminder, "nb", "Påminnelse", "Hei! {link}")
        db.session.commit()
        assert mail_text(study, MailKind.reminder, "nb") == ("Påminnelse", "Hei! {link}")
        assert mail_text(study, MailKind.reminder, "en") == default
        save_mail_text(study, MailKind.reminder, "nb", "Påminnelse 2", "Hei igjen! {link}")
        assert mail_text(study, MailKind.reminder, "nb") == ("Påminnelse 2", "Hei igjen! {link}")
        assert db.session.scalar(sa.select(sa.func.count(OutboxMail.id))) == 0



def test_delphi_panel_remind_queues_for_invited_non_completers(app, open_study, answer_round, runner, smtp):
    study_id, pids = open_study
    answer_round(study_id, {pids[3]: {"A-01": 8, "A-02": 7, "B-01": 9}})
    with app.app_context():
        for panellist in db.session.get(Study, study_id).panellists:
            if panellist.contact and panellist.contact.email != "b@example.org":
                panellist.contact.invited_at = utcnow()  # b was never invited: not reminded
        db.session.commit()
    dry = runner.invoke("panel", "remind", str(study_id), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines()[-1] == "1 panellists would be reminded (dry run: nothing was queued)."
    assert smtp.messages == []
    result = runner.invoke("panel", "remind", str(study_id))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "Queued 1 reminders."
    assert "Sent 1 of 1 reminders." in result.output
    assert [m["To"] for m in smtp.messages] == ["a@example.org"]


def test_delphi_panel_remind_needs_an_open_round(runner, make_study):
    result = runner.invoke("panel", "remind", str(make_study()))
    assert result.exit_code == 1 and "no open round" in result.output


def test_the_facilitator_sets_the_date_and_panellists_and_mails_show_it(app, client, owner, make_panellist, smtp):
    _, study_id = owner
    pid, token = make_panellist(study_id, "staff", email="a@example.org")
    app.extensions["babel"].default_timezone = "Europe/Oslo"  # as DELPHI_BABEL_DEFAULT_TIMEZONE would set it
    with app.app_context():
        consent_everyone_and_open_round(study_id)
    day = (utcnow() + timedelta(days=20)).date()
    # Bad input: the form comes back with what was typed and a plain message.
    response = client.post(f"/studies/{study_id}/rounds/1/timing",
                           data={"closes_on": day.isoformat(), "closes_time": "18:00", "reminder_days": "7, soon"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Write whole numbers of days" in page and 'value="7, soon"' in page
    response = client.post(f"/studies/{study_id}/rounds/1/timing", data={
        "closes_on": day.isoformat(), "closes_time": "18:00", "reminder_days": "7, 2", "auto_close": "y"})
    assert response.status_code == 303
    with app.app_context():
        round_ = current(study_id)
        assert round_.reminder_days == [7, 2] and round_.auto_close
        assert round_.closes_at.astimezone(ZoneInfo("Europe/Oslo")).strftime("%H:%M") == "18:00"
    monitor = client.get(f"/studies/{study_id}/rounds/current").get_data(as_text=True)
    assert f"Panellists read: “This round closes on {day.day} {day:%B} {day.year} at 18:00.” (Europe/Oslo)" in monitor
    assert "It closes by itself then." in monitor

    panellist = app.test_client()
    panellist.get(f"/p/{token}")
    home = panellist.get("/panel/").get_data(as_text=True)
    assert f"This round closes on {day.day} {day:%B} {day.year} at 18:00." in home
    panellist.post("/language", data={"lang": "nb"})
    home = panellist.get("/panel/").get_data(as_text=True)
    assert f"Denne runden stenger {day.day}. " in home and "kl. 18:00." in home

    client.post(f"/studies/{study_id}/panel/invitation", data={"subject": "Join", "body": "Your link: {link}"})
    (mail,) = smtp.to("a@example.org")
    # The panellist chose Norwegian above: their mail comes in it (their choice is theirs, not the browser's).
    assert f"Denne runden stenger {day.day}. " in smtp.body(mail) and "kl. 18:00." in smtp.body(mail)

    # No date: nothing said anywhere.
    assert client.post(f"/studies/{study_id}/rounds/1/timing", data={"closes_on": "", "reminder_days": ""}
                       ).status_code == 303
    assert "closes on" not in panellist.get("/panel/").get_data(as_text=True)


def test_the_non_completers_list_has_every_way_to_reach_them_and_no_pseudonym(app, client, owner, answer_round,
                                                                             tmp_path):
    _, study_id = owner
    response = client.post(f"/studies/{study_id}/panel/import", data={"file": (io.BytesIO(
        b"group,email,phone\nstaff,a@example.org,+47 22 12 34 56\nstaff,,0047 99 88 77 66\nservice_user\n"
        b"staff,done@example.org,\n"), "contacts.csv"), "output": "page"}, content_type="multipart/form-data")
    assert response.status_code == 200
    assert client.get(f"/studies/{study_id}/panel/non-completers.csv").status_code == 303  # no round open yet
    with app.app_context():
        study = consent_everyone_and_open_round(study_id)
        done = next(p.id for p in study.panellists if p.contact and p.contact.email == "done@example.org")
        pseudonyms = [p.pseudonym for p in study.panellists]
    answer_round(study_id, {done: {"A-01": 8, "A-02": 7, "B-01": 9}})
    response = client.get(f"/studies/{study_id}/panel/non-completers.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["group", "email", "phone", "link"]
    # A cell starting with + is written with a leading ' (the CSV writer's guard against spreadsheet formulas).
    assert [row[:3] for row in rows[1:]] == [["staff", "a@example.org", "'+47 22 12 34 56"],
                                             ["staff", "", "0047 99 88 77 66"], ["service_user", "", ""]]
    assert all(app.test_client().get(row[3].split("localhost", 1)[1]).status_code == 303 for row in rows[1:])
    assert not any(p in response.get_data(as_text=True) for p in pseudonyms)
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEvent.action).order_by(AuditEvent.id.desc())) \
            == "panel.export_non_completers"


def test_a_bad_phone_number_adds_nobody_and_names_the_line(client, owner):
    _, study_id = owner
    response = client.post(f"/studies/{study_id}/panel/import", data={"file": (io.BytesIO(
        b"group,email,phone\nstaff,a@example.org,call me\n"), "contacts.csv")}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "line 2: &#39;call me&#39; is not a phone number" in response.get_data(as_text=True)
