"""Proxy entry (issue 19): staff enter a panellist's answers from a call or a paper form. It opens from the contact on
the panel page, asks who enters, how and why, is audited by contact number (never the pseudonym), never shows what
is saved this round, and in a later round shows the panellist's own previous rating and their feedback (audited)."""
import csv
import io

import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import (
    AuditEvent, ConsentDecision, ConsentRecord, EntryMode, Panellist, Rating, Study, Submission,
)
from delphi.services.review import approve_comments, comments
from delphi.services.rounds import close_round, open_next_round

HOW = {"channel": "phone", "entered_by": "Kari Nordmann", "reason": "No internet at home; asked for a call"}


CONSENT = "I have read the information about the study.\nI understand that I can withdraw at any time."


def _with_consent_text(app, study_id):
    with app.app_context():
        db.session.get(Study, study_id).consent_text = CONSENT
        db.session.commit()


def _ids(app, study_id, pid):
    with app.app_context():
        study = db.session.get(Study, study_id)
        return (db.session.get(Panellist, pid).contact.id,
                {rs.statement.code: rs.statement_id for rs in study.current_round.statements})


def _events(app):
    with app.app_context():
        return [(e.action, e.target, e.details) for e in db.session.scalars(sa.select(AuditEvent)
                                                                             .order_by(AuditEvent.id))]


def test_proxy_entry_opens_from_the_contact_and_asks_who_how_and_why(app, client, owner, make_panellist):
    _, study_id = owner
    pid, _ = make_panellist(study_id, "staff", email="caller@example.org")
    client.post(f"/studies/{study_id}/rounds/open", data={"confirm": "yes"})
    contact, _ = _ids(app, study_id, pid)
    panel = client.get(f"/studies/{study_id}/panel").get_data(as_text=True)
    assert f'href="/studies/{study_id}/panel/contacts/{contact}/entry"' in panel
    # Nobody is found by pseudonym any more: the old entry page is gone.
    assert client.get(f"/studies/{study_id}/entry").status_code == 404
    assert client.post(f"/studies/{study_id}/entry", data={"pseudonym": "P-ABCD2345"}).status_code == 404

    page = client.get(f"/studies/{study_id}/panel/contacts/{contact}/entry").get_data(as_text=True)
    assert "by phone with the panellist" in page and "from their paper form" in page
    before = len(_events(app))
    for missing, message in (("channel", "Choose how the panellist gives their answers."),
                             ("entered_by", "Say who is entering the answers."),
                             ("reason", "Say why the answers are entered for the panellist")):
        response = client.post(f"/studies/{study_id}/panel/contacts/{contact}/entry",
                               data={k: v for k, v in HOW.items() if k != missing})
        assert response.status_code == 422 and message in response.get_data(as_text=True), missing
        # The answers form cannot be reached around it either.
        response = client.post(f"/studies/{study_id}/panel/contacts/{contact}/entry/answers",
                               data={k: v for k, v in HOW.items() if k != missing})
        assert response.status_code == 422, missing
    assert len(_events(app)) == before  # nothing opened, nothing recorded


