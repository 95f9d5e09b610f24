"""Proxy entry (issue 19): staff enter a panellist's answers from a call or a paper form. It opens from the contact on
the panel page, asks who enters, how and why, is audited by contact number (never the pseudonym), never shows what
is saved this round, and in a later round shows the panellist's own previous rating and their feedback (audited)."""
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import AuditEvent, Panellist, Rating, Study, Submission
from delphi.services.review import approve_comments, comments
from delphi.services.rounds import close_round, open_next_round

HOW = {"channel": "phone", "entered_by": "Kari Nordmann", "reason": "No internet at home; asked for a call"}


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
