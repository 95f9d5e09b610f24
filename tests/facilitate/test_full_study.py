"""A complete three-round study through the test client and the ``delphi`` command: set up from a protocol, import
statements (with a bad file first), invite the panel through a real local SMTP server and follow a link, rate, close,
review (reword, merge, accept a suggestion, override), rounds 2 and 3, stopping rule met, study closed."""
import io
import re

import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import (
    AuditEvent,
    Classification,
    RevisionKind,
    RoundResult,
    StatementStatus,
    Study,
    StudyStatus,
    Suggestion,
    SuggestionStatus,
)

PROTOCOL = b"""
title = "Recovery in practice"
max_rounds = 3
min_group_feedback = 3
stopping = "all_classified_or_stable"

[scale]
min = 1
max = 9
labels = { "1" = "Not important", "9" = "Critically important" }

[consensus]
scope = "overall"
include = "pct_agree >= 70 and pct_disagree < 15"
exclude = "pct_disagree >= 70 and pct_agree < 15"

[[groups]]
key = "service_user"
name = "People with lived experience"

[[groups]]
key = "staff"
name = "Staff"

[[statements]]
code = "HOPE-01"
domain = "Hope"
text = "Staff believe recovery is possible."

[[statements]]
code = "HOPE-02"
domain = "Hope"
text = "A relapse is not a failure."

[[statements]]
code = "EMP-01"
domain = "Empowerment"
text = "Staff decide what goes into the plan."
"""

BAD_CSV = "code,domain,text\nCON-01,Connectedness,Peers are part of the team.\nHOPE-01,Hope,Duplicate code\nX,,\n"
GOOD_CSV = ("code,domain,text\nCON-01,Connectedness,Peers are part of the team.\n"
            "CON-02,Connectedness,Families are asked what they need.\n")

# Values per statement code for the 8 panellists (4 per group). High agreement, mixed, low, mixed, mixed.
ROUND1 = {
    "HOPE-01": [9, 8, 9, 8, 9, 8, 7, 9],
    "HOPE-02": [2, 8, 5, 9, 3, 7, 5, 8],
    "EMP-01": [1, 2, 1, 2, 1, 3, 2, 1],
    "CON-01": [5, 8, 2, 9, 4, 7, 6, 3],
    "CON-02": [5, 8, 2, 9, 4, 7, 6, 3],
}


def _values(table, pids):
    return {pid: {code: values[i] for code, values in table.items()} for i, pid in enumerate(pids)}