def test_proxy_entry_is_audited_by_contact_number_and_never_shows_this_rounds_answers(
        app, client, owner, make_panellist, answer_round):
    user_id, study_id = owner
    pid, _ = make_panellist(study_id, "staff", email="caller@example.org")
    client.post(f"/studies/{study_id}/rounds/open", data={"confirm": "yes"})
    contact, ids = _ids(app, study_id, pid)
    answer_round(study_id, {pid: {"A-01": 2, "A-02": 3}}, submit=False,
                 comments={(pid, "A-01"): "Zebra remark typed online"})

    page = client.post(f"/studies/{study_id}/panel/contacts/{contact}/entry", data=HOW).get_data(as_text=True)
    assert "Zebra remark typed online" not in page and "Earlier answers are kept and not shown" in page
    assert "selected" not in page  # the form starts empty: no saved rating chosen
    response = client.post(f"/studies/{study_id}/panel/contacts/{contact}/entry/answers", data={
        **HOW, f"value-{ids['A-01']}": "12"})
    assert response.status_code == 422 and "Choose a point from 1 to 9" in response.get_data(as_text=True)
    response = client.post(f"/studies/{study_id}/panel/contacts/{contact}/entry/answers", data={
        **HOW, f"value-{ids['A-01']}": "8", f"comment-{ids['A-02']}": "Proxy remark said on the phone",
        f"value-{ids['B-01']}": "5", "submit_round": "yes", "consent": "yes"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/studies/{study_id}/panel")
    assert f"3 answers for contact #{contact} saved" in client.get(response.headers["Location"]).get_data(
        as_text=True)

    with app.app_context():
        ratings = {r.statement_id: r for r in db.session.scalars(sa.select(Rating).where(Rating.panellist_id == pid))}
        # Only what was filled in is written: A-01's online comment and A-02's online rating stay.
        assert (ratings[ids["A-01"]].value, ratings[ids["A-01"]].comment) == (8, "Zebra remark typed online")
        assert (ratings[ids["A-02"]].value, ratings[ids["A-02"]].comment) == (3, "Proxy remark said on the phone")
        assert ratings[ids["B-01"]].value == 5 and ratings[ids["B-01"]].entered_by_id == user_id
        assert db.session.scalar(sa.select(Submission.entered_by_id)) == user_id
        pseudonym = db.session.get(Panellist, pid).pseudonym

    # Reopened, the form is empty again: neither the panellist's nor staff's own saved words come back.
    page = client.post(f"/studies/{study_id}/panel/contacts/{contact}/entry", data=HOW).get_data(as_text=True)
    assert "Proxy remark said on the phone" not in page and "Zebra remark" not in page
    assert "already sent the round" in page and pseudonym not in page and "caller@example.org" not in page

    events = [(a, t, d) for a, t, d in _events(app) if a.startswith(("panel.proxy", "ratings.entered"))]
    assert [(a, t) for a, t, _ in events] == [
        ("panel.proxy_entry_opened", f"contact #{contact}"), ("panel.proxy_entry_opened", f"contact #{contact}"),
        ("ratings.entered_for_panellist", f"contact #{contact}"), ("panel.proxy_entry_opened", f"contact #{contact}")]
    assert events[2][2] == {"round": 1, "answers": 3, "submitted": True, **HOW}
    assert not any(pseudonym in t or pseudonym in str(d) or "remark" in str(d) for _, t, d in _events(app))
    assert not any(a == "panel.proxy_feedback_shown" for a, _, _ in events)  # round 1: no feedback to show


def test_in_a_later_round_proxy_entry_shows_own_previous_rating_and_feedback_and_audits_it(
        app, client, owner, make_panellist, answer_round):
    _, study_id = owner
    panel = [make_panellist(study_id, "staff", email=f"p{i}@example.org")[0] for i in range(4)]
    client.post(f"/studies/{study_id}/rounds/open", data={"confirm": "yes"})
    answer_round(study_id, {pid: {"A-01": 7 if pid == panel[0] else 3, "A-02": 5, "B-01": 6} for pid in panel},
                 comments={(panel[1], "A-01"): "An approved comment from the panel"})
    with app.app_context():
        study = db.session.get(Study, study_id)
        round1 = study.current_round
        close_round(round1)
        approve_comments(round1, {r.id for r in comments(round1)}, None)
        for rs in round1.statements:
            rs.carry_forward = True
        open_next_round(study)
        db.session.commit()
    contact, ids = _ids(app, study_id, panel[0])

    page = client.post(f"/studies/{study_id}/panel/contacts/{contact}/entry", data=HOW).get_data(as_text=True)
    assert "Last time (round 1)" in page and "Your answer last time: 7" in page
    assert "An approved comment from the panel" in page and "4 people answered." in page
    events = [(a, t, d) for a, t, d in _events(app) if a == "panel.proxy_feedback_shown"]
    assert events == [("panel.proxy_feedback_shown", f"contact #{contact}",
                       {"round": 2, "previous_round": 1, "statements": 3})]
    # A mistake in the form shows the feedback again, and that is recorded again.
    client.post(f"/studies/{study_id}/panel/contacts/{contact}/entry/answers",
                data={**HOW, f"value-{ids['A-01']}": "0"})
    assert sum(a == "panel.proxy_feedback_shown" for a, _, _ in _events(app)) == 2


def test_proxy_entry_asks_consent_first_and_records_it_with_the_mode(app, client, owner, make_panellist):
    """Issue 21: a person who answers by phone or on paper consents there; without the box ticked nothing is saved,
    with it a consent record like the consent page's is kept, with how it was given."""
    _, study_id = owner
    pid, _ = make_panellist(study_id, "staff", email="paper@example.org")
    _with_consent_text(app, study_id)
    client.post(f"/studies/{study_id}/rounds/open", data={"confirm": "yes"})
    contact, ids = _ids(app, study_id, pid)
    paper = {**HOW, "channel": "paper", "reason": "Posted the form back"}

    page = client.post(f"/studies/{study_id}/panel/contacts/{contact}/entry", data=paper).get_data(as_text=True)
    assert "The person gave consent (read to them, or a signed form)" in page
    consent_text = CONSENT
    assert "I have read the information about the study." in page  # what staff read to them, or check on the signed form

    answers = {**paper, f"value-{ids['A-01']}": "6", "submit_round": "yes"}
    response = client.post(f"/studies/{study_id}/panel/contacts/{contact}/entry/answers", data=answers)
    assert response.status_code == 422
    assert "confirm that the person gave their consent" in response.get_data(as_text=True)
    assert 'value="6" selected' in response.get_data(as_text=True)  # what was typed is kept for the second try
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Rating.id))) == 0
        assert db.session.get(Panellist, pid).consents == []

    response = client.post(f"/studies/{study_id}/panel/contacts/{contact}/entry/answers",
                           data={**answers, "consent": "yes"})
    assert response.status_code == 303
    with app.app_context():
        panellist = db.session.get(Panellist, pid)
        assert panellist.consent_is_current and panellist.consent.mode is EntryMode.paper
        assert panellist.consent.statements == [line.strip() for line in consent_text.splitlines() if line.strip()]
        rating = db.session.scalar(sa.select(Rating))
        assert (rating.value, rating.mode) == (6, EntryMode.paper)
        assert db.session.scalar(sa.select(Submission.mode)) is EntryMode.paper
    consent_events = [(t, d["channel"]) for a, t, d in _events(app) if a == "panel.consent_recorded_for_panellist"]
    assert consent_events == [(f"contact #{contact}", "paper")]

    # Consented now: the box is not asked again, and a phone call's answer is marked "phone".
    page = client.post(f"/studies/{study_id}/panel/contacts/{contact}/entry", data=HOW).get_data(as_text=True)
    assert "The person gave consent" not in page
    assert client.post(f"/studies/{study_id}/panel/contacts/{contact}/entry/answers",
                       data={**HOW, f"value-{ids['A-01']}": "7"}).status_code == 303
    with app.app_context():
        rating = db.session.scalar(sa.select(Rating))
        assert (rating.value, rating.mode) == (7, EntryMode.phone)
        assert db.session.scalar(sa.select(Submission.mode)) is EntryMode.paper  # sent on paper, once


