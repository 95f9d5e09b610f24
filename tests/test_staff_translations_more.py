"""Staff sign-in, administration, the reports pages, staff mails and the messages services show staff are
translatable, and the Norwegian (bokmål) catalogue has every one of them; the statement bank comes in both languages.

Modelled on tests/panel/test_translations.py: a string left out of ``_()``, or wrapped but not translated, fails here.
"""
import ast
import re
import tomllib
from pathlib import Path

import pytest
import sqlalchemy as sa

from delphi.protocol import STATEMENT_BANK, load_protocol, statement_bank
from tests.i18n import PO, ROOT, extracted, untranslated, visible_text

STAFF_TEMPLATES = ["auth/*.html", "admin/*.html", "reports/index.html", "reports/_prepare.html",
                   "reports/_status.html", "reports/progress.html"]
# Staff mails written through Flask-Babel (the panellists' invitation and reminder have one file per language).
STAFF_MAILS = ["email/password_reset.txt", "email/staff_added.txt", "email/staff_invitation.txt"]
STAFF_PYTHON = ["delphi/auth/*.py", "delphi/admin/*.py", "delphi/reports/*.py",
                "delphi/services/staff.py", "delphi/services/staff_invitations.py", "delphi/services/membership.py",
                "delphi/services/password_reset.py", "delphi/services/statements.py",
                "delphi/services/invitations.py", "delphi/services/csv_import.py",
                "delphi/services/open_answers.py", "delphi/services/review.py", "delphi/services/rounds.py",
                "delphi/services/round_timing.py", "delphi/services/retention.py",
                "delphi/services/study_deletion.py", "delphi/services/study_setup.py",
                # Issue 21's last English: protocol and rule problems, the models' refusals, stored failures shown
                # to staff (mail, report builds) and the audit log's descriptions.
                "delphi/protocol.py", "delphi/rule_errors.py", "delphi/models/round.py", "delphi/models/study.py",
                "delphi/services/outbox.py", "delphi/services/audit.py"]
# Calls whose string arguments a member of staff reads: flashed messages, the typed errors pages show, form labels
# and validator messages.
MESSAGE_CALLS = {"flash", "Problem", "DomainError", "StaffError", "StatementError", "ContactsError", "InputErrors",
                 "AnswerChoiceError", "ProtocolError", "ValidationError", "DataRequired", "InputRequired", "Length",
                 "EqualTo", "Regexp", "NumberRange", "EmailField", "PasswordField", "StringField", "BooleanField",
                 "TextAreaField", "RadioField", "SelectField", "IntegerField", "at"}


def _python_files() -> list[Path]:
    return sorted(p for pattern in STAFF_PYTHON for p in ROOT.glob(pattern))


def staff_messages() -> set:
    return extracted(STAFF_TEMPLATES + STAFF_MAILS, _python_files())


def test_there_are_staff_strings_to_check():
    assert len(staff_messages()) > 150


def test_every_staff_string_has_a_norwegian_translation():
    assert untranslated(staff_messages()) == []


def test_the_catalogue_has_no_duplicate_messages():
    ids = re.findall(r'^msgid "(.*)"$', PO.read_text(encoding="utf-8"), flags=re.M)
    singles = [i for i in ids if i]
    assert len(singles) == len(set(singles))


_visible_text = visible_text


def _attribute_text(source: str) -> list[str]:
    """Words in attributes a user reads (aria-label, title, placeholder, alt) that are written out, not translated."""
    return [value for value in re.findall(r'\b(?:aria-label|title|placeholder|alt)="([^"{]*)"', source)
            if re.search(r"[^\W\d_]{2,}", value)]


def _expression_strings(source: str) -> list[str]:
    """Quoted words inside ``{{ ... }}`` that are shown as they are, such as ``{{ 'Try again' if x else ... }}``."""
    words = []
    for expression in re.findall(r"{{(.*?)}}", source, flags=re.S):
        expression = re.sub(r"_\(\s*(['\"]).*?\1", " ", expression, flags=re.S)
        for _quote, text in re.findall(r"(['\"])(.*?)\1", expression):
            if re.search(r"[^\W\d_]{2,}\s+[^\W\d_]{2,}", text) or text in {"bytes"}:
                words.append(text)
    return words


@pytest.mark.parametrize("template", sorted(p for pattern in STAFF_TEMPLATES + STAFF_MAILS
                                            for p in (ROOT / "templates").glob(pattern)), ids=lambda p: p.name)
def test_staff_templates_have_no_untranslated_text(template):
    source = template.read_text(encoding="utf-8")
    leftovers = re.findall(r"[^\W\d_]{2,}", _visible_text(source))
    # Units and the code a researcher types are the same in both languages.
    leftovers = [w for w in leftovers if w not in {"MB", "kB", "UTC", "delphi", "analyse", "ratings", "csv", "protocol",
                                                   "toml", "out", "DIR", "zip"}]
    leftovers += _attribute_text(source) + _expression_strings(source)
    assert leftovers == [], f"{template.name}: wrap these in _(): {leftovers}"


