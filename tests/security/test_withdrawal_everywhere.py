"""Withdrawal reaches everywhere: with the protocol's "delete" policy the panellist's answers leave the database, the
figures and every export; with "keep" they stay, anonymous, and nothing links them to the erased contact."""
import pytest
import sqlalchemy as sa

from delphi.contact_cipher import email_index
from delphi.extensions import db
from delphi.models import Contact, Panellist, Rating, RoundResult, Study, StudyRole, WithdrawalPolicy
from delphi.services.answers import Answer, save_answers, submit_round
from delphi.services.invitations import already_on_panel
from delphi.services.panel import add_panellist, withdraw_panellist
from delphi.services.rounds import close_round, open_next_round


@pytest.mark.parametrize("policy", [WithdrawalPolicy.delete, WithdrawalPolicy.keep])
def test_withdrawal_in_database_figures_and_exports(app, client, auth, make_user, make_study, policy):
    owner = make_user("owner@example.org")
    study_id = make_study(members={owner: StudyRole.owner}, withdrawal_policy=policy)
    with app.app_context():
        study = db.session.get(Study, study_id)
        round_ = open_next_round(study)
        panel = [add_panellist(study, study.groups[i % 2], email=f"p{i}@example.org")[0] for i in range(6)]
        for i, panellist in enumerate(panel):
            save_answers(panellist, round_, {rs.statement_id: Answer(value=9 if i == 0 else 5, comment=f"note {i}")
                                            for rs in round_.statements})
            submit_round(panellist, round_)
        leaver = panel[0]
        pseudonym = leaver.pseudonym
        withdraw_panellist(leaver)
        close_round(round_)
        db.session.commit()
        statement_id = round_.statements[0].statement_id
        overall = db.session.scalar(sa.select(RoundResult).where(
            RoundResult.round_id == round_.id, RoundResult.statement_id == statement_id, RoundResult.scope == "overall"))
        kept = policy is WithdrawalPolicy.keep
        assert overall.n == (6 if kept else 5)
        assert overall.distribution["9"] == (1 if kept else 0)
        assert db.session.scalar(sa.select(sa.func.count(Rating.id)).where(
            Rating.panellist_id == leaver.id)) == (3 if kept else 0)
        assert db.session.scalar(sa.select(Contact.id).where(Contact.panellist_id == leaver.id)) is None
        assert already_on_panel(study, ["p0@example.org", "p1@example.org"]) == {email_index(study.id, "p1@example.org")}
        assert db.session.get(Panellist, leaver.id).token_hash is None

    auth.login(email="owner@example.org")
    assert client.post(f"/studies/{study_id}/reports/build").status_code == 303  # built by a job
    ratings_csv = client.get(f"/studies/{study_id}/reports/files/ratings.csv").get_data(as_text=True)
    assert (pseudonym in ratings_csv) is kept
    assert "p0@example.org" not in ratings_csv
    panel_page = client.get(f"/studies/{study_id}/panel").get_data(as_text=True)
    assert "p0@example.org" not in panel_page
    assert "p1@example.org" in panel_page
