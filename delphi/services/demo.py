"""The demo study: "What does recovery-oriented practice mean?" with a synthetic panel whose round 1 is closed and
round 2 is open, so that a newcomer sees every page with real figures."""
from __future__ import annotations

import secrets
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import ConsentDecision, ConsentRecord, Panellist, Rating, Round, StaffUser, Study, StudyMember, StudyRole, Submission
from delphi.protocol import STATEMENT_BANK, load_protocol
from delphi.services.panel import add_panellist, reissue_token
from delphi.services.rounds import close_round, open_next_round
from delphi.services.studies import create_study

DEMO_EMAIL = "facilitator@demo.example.org"
# Panel sizes per group; peer support workers are fewer than the feedback minimum (5) in round 2, so the demo shows
# how a small group's figures are withheld.
PANEL = {"service_user": 14, "family": 10, "staff": 12, "peer": 5}
# Where the groups lean, by statement code: (service_user, family, staff, peer) shifts on the 1-9 scale.
LEANINGS = {
    "HR-01": (-2.5, 1.5, 0.5, -1.5),  # abstinence as the goal
    "HR-03": (1.5, -1.5, 0.0, 1.5),  # supporting reduced or safer use
    "HR-04": (1.0, -1.0, 0.5, 1.0),
    "DO-02": (-1.0, 1.5, 1.0, -0.5),  # stepping in during a crisis
    "DO-03": (1.0, -2.0, -0.5, 1.0),  # accepting unwise choices
    "DIR-01": (-0.5, 1.5, 1.0, 0.0),
    "DIR-03": (-1.5, 1.5, 0.5, -1.0),  # directive advice
    "CON-05": (-0.5, 2.0, 0.5, 0.0),  # support for families without consent
    "EMP-05": (1.0, 0.0, -1.5, 1.0),
}


@dataclass
class DemoSeed:
    study: Study
    email: str
    password: str
    links: list[tuple[str, str]]
    round1_submissions: int


def seed_demo(seed: int = 2026) -> DemoSeed:
    """Create the demo study (or find the one made before), with a fresh password and fresh sample links."""
    password = secrets.token_urlsafe(12)
    owner = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == DEMO_EMAIL))
    if owner is None:
        owner = StaffUser(email=DEMO_EMAIL, password_hash="")
        db.session.add(owner)
    owner.set_password(password)
    owner.active = True

    study = db.session.scalar(
        sa.select(Study).join(StudyMember).where(StudyMember.user_id == owner.id, StudyMember.role == StudyRole.owner)
        if owner.id else sa.select(Study).where(sa.false())
    )
    if study is None:
        study = _build_study(owner, np.random.default_rng(seed))
    round1 = study.rounds[0]
    submitted = db.session.scalar(sa.select(sa.func.count(Submission.id)).where(Submission.round_id == round1.id))
    return DemoSeed(study=study, email=DEMO_EMAIL, password=password, links=_sample_links(study),
                    round1_submissions=submitted)


def _build_study(owner: StaffUser, rng: np.random.Generator) -> Study:
    db.session.flush()
    study = create_study(load_protocol(STATEMENT_BANK), owner=owner)
    panellists: list[Panellist] = []
    consent_statements = [line.strip() for line in study.consent_text.splitlines() if line.strip()]
    for group in study.groups:
        for _ in range(PANEL[group.key]):
            panellist, _token = add_panellist(study, group, email=None)
            panellist.consents.append(ConsentRecord(decision=ConsentDecision.given,
                                                    consent_version=study.consent_version,
                                                    statements=consent_statements))
            panellists.append(panellist)
    round1 = open_next_round(study, actor=owner)
    leaning = _leanings(study, rng)
    # Nine in ten answer round 1; the last peer worker does not, so peers fall below the minimum of 5.
    responders = [p for p in panellists if rng.random() < 0.9 and p is not _last_of(panellists, "peer")]
    _rate(round1, responders, leaning, rng, spread=1.6)
    close_round(round1, actor=owner)
    round2 = open_next_round(study, actor=owner)
    # A third of the round-1 responders have started round 2, moving towards the panel.
    _rate(round2, responders[::3], leaning * 0.6 + 7 * 0.4, rng, spread=1.1, submit=False)
    db.session.flush()
    return study


def _last_of(panellists: list[Panellist], key: str) -> Panellist:
    return [p for p in panellists if p.group.key == key][-1]


def _leanings(study: Study, rng: np.random.Generator) -> np.ndarray:
    """Mean rating per (group, statement): most statements are valued; the dilemmas split the groups."""
    codes = [s.code for s in study.statements]
    base = rng.uniform(5.5, 8.3, size=len(codes))
    shifts = np.array([LEANINGS.get(code, (0.0, 0.0, 0.0, 0.0)) for code in codes]).T  # (groups, statements)
    return np.clip(base[None, :] + shifts, 1.5, 8.8)


def _rate(round_: Round, panellists: list[Panellist], leaning: np.ndarray, rng: np.random.Generator, *,
          spread: float, submit: bool = True) -> None:
    statements = [rs.statement_id for rs in round_.statements]
    index = {s.id: i for i, s in enumerate(round_.study.statements)}
    group_row = {g.id: i for i, g in enumerate(round_.study.groups)}
    rows = []
    for panellist in panellists:
        means = leaning[group_row[panellist.group_id]]
        for statement_id in statements:
            unable = rng.random() < 0.03
            value = int(np.clip(np.rint(rng.normal(means[index[statement_id]], spread)), 1, 9))
            rows.append({
                "panellist_id": panellist.id, "round_id": round_.id, "statement_id": statement_id,
                "value": None if unable else value, "unable_to_rate": unable, "comment": "",
            })
        if submit:
            db.session.add(Submission(panellist_id=panellist.id, round_id=round_.id))
    db.session.execute(sa.insert(Rating), rows)
    db.session.flush()


def _sample_links(study: Study) -> list[tuple[str, str]]:
    """One fresh link per group, for a panellist who answered round 1 and has not submitted round 2."""
    current = study.current_round
    links = []
    for group in study.groups:
        submitted_current = sa.select(Submission.panellist_id).where(Submission.round_id == current.id)
        panellist = db.session.scalar(
            sa.select(Panellist)
            .where(Panellist.group_id == group.id, Panellist.withdrawn.is_(False), Panellist.id.not_in(submitted_current))
            .order_by(Panellist.id)
        )
        if panellist is not None:
            links.append((group.name, reissue_token(panellist)))
    return links
