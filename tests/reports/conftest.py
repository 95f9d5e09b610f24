"""A three-round, four-group study built through the services, as a facilitator and panel would build it."""
from __future__ import annotations

import numpy as np
import pytest

from delphi.extensions import db
from delphi.models import StakeholderGroup, Study, StudyMember, StudyRole
from delphi.protocol import load_protocol
from delphi.services.answers import Answer, save_answers, submit_round
from delphi.services.panel import add_panellist
from delphi.services.rounds import close_round, open_next_round
from delphi.services.statements import add_statement
from delphi.services.studies import create_study

PROTOCOL = """
title = "Recovery-oriented practice: =HYPERLINK(\\"http://evil.example\\")"
min_group_feedback = 5
max_rounds = 3

[scale]
min = 1
max = 9
unable_to_rate = true
labels = { "1" = "Not important", "5" = "Neither important nor unimportant", "9" = "Critically important" }

[consensus]
agree = [7, 9]
disagree = [1, 3]
scope = "each_group"
include = "pct_agree >= 70 and pct_disagree < 15"
exclude = "pct_disagree >= 70 and pct_agree < 15"

[[groups]]
key = "service_user"
name = "People with lived experience"

[[groups]]
key = "family"
name = "Family members and carers"

[[groups]]
key = "staff"
name = "Staff"

[[groups]]
key = "peer"
name = "Peer support workers"

[[statements]]
code = "HOPE-01"
domain = "Hope"
text = "Staff believe recovery is possible."

[[statements]]
code = "HOPE-02"
domain = "Hope"
text = "=HYPERLINK(\\"http://evil.example\\",\\"click\\")"

[[statements]]
code = "CHOICE-01"
domain = "Choice"
text = "The person decides what goes into their plan."

[[statements]]
code = "CHOICE-02"
domain = "Choice"
text = "-2+3 is how staff weigh risk."

[[statements]]
code = "HR-01"
domain = "Harm reduction"
text = "@SUM(A1:A9) Abstinence is the only goal."
"""
SIZES = {"service_user": 7, "family": 5, "staff": 6, "peer": 2}
LEANING = {"HOPE-01": 9.5, "HOPE-02": 5, "CHOICE-01": 9, "CHOICE-02": 4, "HR-01": 2, "NEW-01": 6}
COMMENTS = ['=HYPERLINK("http://evil.example","x")', "-2+3", "@SUM(A1)", "\tTab first", "A plain comment"]


def _answers(round_, panellists, rng, drop=()):
    """Every panellist not in ``drop`` answers every statement of the round; a few say "unable to rate"."""
    for i, (panellist, key) in enumerate(panellists):
        if panellist.pseudonym in drop:
            continue
        answers = {}
        for rs in round_.statements:
            shift = {"service_user": 0.5, "family": -1.5, "staff": 0.0, "peer": 1.0}[key]
            if rs.statement.code == "HR-01":
                shift *= 2
            value = int(np.clip(round(LEANING[rs.statement.code] + shift + rng.normal(0, 0.8)), 1, 9))
            unable = (i + round_.number + rs.position) % 17 == 0
            comment = COMMENTS[(i + rs.position) % len(COMMENTS)] if (i + rs.position) % 4 == 0 else ""
            answers[rs.statement_id] = Answer(value=None if unable else value, unable=unable, comment=comment)
        save_answers(panellist, round_, answers)
        submit_round(panellist, round_)


def build_three_round_study(researcher_id: int | None = None) -> int:
    """Round 1 with every statement; HOPE-01 retired after it, NEW-01 added; one service user and one family
    member leave after round 1; round 3 carries everything left forward. Returns the study id."""
    rng = np.random.default_rng(7)
    study = create_study(load_protocol(PROTOCOL))
    if researcher_id is not None:
        db.session.add(StudyMember(study=study, user_id=researcher_id, role=StudyRole.researcher))
    panellists = []
    for key, size in SIZES.items():
        group = db.session.scalar(db.select(StakeholderGroup).filter_by(study_id=study.id, key=key))
        for _ in range(size):
            panellists.append((add_panellist(study, group)[0], key))
    db.session.flush()
    leavers = {next(p.pseudonym for p, k in panellists if k == "service_user"),
               next(p.pseudonym for p, k in panellists if k == "family")}

    round1 = open_next_round(study)
    _answers(round1, panellists, rng)
    close_round(round1)
    for rs in round1.statements:
        rs.carry_forward = rs.statement.code != "HOPE-01"
        rs.decision_reason = "Agreed in round 1" if rs.statement.code == "HOPE-01" else ""
    add_statement(study, "NEW-01", "Choice", "Services ask the person what helped before.", None)
    db.session.flush()

    round2 = open_next_round(study)
    _answers(round2, panellists, rng, drop=leavers)
    close_round(round2)
    for rs in round2.statements:
        rs.carry_forward = True
    round3 = open_next_round(study)
    _answers(round3, panellists, rng, drop=leavers)
    close_round(round3)
    db.session.commit()
    return study.id


@pytest.fixture
def researcher(make_user):
    return make_user("researcher@example.org")


@pytest.fixture
def three_round_study(app, researcher):
    with app.app_context():
        return build_three_round_study(researcher)


def study_in(app, study_id: int) -> Study:
    return db.session.get(Study, study_id)


def prepare_downloads(client, study_id: int) -> None:
    """Ask for the study's download set as the reports page's button does (the job runs inline in the tests)."""
    response = client.post(f"/studies/{study_id}/reports/build")
    assert response.status_code == 303, response.status_code