def test_three_round_study(app, client, auth, make_user, runner, smtp, answer_round, tmp_path):
    make_user("owner@example.org")
    auth.login(email="owner@example.org")

    # Setup from a protocol file.
    response = client.post("/studies/new/upload", data={"upload-protocol": (io.BytesIO(PROTOCOL), "protocol.toml")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    study_id = int(re.search(r"/studies/(\d+)$", response.headers["Location"]).group(1))

    # A bad statements file: every problem reported by line, nothing written; then a good one, previewed, confirmed.
    response = client.post(f"/studies/{study_id}/statements/import",
                           data={"file": (io.BytesIO(BAD_CSV.encode()), "s.csv")}, content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "line 3: the code &#39;HOPE-01&#39; is already used" in page
    assert "line 4: the statement text is empty" in page
    response = client.post(f"/studies/{study_id}/statements/import",
                           data={"file": (io.BytesIO(GOOD_CSV.encode()), "s.csv")}, content_type="multipart/form-data")
    assert response.status_code == 200 and "Import 2 statements" in response.get_data(as_text=True)
    with app.app_context():
        assert len(db.session.get(Study, study_id).statements) == 3  # the preview wrote nothing
    response = client.post(f"/studies/{study_id}/statements/import", data={"content": GOOD_CSV})
    assert response.status_code == 303

    # The panel: four with e-mail through the CLI (sent by SMTP), four more without.
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("group,email\n" + "".join(
        f"{'service_user' if i < 2 else 'staff'},p{i}@example.org\n" for i in range(4)), encoding="utf-8")
    links = tmp_path / "links.csv"
    result = runner.invoke("panel", "invite", str(study_id), str(contacts), "--links", str(links), "--send")
    assert result.exit_code == 0, result.output
    assert len(smtp.messages) == 4
    assert links.read_text().splitlines()[0] == "group,email,link"
    result = runner.invoke("panel", "invite", str(study_id), str(_contacts(tmp_path)), "--links", str(links))
    assert result.exit_code == 0, result.output

    # The invitation's link works: a panellist's client follows it into the study.
    panellist_client = app.test_client()
    message = smtp.to("p0@example.org")[0]
    assert "Recovery in practice" in message["Subject"]
    link = smtp.link(message)
    assert link.startswith("http://delphi.test/p/")
    response = panellist_client.get(link.removeprefix("http://delphi.test"))
    assert response.status_code == 303 and response.headers["Location"] == "/panel/"
    assert panellist_client.get("/panel/", follow_redirects=True).status_code == 200

    # Round 1 by the CLI; the consensus definition locks.
    result = runner.invoke("round", "open", str(study_id))
    assert result.exit_code == 0, result.output
    response = client.post(f"/studies/{study_id}/protocol", data=_protocol_form(include="pct_agree >= 60"))
    assert response.status_code == 422 and "locked" in response.get_data(as_text=True)

    with app.app_context():
        study = db.session.get(Study, study_id)
        pids = sorted(p.id for p in study.panellists)
        by_group = {p.id: p.group.key for p in study.panellists}
        db.session.add(Suggestion(study_id=study_id, round_id=study.current_round.id, panellist_id=pids[0],
                                  domain="Meaning", text="Staff ask what gives the person's life meaning."))
        db.session.commit()
    assert [by_group[p] for p in pids] == ["service_user"] * 2 + ["staff"] * 2 + ["service_user"] * 2 + ["staff"] * 2
    answer_round(study_id, _values(ROUND1, pids), comments={(pids[1], "HOPE-02"): "Relapse is part of it."})
    monitor = client.get(f"/studies/{study_id}/rounds/current").get_data(as_text=True)
    assert "8 panellists have saved" in monitor and "p0@example.org" not in monitor

    # Close round 1 in the browser; the review lists every statement with figures.
    response = client.post(f"/studies/{study_id}/rounds/1/close", data={"confirm": "yes"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/rounds/1/closing")
    # The worker (here: the job run at once) has finished: the progress page sends the facilitator on.
    assert client.get(response.headers["Location"]).headers["Location"].endswith("/review")
    review = client.get(f"/studies/{study_id}/review").get_data(as_text=True)
    assert "Review of round 1" in review and "consensus in" in review and "consensus out" in review
    assert "Relapse is part of it." in review
    with app.app_context():
        ids = {s.code: s.id for s in db.session.get(Study, study_id).statements}
        round1 = db.session.get(Study, study_id).rounds[0]
        classes = {rs.statement.code: rs.classification for rs in round1.statements}
        assert classes["HOPE-01"] is Classification.consensus_in
        assert classes["EMP-01"] is Classification.consensus_out
        assert classes["HOPE-02"] is Classification.none
        suggestion_id = db.session.scalar(sa.select(Suggestion.id))

    # Review: reword HOPE-02, merge CON-02 into CON-01, accept the suggestion, override (keep HOPE-01 going).
    r = client.post(f"/studies/{study_id}/review/{ids['HOPE-02']}/reword",
                    data={f"r{ids['HOPE-02']}-text": "A relapse is part of recovery, not a failure.",
                          f"r{ids['HOPE-02']}-reason": "Panellists read 'failure' as blame."})
    assert r.status_code == 303
    r = client.post(f"/studies/{study_id}/review/merge", data={
        "absorbed": ids["CON-02"], "kept": ids["CON-01"], "text": "Peers and families are part of the team.",
        "reason": "Same idea"})
    assert r.status_code == 303
    r = client.post(f"/studies/{study_id}/review/suggestions/{suggestion_id}", data={
        f"g{suggestion_id}-action": "accept", f"g{suggestion_id}-code": "MEAN-01",
        f"g{suggestion_id}-domain": "Meaning", f"g{suggestion_id}-text": "Staff ask what gives life meaning."})
    assert r.status_code == 303
    r = client.post(f"/studies/{study_id}/review/{ids['HOPE-01']}/decide",
                    data={f"d{ids['HOPE-01']}-carry_forward": "yes", f"d{ids['HOPE-01']}-reason": ""})
    assert r.status_code == 422 and "Give a reason" in r.get_data(as_text=True)
    r = client.post(f"/studies/{study_id}/review/{ids['HOPE-01']}/decide",
                    data={f"d{ids['HOPE-01']}-carry_forward": "yes",
                          f"d{ids['HOPE-01']}-reason": "Staff were unsure; check once more."})
    assert r.status_code == 303
    with app.app_context():
        comment_id = db.session.scalar(sa.text("select id from rating where comment != ''"))
    assert client.post(f"/studies/{study_id}/review/comments", data={"approved": [str(comment_id)]}).status_code == 303

    # Round 2 opens in the browser with the decisions applied.
    assert client.post(f"/studies/{study_id}/rounds/open", data={"confirm": "yes"}).status_code == 303
    with app.app_context():
        study = db.session.get(Study, study_id)
        round2 = study.rounds[1]
        shown = {rs.statement.code: rs.text for rs in round2.statements}
        assert set(shown) == {"HOPE-01", "HOPE-02", "CON-01", "MEAN-01"}  # EMP-01 retired, CON-02 merged
        assert shown["HOPE-02"] == "A relapse is part of recovery, not a failure."
        assert shown["CON-01"] == "Peers and families are part of the team."
        statements = {s.code: s for s in study.statements}
        assert statements["CON-02"].status is StatementStatus.merged
        assert statements["EMP-01"].status is StatementStatus.retired
        kinds = {code: [r.kind for r in s.revisions] for code, s in statements.items()}
        assert RevisionKind.reworded in kinds["HOPE-02"]
        assert RevisionKind.merged in kinds["CON-01"] and RevisionKind.merged_into in kinds["CON-02"]
        assert kinds["MEAN-01"] == [RevisionKind.from_suggestion]
        assert db.session.get(Suggestion, suggestion_id).status is SuggestionStatus.accepted
        actions = set(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.study_id == study_id)))
        assert {"review.reword", "review.merge", "suggestion.accept", "review.decide", "review.comments",
                "round.open", "round.close", "panel.add", "panel.invitation"} <= actions
        details = " ".join(str(e.details) + e.target for e in db.session.scalars(sa.select(AuditEvent)))
        assert "Relapse is part of it." not in details  # never answer content

    # Reminders go only to those who have not submitted round 2.
    answer_round(study_id, _values(_round2(), pids[:3]))
    before = len(smtp.messages)
    page = client.get(f"/studies/{study_id}/panel/reminder").get_data(as_text=True)
    r = client.post(f"/studies/{study_id}/panel/reminder", data=_mail_fields(page))
    assert r.status_code == 303
    reminded = {m["To"] for m in smtp.messages[before:]}
    assert reminded == {"p3@example.org"}  # p0-p2 submitted; the other four have no address
    answer_round(study_id, _values(_round2(), pids[3:]))

    # Round 2 closes by the CLI, round 3 opens by the CLI and closes in the browser.
    result = runner.invoke("round", "close", str(study_id))
    assert result.exit_code == 0 and "Round 2" in result.output
    result = runner.invoke("round", "close", str(study_id))
    assert result.exit_code == 1 and "no open round" in result.output
    result = runner.invoke("round", "open", str(study_id))
    assert result.exit_code == 0, result.output
    answer_round(study_id, _values(_round2(), pids))
    assert client.post(f"/studies/{study_id}/rounds/3/close", data={"confirm": "yes"}).status_code == 303
    with app.app_context():
        round3 = db.session.get(Study, study_id).rounds[2]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RoundResult)
                                 .where(RoundResult.round_id == round3.id)) > 0

    page = client.get(f"/studies/{study_id}").get_data(as_text=True)
    assert "Stopping rule met" in page and "maximum of 3 rating rounds" in page
    result = runner.invoke("round", "open", str(study_id))
    assert result.exit_code == 1
    assert client.post(f"/studies/{study_id}/close", data={"confirm": "yes"}).status_code == 303
    with app.app_context():
        assert db.session.get(Study, study_id).status is StudyStatus.closed
    toml = client.get(f"/studies/{study_id}/protocol.toml").get_data(as_text=True)
    assert 'title = "Recovery in practice"' in toml


def _round2():
    return {"HOPE-01": [9] * 8, "HOPE-02": [8, 8, 9, 7, 8, 9, 8, 7], "CON-01": [5, 8, 2, 9, 4, 7, 6, 3],
            "MEAN-01": [7, 8, 9, 7, 8, 9, 7, 8]}


def _contacts(tmp_path):
    path = tmp_path / "more.csv"
    path.write_text("service_user\nservice_user\nstaff\nstaff\n", encoding="utf-8")
    return path


def _mail_fields(page: str) -> dict:
    subject = re.search(r'name="subject"[^>]*value="([^"]*)"', page) or re.search(r'value="([^"]*)"[^>]*name="subject"', page)
    body = re.search(r'<textarea[^>]*name="body"[^>]*>\n?(.*?)</textarea>', page, re.S)
    import html
    return {"subject": html.unescape(subject.group(1)), "body": html.unescape(body.group(1))}


def _protocol_form(**changes) -> dict:
    data = dict(scale_min=1, scale_max=9, labels="1 = Not important\n9 = Critically important", unable_to_rate="y",
                agree_low=7, agree_high=9, disagree_low=1, disagree_high=3, include="pct_agree >= 70",
                exclude="pct_disagree >= 70", scope="overall", stable_change=15, stopping="max_rounds",
                max_rounds=3, save="Save")
    data.update(changes)
    return data

