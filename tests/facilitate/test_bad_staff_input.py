"""Staff pages' bad input (issue 19's attack run): each got a 500; each now gets a plain message, the input kept, and
nothing written."""
import io

import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import MailKind, MailStatus, MailText, OutboxMail, Panellist, Statement, Study
from delphi.services.outbox import deliver_due, queue_panel_mail


def upload(client, url, name, content: bytes):
    return client.post(url, data={name: (io.BytesIO(content), "file.csv")}, content_type="multipart/form-data")


@pytest.mark.parametrize("nested", ['title = "x"\na = ' + "[" * 500 + "]" * 500,
                                    'title = "x"\na = ' + "{ b = " * 500 + "1" + " }" * 500,
                                    'title = "x"\n[[groups]]\nkey = "a"\nname = ' + "[" * 6 + "]" * 6])
def test_a_protocol_nested_hundreds_deep_is_refused_with_a_message(app, client, owner, nested):
    """tomllib reads nesting recursively: 500 levels raised RecursionError."""
    response = upload(client, "/studies/new/upload", "upload-protocol", nested.encode())
    assert response.status_code == 422
    assert "inside each other more than 4 levels deep" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Study.id))) == 1  # the owner fixture's study only


def test_an_uploaded_protocol_is_never_read_as_a_path_on_the_server(app, client, owner, tmp_path):
    """A one-line upload naming a file on the server was opened and read as the protocol (its keys then shown back as
    "unknown key" messages); and a one-line upload longer than a file name could be raised OSError, a 500."""
    secret = tmp_path / "secret.toml"
    secret.write_text('title = "x"\ndatabase_password = "hunter2"\n')
    response = upload(client, "/studies/new/upload", "upload-protocol", str(secret).encode())
    assert response.status_code == 422
    assert "database_password" not in response.get_data(as_text=True)
    response = upload(client, "/studies/new/upload", "upload-protocol", b'title = "' + b"x" * 400 + b'"')
    assert response.status_code == 422
    assert "the limit is 300" in response.get_data(as_text=True)


def test_a_statement_csv_with_a_cell_over_128_kb_is_refused_with_its_line(app, client, owner):
    _, study_id = owner
    content = b"code,domain,text\nA-09,Hope,fine\nA-10,Hope," + b"x" * 200_000 + b"\n"
    response = upload(client, f"/studies/{study_id}/statements/import", "file", content)
    assert response.status_code == 422
    assert "line 3: a cell is longer than 131,072 characters" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Statement.id))) == 3


def test_a_contacts_csv_with_a_cell_over_128_kb_is_refused_with_its_line(app, client, owner):
    _, study_id = owner
    content = b"group,email\nstaff," + b"a" * 200_000 + b"@example.org\n"
    response = upload(client, f"/studies/{study_id}/panel/import", "file", content)
    assert response.status_code == 422
    assert "line 2: a cell is longer than 131,072 characters" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Panellist.id))) == 0


@pytest.mark.parametrize("subject", ["Join\r\nBcc: everyone@example.org", "Join\nus", "Join\rus", "Join\u2028us"])
def test_a_mail_subject_with_a_line_break_is_refused_with_the_text_kept(app, client, owner, make_panellist, subject):
    _, study_id = owner
    make_panellist(study_id, "staff", email="one@example.org")
    response = client.post(f"/studies/{study_id}/panel/invitation", data={"subject": subject, "body": "Hi {link}"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Write the subject on one line" in text
    assert "Hi {link}" in text  # the message typed is still there
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(MailText.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(OutboxMail.id))) == 0


def test_the_mail_sender_sends_a_subject_with_a_line_break_on_one_line(app, make_study, make_panellist, smtp):
    """A subject with CR/LF that reached the outbox another way (an older row, the command line) made EmailMessage
    raise ValueError inside the sender, for every run of it."""
    study_id = make_study()
    panellist_id, _ = make_panellist(study_id, "staff", email="one@example.org")
    with app.app_context():
        study = db.session.get(Study, study_id)
        queue_panel_mail(study, MailKind.invitation, [db.session.get(Panellist, panellist_id)],
                         "Join\r\nBcc: everyone@example.org", "Your link: {link}", None)
        db.session.commit()
        deliver_due()
        assert db.session.scalar(sa.select(OutboxMail.status)) is MailStatus.sent
    assert [m["Subject"] for m in smtp.messages] == ["Join Bcc: everyone@example.org"]
    assert smtp.messages[0]["Bcc"] is None


@pytest.mark.parametrize("value", ["²", "٣", "99999999999999999999"])
def test_staff_pages_take_only_ascii_numbers(app, client, owner, value):
    """"²".isdigit() is true and int("²") raises: a 500 on the panel page and the round timing form."""
    _, study_id = owner
    assert client.get(f"/studies/{study_id}/panel?page={value}").status_code == 200
    assert client.get(f"/studies/{study_id}/open-answers?question={value}").status_code in (200, 303)
    assert client.post(f"/studies/{study_id}/rounds/open", data={"confirm": "yes"}).status_code == 303
    response = client.post(f"/studies/{study_id}/rounds/1/timing",
                           data={"closes_on": "2099-01-01", "closes_time": "12:00", "reminder_days": value})
    assert response.status_code == 422
    assert "Write whole numbers of days" in response.get_data(as_text=True) or "from 1 to 60" in \
        response.get_data(as_text=True)
