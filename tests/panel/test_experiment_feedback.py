"""A study within the study (issue 23): from round 2 each panellist sees their arm's feedback format (the whole panel
only; the panel and their own group; every group; with or without comments) and, in an arm with a random order, the
statements in an order of their own that stays the same on every page, the review page and the paper form."""
import re

import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Panellist, Study, StudyRole
from tests.conftest import MINIMAL_PROTOCOL
from tests.panel.test_feedback import close_with_figures, enter

EXTRA = "".join(f'\n[[statements]]\ncode = "A-{i:02d}"\ndomain = "Hope"\ntext = "Extra hope statement {i}."\n'
                for i in range(3, 9))
PROTOCOL = MINIMAL_PROTOCOL.replace("min_group_feedback = 3", "min_group_feedback = 5").replace(
    'key = "staff"\nname = "Staff"\n', 'key = "staff"\nname = "Staff"\n\n[[groups]]\nkey = "family"\n'
                                       'name = "Family members"\n') + EXTRA + """
[experiment]
block_size = 4

[[experiment.arms]]
key = "panel_only"
name = "Panel only"
feedback = "panel"

[[experiment.arms]]
key = "own"
name = "Own group, no comments"
feedback = "own_group"
comments = false

[[experiment.arms]]
key = "shuffled"
name = "Every group, random order"
order = "random"

[[experiment.arms]]
key = "standard"
name = "Every group"
"""
SIZES = {"service_user": [8, 8, 9, 7, 6, 9], "staff": [5, 6, 7, 7, 7], "family": [2, 9, 8, 8, 8]}
COMMENTS = {9: "Hope is where it starts.", 2: "Too vague for me."}


@pytest.fixture
def fixed_seed(monkeypatch):
    monkeypatch.setattr("delphi.services.experiment.secrets.randbits", lambda bits: 20261130)


def _study(app, make_study):
    study_id = make_study(PROTOCOL)
    members, sid = close_with_figures(app, study_id, SIZES, comments=COMMENTS)
    return study_id, members, sid


def _put_in(app, panellist_id, arm):
    """The allocation is random; these tests pick the panellist's arm to look at each format."""
    with app.app_context():
        db.session.execute(sa.update(Panellist).where(Panellist.id == panellist_id).values(arm=arm))
        db.session.commit()


def _page(client, url="/panel/rate/1"):
    return " ".join(client.get(url).get_data(as_text=True).split())


def test_round_two_allocated_everyone_with_a_group(app, make_study, fixed_seed):
    study_id, _, _ = _study(app, make_study)
    with app.app_context():
        arms = db.session.scalars(sa.select(Panellist.arm).where(Panellist.study_id == study_id)).all()
    assert len(arms) == 16 and None not in arms and set(arms) == {"panel_only", "own", "shuffled", "standard"}


@pytest.mark.parametrize("arm, shown, hidden", [
    ("standard", ["Whole panel:</strong>", "People with lived experience:</strong>", "Staff:</strong>",
                  "Family members:</strong>", "Hope is where it starts.", "– Family members"], []),
    ("panel_only", ["Whole panel:</strong> 12 of 16 people chose 7, 8 or 9.", "Hope is where it starts.",
                    "Too vague for me."],
     ["People with lived experience:</strong>", "Staff:</strong>", "Family members:</strong>", "– Family members",
      "– People with lived experience"]),
    ("own", ["Whole panel:</strong>", "Staff:</strong> 3 of 5 people chose 7, 8 or 9."],
     ["People with lived experience:</strong>", "Family members:</strong>", "Hope is where it starts.",
      "Too vague for me."]),
])
def test_each_arm_sees_its_feedback_format(app, client, make_study, arm, shown, hidden):
    _, members, _ = _study(app, make_study)
    panellist_id = members["staff"][0]
    _put_in(app, panellist_id, arm)
    enter(app, client, panellist_id)
    page = _page(client)
    assert "Your answer last time: 5" in page
    for text in shown:
        assert text in page, text
    for text in hidden:
        assert text not in page, text