def _call_name(node: ast.Call) -> str:
    return node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")


def _written_out(node: ast.AST) -> bool:
    """A message given as literal text (or an f-string, or text glued to text) instead of through gettext."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(re.search(r"[^\W\d_]{2,}", node.value))
    if isinstance(node, ast.JoinedStr):  # words of its own; "{key}: {message}" only joins translated parts
        return any(_written_out(part) for part in node.values if isinstance(part, ast.Constant))
    if isinstance(node, ast.BinOp):
        return _written_out(node.left) or _written_out(node.right)
    if isinstance(node, (ast.List, ast.Tuple)):
        return any(_written_out(e) for e in node.elts)
    if isinstance(node, ast.IfExp):
        return _written_out(node.body) or _written_out(node.orelse)
    return False


@pytest.mark.parametrize("path", _python_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_staff_python_messages_go_through_gettext(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        arguments = []
        if name in MESSAGE_CALLS:
            # ``at(key, message)``, ``EqualTo(field, message)`` and ``flash(message, category)``: the message is the
            # one argument people read.
            arguments = node.args[1:2] if name in {"at", "EqualTo"} else node.args[:1]
            arguments += [k.value for k in node.keywords if k.arg in {"message", "label"}]
        elif name in {"append", "extend"} and isinstance(node.func, ast.Attribute) and \
                getattr(node.func.value, "id", "") in {"errors", "problems"}:
            arguments = node.args
        found += [f"line {node.lineno}: {ast.unparse(a)[:70]}" for a in arguments if _written_out(a)]
    assert found == [], f"{path.name}: wrap these in _(): {found}"


# The statement bank ----------------------------------------------------------------------------------------------

def test_the_bank_is_the_same_study_in_both_languages():
    english, norwegian = load_protocol(statement_bank("en")), load_protocol(statement_bank("nb"))
    assert statement_bank("en") == STATEMENT_BANK
    assert (english.language, norwegian.language) == ("en", "nb")
    assert [s.code for s in norwegian.statements] == [s.code for s in english.statements]
    assert [g.key for g in norwegian.groups] == [g.key for g in english.groups]
    assert norwegian.consensus == english.consensus and norwegian.stopping == english.stopping
    assert (norwegian.scale.min, norwegian.scale.max, norwegian.scale.labels.keys()) == \
           (english.scale.min, english.scale.max, english.scale.labels.keys())
    # Every statement is written in Norwegian, not copied: no statement, domain or group name is left in English.
    for en, nb in zip(english.statements, norwegian.statements):
        assert nb.text != en.text and nb.domain != en.domain, en.code
    assert not {g.name for g in norwegian.groups} & {g.name for g in english.groups}
    assert norwegian.title != english.title and norwegian.information != english.information
    # One domain in English is one domain in Norwegian.
    pairs = {(en.domain, nb.domain) for en, nb in zip(english.statements, norwegian.statements)}
    assert len(pairs) == len({en for en, _ in pairs}) == len({nb for _, nb in pairs})


def test_the_english_bank_is_unchanged():
    bank = tomllib.loads(STATEMENT_BANK.read_text(encoding="utf-8"))
    first, last = bank["statements"][0], bank["statements"][-1]
    assert len(bank["statements"]) == 34
    assert first["text"] == ("Staff help the person keep in touch with the people who matter to them, if the person "
                             "wants this.")
    assert last["text"] == "Opioid substitution treatment is part of recovery, not an obstacle to it."


def test_an_unknown_language_gets_the_english_bank():
    assert statement_bank("de") == STATEMENT_BANK


@pytest.mark.parametrize("language, text", [
    ("nb", "Legemiddelassistert rehabilitering (LAR) er en del av bedringsprosessen, ikke et hinder for den."),
    ("en", "Opioid substitution treatment is part of recovery, not an obstacle to it."),
])
def test_the_study_language_decides_which_bank_text_is_added(app, make_study, make_user, language, text):
    from delphi.extensions import db
    from delphi.models import Statement, Study
    from delphi.services.statements import add_from_bank

    study_id = make_study(language=language)
    with app.app_context():
        assert add_from_bank(db.session.get(Study, study_id), None) == 34
        db.session.commit()
        added = {s.code: (s.domain, s.text) for s in db.session.scalars(
            sa.select(Statement).where(Statement.study_id == study_id))}
    assert added["HR-04"][1] == text
    expected = load_protocol(statement_bank(language))
    bank = {s.code: (s.domain, s.text) for s in expected.statements}
    assert {code: added[code] for code in bank} == bank  # beside the study's own statements


# Pages and mails in Norwegian ------------------------------------------------------------------------------------

def test_sign_in_and_reports_pages_render_in_norwegian(client, make_user, make_study, auth):
    from delphi.models import StudyRole

    user_id = make_user()
    study_id = make_study(members={user_id: StudyRole.owner})
    client.post("/language", data={"lang": "nb", "next": "/staff/login"})
    page = client.get("/staff/login").get_data(as_text=True)
    assert "Logg inn for ansatte" in page and "Glemt passordet?" in page
    response = client.post("/staff/login", data={"email": "facilitator@example.org", "password": "wrong"})
    assert "E-postadressen og passordet passer ikke til noen konto." in response.get_data(as_text=True)
    auth.login()
    page = client.get(f"/studies/{study_id}/reports").get_data(as_text=True)
    assert "Rapporter og data" in page and "Klargjør nedlastingene" in page


def test_a_password_reset_mail_is_in_the_language_it_was_asked_in(app, client, make_user, monkeypatch):
    from delphi.extensions import db
    from delphi.models import OutboxMail
    from delphi.services import password_reset

    make_user()
    handed = []
    monkeypatch.setattr(password_reset, "run_soon", lambda job, *args: handed.append(args))
    client.post("/language", data={"lang": "nb", "next": "/staff/reset"})
    assert client.post("/staff/reset", data={"email": "facilitator@example.org"}).status_code == 303
    assert handed == [("facilitator@example.org", "nb")]
    # The worker has no request: the language travels with the job.
    with app.app_context():
        password_reset.queue_reset_mail(*handed[0])
        mail = db.session.scalars(sa.select(OutboxMail)).one()
        assert mail.subject == "Tilbakestill passordet ditt"
        assert "For å velge et nytt passord" in mail.body


def test_service_messages_work_outside_a_request(app):
    """The command line and the worker have no request to take a language from: messages are in the default one."""
    from delphi.services.staff import StaffError, check_password_rules

    with app.app_context(), pytest.raises(StaffError, match="^the password must have at least 10 characters.$"):
        check_password_rules("short", 10)


def test_service_messages_follow_the_page_language(app):
    from delphi.services.staff import StaffError, check_password_rules

    with app.test_request_context(headers={"Accept-Language": "nb"}), \
            pytest.raises(StaffError, match="^passordet må ha minst 10 tegn.$"):
        check_password_rules("short", 10)


@pytest.mark.parametrize("has_password, wanted", [
    (True, "har lagt deg til i studien «Minimal» på Delphi-konsensusplattformen, som fasilitator."),
    (False, "har invitert deg til å arbeide med studien «Minimal» på Delphi-konsensusplattformen, som fasilitator."),
])
def test_staff_mails_name_the_role_in_the_language(app, make_user, make_study, has_password, wanted):
    from delphi.extensions import db
    from delphi.models import OutboxMail, StaffUser, Study, StudyRole
    from delphi.services import membership

    owner_id = make_user("owner@example.org")
    if has_password:
        make_user("colleague@example.org")
    study_id = make_study(members={owner_id: StudyRole.owner}, title="Minimal")
    with app.test_request_context(headers={"Accept-Language": "nb"}):
        membership.add_member(db.session.get(Study, study_id), "colleague@example.org", StudyRole.facilitator,
                              db.session.get(StaffUser, owner_id))
        db.session.commit()
        mail = db.session.scalars(sa.select(OutboxMail)).one()
        assert "owner@example.org " + wanted in mail.body
        with pytest.raises(Exception, match="er allerede fasilitator i denne studien"):
            membership.add_member(db.session.get(Study, study_id), "colleague@example.org", StudyRole.researcher,
                                  None)


def test_the_ready_reports_page_in_norwegian(app, client, auth, make_user):
    from tests.reports.conftest import build_three_round_study, prepare_downloads

    researcher_id = make_user("researcher@example.org")
    with app.app_context():
        study_id = build_three_round_study(researcher_id)
    auth.login(email="researcher@example.org")
    prepare_downloads(client, study_id)
    english = client.get(f"/studies/{study_id}/reports").get_data(as_text=True)
    client.post("/language", data={"lang": "nb", "next": "/"})
    page = client.get(f"/studies/{study_id}/reports").get_data(as_text=True)
    assert "Les rapporten i nettleseren" in page and "Last ned alt" in page
    assert re.search(r"Klar, laget \d{4}-\d\d-\d\d \d\d:\d\d UTC fra studiens data slik de er nå\.", page)
    # Each file's size, in the page's words ("252 bytes" is "252 byte"; kB is kB).
    sizes_nb = re.findall(r"<small>\(([^)]*)\)</small>", page)
    sizes_en = re.findall(r"<small>\(([^)]*)\)</small>", english)
    assert len(sizes_en) == len(_file_rows(english)) > 5
    assert sizes_nb == [s.replace(" bytes", " byte") for s in sizes_en]
    assert all(re.fullmatch(r"\d+(,\d)? (MB|kB|byte)", s) for s in sizes_nb), sizes_nb


def _file_rows(page: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="[^"]*/reports/files/', page)
