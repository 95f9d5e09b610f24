"""How a round's responses are coming in: counts per stakeholder group, never who answered what."""
from __future__ import annotations

import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Panellist, Rating, Round, StakeholderGroup, Submission
from delphi.services.suppression import withheld_cells


def response_progress(study_id: int, round_id: int | None, minimum: int) -> list[dict]:
    """Panellists and submitted counts per stakeholder group for a round (counts only, never who). A group whose
    submitted count is under ``minimum`` (and its complement) shows neither that count nor its share
    (``submitted`` None; ``small`` True for the group under the minimum itself)."""
    submitted = (
        sa.select(sa.func.count(Submission.id))
        .join(Panellist, Panellist.id == Submission.panellist_id)
        .where(Submission.round_id == round_id, Panellist.group_id == StakeholderGroup.id)
        .scalar_subquery()
    )
    invited = (
        sa.select(sa.func.count(Panellist.id))
        .where(Panellist.group_id == StakeholderGroup.id, Panellist.withdrawn.is_(False))
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(StakeholderGroup.name, invited, submitted)
        .where(StakeholderGroup.study_id == study_id)
        .order_by(StakeholderGroup.position)
    ).all()
    withheld = withheld_cells({i: sub for i, (_, _, sub) in enumerate(rows)}, minimum)
    return [
        {"group": name, "invited": inv, "submitted": None, "percent": None, "small": 0 < sub < minimum}
        if i in withheld else
        {"group": name, "invited": inv, "submitted": sub, "percent": round(100 * sub / inv) if inv else 0}
        for i, (name, inv, sub) in enumerate(rows)
    ]


def panellists_started(round_: Round | None) -> int:
    """How many panellists still on the panel have rated at least one statement in the round (0 without one)."""
    if round_ is None:
        return 0
    return db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Rating.panellist_id)))
        .join(Panellist, Panellist.id == Rating.panellist_id)
        .where(Rating.round_id == round_.id, Panellist.withdrawn.is_(False)))
