"""What running a whole study in Norwegian in a browser found on the staff side (tests/browser/
test_norwegian_study_browser.py), each pinned here where it is quick to run."""
import re

from delphi.extensions import db
from delphi.models import StudyMember, StudyRole
from delphi.services.staff_invitations import create_invited_account


def test_the_members_page_has_no_two_elements_with_one_id(app, client, owner):
    """Each member's role select was ``role-<member id>``, the same id as the invite form's radio ``role-<n>``: the
    radio's label then named the select, and a screen reader user choosing "Facilitator" got another member's
    role select."""
    _user_id, study_id = owner
    with app.app_context():
        for n in range(3):
            db.session.add(StudyMember(study_id=study_id, role=StudyRole.researcher,
                                       user=create_invited_account(f"colleague{n}@example.org", None)))
        db.session.commit()
    page = client.get(f"/studies/{study_id}/members").get_data(as_text=True)
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for target in re.findall(r'\sfor="([^"]+)"', page):
        assert ids.count(target) == 1, target


def test_a_statement_code_with_a_norwegian_letter_is_refused_in_words_that_say_why(client, owner):
    """"HÅP-01" was refused as using something other than "letters", which Å is."""
    _user_id, study_id = owner
    client.post("/language", data={"lang": "nb", "next": "/"})
    response = client.post(f"/studies/{study_id}/statements", data={
        "code": "HÅP-01", "domain": "Håp", "text": "Ansatte har tro på at bedring er mulig."})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "A–Z (ikke æ, ø og å)" in page
    assert "Ansatte har tro på at bedring er mulig." in page  # what was typed is kept
