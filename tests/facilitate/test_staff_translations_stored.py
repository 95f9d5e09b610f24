"""The last English-only texts staff read (issue 21), in Norwegian (bokmål) on a page and in English on the command line:
protocol problems, consensus-rule errors, the models' refusals, stored failures (mail, report builds), the audit log's
descriptions and statements.csv's history for people.

Each kind is stored or raised in English, or as a code, where there is no reader (the command line, the worker), and
put into the reader's language when a page shows it. The catalogue checks in tests/test_staff_translations_more.py
cover these files' messages; here the pages, the CSV and the command line are read as people read them.
"""
from __future__ import annotations

import ast
import csv
import html
import io
import json
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask import render_template

from analysis import RuleError, check_rule_scope, parse_rule
from delphi.extensions import db
from delphi.models import DomainError, MailKind, MailStatus, OutboxMail, Panellist, Round, RoundStatus, Study
from delphi.protocol import ProtocolError, protocol_from_text
from delphi.rule_errors import EXPECTED, rule_message, rule_problem
from delphi.services import audit
from delphi.services.outbox import failure, mail_failure, queue_panel_mail
from delphi.services.reports.builds import FAILED_MESSAGE, GAVE_UP_MESSAGE
from tests.facilitate.test_full_study import _protocol_form
from tests.i18n import ROOT

NB = {"Accept-Language": "nb"}
BAD_PROTOCOL = 'title = "T"\nlanguage = "nb"\nmax_rounds = "three"\n[consensus]\ninclude = "pct_agree >="\n'


def _in_norwegian(client) -> None:
    client.post("/language", data={"lang": "nb", "next": "/"})


# 1. Protocol problems -------------------------------------------------------------------------------------------

def _problems(text: str) -> list:
    with pytest.raises(ProtocolError) as raised:
        protocol_from_text(text)
    return raised.value.problems


def test_protocol_problems_are_english_without_a_request_and_norwegian_on_a_norwegian_page(app):
    problems = _problems(BAD_PROTOCOL)
    english = [p.message for p in problems]
    assert "max_rounds: must be a whole number, not text" in english
    assert "groups: missing; list at least one stakeholder group as [[groups]] with key and name" in english
    with app.app_context():  # the command line: an app, no request, the default language
        assert [p.shown() for p in problems] == english
    with app.test_request_context(headers=NB):
        shown = [p.shown() for p in problems]
    assert "max_rounds: må være et heltall, ikke tekst" in shown  # the kind of value ("text") is translated too
    assert "groups: mangler; oppgi minst én interessentgruppe som [[groups]] med key og name" in shown
    assert 'consensus.include: regel «pct_agree >=»: forventet et tall ved posisjon 13, fant slutten av regelen' in shown


