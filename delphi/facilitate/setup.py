"""Study settings in the browser: texts, the consensus definition (with a rule check), groups; protocol export."""
from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from analysis import parse_rule
from delphi.extensions import db
from delphi.facilitate import bp
from delphi.facilitate.access import RUNNING_ROLES, get_study_or_404
from delphi.facilitate.forms import GroupsForm, ProtocolForm, TextsForm, show_problems
from delphi.facilitate.uploads import download
from delphi.models import DomainError
from delphi.protocol import LANGUAGES, ProtocolError, protocol_to_toml
from delphi.rule_errors import rule_message
from delphi.services.experiment import arm_counts, experiment_spec
from delphi.services.study_setup import update_settings
from delphi.services.studies import study_protocol

# Which form field a problem with a protocol key belongs to (the longest key that starts the problem's key).
PROTOCOL_FIELDS = {
    "scale.min": "scale_min", "scale.max": "scale_max", "scale.labels": "labels", "scale": "scale_max",
    "scale.unable_to_rate": "unable_to_rate", "scale.prefer_not_to_answer": "prefer_not_to_answer",
    "consensus.agree": "agree_low", "consensus.disagree": "disagree_low", "consensus.include": "include",
    "consensus.exclude": "exclude", "consensus.scope": "scope", "consensus.stable_change": "stable_change",
    "consensus": "agree_low", "stopping": "stopping", "max_rounds": "max_rounds",
    "title": "title", "language": "language", "information": "information", "consent": "consent",
    "min_group_feedback": "min_group_feedback", "allow_suggestions": "allow_suggestions", "groups": "groups",
    "allow_group_choice": "allow_group_choice", "withdrawal": "withdrawal",
    "minutes": "minutes", "support": "contact_name", "support.contact_name": "contact_name",
    "support.contact_email": "contact_email", "support.contact_phone": "contact_phone",
    "support.services": "services", "languages": "languages",
    # A text in another language (issue 21): "title.en" is the field title_en.
    **{f"{key}.{lang}": f"{key}_{lang}" for key in ("title", "information", "consent") for lang in LANGUAGES},
}


def form_field(key: str | None) -> str | None:
    """The form field for protocol key ``key``: "groups[2].key" tries itself, then "groups[2]", then "groups"."""
    while key:
        if key in PROTOCOL_FIELDS:
            return PROTOCOL_FIELDS[key]
        key = key[:max(key.rfind("."), key.rfind("["), 0)]
    return None


def _save(study, form, fallback: str) -> bool:
    try:
        update_settings(study, form.changes(), current_user)
    except DomainError as exc:
        getattr(form, fallback).errors.append(str(exc))
    except ProtocolError as exc:
        db.session.rollback()
        show_problems(form, exc, getattr(form, fallback), field_name=form_field)
    else:
        db.session.commit()
        return True
    return False


@bp.route("/<int:study_id>/settings", methods=["GET", "POST"])
@login_required
def texts(study_id: int):
    study, role = get_study_or_404(study_id, RUNNING_ROLES)
    form = TextsForm.of(study_protocol(study))
    if form.validate_on_submit() and _save(study, form, "title"):
        flash(_("The study's texts have been saved."), "success")
        return redirect(url_for("facilitate.study", study_id=study.id), code=303)
    return render_template("facilitate/texts.html", study=study, form=form), 422 if form.errors else 200


@bp.route("/<int:study_id>/protocol", methods=["GET", "POST"])
@login_required
def protocol(study_id: int):
    study, role = get_study_or_404(study_id, RUNNING_ROLES)
    form, checked = ProtocolForm.of(study_protocol(study)), []
    if form.is_submitted() and form.check.data:
        form.validate()
        checked = form.check_rules()
    elif form.validate_on_submit() and _save(study, form, "include"):
        flash(_("The consensus definition has been saved."), "success")
        return redirect(url_for("facilitate.study", study_id=study.id), code=303)
    status = 422 if form.errors else 200
    return render_template("facilitate/protocol.html", study=study, form=form, checked=checked,
                           experiment=experiment_spec(study), arm_table=arm_counts(study)), status


@bp.post("/<int:study_id>/protocol/check-rule")
@login_required
def check_rule(study_id: int):
    """The live rule check for console.js: {"ok": bool, "message": str}."""
    get_study_or_404(study_id, RUNNING_ROLES)
    text = request.form.get("rule", "")[:500]
    try:
        rule = parse_rule(text)
    except ValueError as exc:
        return jsonify(ok=False, message=rule_message(exc))
    return jsonify(ok=True, message=_("valid; uses %(figures)s", figures=", ".join(sorted(rule.metrics))))


@bp.route("/<int:study_id>/groups", methods=["GET", "POST"])
@login_required
def groups(study_id: int):
    study, role = get_study_or_404(study_id, RUNNING_ROLES)
    form = GroupsForm.of(study_protocol(study))
    if form.validate_on_submit() and _save(study, form, "groups"):
        flash(_("The stakeholder groups have been saved."), "success")
        return redirect(url_for("facilitate.study", study_id=study.id), code=303)
    return render_template("facilitate/groups.html", study=study, form=form), 422 if form.errors else 200


@bp.get("/<int:study_id>/protocol.toml")
@login_required
def export_protocol(study_id: int):
    study, _role = get_study_or_404(study_id)
    return download(protocol_to_toml(study_protocol(study)), f"study-{study.id}-protocol.toml", "application/toml")
