"""The staff console: the studies a staff member works on, and each study's page."""
from __future__ import annotations

import sqlalchemy as sa
from flask import render_template
from flask_login import current_user, login_required

from delphi.extensions import db
from delphi.facilitate import bp
from delphi.facilitate.access import get_study_or_404
from delphi.models import Panellist, StakeholderGroup, StudyMember, Submission
from delphi.services.studies import study_protocol


@bp.get("/")
@login_required
def dashboard():
    memberships = db.session.scalars(
        sa.select(StudyMember).where(StudyMember.user_id == current_user.id).order_by(StudyMember.study_id)
    ).all()
    return render_template("facilitate/dashboard.html", memberships=memberships)


@bp.get("/<int:study_id>")
@login_required
def study(study_id: int):
    study, role = get_study_or_404(study_id)
    current = study.current_round
    progress = _response_progress(study.id, current.id if current else None)
    return render_template(
        "facilitate/study.html", study=study, role=role, protocol=study_protocol(study), progress=progress,
        current=current,
    )


def _response_progress(study_id: int, round_id: int | None) -> list[dict]:
    """Invited and submitted counts per stakeholder group for a round (counts only, never who)."""
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
    return [
        {"group": name, "invited": inv, "submitted": sub, "percent": round(100 * sub / inv) if inv else 0}
        for name, inv, sub in rows
    ]
