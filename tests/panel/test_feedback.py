"""Round-2 feedback: the panellist's own rating, the panel's and each group's figures, small groups withheld so that
nothing can be subtracted back to them, approved comments, and the optional band-change prompt.

The figures are stored rows (as a round close writes them), so these tests pin down what panellists see from them.
"""
import re

import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Classification, DomainError, Panellist, Rating, Round, RoundResult, RoundStatus, Study
from delphi.models.base import utcnow
from delphi.services.suppression import withheld_cells
from delphi.services.rounds import open_next_round
from tests.conftest import MINIMAL_PROTOCOL
from tests.panel.conftest import keeper_from

def three_group_protocol() -> str:
    # Groups must come before statements in the TOML; insert the third group after "staff".
    return MINIMAL_PROTOCOL.replace("min_group_feedback = 3", "min_group_feedback = 5").replace(
        'key = "staff"\nname = "Staff"\n', 'key = "staff"\nname = "Staff"\n\n[[groups]]\nkey = "family"\nname = "Family members"\n')


@pytest.mark.parametrize("sizes, minimum, withheld", [
    ({"a": 12, "b": 9, "c": 2}, 5, {"b", "c"}),  # c alone could be subtracted back: b goes too
    ({"a": 12, "b": 9, "c": 0}, 5, set()),  # a group that did not rate is not a small cell
    ({"a": 3, "b": 4}, 5, {"a", "b"}),
    ({"a": 6, "b": 3, "c": 2}, 5, {"b", "c"}),  # together 5: enough
    ({"a": 6, "b": 2, "c": 2}, 5, {"a", "b", "c"}),
    ({"a": 5, "b": 5}, 5, set()),
])
def test_small_groups_and_their_complements_are_withheld(sizes, minimum, withheld):
    assert withheld_cells(sizes, minimum).groups == withheld


