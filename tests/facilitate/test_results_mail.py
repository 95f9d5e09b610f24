"""Issue 21: closing the study offers to tell panellists by e-mail that the results are ready; each consented
panellist with an address gets one mail through the outbox, in their language, with their own link to the results
page."""
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import (
    ConsentDecision,
    ConsentRecord,
    MailKind,
    OutboxMail,
    Panellist,
    Study,
    StudyStatus,
)


def _closed_round(app, client, study_id, make_panellist, answer_round):
    people = {name: make_panellist(study_id, "staff", email=f"{name}@example.org" if name != "nomail" else None)
              for name in ("en", "nb", "declined", "nomail", "never")}
    with app.app_context():
        version = db.session.get(Study, study_id).consent_version
        for name, (pid, _) in people.items():
            if name != "never":
                decision = ConsentDecision.refused if name == "declined" else ConsentDecision.given
                db.session.add(ConsentRecord(panellist_id=pid, decision=decision, consent_version=version))
        db.session.get(Panellist, people["nb"][0]).language = "nb"
        db.session.commit()
    client.post(f"/studies/{study_id}/rounds/open", data={"confirm": "yes"})
    answer_round(study_id, {people[name][0]: {"A-01": 7, "A-02": 5, "B-01": 6} for name in ("en", "nb", "nomail")})
    assert client.post(f"/studies/{study_id}/rounds/1/close", data={"confirm": "yes"}).status_code == 303
    return people


def test_closing_the_study_mails_each_consented_panellist_their_results_link(
        app, client, owner, make_panellist, answer_round, smtp):
    _, study_id = owner
    people = _closed_round(app, client, study_id, make_panellist, answer_round)
    page = client.get(f"/studies/{study_id}/close").get_data(as_text=True)
    assert 'name="notify" value="yes" id="notify" aria-describedby="notify-hint" checked' in page
    assert "2 panellists who consented have an e-mail address" in page

    response = client.post(f"/studies/{study_id}/close", data={"confirm": "yes", "notify": "yes"})
    assert response.status_code == 303
    assert "2 panellists will be told by e-mail" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert sorted(m["To"] for m in smtp.messages) == ["en@example.org", "nb@example.org"]
    english, norwegian = smtp.to("en@example.org")[0], smtp.to("nb@example.org")[0]
    assert english["Subject"] == 'The results of the Delphi study "Test study" are ready'
    assert norwegian["Subject"] == "Resultatene fra Delphi-studien «Test study» er klare"
    with app.app_context():
        assert db.session.get(Study, study_id).status is StudyStatus.closed
        assert db.session.scalar(sa.select(sa.func.count(OutboxMail.id)).where(
            OutboxMail.kind == MailKind.results)) == 2

    # Each link is the panellist's own and opens their results page.
    panellist = app.test_client()
    response = panellist.get(smtp.link(norwegian).removeprefix("http://delphi.test"))
    assert response.status_code == 303 and response.headers["Location"] == "/panel/results"
    with app.app_context():
        expected = db.session.get(Panellist, people["nb"][0]).id
    with panellist.session_transaction() as session:
        assert session["panellist"]["id"] == expected
    assert panellist.get("/panel/results").status_code == 200


def test_closing_without_the_box_ticked_sends_nothing(app, client, owner, make_panellist, answer_round, smtp):
    _, study_id = owner
    _closed_round(app, client, study_id, make_panellist, answer_round)
    assert client.post(f"/studies/{study_id}/close", data={"confirm": "yes"}).status_code == 303
    with app.app_context():
        assert db.session.get(Study, study_id).status is StudyStatus.closed
        assert db.session.scalar(sa.select(sa.func.count(OutboxMail.id))) == 0
    assert smtp.messages == []


def test_the_box_is_not_ticked_when_nobody_can_be_mailed(app, client, owner):
    _, study_id = owner
    page = client.get(f"/studies/{study_id}/close").get_data(as_text=True)
    assert 'id="notify" aria-describedby="notify-hint">' in page and "0 panellists who consented" in page


def test_queuing_the_results_mail_takes_the_same_queries_for_3_or_30_people(app, make_study, make_panellist):
    """Each recipient's contact was loaded by a query of its own: 5,000 queries inside the close-study request of a
    national panel."""
    from delphi.services.rounds import close_study
    from delphi.services.study_results import (
        count_results_recipients,
        queue_results_mail,
    )

    def queries_for(people: int) -> tuple[int, int]:
        study_id = make_study()
        ids = [make_panellist(study_id, "staff", email=f"p{i}-{study_id}@example.org")[0] for i in range(people)]
        with app.app_context():
            study = db.session.get(Study, study_id)
            for pid in ids:
                db.session.add(ConsentRecord(panellist_id=pid, decision=ConsentDecision.given,
                                             consent_version=study.consent_version))
            close_study(study, None)
            db.session.commit()
            db.session.expire_all()
            study = db.session.get(Study, study_id)
            statements = []
            listener = lambda *args: statements.append(args[2])
            sa.event.listen(db.engine, "before_cursor_execute", listener)
            try:
                queued = queue_results_mail(study, None)
                counted = count_results_recipients(study)
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", listener)
            db.session.rollback()
            assert queued == counted == people
            return len(statements)

    assert queries_for(3) == queries_for(30)


def test_each_mail_names_the_study_in_the_panellists_language(app, client, owner, make_panellist, answer_round,
                                                              smtp):
    """A study that offers Norwegian beside English has its title in both: the Norwegian panellist's mail said
    «Test study» inside Norwegian sentences."""
    _, study_id = owner
    with app.app_context():
        study = db.session.get(Study, study_id)
        study.languages = ["en", "nb"]
        study.translations = {**(study.translations or {}), "title": {"nb": "Teststudie"}}
        db.session.commit()
    _closed_round(app, client, study_id, make_panellist, answer_round)
    client.post(f"/studies/{study_id}/close", data={"confirm": "yes", "notify": "yes"})
    assert smtp.to("nb@example.org")[0]["Subject"] == "Resultatene fra Delphi-studien «Teststudie» er klare"
    assert smtp.to("en@example.org")[0]["Subject"] == 'The results of the Delphi study "Test study" are ready'