def test_a_panellist_outside_the_comparison_sees_every_group(app, client, make_study):
    _, members, _ = _study(app, make_study)
    panellist_id = members["family"][0]
    _put_in(app, panellist_id, None)
    enter(app, client, panellist_id)
    page = _page(client)
    assert "People with lived experience:</strong>" in page and "Staff:</strong>" in page


def _order(page: str) -> list[int]:
    return [int(n) for n in dict.fromkeys(re.findall(r'name="s(\d+)"', page))]


def test_a_random_order_is_the_panellists_own_and_stays_put(app, client, make_study, fixed_seed):
    study_id, members, sid = _study(app, make_study)
    with app.app_context():
        protocol_order = [rs.statement_id for rs in db.session.get(Study, study_id).current_round.statements
                          if rs.domain == "Hope"]
    orders = {}
    for key in ("service_user", "staff"):
        panellist_id = members[key][1]
        _put_in(app, panellist_id, "shuffled")
        enter(app, client, panellist_id)
        first = _order(_page(client))
        assert sorted(first) == sorted(protocol_order) and first != protocol_order
        assert _order(_page(client)) == first  # the same on the next load
        # ... after saving an answer (the page is saved and shown again)
        response = client.post("/panel/rate/1", data={f"s{sid}": "4", "next": "1"})
        assert response.status_code == 303
        assert _order(_page(client)) == first
        # ... and on the review page
        review = client.get("/panel/review").get_data(as_text=True)
        assert [int(n) for n in re.findall(r"/panel/rate/1[^\"]*#s(\d+)", review)] == first
        orders[key] = first
    assert orders["service_user"] != orders["staff"]  # each panellist's own
    # A fixed-order arm keeps the protocol's order.
    _put_in(app, members["family"][1], "standard")
    enter(app, client, members["family"][1])
    assert _order(_page(client)) == protocol_order


def test_proxy_entry_and_the_paper_form_show_the_panellists_format_and_order(
        app, client, make_study, make_user, auth, fixed_seed):
    study_id, members, _ = _study(app, make_study)
    user_id = make_user("owner@example.org")
    with app.app_context():
        from delphi.models import StudyMember
        db.session.add(StudyMember(study_id=study_id, user_id=user_id, role=StudyRole.owner))
        db.session.commit()
        shuffled_id, own_id = members["staff"][1], members["staff"][2]
        contacts = {pid: db.session.get(Panellist, pid).contact.id for pid in (shuffled_id, own_id)}
    _put_in(app, shuffled_id, "shuffled")
    _put_in(app, own_id, "own")
    enter(app, client, shuffled_id)
    panel_order = _order(_page(client))
    auth.login(email="owner@example.org")
    how = {"channel": "paper", "entered_by": "Kari Nordmann", "reason": "Asked for a paper form"}

    paper = client.get(f"/studies/{study_id}/panel/contacts/{contacts[shuffled_id]}/paper-form").get_data(as_text=True)
    entry = client.post(f"/studies/{study_id}/panel/contacts/{contacts[shuffled_id]}/entry",
                        data=how).get_data(as_text=True)
    with app.app_context():
        code_of = {s.id: s.code for s in db.session.get(Study, study_id).statements}
    hope = [code_of[n] for n in panel_order]
    assert [c for c in _codes_in(paper) if c in hope] == hope
    assert [c for c in _codes_in(entry) if c in hope] == hope

    paper = " ".join(client.get(f"/studies/{study_id}/panel/contacts/{contacts[own_id]}/paper-form")
                     .get_data(as_text=True).split())
    assert "Staff:</strong>" in paper and "People with lived experience:</strong>" not in paper
    assert "Hope is where it starts." not in paper


def _codes_in(page: str) -> list[str]:
    """The statements in the order a proxy page or paper form lists them (by their codes)."""
    return list(dict.fromkeys(re.findall(r'class="statement-code">([^<]+)<', page)))