def close_with_figures(app, study_id, per_group: dict[str, list[int]], comments: dict[int, str] | None = None):
    """Round 1 with ratings for one statement (A-01) per group, closed with stored figures; round 2 opened.
    Returns ({group: [panellist ids]}, statement id of A-01)."""
    from delphi.services.panel import add_panellist

    with app.app_context():
        study = db.session.get(Study, study_id)
        round1 = open_next_round(study)
        statement = next(s for s in study.statements if s.code == "A-01")
        members = {}
        rows = []
        for key, values in per_group.items():
            group = study.group_by_key(key)
            members[key] = []
            for v in values:
                panellist, _ = add_panellist(study, group)
                members[key].append(panellist.id)
                rows.append(Rating(panellist_id=panellist.id, round_id=round1.id, statement_id=statement.id, value=v,
                                   comment=(comments or {}).get(v, ""), comment_approved=v in (comments or {})))
        db.session.add_all(rows)
        db.session.execute(sa.update(Round).where(Round.id == round1.id)
                           .values(status=RoundStatus.closed, closed_at=utcnow()))
        everyone = [v for values in per_group.values() for v in values]
        for scope, values in [("overall", everyone), *per_group.items()]:
            db.session.add(RoundResult(
                round_id=round1.id, statement_id=statement.id, scope=scope, n=len(values),
                median=sorted(values)[len(values) // 2] if values else None,
                pct_agree=100 * sum(v >= 7 for v in values) / len(values) if values else None,
                distribution={str(p): values.count(p) for p in range(1, 10)}, verdict=Classification.none))
        for rs in round1.statements:
            rs.carry_forward = True
        db.session.commit()
        db.session.refresh(round1)
        open_next_round(db.session.get(Study, study_id))
        db.session.commit()
        return members, statement.id


def enter(app, client, panellist_id):
    from delphi.services.panel import reissue_token

    with app.app_context():
        panellist = db.session.get(Panellist, panellist_id)
        token = reissue_token(panellist)
        db.session.commit()
    client.get(f"/p/{token}")
    client.post("/panel/consent", data={"agree": "1"})
    return token


def test_round_two_shows_own_rating_panel_and_each_group(app, client, make_study):
    study_id = make_study(three_group_protocol())
    members, sid = close_with_figures(app, study_id, {
        "service_user": [8, 8, 9, 7, 6, 9],  # 6 people: shown
        "staff": [5, 6, 7],  # 3 people: withheld
        "family": [2, 9],  # 2 people: withheld (with staff, 5 together: enough that nothing can be subtracted)
    }, comments={9: "Hope is where it starts.", 2: "Too vague for me."})
    enter(app, client, members["service_user"][0])
    page = " ".join(client.get("/panel/rate/1").get_data(as_text=True).split())
    assert "Last time (round 1)" in page
    assert "Your answer last time: 8" in page
    assert "Whole panel:</strong> 7 of 11 people chose 7, 8 or 9." in page
    assert "People with lived experience:</strong> 5 of 6 people chose 7, 8 or 9." in page
    assert "Staff:</strong> fewer than 5 people, not shown." in page
    assert "Family members:</strong> fewer than 5 people, not shown." in page
    # The bar chart has a text equivalent that does not depend on colour.
    assert "Number of people for each answer" in page
    assert "<tr><td>9</td><td>3</td></tr>" in page and "<tr><td>2</td><td>1</td></tr>" in page
    # Approved comments appear without names; a withheld group's name is not attached to its comment.
    assert "Hope is where it starts." in page and "Too vague for me." in page
    assert "– Family members" not in page
    # The optional prompt asks why a view changed, for statements the panellist rated last time.
    assert f'name="r{sid}"' in page


def test_panel_figures_hidden_when_complementary_suppression_would_leak(app, client, make_study):
    study_id = make_study(three_group_protocol())
    members, _ = close_with_figures(app, study_id, {"service_user": [8] * 12, "staff": [6] * 9, "family": [1, 2]})
    enter(app, client, members["staff"][0])
    page = " ".join(client.get("/panel/rate/1").get_data(as_text=True).split())
    assert "People with lived experience:</strong> 12 of 12 people chose 7, 8 or 9." in page
    # Staff are withheld too, or panel minus service users minus staff would reveal the two family members.
    assert "Staff:</strong> fewer than 5 people, not shown." in page
    assert "Family members:</strong> fewer than 5 people, not shown." in page


def test_band_change_reason_is_stored_as_a_comment(app, client, make_study):
    study_id = make_study(three_group_protocol())
    members, sid = close_with_figures(app, study_id, {"service_user": [8] * 6, "staff": [6] * 6})
    panellist_id = members["service_user"][0]
    enter(app, client, panellist_id)
    response = client.post("/panel/rate/1", data={f"s{sid}": "3", f"r{sid}": "The staff comments convinced me.",
                                                  "next": "1"})
    assert response.status_code == 303
    with app.app_context():
        round2 = db.session.get(Study, study_id).rounds[-1]
        rating = db.session.scalar(sa.select(Rating).where(Rating.panellist_id == panellist_id,
                                                           Rating.round_id == round2.id))
        assert (rating.value, rating.change_reason) == (3, "The staff comments convinced me.")


def test_first_round_pages_have_no_feedback_or_prompt(app, client, make_study, make_panellist):
    study_id = make_study()
    with app.app_context():
        open_next_round(db.session.get(Study, study_id))
        db.session.commit()
    _, token = make_panellist(study_id)
    client.get(f"/p/{token}")
    client.post("/panel/consent", data={"agree": "1"})
    page = client.get("/panel/rate/1").get_data(as_text=True)
    assert "Last time (round" not in page and not re.search(r'name="r\d', page)


def test_reason_typed_after_the_session_ended_is_kept_with_the_answer(app, client, make_study):
    study_id = make_study(three_group_protocol())
    members, sid = close_with_figures(app, study_id, {"service_user": [8] * 6, "staff": [6] * 6})
    panellist_id = members["service_user"][0]
    token = enter(app, client, panellist_id)
    keeper = keeper_from(client.get("/panel/rate/1").get_data(as_text=True))
    with client.session_transaction() as session:
        session.pop("panellist")  # the session ended while the panellist was typing
    response = client.post("/panel/rate/1", data={f"s{sid}": "3", f"r{sid}": "Hearing from staff changed my mind.",
                                                  "next": "1", "keeper": keeper})
    assert response.status_code == 401
    client.get(f"/p/{token}")  # the same link (answers kept under a link since reissued are dropped)
    assert client.get("/panel/").headers["Location"] == "/panel/pending"
    assert "Why your view changed: Hearing from staff changed my mind." in client.get("/panel/pending").get_data(
        as_text=True)
    assert client.post("/panel/pending", data={"save": "1"}).status_code == 303
    with app.app_context():
        round2 = db.session.get(Study, study_id).rounds[-1]
        rating = db.session.scalar(sa.select(Rating).where(Rating.panellist_id == panellist_id,
                                                           Rating.round_id == round2.id))
        assert (rating.value, rating.change_reason) == (3, "Hearing from staff changed my mind.")


def test_feedback_is_read_for_the_statements_asked_for(app, make_study):
    from delphi.services.feedback import feedback_for

    study_id = make_study(three_group_protocol())
    members, sid = close_with_figures(app, study_id, {"service_user": [8] * 6, "staff": [6] * 6})
    with app.app_context():
        study = db.session.get(Study, study_id)
        panellist = db.session.get(Panellist, members["staff"][0])
        round2 = study.rounds[-1]
        assert set(feedback_for(panellist, round2)) == {sid}
        assert feedback_for(panellist, round2, [sid])[sid].own_value == 6
        other = next(s.id for s in study.statements if s.id != sid)
        assert feedback_for(panellist, round2, [other]) == {}


def test_figures_are_written_for_each_language_and_agreement_band(app, client, make_study):
    """A figure's markup is kept per process (phrases.shown_figure): the same figures must still be written in the
    panellist's language and with their own study's agreement band."""
    narrow = make_study(three_group_protocol())
    wide = make_study(three_group_protocol().replace('scope = "overall"', 'scope = "overall"\nagree = [6, 9]'))
    first, _ = close_with_figures(app, narrow, {"service_user": [8] * 6, "staff": [6] * 6})
    second, _ = close_with_figures(app, wide, {"service_user": [8] * 6, "staff": [6] * 6})

    enter(app, client, first["staff"][0])
    page = " ".join(client.get("/panel/rate/1").get_data(as_text=True).split())
    assert "Whole panel:</strong> 6 of 12 people chose 7, 8 or 9." in page and "50% answered 7 to 9." in page
    client.post("/language", data={"lang": "nb", "next": "/panel/rate/1"})
    page = " ".join(client.get("/panel/rate/1").get_data(as_text=True).split())
    assert "Hele panelet:</strong>" in page and "svarte 7 til 9." in page
    assert "6 av 12 personer valgte 7, 8 eller 9." in page
    assert "Whole panel:" not in page and "people answered" not in page and "answered 7 to 9" not in page

    enter(app, client, second["staff"][0])
    client.post("/language", data={"lang": "en", "next": "/panel/rate/1"})
    page = " ".join(client.get("/panel/rate/1").get_data(as_text=True).split())
    assert "Whole panel:</strong> 12 of 12 people chose 6, 7, 8 or 9." in page
    assert "50% answered 6 to 9." in page and "7 to 9" not in page


def test_a_saved_page_asks_for_reasons_where_its_feedback_shows_an_own_answer(app, make_study):
    """A page that is saved reads only which statements ask why an answer changed (``answered_before``); a page that
    is shown reads them from its feedback. Both must name the same statements, or a reason typed on the page would be
    dropped on saving (or asked for where the page showed no earlier answer)."""
    from delphi.services.feedback import answered_before, feedback_for

    study_id = make_study(three_group_protocol())
    members, sid = close_with_figures(app, study_id, {"service_user": [8] * 6, "staff": [6] * 6})
    with app.app_context():
        study = db.session.get(Study, study_id)
        round1, round2 = study.rounds[0], study.rounds[-1]
        other = next(s.id for s in study.statements if s.id != sid)  # in round 1, but closed without figures here
        unable, comment_only, unrated, also_other = (members["staff"][0], members["staff"][1], members["staff"][2],
                                                     members["service_user"][0])
        db.session.execute(sa.update(Rating).where(Rating.panellist_id == unable, Rating.round_id == round1.id)
                           .values(value=None, unable_to_rate=True))
        db.session.execute(sa.update(Rating).where(Rating.panellist_id == comment_only, Rating.round_id == round1.id)
                           .values(value=None, comment="Not sure yet."))
        db.session.execute(sa.delete(Rating).where(Rating.panellist_id == unrated, Rating.round_id == round1.id))
        db.session.add(Rating(panellist_id=also_other, round_id=round1.id, statement_id=other, value=5))
        db.session.commit()
        ids = [rs.statement_id for rs in round2.statements]
        expected = {unable: {sid}, comment_only: set(), unrated: set(), also_other: {sid}, members["staff"][3]: {sid}}
        for panellist_id, asked in expected.items():
            panellist = db.session.get(Panellist, panellist_id)
            shown = {s for s, fb in feedback_for(panellist, round2, ids).items() if fb.own_value is not None
                     or fb.own_unable}
            assert answered_before(panellist, round2, ids) == shown == asked, panellist_id


def test_a_page_saved_with_errors_shows_its_feedback_and_keeps_the_reason(app, client, make_study):
    study_id = make_study(three_group_protocol())
    members, sid = close_with_figures(app, study_id, {"service_user": [8] * 6, "staff": [6] * 6})
    enter(app, client, members["service_user"][0])
    response = client.post("/panel/rate/1", data={f"s{sid}": "12", f"r{sid}": "I read the comments.", "next": "1"})
    assert response.status_code == 422
    page = " ".join(response.get_data(as_text=True).split())
    assert "Last time (round 1)" in page and "Your answer last time: 8" in page
    assert "Whole panel:</strong> 6 of 12 people chose 7, 8 or 9." in page
    assert "I read the comments.</textarea>" in page


def test_figures_kept_per_process_still_show_what_changed_after_the_close(app, client, make_study):
    """Each process keeps a closed round's figures once read (feedback._closed_figures). What can change after the
    close must still show on the next page load: the groups' names, comments approved later and panellists who
    withdrew (whose comments go); the minimum group size cannot change after round 1 opens."""
    from delphi.services.panel import withdraw_panellist

    study_id = make_study(three_group_protocol())
    members, sid = close_with_figures(app, study_id, {
        "service_user": [8, 8, 9, 7, 6, 9], "staff": [5, 6, 7], "family": [2, 9]}, comments={9: "Hope is where it starts."})
    enter(app, client, members["service_user"][0])
    page = " ".join(client.get("/panel/rate/1").get_data(as_text=True).split())
    assert "Staff:</strong> fewer than 5 people, not shown." in page
    assert page.count("Hope is where it starts.") == 3  # two service users and one family member wrote it

    with app.app_context():
        study = db.session.get(Study, study_id)
        study.group_by_key("staff").name = "Practitioners"
        round1 = study.rounds[0]
        db.session.execute(sa.update(Rating).where(Rating.panellist_id == members["staff"][0],
                                                   Rating.round_id == round1.id)
                           .values(comment="Approved after the close.", comment_approved=True))
        for panellist_id in members["family"]:
            withdraw_panellist(db.session.get(Panellist, panellist_id))
        db.session.commit()
    page = " ".join(client.get("/panel/rate/1").get_data(as_text=True).split())
    assert "Practitioners:</strong> fewer than 5 people, not shown." in page and "Staff:" not in page
    assert "Approved after the close.</blockquote>" in page
    assert "– Practitioners" not in page  # a withheld group's name is not attached to its comment
    assert page.count("Hope is where it starts.") == 2

    # The minimum is locked since round 1 opened: lowering it to show the small groups is refused, whatever the path.
    with app.app_context():
        with pytest.raises(DomainError, match="min_group_feedback is locked"):
            db.session.get(Study, study_id).min_group_feedback = 2
        db.session.rollback()
    page = " ".join(client.get("/panel/rate/1").get_data(as_text=True).split())
    assert "Practitioners:</strong> fewer than 5 people, not shown." in page
    assert "Family members:</strong> 1 of 2 people chose" not in page


def test_the_same_page_asks_for_reasons_only_from_those_who_answered_last_time(app, make_study):
    """Rating forms' classes are made once per process (forms._rating_form_class): one panellist's page must not
    carry another's reason fields."""
    study_id = make_study(three_group_protocol())
    members, sid = close_with_figures(app, study_id, {"service_user": [8] * 6, "staff": [6] * 6})
    rated, unrated = members["staff"][0], members["staff"][1]
    with app.app_context():
        db.session.execute(sa.delete(Rating).where(Rating.panellist_id == unrated))
        db.session.commit()
    pages = []
    for panellist_id in (rated, unrated, rated):
        client = app.test_client()
        enter(app, client, panellist_id)
        pages.append(client.get("/panel/rate/1").get_data(as_text=True))
    assert f'name="r{sid}"' in pages[0] and f'name="r{sid}"' in pages[2]
    assert f'name="r{sid}"' not in pages[1] and "You did not answer this statement last time." in pages[1]
