"""Issue 23's "done when", through the app: a study made from a protocol with two arms runs three rounds, the app
draws the seed when round 1 opens and allocates the panel when round 2 opens, one arm's panellists move towards
their own group's median, and the study's report shows the effect; the allocated panellists who never answered are
counted in the CONSORT flow from the database, and ratings.csv carries each panellist's arm.

The simulation (120 panellists in 4 groups of 30, 20 statements): round 1 ratings scatter around each group's own
leaning; in rounds 2 and 3 every panellist moves half way towards a median they were shown: the panel's for the
"all_groups" arm, their own group's for the "own_group" arm (as Brookes et al., Trials 2016;17:409, saw patients do
when shown only their own group's scores). Four panellists of each group never answer after round 1, and two never
answer at all (they are allocated all the same, and counted)."""
from __future__ import annotations

import csv
import html
import io
import re

import numpy as np
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Panellist, Round, Study
from delphi.protocol import load_protocol
from delphi.services.answers import Answer, save_answers, submit_round
from delphi.services.panel import add_panellists
from delphi.services.reports import build_downloads
from delphi.services.rounds import close_round, open_next_round
from delphi.services.studies import create_study

GROUPS = ("service_user", "family", "staff", "peer")
PER_GROUP, STATEMENTS, SILENT, NEVER = 30, 20, 4, 2
PROTOCOL = f"""
title = "Feedback formats"
max_rounds = 3
min_group_feedback = 5
{"".join(f'[[groups]]{chr(10)}key = "{g}"{chr(10)}name = "Group {g}"{chr(10)}' for g in GROUPS)}
{"".join(f'[[statements]]{chr(10)}code = "S{i:02d}"{chr(10)}text = "Statement {i}."{chr(10)}' for i in range(STATEMENTS))}
[experiment]
block_size = 4
[[experiment.arms]]
key = "all_groups"
name = "Every group's scores"
feedback = "all_groups"
[[experiment.arms]]
key = "own_group"
name = "Own group's scores only"
feedback = "own_group"
"""


def _medians(values: np.ndarray, rows) -> np.ndarray:
    return np.nanmedian(values[rows], axis=0)


def _run_study() -> int:
    rng = np.random.default_rng(2311)
    study = create_study(load_protocol(PROTOCOL))
    groups = {g.key: g for g in study.groups}
    people = add_panellists(study, [(groups[key], None, None) for key in GROUPS for _ in range(PER_GROUP)])
    panellists = [p for p, _token in people]
    group_of = np.array([p.group.key for p in panellists])
    silent = {p.id for key in GROUPS for p in [q for q in panellists if q.group.key == key][:SILENT]}
    never = {p.id for key in GROUPS for p in [q for q in panellists if q.group.key == key][-NEVER:]}
    leaning = {key: rng.uniform(2, 8, STATEMENTS) for key in GROUPS}
    values = np.clip(np.rint(np.array([leaning[k] for k in group_of]) + rng.normal(0, 1.2, (len(panellists),
                                                                                          STATEMENTS))), 1, 9)
    for number in (1, 2, 3):
        round_ = open_next_round(study)
        db.session.flush()
        if number > 1:
            db.session.refresh(study)
            arm = np.array([p.arm for p in panellists], dtype=object)
            assert set(arm) == {"all_groups", "own_group"}  # everyone with a group allocated when round 2 opened
            answered = np.array([p.id not in silent and p.id not in never for p in panellists])
            panel = _medians(values, answered)
            own = np.array([_medians(values, answered & (group_of == key)) for key in group_of])
            target = np.where((arm == "own_group")[:, None], own, panel[None, :])
            values = np.clip(np.rint(values + 0.5 * (target - values) + rng.normal(0, 0.4, values.shape)), 1, 9)
        for p, row in zip(panellists, values):
            if (number > 1 and p.id in silent) or p.id in never:
                continue
            save_answers(p, round_, {rs.statement_id: Answer(value=int(row[i]))
                                     for i, rs in enumerate(round_.statements)})
            submit_round(p, round_)
        close_round(round_)
        for rs in round_.statements:
            rs.carry_forward = True
        db.session.flush()
    db.session.commit()
    return study.id


def test_the_report_of_a_study_with_two_arms_shows_the_known_effect(app):
    with app.app_context():
        study_id = _run_study()
        study = db.session.get(Study, study_id)
        assert study.allocation_seed is not None and study.arms_allocated_at is not None
        allocated = {(arm, group): n for arm, group, n in db.session.execute(
            sa.select(Panellist.arm, Panellist.group_id, sa.func.count()).where(Panellist.study_id == study_id)
            .group_by(Panellist.arm, Panellist.group_id))}
        by_arm = {arm: sum(n for (a, _g), n in allocated.items() if a == arm) for arm in ("all_groups", "own_group")}
        assert sum(by_arm.values()) == 120 and None not in {a for a, _g in allocated}
        # Blocks of 4 in a group of 30: 7 whole blocks and half of one, so the arms differ by at most 2 in a group.
        for group in {g for _a, g in allocated}:
            assert abs(allocated[("all_groups", group)] - allocated[("own_group", group)]) <= 2
        files = build_downloads(study)
    report = html.unescape(files["report.html"].decode())
    section = re.search(r'<section id="experiment".*?</section>', report, flags=re.S)
    assert section, "the study's report has no section on the study within the study"
    section = " ".join(section.group(0).split())
    found = re.search(r"a difference of (-?\d\.\d{3}) scale points in movement towards the panel's median \(95% CI "
                      r"(-?\d\.\d{3}) to (-?\d\.\d{3})\), permutation p [<=] ?(\d\.\d+); the difference is significant "
                      r"at the 5% level\.", section)
    assert found, section[:3000]
    difference, low, high = (float(found.group(i)) for i in (1, 2, 3))
    assert difference < 0 and high < 0  # the own_group arm moved less towards the panel's median
    # CONSORT flow: everyone allocated, counted in the database: the eight who never answered have no ratings, so
    # counting the allocated from ratings.csv would give 112.
    assert f">{by_arm['all_groups']}<" in section and f">{by_arm['own_group']}<" in section
    # ratings.csv carries each panellist's arm; the contacts side never does (tests/facilitate/test_experiment.py).
    rows = list(csv.DictReader(io.StringIO(files["ratings.csv"].decode())))
    assert {row["arm"] for row in rows} == {"all_groups", "own_group"}