def _round_two(app, client, study_id, panel):
    client.post(f"/studies/{study_id}/rounds/open", data={"confirm": "yes"})
    return _round_two_answers(app, study_id, panel)


def test_in_a_later_round_proxy_entry_asks_why_an_answer_changed(app, client, owner, make_panellist, answer_round):
    _, study_id = owner
    panel = [make_panellist(study_id, "staff", email=f"p{i}@example.org")[0] for i in range(4)]
    answer_round(study_id, _round_two(app, client, study_id, panel))
    with app.app_context():
        study = db.session.get(Study, study_id)
        close_round(study.current_round)
        for rs in study.current_round.statements:
            rs.carry_forward = True
        open_next_round(study)
        db.session.commit()
    contact, ids = _ids(app, study_id, panel[0])
    page = client.post(f"/studies/{study_id}/panel/contacts/{contact}/entry", data=HOW).get_data(as_text=True)
    assert f'name="reason-{ids["A-01"]}"' in page
    assert "The person gave consent" not in page  # consented already
    response = client.post(f"/studies/{study_id}/panel/contacts/{contact}/entry/answers", data={
        **HOW, f"value-{ids['A-01']}": "3", f"reason-{ids['A-01']}": "Heard the other groups' view"})
    assert response.status_code == 303
    with app.app_context():
        round2 = db.session.get(Study, study_id).current_round
        rating = db.session.scalar(sa.select(Rating).where(Rating.round_id == round2.id))
        assert (rating.value, rating.change_reason, rating.mode) == (3, "Heard the other groups' view",
                                                                     EntryMode.phone)


