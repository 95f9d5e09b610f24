"""The panellist's journey: personal link, consent, group, rating pages with feedback, review and submit, open
questions, suggestions and withdrawal.

The token leaves the URL at once; the session keeps only the panellist and the link's hash, so revoking or reissuing
the link ends the session too.
"""
from __future__ import annotations

import functools

from flask import abort, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from wtforms.fields.choices import SelectChoice

from delphi.extensions import csrf, db, limiter
import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from delphi.models import (
    ConsentDecision,
    ConsentRecord,
    DeletionScope,
    Panellist,
    RoundKind,
    RoundStatus,
    Study,
    StudyStatus,
    Suggestion,
)
from delphi.panel import bp
from delphi.panel import kept as kept_answers
from delphi.panel.phrases import feedback_phrases
from delphi.security import keep_session_cookie
from delphi.panel.forms import (
    UNABLE,
    DECLINED,
    ConfirmDeclineForm,
    ConfirmGroupForm,
    ConfirmPendingForm,
    ConsentForm,
    DeletionRequestForm,
    GroupForm,
    SubmitRoundForm,
    SuggestionForm,
    WithdrawForm,
    open_answers_form,
    rating_form,
)
from delphi.services import answers as answer_service
from delphi.services.answers import Answer, NotAnAnswer, Refusal, RoundClosed, SaveRefused, Standing
from delphi.localised import consent_lines, for_page
from delphi.services.consent import consent_changes, consent_items
from delphi.services.experiment import pages_in_panellist_order
from delphi.services.feedback import answered_before, feedback_for
from delphi.services.deletion_requests import asked_to_delete_answers, request_deletion
from delphi.services.panel import find_by_token, withdraw_panellist
from delphi.services.round_timing import closing_sentence
from delphi.services.statements import corrections_for
from delphi.services.study_results import study_outcomes


@bp.get("/p/<path:token>")
@limiter.limit(lambda: current_app.config["LINK_RATE_LIMIT"])
def enter(token: str):
    panellist = find_by_token(token)
    if panellist is None:
        session.pop("panellist", None)
        return render_template("panel/link_invalid.html"), 404
    kept = session.get(kept_answers.SESSION_KEY)
    session.clear()
    session["panellist"] = {"id": panellist.id, "link": panellist.token_hash}
    session.permanent = True
    session["lang"] = panellist.language or panellist.study.language
    if kept:
        # Answers kept in this browser go on only for the panellist who wrote them; anyone else's are dropped unseen.
        session[kept_answers.SESSION_KEY] = kept
        kept_answers.held_for(panellist)
    # The results mail's link ends in ?to=results (services/study_results.py); the page sends anyone else home.
    return redirect(url_for("panel.results" if request.args.get("to") == "results" else "panel.home"), code=303)


def current_panellist() -> Panellist | None:
    """The panellist of this session, if their link is still the one they came in with (looked up once a request)."""
    if "session_panellist" not in g:
        g.session_panellist = _session_panellist()
    return g.session_panellist


def remember_language(lang: str) -> None:
    """Keep the language a panellist chose with a page's switch as theirs: their link, their mails and the results
    page then come in it, not in the study's language again. The caller commits (or the answers save does)."""
    panellist = current_panellist()
    if panellist is not None and panellist.language != lang:
        panellist.language = lang


def _session_panellist() -> Panellist | None:
    held = session.get("panellist")
    if not isinstance(held, dict):
        return None
    if not isinstance(held.get("id"), int):
        return None
    # One query for everything every panellist page needs: the panellist, their study and its rounds, their group
    # and consent records (collections are small: a few rounds, usually one consent record).
    panellist = db.session.scalars(
        sa.select(Panellist).where(Panellist.id == held["id"]).options(
            joinedload(Panellist.study).joinedload(Study.rounds), joinedload(Panellist.group),
            joinedload(Panellist.consents))
    ).unique().one_or_none()
    if panellist is None or answer_service.refusal(Standing.of(panellist), str(held.get("link", ""))) \
            is Refusal.signed_out:
        return None
    return panellist