def test_a_bad_protocol_upload_is_explained_in_norwegian(client, owner):
    _in_norwegian(client)
    response = client.post("/studies/new/upload", data={"upload-protocol": (io.BytesIO(BAD_PROTOCOL.encode()), "p.toml")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "max_rounds: må være et heltall, ikke tekst" in page and "forventet et tall ved posisjon 13" in page
    assert "must be" not in page and "expected a number" not in page
    # A file that is not TOML at all: the sentence is Norwegian, the parser's detail is its own.
    response = client.post("/studies/new/upload", data={"upload-protocol": (io.BytesIO(b"title = "), "p.toml")},
                           content_type="multipart/form-data")
    assert "filen er ikke gyldig TOML: " in response.get_data(as_text=True)


def test_the_command_line_keeps_protocol_problems_in_english(app, runner, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(BAD_PROTOCOL, encoding="utf-8")
    result = runner.invoke("study", "create", str(path))
    assert result.exit_code == 1
    assert "max_rounds: must be a whole number, not text" in result.output
    assert 'consensus.include: rule "pct_agree >=": expected a number at position 13, found the end of the rule' in \
        result.output
    assert "må være" not in result.output and "regel" not in result.output


# 2. Consensus rules ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rule, code, position, token, expected", [
    ("pct_agree >=", "expected", 13, None, "number"),
    ("pct_agree >= 70 and", "expected", 20, None, "metric"),
    ("pct_agree 70", "expected", 11, "70", "operator"),
    ("(pct_agree >= 70", "expected", 17, None, "closing"),
    ("pct_agree >= 70 70", "expected", 17, "70", "junction"),
    ("   ", "empty", None, None, None),
])
def test_rule_errors_carry_their_parts(rule, code, position, token, expected):
    with pytest.raises(RuleError) as raised:
        parse_rule(rule)
    error = raised.value
    assert isinstance(error, ValueError)  # the public API (spec/statistics.md) still raises ValueError
    assert (error.code, error.rule, error.position, error.token, error.expected) == (code, rule, position, token,
                                                                                    expected)


def _rule_errors() -> list[RuleError]:
    errors = []
    for rule in ("pct_agree >=", "pct_agree >= 70 and", "pct_agree 70", "(pct_agree >= 70", "pct_agree >= 70 70",
                 "", "means > 3"):
        try:
            parse_rule(rule)
        except RuleError as exc:
            errors.append(exc)
    for call in (lambda: parse_rule(7), lambda: check_rule_scope("median >= 7", "equal_groups"),
                 lambda: check_rule_scope("n > 1", "everyone")):
        try:
            call()
        except RuleError as exc:
            errors.append(exc)
    return errors


def test_the_apps_words_for_a_rule_error_are_analysis_english_word_for_word(app):
    errors = _rule_errors()
    assert {e.code for e in errors} == {"expected", "empty", "not_text", "unknown_scope", "scope_figures"}
    assert {e.expected for e in errors if e.expected} == set(EXPECTED)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert [rule_message(e) for e in errors] == [str(e) for e in errors]
    with app.test_request_context(headers=NB):
        norwegian = [rule_message(e) for e in errors]
    assert all(n != str(e) for n, e in zip(norwegian, errors))
    assert rule_problem("consensus.include", errors[0]).message == f"consensus.include: {errors[0]}"


def test_analysis_stays_free_of_flask_and_delphi():
    for path in (ROOT / "analysis").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not imported & {"flask", "flask_babel", "babel", "delphi"}, path.name


def test_the_settings_page_and_the_live_check_explain_a_bad_rule_in_norwegian(client, owner):
    _, study_id = owner
    _in_norwegian(client)
    form = _protocol_form(include="pct_agree >= 70 and", check="Check the rules")
    del form["save"]
    page = client.post(f"/studies/{study_id}/protocol", data=form).get_data(as_text=True)
    assert "regel «pct_agree &gt;= 70 and»: forventet et mål (n, pct_agree" in page and "expected" not in page
    answer = client.post(f"/studies/{study_id}/protocol/check-rule", data={"rule": "median >="}).json
    assert answer == {"ok": False,
                      "message": "regel «median >=»: forventet et tall ved posisjon 10, fant slutten av regelen"}
    # Saved (not only checked): the problem goes through the protocol checker, and is Norwegian the same way.
    page = client.post(f"/studies/{study_id}/protocol", data=_protocol_form(scope="equal_groups",
                                                                          include="median >= 7")).get_data(as_text=True)
    assert "som equal_groups ikke beregner" in page and "does not compute" not in page


# 3. The models' refusals ----------------------------------------------------------------------------------------

def test_the_models_refuse_in_the_readers_language(app, make_study):
    study_id = make_study()
    with app.test_request_context(headers=NB):
        study = db.session.get(Study, study_id)
        round_ = Round(number=1, status=RoundStatus.closed)
        with pytest.raises(DomainError, match="^Runde 1 er avsluttet; bare en runde som er et utkast, kan åpnes.$"):
            round_.open()
        with pytest.raises(DomainError, match="^Runde 1 er avsluttet; bare en åpen runde kan avsluttes.$"):
            round_.close()
        study.close()
        with pytest.raises(DomainError, match="^Denne studien er allerede avsluttet.$"):
            study.close()
        db.session.rollback()
    with app.app_context():  # the command line: English
        with pytest.raises(DomainError, match="^Round 2 is draft; only an open round can be closed.$"):
            Round(number=2, status=RoundStatus.draft).close()


# 5. Stored failures ---------------------------------------------------------------------------------------------

def test_a_failed_mail_is_stored_as_a_code_and_explained_in_the_readers_language(app, client, owner,
                                                                                make_panellist):
    _, study_id = owner
    pids = [make_panellist(study_id, email=f"p{n}@example.org")[0] for n in range(2)]
    with app.app_context():
        study = db.session.get(Study, study_id)
        queue_panel_mail(study, MailKind.invitation, [db.session.get(Panellist, p) for p in pids], "Join", "Hi",
                         None)
        refused, waiting = db.session.scalars(sa.select(OutboxMail).order_by(OutboxMail.id)).all()
        refused.status, refused.error = MailStatus.failed, failure("refused", reason="550 5.1.1 Mailbox unavailable")
        waiting.attempts, waiting.error = 1, failure("unreachable", server="mail.example.org:25",
                                                     reason="Connection refused")
        db.session.commit()
    english = client.get(f"/studies/{study_id}/panel").get_data(as_text=True)
    assert "not delivered (the mail server refused it (550 5.1.1 Mailbox unavailable))" in english
    assert "the mail server mail.example.org:25 could not be used (Connection refused)" in english
    _in_norwegian(client)
    page = client.get(f"/studies/{study_id}/panel").get_data(as_text=True)
    assert "e-postserveren avviste den (550 5.1.1 Mailbox unavailable)" in page
    assert "e-postserveren mail.example.org:25 kunne ikke brukes (Connection refused)" in page
    assert "the mail server" not in page


def test_mail_failures_read_in_each_language_and_old_rows_as_they_were(app):
    gave_up = failure("try_later", reason="451 busy", tries=4)
    assert json.loads(gave_up) == {"code": "try_later", "reason": "451 busy", "tries": 4}
    with app.app_context():
        assert mail_failure(gave_up) == "gave up after 4 tries: the mail server asked to try again later (451 busy)"
        assert mail_failure(failure("no_address")) == "there is no e-mail address or working link to send to"
    with app.test_request_context(headers=NB):
        assert mail_failure(gave_up) == "ga opp etter 4 forsøk: e-postserveren ba om et nytt forsøk senere (451 busy)"
        # A row stored before the codes, or anything else that is not one, is shown as it is.
        assert mail_failure("550 unknown user") == "550 unknown user"
        assert mail_failure('{"code": "other"}') == '{"code": "other"}'


@pytest.mark.parametrize("error, norwegian", [
    (GAVE_UP_MESSAGE, "Filene ble startet 3 ganger og ble aldri ferdige"),
    (FAILED_MESSAGE, "Noe gikk galt da filene ble laget."),
])
def test_a_failed_report_build_is_explained_in_the_readers_language(app, error, norwegian):
    build = SimpleNamespace(status=SimpleNamespace(value="failed"), error=error)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert html.unescape(render_template("reports/_status.html", build=build, outdated=None)).strip() == \
            f"Failed: {error}"
    with app.test_request_context(headers=NB):
        shown = html.unescape(render_template("reports/_status.html", build=build, outdated=None)).strip()
    assert shown.startswith("Mislyktes: " + norwegian) and "Try again" not in shown, shown


# 4. The audit log -----------------------------------------------------------------------------------------------

def _recorded_actions() -> set[str]:
    """Every action the code records (``audit.record("...")``), and the panel mails' ``panel.<kind>``."""
    found = set()
    for path in (ROOT / "delphi").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "record" and node.args:
                for part in ast.walk(node.args[0]):
                    if isinstance(part, ast.Constant) and isinstance(part.value, str) and "." in part.value.strip("."):
                        found.add(part.value)
    return found | {f"panel.{kind.value}" for kind in (MailKind.invitation, MailKind.reminder, MailKind.results)}


def test_every_recorded_action_has_a_description():
    recorded = _recorded_actions()
    assert len(recorded) > 50
    assert sorted(recorded - set(audit.ACTIONS)) == []
    assert sorted(set(audit.ACTIONS) - recorded) == []  # no description of an action nothing records


def test_the_audit_log_describes_each_action_in_the_readers_language_beside_its_code(app, client, owner):
    _, study_id = owner
    with app.app_context():
        audit.record("statement.edit", study=db.session.get(Study, study_id), target="statement S1")
        db.session.commit()
    _in_norwegian(client)
    page = client.get(f"/studies/{study_id}/audit").get_data(as_text=True)
    assert "Et utsagn ble endret<br><code>statement.edit</code>" in page
    assert "Studien ble opprettet (study.create)" in page  # the filter's choices
    rows = list(csv.DictReader(io.StringIO(client.get(f"/studies/{study_id}/audit.csv").get_data(as_text=True))))
    assert [(r["action"], r["description"]) for r in rows] == [("statement.edit", "Et utsagn ble endret"),
                                                               ("study.create", "Studien ble opprettet")]


def test_an_unknown_action_reads_as_its_code(app):
    with app.test_request_context(headers=NB):
        assert audit.describe("study.something_new") == "study.something_new"


# The checker the catalogue tests use --------------------------------------------------------------------------

def test_the_python_check_tells_words_from_joined_parts():
    from tests.test_staff_translations_more import _written_out

    def first_argument(source: str) -> ast.AST:
        return ast.parse(source).body[0].value.args[0]

    assert _written_out(first_argument('at(f"must be {kind}")'))
    assert not _written_out(first_argument('Problem(f"{key}: {text}")'))
    assert not _written_out(first_argument('at(N_("must be %(kind)s"))'))


# 6. A crawl of the staff pages in Norwegian, with the states above present ----------------------------------------

def _english_sentences() -> list[str]:
    """Every message of the app's templates and Python long enough to be a sentence of its own, as it reads before
    any %(name)s; not those the Norwegian catalogue writes the same (a message missing from it stays in)."""
    from tests.i18n import catalogue, extracted

    cat = catalogue()
    sentences = set()
    for message in extracted(["**.html"], sorted((ROOT / "delphi").rglob("*.py"))):
        english = message if isinstance(message, str) else message[0]
        head = english.split("%(")[0].strip()
        entry = cat.get(english)
        norwegian = "" if entry is None else entry.string if isinstance(entry.string, str) else entry.string[0]
        if len(head) >= 24 and head not in norwegian:
            sentences.add(head)
    return sorted(sentences)


def test_the_staff_pages_in_norwegian_show_no_english_catalogue_sentence(app, client, owner, make_panellist):
    _, study_id = owner
    pid = make_panellist(study_id, email="gone@example.org")[0]
    with app.app_context():
        study = db.session.get(Study, study_id)
        queue_panel_mail(study, MailKind.invitation, [db.session.get(Panellist, pid)], "Join", "Hi", None)
        mail = db.session.scalar(sa.select(OutboxMail))
        mail.status, mail.error = MailStatus.failed, failure("no_address")
        audit.record("statement.edit", study=study, target="statement A-01")
        db.session.commit()
    _in_norwegian(client)
    base = f"/studies/{study_id}"
    pages = {path: client.get(path) for path in (
        "/studies/", "/studies/new", base, f"{base}/panel", f"{base}/audit", f"{base}/settings", f"{base}/protocol",
        f"{base}/groups", f"{base}/statements", f"{base}/statements/bank", f"{base}/members", f"{base}/retention",
        f"{base}/questions", f"{base}/rounds/open", f"{base}/reports", f"{base}/close", f"{base}/delete")}
    form = _protocol_form(include="pct_agree >=", exclude="median >= 7", scope="equal_groups", agree_low=2)
    pages["protocol (bad)"] = client.post(f"{base}/protocol", data=form)
    pages["upload (bad)"] = client.post("/studies/new/upload", content_type="multipart/form-data",
                                        data={"upload-protocol": (io.BytesIO(BAD_PROTOCOL.encode()), "p.toml")})
    # Round 1 open, then closed: the monitor, the closing and review pages, and a refused second close.
    assert client.post(f"{base}/rounds/open", data={"confirm": "yes"}).status_code == 303
    for path in (f"{base}/rounds/current", f"{base}/rounds/1/close", f"{base}/panel/reminder", base):
        pages[path + " (open)"] = client.get(path)
    assert client.post(f"{base}/rounds/1/close", data={"confirm": "yes"}).status_code == 303
    pages["close again"] = client.post(f"{base}/rounds/1/close", data={"confirm": "yes"}, follow_redirects=True)
    for path in (f"{base}/review", base, f"{base}/audit"):
        pages[path + " (closed)"] = client.get(path)
    assert {path: r.status_code for path, r in pages.items() if r.status_code not in (200, 422)} == {}
    sentences = _english_sentences()
    assert len(sentences) > 300
    found = {path: [s for s in sentences if s in html.unescape(r.get_data(as_text=True))]
             for path, r in pages.items()}
    assert {path: words for path, words in found.items() if words} == {}