def test_paper_form_is_printable_names_only_the_contact_number_and_is_audited(
        app, client, owner, make_panellist, answer_round):
    _, study_id = owner
    panel = [make_panellist(study_id, "staff", email=f"p{i}@example.org")[0] for i in range(4)]
    url = f"/studies/{study_id}/panel/contacts/{{}}/paper-form"
    _with_consent_text(app, study_id)
    with app.app_context():
        first_contact = db.session.get(Panellist, panel[0]).contact.id
    # No open round: nothing to print.
    assert client.get(url.format(first_contact)).status_code == 303

    client.post(f"/studies/{study_id}/rounds/open", data={"confirm": "yes"})
    contact, ids = _ids(app, study_id, panel[0])
    entry = client.get(f"/studies/{study_id}/panel/contacts/{contact}/entry").get_data(as_text=True)
    assert f'href="{url.format(contact)}"' in entry
    page = client.get(url.format(contact)).get_data(as_text=True)
    with app.app_context():
        study = db.session.get(Study, study_id)
        panellist = db.session.get(Panellist, panel[0])
        pseudonym, statements = panellist.pseudonym, [rs.text for rs in study.current_round.statements]
    assert "css/paper.css" in page and f"Return reference: contact #{contact}" in page and "Round 1" in page
    assert all(text in page for text in statements) and page.count('class="box"') >= 9 * len(statements)
    assert "I understand that I can withdraw at any time." in page and "Signature" in page  # round 1, not consented: the consent to sign
    assert pseudonym not in page and "p0@example.org" not in page
    assert [(a, t) for a, t, _ in _events(app) if a.startswith("panel.paper")] == [
        ("panel.paper_form_printed", f"contact #{contact}")]

    # Round 2: the person's own answer and the panel's from round 1, in their language.
    answer_round(study_id, _round_two_answers(app, study_id, panel))
    with app.app_context():
        study = db.session.get(Study, study_id)
        close_round(study.current_round)
        for rs in study.current_round.statements:
            rs.carry_forward = True
        open_next_round(study)
        db.session.get(Panellist, panel[0]).language = "nb"
        db.session.commit()
    page = client.get(url.format(contact)).get_data(as_text=True)
    assert "Svaret ditt forrige gang: 7" in page and "Runde 2" in page and "Underskrift" not in page
    assert [d for a, _, d in _events(app) if a == "panel.proxy_feedback_shown"] == [
        {"round": 2, "previous_round": 1, "statements": 3, "channel": "paper"}]


def _round_two_answers(app, study_id, panel):
    with app.app_context():
        version = db.session.get(Study, study_id).consent_version
        db.session.add_all(ConsentRecord(panellist_id=pid, decision=ConsentDecision.given, consent_version=version)
                           for pid in panel)
        db.session.commit()
    return {pid: {"A-01": 7 if pid == panel[0] else 3, "A-02": 5, "B-01": 6} for pid in panel}