def panellist_required(view):
    """Load the session's panellist into ``g.panellist`` (and the study), or show the calm invalid-link page."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        panellist = current_panellist()
        if panellist is None:
            return refused_page(Refusal.signed_out)
        g.panellist, g.study = panellist, panellist.study
        return view(*args, **kwargs)

    return wrapped


def ready_to_answer(view):
    """Also require consent and a group; send the panellist to whichever step is missing."""

    @functools.wraps(view)
    @panellist_required
    def wrapped(*args, **kwargs):
        # The session's link was compared when the panellist was loaded; only consent and group are left to check.
        refused = answer_service.refusal(Standing.of(g.panellist), g.panellist.token_hash)
        if refused in (Refusal.no_consent, Refusal.no_group):
            return refused_page(refused)
        return view(*args, **kwargs)

    return wrapped


def refused_page(refused: Refusal):
    """What a panellist who may not go on is shown (a round that is not open is each view's to answer)."""
    if refused is Refusal.no_consent:
        return redirect(url_for("panel.consent"))
    if refused is Refusal.no_group:
        return redirect(url_for("panel.choose_group"))
    return render_template("panel/link_invalid.html"), 404


def open_round_or_none():
    current = g.study.current_round
    return current if current is not None and current.is_open else None


@bp.get("/panel/")
@panellist_required
def home():
    consent = g.panellist.consent
    if consent is not None and consent.decision is ConsentDecision.refused:
        return render_template("panel/declined.html")
    if not g.panellist.consent_is_current:
        return redirect(url_for("panel.consent"))
    if g.panellist.group is None:
        return redirect(url_for("panel.choose_group"))
    if kept_answers.held_for(g.panellist):
        return redirect(url_for("panel.pending"))
    current = g.study.current_round
    progress = _progress(current) if current is not None and current.is_open else None
    return render_template("panel/home.html", current=current, progress=progress,
                           closing=closing_sentence(current, str(get_locale())))


def _progress(round_):
    if round_.kind is RoundKind.open:
        saved = answer_service.open_answers_for(g.panellist, round_)
        answered = sum(1 for a in saved.values() if a.text.strip())
        total = len([q for q in g.study.open_questions if q.round_id == round_.id])
        return {"answered": answered, "total": total, "first_page": 1, "pages": 1,
                "submitted": answer_service.has_submitted(g.panellist, round_)}
    pages = answer_service.round_pages(round_)
    saved = answer_service.answers_for(g.panellist, round_)
    answered = sum(1 for r in saved.values() if r.is_answered)
    first_open = next((p.number for p in pages if any(
        not (saved.get(rs.statement_id) and saved[rs.statement_id].is_answered) for rs in p.statements)), 1)
    return {"answered": answered, "total": answer_service.statement_count(pages), "first_page": first_open,
            "pages": len(pages), "submitted": answer_service.has_submitted(g.panellist, round_)}


@bp.route("/panel/consent", methods=["GET", "POST"])
@panellist_required
def consent():
    if g.panellist.consent_is_current:
        return redirect(url_for("panel.home"))
    items = consent_items(g.study.consent_text)
    # Consent given to an earlier text is asked again, saying what changed.
    earlier = g.panellist.consent if g.panellist.has_consented else None
    form = ConsentForm()
    form.statements.choices = [SelectChoice(str(i), text) for i, text in enumerate(consent_lines(g.study))]
    if form.validate_on_submit():
        if form.decline.data:
            # Final for this study, so asked once more on a page of its own (panel.decline_consent keeps it).
            return render_template("panel/consent_decline.html", form=ConfirmDeclineForm())
        ticked = set(form.statements.data or [])
        if {str(i) for i in range(len(items))} <= ticked:
            g.panellist.consents.append(ConsentRecord(decision=ConsentDecision.given,
                                                      consent_version=g.study.consent_version, statements=items))
            db.session.commit()
            return redirect(url_for("panel.home"), code=303)
        form.statements.errors.append(_("To take part, please tick every box. If you do not agree with one of them, "
                                        "you can choose not to take part."))
    changes = consent_changes(earlier.statements, items) if earlier is not None else None
    return render_template("panel/consent.html", form=form, items=items, earlier=earlier, changes=changes,
                           own=g.study.language != str(get_locale() or g.study.language)), \
        422 if form.errors else 200


@bp.post("/panel/consent/decline")
@panellist_required
def decline_consent():
    """"Yes" keeps the panellist's no; "No, go back" returns to the consent page with nothing kept."""
    if g.panellist.consent_is_current:
        return redirect(url_for("panel.home"), code=303)
    form = ConfirmDeclineForm()
    if form.validate_on_submit() and form.yes.data:
        g.panellist.consents.append(ConsentRecord(decision=ConsentDecision.refused,
                                                  consent_version=g.study.consent_version, statements=[]))
        db.session.commit()
        return redirect(url_for("panel.home"), code=303)
    return redirect(url_for("panel.consent"), code=303)


def _group_label(group):
    """How a group is offered to a panellist choosing theirs: its description (written in the study's language) or
    else its name, in the panellist's language when the study has it (issue 21)."""
    return for_page(group, "description") if group.description else for_page(group, "name")


@bp.route("/panel/group", methods=["GET", "POST"])
@panellist_required
def choose_group():
    if g.panellist.group is not None or not g.panellist.consent_is_current:
        return redirect(url_for("panel.home"))
    if not g.study.allow_group_choice:
        return render_template("panel/no_group.html")
    form = GroupForm()
    form.group.choices = [SelectChoice(str(grp.id), _group_label(grp)) for grp in g.study.groups]
    if form.validate_on_submit():
        chosen = next((grp for grp in g.study.groups if str(grp.id) == form.group.data), None)
        if chosen is not None:
            # Chosen once and for all, so shown back first; panel.confirm_group keeps it.
            return render_template("panel/group_confirm.html", chosen=chosen,
                                   form=ConfirmGroupForm(formdata=None, group=str(chosen.id)))
        form.group.errors.append(_("Choose the group that describes you best."))
    return render_template("panel/group.html", form=form), 422 if form.errors else 200


@bp.route("/panel/group/confirm", methods=["GET", "POST"])
@panellist_required
def confirm_group():
    """"Yes" keeps the group shown; "No, go back" shows the groups again with that one still chosen. (Asked for
    by GET, as the language switch on that page does, it is the groups page.)"""
    if request.method == "GET":
        return redirect(url_for("panel.choose_group"))
    if g.panellist.group is not None or not g.panellist.consent_is_current or not g.study.allow_group_choice:
        return redirect(url_for("panel.home"), code=303)
    form = ConfirmGroupForm()
    chosen = next((grp for grp in g.study.groups if str(grp.id) == form.group.data), None)
    if not form.validate_on_submit() or chosen is None:
        return redirect(url_for("panel.choose_group"), code=303)
    if not form.yes.data:
        again = GroupForm(formdata=None, group=str(chosen.id))
        again.group.choices = [SelectChoice(str(grp.id), _group_label(grp)) for grp in g.study.groups]
        return render_template("panel/group.html", form=again)
    g.panellist.group = chosen
    db.session.commit()
    return redirect(url_for("panel.home"), code=303)


# Where the controls that leave an answers page go once it is saved (``go``; see panel/_layout.html).
LEAVING_TO = {"home": "panel.home", "suggest": "panel.suggest", "withdraw": "panel.withdraw", "review": "panel.review",
              "accessibility": "main.accessibility"}


def _leaving(here: str) -> str | None:
    """Where a control that leaves an answers page goes, now that the page is saved: a place named by ``go`` (a page
    of the round is "page-<n>"), or ``here`` again in the language ``lang`` asks for; None when the page's own
    buttons decide."""
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        remember_language(lang)
        db.session.commit()
        return here
    go = request.form.get("go", "")
    if go in LEAVING_TO:
        return url_for(LEAVING_TO[go])
    number = go.removeprefix("page-")
    if go.startswith("page-") and number.isdigit():
        return url_for("panel.rate", page=int(number))
    return None


def _returning() -> dict:
    """The marker a "Change" link on the review page adds, for the page's URLs: its save goes back to the review."""
    return {"return": "review"} if request.args.get("return") == "review" else {}


def _answers_from_form(form, saved: dict) -> dict[int, Answer]:
    """The page's answers; a statement left blank is skipped unless it had an answer before (to record the change)."""
    out = {}
    for rs, rating_name, comment_name, reason_name in form.statement_fields:
        choice = form[rating_name].data
        value = int(choice) if choice not in (None, "", UNABLE, DECLINED) else None
        answer = Answer(value=value, unable=choice == UNABLE, declined=choice == DECLINED, comment=form[comment_name].data or "",
                        change_reason=(form[reason_name].data or "") if reason_name else "")
        if answer != Answer() or rs.statement_id in saved:
            out[rs.statement_id] = answer
    return out


def _saved_data(statements, reasons: set[int], saved) -> dict:
    """The saved answers of a page's statements as the rating form's data (field names as ``rating_form`` makes)."""
    data = {}
    for rs in statements:
        sid = rs.statement_id
        r = saved.get(sid)
        if r is None:
            continue
        data[f"s{sid}"] = (UNABLE if r.unable_to_rate else DECLINED if r.declined
                           else str(r.value) if r.value is not None else None)
        data[f"c{sid}"] = r.comment
        if sid in reasons:
            data[f"r{sid}"] = r.change_reason
    return data


@csrf.exempt  # the form checks its own CSRF token, so an expired one re-renders the answers instead of a 400
@bp.route("/panel/rate/<int:page>", methods=["GET", "POST"])
def rate(page: int):
    if current_panellist() is None:
        if request.method == "POST":
            return _keep_for_later(page)
        return render_template("panel/link_invalid.html"), 404
    return _rate(page)


@ready_to_answer
def _rate(page: int):
    round_ = open_round_or_none()
    if round_ is None or round_.kind is not RoundKind.rating:
        return _not_open()
    pages = pages_in_panellist_order(answer_service.round_pages(round_), g.panellist)
    if not 1 <= page <= len(pages):
        abort(404)
    current = pages[page - 1]
    statement_ids = [s.statement_id for s in current.statements]
    saved = answer_service.answers_for(g.panellist, round_)
    # A page that is saved needs only which statements ask why an answer changed; the feedback itself (figures and
    # comments) is read when the page is shown.
    feedback = None if request.method == "POST" else feedback_for(g.panellist, round_, statement_ids)
    reasons = _reasons_asked(round_, statement_ids, feedback)
    form = rating_form(g.study, current.statements, with_reasons=reasons,
                       data=None if request.method == "POST" else _saved_data(current.statements, reasons, saved))
    form.keeper.data = kept_answers.keeper(g.panellist)
    expired = False
    if request.method == "POST":
        if form.validate():
            try:
                answer_service.save_answers(g.panellist, round_, _answers_from_form(form, saved))
            except RoundClosed:
                db.session.rollback()
                return render_template("panel/round_closed.html"), 409
            db.session.commit()
            here = url_for("panel.rate", page=page, **_returning())
            return redirect(_leaving(here) or _after_save(form, page, len(pages)), code=303)
        expired = bool(form.csrf_token.errors) if hasattr(form, "csrf_token") else False
        feedback = feedback_for(g.panellist, round_, statement_ids)
    answered = sum(1 for r in saved.values() if r.is_answered)
    return render_template("panel/rate.html", form=form, round=round_, page=current, pages=pages, feedback=feedback,
                           phrases=feedback_phrases() if feedback else {},
                           corrections=corrections_for(g.panellist, round_, statement_ids) if saved else {},
                           answered=answered, total=answer_service.statement_count(pages), expired=expired,
                           returning=_returning()), \
        422 if request.method == "POST" else 200


def _reasons_asked(round_, statement_ids: list[int], feedback=None) -> set[int]:
    """The statements (of a page's) whose page asks why the answer changed: those the panellist answered last round
    (from the page's feedback when it has been read)."""
    if feedback is None:
        return answered_before(g.panellist, round_, statement_ids)
    return {sid for sid, fb in feedback.items() if fb.own_value is not None or fb.own_unable}


def _after_save(form, page: int, pages: int) -> str:
    if form.leave.data:
        return url_for("panel.saved")
    if _returning():
        return url_for("panel.review")
    if form.previous.data and page > 1:
        return url_for("panel.rate", page=page - 1)
    if page < pages:
        return url_for("panel.rate", page=page + 1)
    return url_for("panel.review")


def _keep_for_later(page: int):
    """The session ended with answers on the page: keep them in this browser, for the panellist whose page it was,
    until they come back by their link, see them and confirm (``panel.kept``)."""
    if not kept_answers.keep(page, request.form):
        # Not answers this browser may keep (no keeper: a form on another site, or a cross-site post). Nothing is
        # rendered here, so the session cookie is left as it was: a redirect, not a page that would start one.
        return redirect(url_for("panel.session_ended"), code=303)
    return render_template("panel/session_ended.html", kept=True), 401


@bp.get("/panel/session-ended")
def session_ended():
    return render_template("panel/session_ended.html", kept=False), 401


@bp.route("/panel/pending", methods=["GET", "POST"])
@ready_to_answer
def pending():
    """Answers kept after a session ended: shown, statement by statement, and saved only when the panellist
    confirms (with their own session and CSRF token)."""
    held = kept_answers.held_for(g.panellist)
    round_ = open_round_or_none()
    answers, page = _kept_answers(held, round_) if held and round_ else ({}, None)
    if not answers:
        kept_answers.drop()
        return redirect(url_for("panel.home"))
    confirm = ConfirmPendingForm()
    if confirm.validate_on_submit():
        kept_answers.drop()
        if not confirm.save.data:
            return redirect(url_for("panel.home"), code=303)
        try:
            answer_service.save_answers(g.panellist, round_, answers)
        except RoundClosed:
            db.session.rollback()
            return render_template("panel/round_closed.html"), 409
        db.session.commit()
        return redirect(url_for("panel.rate", page=page.number), code=303)
    shown = [(rs, answers[rs.statement_id]) for rs in page.statements if rs.statement_id in answers]
    return render_template("panel/pending.html", form=confirm, page=page, shown=shown)


def _kept_answers(held: dict, round_):
    """The kept answers as the page would have saved them ({statement id: Answer}, the page), or ({}, None) when they
    are not answers to a page of this round."""
    pages = pages_in_panellist_order(answer_service.round_pages(round_), g.panellist)
    if round_.kind is not RoundKind.rating or not 1 <= held["page"] <= len(pages):
        return {}, None
    page = pages[held["page"] - 1]
    form = rating_form(g.study, page.statements, formdata=MultiDict(held["answers"]), meta={"csrf": False},
                       with_reasons=_reasons_asked(round_, [s.statement_id for s in page.statements]))
    if not form.validate():
        return {}, None
    return _answers_from_form(form, answer_service.answers_for(g.panellist, round_)), page


@bp.post("/panel/autosave")
def autosave():
    """One answer saved as it changes (the page's script posts here with the CSRF token in a header); refused with
    what the rating page would give, or a status and a message the script shows."""
    held = session.get("panellist") if isinstance(session.get("panellist"), dict) else {}
    try:
        rating = answer_service.autosave_answer(held.get("id"), str(held.get("link", "")),
                                                request.form.get("field", ""), request.form.get("value", ""))
    except SaveRefused as refused:
        db.session.rollback()
        return refused_page(refused.refusal)
    except RoundClosed:
        db.session.rollback()
        return {"saved": False, "message": _("This round has closed. Your answers can no longer be changed.")}, 409
    except NotAnAnswer:
        db.session.rollback()
        return {"saved": False, "message": _("Choose one of the answers shown.")}, 400
    except ValueError:
        db.session.rollback()
        return {"saved": False, "message": _("That answer could not be saved.")}, 400
    db.session.commit()
    if rating:
        keep_session_cookie()
    return {"saved": True, "message": _("Saved")}


@bp.route("/panel/review", methods=["GET", "POST"])
@ready_to_answer
def review():
    round_ = open_round_or_none()
    if round_ is None:
        return _not_open()
    form = SubmitRoundForm()
    if form.validate_on_submit():
        try:
            answer_service.submit_round(g.panellist, round_)
        except RoundClosed:
            db.session.rollback()
            return render_template("panel/round_closed.html"), 409
        db.session.commit()
        return redirect(url_for("panel.thanks"), code=303)
    if round_.kind is RoundKind.open:
        questions = [q for q in g.study.open_questions if q.round_id == round_.id]
        saved_open = answer_service.open_answers_for(g.panellist, round_)
        return render_template("panel/review_open.html", form=form, round=round_, questions=questions,
                               saved=saved_open, submitted=answer_service.has_submitted(g.panellist, round_))
    pages = pages_in_panellist_order(answer_service.round_pages(round_), g.panellist)
    saved = answer_service.answers_for(g.panellist, round_)
    missing = sum(1 for p in pages for s in p.statements
                  if not (saved.get(s.statement_id) and saved[s.statement_id].is_answered))
    your_answer = {v: _("Your answer: %(value)s", value=v) for v in range(g.study.scale_min, g.study.scale_max + 1)}
    return render_template("panel/review.html", form=form, round=round_, pages=pages, saved=saved, missing=missing,
                           your_answer=your_answer,
                           submitted=answer_service.has_submitted(g.panellist, round_))


@bp.get("/panel/thanks")
@ready_to_answer
def thanks():
    return render_template("panel/thanks.html", current=g.study.current_round)


@bp.get("/panel/saved")
@ready_to_answer
def saved():
    return render_template("panel/saved.html")


@csrf.exempt  # checked by the form itself, so that typed answers survive an expired token
@bp.route("/panel/questions", methods=["GET", "POST"])
def questions():
    if current_panellist() is None:
        if request.method == "POST":
            return render_template("panel/session_ended.html", kept=False), 401
        return render_template("panel/link_invalid.html"), 404
    return _questions()


def _not_open():
    """A rating or open-question page asked for when no round of its kind is open. Only a round that has closed says
    so; before the first round, or while a round of the other kind is open, the start page says what there is to do.
    Answers posted then were typed into a round that has since closed."""
    current = g.study.current_round
    if request.method == "POST" and current is not None:
        return render_template("panel/round_closed.html"), 409
    # A round being closed by the worker ("closing") is closed to panellists: answers stopped when it was asked.
    if current is not None and current.status in (RoundStatus.closed, RoundStatus.closing) \
            and g.study.status is not StudyStatus.closed:
        return render_template("panel/round_closed.html")
    return redirect(url_for("panel.home"), code=303)


@ready_to_answer
def _questions():
    round_ = open_round_or_none()
    if round_ is None or round_.kind is not RoundKind.open:
        return _not_open()
    items = [q for q in g.study.open_questions if q.round_id == round_.id]
    saved_open = answer_service.open_answers_for(g.panellist, round_)
    form = open_answers_form(items)
    if request.method == "POST" and form.validate():
        try:
            answer_service.save_open_answers(g.panellist, round_, {q.id: form[f"q{q.id}"].data or "" for q in items})
        except RoundClosed:
            db.session.rollback()
            return render_template("panel/round_closed.html"), 409
        db.session.commit()
        here = url_for("panel.questions", **_returning())
        return redirect(_leaving(here) or url_for("panel.review" if form.review.data or _returning() else
                                                  "panel.questions"), code=303)
    if request.method == "GET":
        form = open_answers_form(items, data={f"q{qid}": a.text for qid, a in saved_open.items()})
    expired = request.method == "POST" and bool(getattr(form, "csrf_token", None) and form.csrf_token.errors)
    return render_template("panel/questions.html", form=form, questions=items, round=round_, expired=expired,
                           returning=_returning()), \
        422 if request.method == "POST" else 200


@bp.route("/panel/suggest", methods=["GET", "POST"])
@ready_to_answer
def suggest():
    round_ = open_round_or_none()
    if round_ is None or not g.study.allow_suggestions:
        # Not "the round has closed" whatever the reason: say why suggestions cannot be made now.
        return render_template("panel/suggest_closed.html", study=g.study), 409 if request.method == "POST" else 200
    form = SuggestionForm()
    if form.validate_on_submit():
        db.session.add(Suggestion(study_id=g.study.id, round_id=round_.id, panellist_id=g.panellist.id,
                                  domain=answer_service.clean_text(form.domain.data, 200),
                                  text=answer_service.clean_text(form.text.data, 1000)))
        db.session.commit()
        return redirect(url_for("panel.suggested"), code=303)
    domains = sorted({s.domain for s in g.study.statements if s.domain})
    return render_template("panel/suggest.html", form=form, domains=domains), 422 if form.errors else 200


@bp.get("/panel/suggested")
@ready_to_answer
def suggested():
    return render_template("panel/suggested.html")


@bp.get("/panel/results")
@panellist_required
def results():
    """Once the study has closed: what the panel agreed, by the panellist's own link."""
    if g.study.status is not StudyStatus.closed or not g.panellist.has_consented:
        return redirect(url_for("panel.home"))
    return render_template("panel/results.html", outcomes=study_outcomes(g.study), t=feedback_phrases())


@bp.route("/panel/withdraw", methods=["GET", "POST"])
@panellist_required
def withdraw():
    form = WithdrawForm()
    if form.validate_on_submit():
        # Someone who asked for their answers to be deleted and then leaves by their link gets what they asked for.
        withdraw_panellist(g.panellist, erase_answers=asked_to_delete_answers(g.panellist))
        db.session.commit()
        language = session.get("lang")
        session.clear()
        if language:  # the goodbye page in the language the panellist was reading, not the browser's
            session["lang"] = language
        return redirect(url_for("panel.withdrawn"), code=303)
    delete_form = DeletionRequestForm(formdata=None, prefix="delete")
    return render_template("panel/withdraw.html", form=form, delete_form=delete_form), 422 if form.errors else 200


@bp.post("/panel/delete-request")
@panellist_required
def delete_request():
    """Ask the study team to delete one's contact details, or answers and contact details (a contacts-side task)."""
    delete_form = DeletionRequestForm(prefix="delete")
    if delete_form.validate_on_submit():
        request_deletion(g.panellist, DeletionScope(delete_form.scope.data))
        db.session.commit()
        return redirect(url_for("panel.withdraw"), code=303)
    return render_template("panel/withdraw.html", form=WithdrawForm(formdata=None), delete_form=delete_form), 422


@bp.get("/panel/withdrawn")
def withdrawn():
    return render_template("panel/withdrawn.html")
