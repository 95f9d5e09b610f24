"""The review between rounds: suggestions merged or declined, refusals re-render with the reason, researchers read."""
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import AuditEvent, RevisionKind, Statement, Study, StudyRole, Suggestion, SuggestionStatus


def _closed_with_suggestions(app, client, study_id, make_panellist, answer_round):
    pid, _ = make_panellist(study_id, "staff")
    assert client.post(f"/studies/{study_id}/rounds/open", data={"confirm": "yes"}).status_code == 303
    answer_round(study_id, {pid: {"A-01": 9, "A-02": 5, "B-01": 1}})
    with app.app_context():
        round_id = db.session.get(Study, study_id).current_round.id
        db.session.add_all([Suggestion(study_id=study_id, round_id=round_id, text=t) for t in ("One", "Two")])
        db.session.commit()
        ids = [s.id for s in db.session.scalars(sa.select(Suggestion).order_by(Suggestion.id))]
        statements = {s.code: s.id for s in db.session.get(Study, study_id).statements}
    assert client.post(f"/studies/{study_id}/rounds/1/close", data={"confirm": "yes"}).status_code == 303
    return ids, statements


def test_merge_and_decline_suggestions(app, client, owner, make_panellist, answer_round):
    _, study_id = owner
    (one, two), statements = _closed_with_suggestions(app, client, study_id, make_panellist, answer_round)
    target = statements["A-02"]
    assert client.post(f"/studies/{study_id}/review/suggestions/{one}",
                       data={f"g{one}-action": "merge", f"g{one}-target": target, f"g{one}-reason": "Same"}
                       ).status_code == 303
    response = client.post(f"/studies/{study_id}/review/suggestions/{two}", data={f"g{two}-action": "decline"})
    assert response.status_code == 422 and "Give a reason for declining" in response.get_data(as_text=True)
    assert client.post(f"/studies/{study_id}/review/suggestions/{two}",
                       data={f"g{two}-action": "decline", f"g{two}-reason": "Out of scope"}).status_code == 303
    response = client.post(f"/studies/{study_id}/review/suggestions/{two}",
                           data={f"g{two}-action": "accept", f"g{two}-text": "Again"})
    assert response.status_code == 422 and "already been declined" in response.get_data(as_text=True)
    with app.app_context():
        first, second = db.session.get(Suggestion, one), db.session.get(Suggestion, two)
        assert (first.status, first.statement_id) == (SuggestionStatus.merged, target)
        assert second.status is SuggestionStatus.declined and second.decision_reason == "Out of scope"
        history = db.session.get(Statement, target).revisions
        assert history[-1].kind is RevisionKind.merged and history[-1].suggestion_id == one
        assert {"suggestion.merge", "suggestion.decline"} <= set(db.session.scalars(sa.select(AuditEvent.action)))


def test_review_refusals_keep_what_was_typed(app, client, owner, make_panellist, answer_round):
    _, study_id = owner
    _, statements = _closed_with_suggestions(app, client, study_id, make_panellist, answer_round)
    sid = statements["A-02"]
    response = client.post(f"/studies/{study_id}/review/{sid}/reword", data={f"r{sid}-text": "A relapse is not a failure."})
    assert response.status_code == 422 and "same as the old one" in response.get_data(as_text=True)
    response = client.post(f"/studies/{study_id}/review/merge", data={"absorbed": sid, "kept": sid, "reason": "x"})
    assert response.status_code == 422 and "two different statements" in response.get_data(as_text=True)


def test_researchers_read_the_review_without_forms(app, client, owner, make_panellist, answer_round, make_user, auth):
    _, study_id = owner
    _closed_with_suggestions(app, client, study_id, make_panellist, answer_round)
    researcher = make_user("researcher@example.org")
    with app.app_context():
        from delphi.models import StudyMember
        db.session.add(StudyMember(study_id=study_id, user_id=researcher, role=StudyRole.researcher))
        db.session.commit()
    auth.logout()
    auth.login(email="researcher@example.org")
    page = client.get(f"/studies/{study_id}/review").get_data(as_text=True)
    assert "Review of round 1" in page and "consensus in" in page
    assert "Save the decision" not in page and "Open round 2" not in page


def test_no_review_before_a_round_closes(client, owner):
    _, study_id = owner
    assert "nothing to review" in client.get(f"/studies/{study_id}/review").get_data(as_text=True)
    response = client.post(f"/studies/{study_id}/review/merge", data={}, follow_redirects=True)
    assert "nothing to review" in response.get_data(as_text=True)


def test_review_shows_reasons_for_change_beside_each_statement_by_pseudonym(app, client, owner, make_panellist,
                                                                           answer_round):
    """Issue 20: reasons panellists give for changing a rating were stored and never shown. They appear beside their
    statement, ordered by pseudonym (not by time, and without the pseudonym), with n and "unable to rate"."""
    from delphi.models import Panellist, Rating

    _, study_id = owner
    pids = [make_panellist(study_id, "staff")[0] for _ in range(3)]
    assert client.post(f"/studies/{study_id}/rounds/open", data={"confirm": "yes"}).status_code == 303
    answer_round(study_id, {pid: {"A-01": 9, "A-02": None, "B-01": 1} for pid in pids})
    with app.app_context():
        pseudonyms = dict(db.session.execute(sa.select(Panellist.id, Panellist.pseudonym)
                                             .where(Panellist.id.in_(pids))).all())
        a01 = db.session.scalar(sa.select(Statement.id).where(Statement.study_id == study_id,
                                                              Statement.code == "A-01"))
        # Written last by the panellist whose pseudonym sorts first.
        by_name = sorted(pids, key=pseudonyms.__getitem__)
        for pid, reason in zip(reversed(by_name), ("Reason of the last", "Reason of the middle", "Reason of the first")):
            db.session.execute(sa.update(Rating).where(Rating.panellist_id == pid, Rating.statement_id == a01)
                               .values(change_reason=reason))
        db.session.commit()
    assert client.post(f"/studies/{study_id}/rounds/1/close", data={"confirm": "yes"}).status_code == 303
    page = client.get(f"/studies/{study_id}/review").get_data(as_text=True)
    card = page[page.index(f'id="s{a01}"'):]
    card = card[:card.index("</article>")]
    assert "Why panellists changed their rating of A-01 (3)" in card
    assert card.index("Reason of the first") < card.index("Reason of the middle") < card.index("Reason of the last")
    assert not any(p in page for p in pseudonyms.values())
    assert "<th scope=\"col\">Unable to rate</th>" in page