def test_the_mode_is_exported_and_counted_in_the_participant_flow_with_small_modes_withheld(
        app, owner, make_panellist, make_user):
    """Issue 21: ratings.csv has a ``mode`` column and the report's participant flow says how many sent each round
    on the web, by phone and on paper; a mode fewer than ``min_group_feedback`` (3 here) people used is withheld, with
    the next smallest, so the one paper panellist's pseudonym cannot be found by it."""
    from delphi.services.answers import Answer, save_answers, submit_round
    from delphi.services.reports.source import source_from_study
    from delphi.services.staff_entry import ProxyContext, enter_answers

    user_id, study_id = owner
    modes = ["web"] * 3 + ["phone"] * 3 + ["paper"]
    panel = [make_panellist(study_id, "staff")[0] for _ in modes]
    with app.app_context():
        study = db.session.get(Study, study_id)
        open_next_round(study)
        round_ = study.current_round
        statement_id = round_.statements[0].statement_id
        actor = db.session.get(type(study.members[0].user), user_id)
        for pid, mode in zip(panel, modes):
            panellist = db.session.get(Panellist, pid)
            if mode == "web":
                db.session.add(ConsentRecord(panellist_id=pid, decision=ConsentDecision.given,
                                             consent_version=study.consent_version))
                save_answers(panellist, round_, {statement_id: Answer(value=5)})
                submit_round(panellist, round_)
            else:
                enter_answers(panellist.contact, round_, {statement_id: Answer(value=5)}, True,
                              ProxyContext(mode, "Kari", "by post"), actor, consent_given=True)
        close_round(round_)
        db.session.commit()
        source = source_from_study(db.session.get(Study, study_id))
        pseudonyms = {db.session.get(Panellist, pid).pseudonym: mode for pid, mode in zip(panel, modes)}
    rows = list(csv.DictReader(io.StringIO(source.ratings_csv)))
    assert len(rows) == 7 and {pseudonyms[r["panellist"]] for r in rows if r["mode"] == "withheld"} >= {"paper"}
    assert not any(r["mode"] == "paper" for r in rows)
    shown = {r["mode"] for r in rows} - {"withheld"}
    assert len(shown) == 1 and shown <= {"web", "phone"}  # the next smallest went with paper
    everyone = next(row for row in source.flow if row.group is None)
    assert everyone.submitted == 7
    assert dict(everyone.submitted_by_mode) == {"web": 3 if "web" in shown else None,
                                                "phone": 3 if "phone" in shown else None, "paper": None}


def test_modes_used_by_enough_people_are_all_shown(app, owner, make_panellist, make_user):
    from delphi.services.answers import Answer
    from delphi.services.reports.document import report_html
    from delphi.services.reports.source import source_from_study
    from delphi.services.staff_entry import ProxyContext, enter_answers

    user_id, study_id = owner
    modes = ["phone"] * 3 + ["paper"] * 3
    panel = [make_panellist(study_id, "staff")[0] for _ in modes]
    with app.app_context():
        study = db.session.get(Study, study_id)
        open_next_round(study)
        round_ = study.current_round
        actor = db.session.get(type(study.members[0].user), user_id)
        for pid, mode in zip(panel, modes):
            enter_answers(db.session.get(Panellist, pid).contact, round_,
                          {round_.statements[0].statement_id: Answer(value=5)}, True,
                          ProxyContext(mode, "Kari", "by post"), actor, consent_given=True)
        close_round(round_)
        db.session.commit()
        source = source_from_study(db.session.get(Study, study_id))
        html = report_html(source)
    assert sorted(r["mode"] for r in csv.DictReader(io.StringIO(source.ratings_csv))) == ["paper"] * 3 + ["phone"] * 3
    assert "of 6 who sent round 1: 3 by phone, 3 on paper" in html
