"""Study settings in the browser: texts, the consensus definition (with a rule check), groups; protocol export."""
from __future__ import annotations

import re

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from analysis import parse_rule
from delphi.extensions import db
from delphi.facilitate import bp
from delphi.facilitate.access import RUNNING_ROLES, get_study_or_404
from delphi.facilitate.forms import GroupsForm, ProtocolForm, TextsForm
from delphi.facilitate.uploads import download
from delphi.models import DomainError
from delphi.protocol import ProtocolError, protocol_to_toml
from delphi.services.study_setup import parse_lines, update_settings
from delphi.services.studies import study_protocol

# Which form field a protocol key's message belongs to.
PROTOCOL_FIELDS = {
    "scale.min": "scale_min", "scale.max": "scale_max", "scale.labels": "labels", "scale": "scale_max",
    "consensus.agree": "agree_low", "consensus.disagree": "disagree_low", "consensus.include": "include",
    "consensus.exclude": "exclude", "consensus.scope": "scope", "consensus.stable_change": "stable_change",
    "consensus": "agree_low", "stopping": "stopping", "max_rounds": "max_rounds",
    "title": "title", "language": "language", "information": "information", "consent": "consent",
    "min_group_feedback": "min_group_feedback", "groups": "groups",
}


def attach_errors(form, messages: list[str], fallback: str) -> None:
    """Put each 'key: message' under the field its key maps to (the longest known prefix), else under fallback."""
    for message in messages:
        key = message.split(":", 1)[0].strip()
        field = fallback
        for prefix in sorted(PROTOCOL_FIELDS, key=len, reverse=True):
            if re.match(re.escape(prefix) + r"(\b|\[|\.|$)", key):
                field = PROTOCOL_FIELDS[prefix]
                break
        getattr(form, field if hasattr(form, field) else fallback).errors.append(message)


def _save(study, form, changes: dict, fallback: str) -> bool:
    try:
        update_settings(study, changes, current_user)
    except DomainError as exc:
        getattr(form, fallback).errors.append(str(exc))
    except ProtocolError as exc:
        db.session.rollback()
        attach_errors(form, exc.errors, fallback)
    else:
        db.session.commit()
        return True
    return False


@bp.route("/<int:study_id>/settings", methods=["GET", "POST"])
@login_required
def texts(study_id: int):
    study, role = get_study_or_404(study_id, RUNNING_ROLES)
    form = TextsForm(data=dict(title=study.title, language=study.language, information=study.information_text,
                               consent=study.consent_text, min_group_feedback=study.min_group_feedback,
                               allow_suggestions=study.allow_suggestions))
    if form.validate_on_submit() and _save(study, form, {
        "title": form.title.data, "language": form.language.data, "information": form.information.data or "",
        "consent": form.consent.data or "", "min_group_feedback": form.min_group_feedback.data,
        "allow_suggestions": form.allow_suggestions.data}, "title"):
        flash("The study's texts have been saved.", "success")
        return redirect(url_for("facilitate.study", study_id=study.id), code=303)
    return render_template("facilitate/texts.html", study=study, form=form), 422 if form.errors else 200


def _protocol_data(study) -> dict:
    return dict(
        scale_min=study.scale_min, scale_max=study.scale_max, unable_to_rate=study.unable_to_rate,
        labels="\n".join(f"{k} = {v}" for k, v in sorted(study.scale_labels.items(), key=lambda kv: int(kv[0]))),
        agree_low=study.agree_low, agree_high=study.agree_high, disagree_low=study.disagree_low,
        disagree_high=study.disagree_high, include=study.include_rule, exclude=study.exclude_rule,
        scope=study.consensus_scope.value, stable_change=study.stable_change, stopping=study.stopping_rule.value,
        max_rounds=study.max_rounds)


def check_rules(form) -> list[str]:
    """Parse both rules; returns a line per rule saying it is fine, adding parse errors to the fields."""
    fine = []
    for field, name in ((form.include, "consensus in"), (form.exclude, "consensus out")):
        try:
            rule = parse_rule(field.data or "")
        except ValueError as exc:
            field.errors.append(str(exc))
        else:
            fine.append(f"The rule for {name} is valid; it uses {', '.join(sorted(rule.metrics))}.")
    return fine


@bp.route("/<int:study_id>/protocol", methods=["GET", "POST"])
@login_required
def protocol(study_id: int):
    study, role = get_study_or_404(study_id, RUNNING_ROLES)
    form, checked = ProtocolForm(data=_protocol_data(study)), []
    if form.is_submitted() and form.check.data:
        form.validate()
        checked = check_rules(form)
    elif form.validate_on_submit():
        labels, errors = parse_lines(form.labels.data, "=", "point = label, e.g. 1 = Not important")
        form.labels.errors.extend(errors)
        changes = {
            "scale": {"min": form.scale_min.data, "max": form.scale_max.data, "unable_to_rate": form.unable_to_rate.data,
                      "labels": dict(labels)},
            "consensus": {"agree": [form.agree_low.data, form.agree_high.data],
                          "disagree": [form.disagree_low.data, form.disagree_high.data],
                          "include": form.include.data, "exclude": form.exclude.data, "scope": form.scope.data,
                          "stable_change": float(form.stable_change.data)},
            "stopping": form.stopping.data, "max_rounds": form.max_rounds.data,
        }
        if not errors and _save(study, form, changes, "include"):
            flash("The consensus definition has been saved.", "success")
            return redirect(url_for("facilitate.study", study_id=study.id), code=303)
    status = 422 if form.errors else 200
    return render_template("facilitate/protocol.html", study=study, form=form, checked=checked), status


@bp.post("/<int:study_id>/protocol/check-rule")
@login_required
def check_rule(study_id: int):
    """The live rule check for console.js: {"ok": bool, "message": str}."""
    get_study_or_404(study_id, RUNNING_ROLES)
    text = request.form.get("rule", "")[:500]
    try:
        rule = parse_rule(text)
    except ValueError as exc:
        return jsonify(ok=False, message=str(exc))
    return jsonify(ok=True, message=f"valid; uses {', '.join(sorted(rule.metrics))}")


@bp.route("/<int:study_id>/groups", methods=["GET", "POST"])
@login_required
def groups(study_id: int):
    study, role = get_study_or_404(study_id, RUNNING_ROLES)
    form = GroupsForm(data={"groups": "\n".join(f"{g.key}: {g.name}" for g in study.groups)})
    if form.validate_on_submit():
        pairs, errors = parse_lines(form.groups.data, ":", "key: name, e.g. staff: Staff")
        form.groups.errors.extend(errors)
        descriptions = {g.key: g.description for g in study.groups}
        groups = [{"key": k, "name": n, **({"description": descriptions[k]} if descriptions.get(k) else {})}
                  for k, n in pairs]
        if not errors and _save(study, form, {"groups": groups}, "groups"):
            flash("The stakeholder groups have been saved.", "success")
            return redirect(url_for("facilitate.study", study_id=study.id), code=303)
    return render_template("facilitate/groups.html", study=study, form=form), 422 if form.errors else 200


@bp.get("/<int:study_id>/protocol.toml")
@login_required
def export_protocol(study_id: int):
    study, _ = get_study_or_404(study_id)
    return download(protocol_to_toml(study_protocol(study)), f"study-{study.id}-protocol.toml", "application/toml")
