"""A study's audit log, for its owners: read page by page, newest first, filtered by action, or downloaded as CSV."""
from __future__ import annotations

from flask import render_template, request
from flask_login import login_required

from delphi.extensions import db
from delphi.facilitate import bp
from delphi.facilitate.access import OWNER_ONLY, get_study_or_404
from delphi.facilitate.forms import AuditFilterForm
from delphi.facilitate.uploads import download
from delphi.services import audit


def audit_filter(study_id: int | None) -> AuditFilterForm:
    """The filter form with the actions that occur in this log; an action not among them shows every entry."""
    form = AuditFilterForm(request.args)
    form.action.choices = [("", "—")] + [(a, f"{audit.describe(a)} ({a})") for a in audit.actions_in(study_id)]
    if not form.validate():
        form.action.data = ""
    return form


@bp.get("/<int:study_id>/audit")
@login_required
def audit_log(study_id: int):
    study, role = get_study_or_404(study_id, OWNER_ONLY)
    form = audit_filter(study.id)
    page = db.paginate(audit.events_query(study.id, form.action.data), per_page=audit.PER_PAGE, error_out=False)
    return render_template("facilitate/audit.html", study=study, role=role, form=form, page=page,
                           lines=audit.audit_lines(page.items))


@bp.get("/<int:study_id>/audit.csv")
@login_required
def audit_csv(study_id: int):
    study, _role = get_study_or_404(study_id, OWNER_ONLY)
    form = audit_filter(study.id)
    return download(audit.audit_csv(study.id, form.action.data), f"audit-study-{study.id}.csv")
