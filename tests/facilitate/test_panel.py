"""The panel: panellists one by one or from CSV (errors add nobody), links shown once or as CSV, invitations through
a real SMTP server, revoke and reissue; the CLI's panel invite; paper and telephone entry."""
import csv
import io
from datetime import timedelta

import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import AuditEvent, Contact, OutboxMail, Panellist, Rating, Study, Submission, utcnow
from delphi.services.outbox import deliver_due
from delphi.services.panel import hash_token, new_token
from delphi.services.rounds import open_next_round


def _count(app, study_id):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Panellist.id)).where(Panellist.study_id == study_id))


def test_add_one_panellist_shows_the_link_once(app, client, owner):
    _, study_id = owner
    response = client.post(f"/studies/{study_id}/panel", data={"group": "staff", "email": "a@example.org"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Shown once" in page and "a@example.org" in page
    link = page.split('<code class="link">', 1)[1].split("<", 1)[0]
    assert app.test_client().get(link.replace("http://localhost", "")).status_code == 303  # the link works
    response = client.post(f"/studies/{study_id}/panel", data={"group": "staff", "email": "not-an-address"})
    assert response.status_code == 422 and "Enter an email address" in response.get_data(as_text=True)
    assert _count(app, study_id) == 1


def test_contacts_csv_errors_add_nobody(app, client, owner):
    _, study_id = owner
    content = "group,email\nstaff,a@example.org\nnurses,b@example.org\nstaff,bad address\nstaff,a@example.org\n"
    response = client.post(f"/studies/{study_id}/panel/import", data={"file": (io.BytesIO(content.encode()), "c.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "line 3: &#39;nurses&#39; is not a group" in text
    assert "line 4: &#39;bad address&#39; is not an email address" in text
    assert "line 5: a@example.org is listed twice" in text
    assert _count(app, study_id) == 0


def test_contacts_csv_links_download(app, client, owner):
    _, study_id = owner
    content = "staff,=cmd@example.org\nservice_user\nstaff,b@example.org\n"
    response = client.post(f"/studies/{study_id}/panel/import", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(content.encode()), "c.csv"), "output": "csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["pseudonym", "group", "email", "link"]
    assert [r[1] for r in rows[1:]] == ["staff", "service_user", "staff"]
    assert rows[1][2] == "'=cmd@example.org" and all("/p/" in r[3] for r in rows[1:])


def test_invitations_by_email_and_links_that_work(app, client, owner, make_panellist, smtp):
    _, study_id = owner
    make_panellist(study_id, "staff", email="one@example.org")
    make_panellist(study_id, "staff", email="two@example.org")
    make_panellist(study_id, "staff")
    response = client.post(f"/studies/{study_id}/panel/invitation", data={"subject": "Join {study}", "body": "No link"})
    assert response.status_code == 422 and "Put {link} in the message" in response.get_data(as_text=True)
    response = client.post(f"/studies/{study_id}/panel/invitation",
                           data={"subject": "Join {study}", "body": "Hello, your link: {link}"})
    assert response.status_code == 303
    assert sorted(m["To"] for m in smtp.messages) == ["one@example.org", "two@example.org"]
    assert smtp.messages[0]["Subject"] == "Join Test study"
    panellist_client = app.test_client()
    response = panellist_client.get(smtp.link(smtp.messages[0]).removeprefix("http://delphi.test"))
    assert response.status_code == 303 and response.headers["Location"] == "/panel/"
    # Invited once: a second round of invitations has nobody to send to.
    client.post(f"/studies/{study_id}/panel/invitation", data={"subject": "s", "body": "{link}"})
    assert len(smtp.messages) == 2


def test_unreachable_mail_server_queues_the_mail_and_the_page_says_so(app, client, owner, make_panellist, smtp):
    """The page used to say "Nothing was sent" while a batch that failed half-way had delivered mails whose links
    were then rolled back. Now the request only queues: with the server away, the mail waits, the panel page says
    why and when it is tried again, and it is sent once the server is back."""
    _, study_id = owner
    make_panellist(study_id, "staff", email="one@example.org")
    port = app.config["MAIL_PORT"]
    app.config.update(MAIL_PORT=1)
    response = client.post(f"/studies/{study_id}/panel/invitation", data={"subject": "s", "body": "{link}"})
    assert response.status_code == 303
    page = client.get(f"/studies/{study_id}/panel").get_data(as_text=True)
    assert "1 mail waiting to be sent." in page and "could not be used" in page and "The next try is at" in page
    assert "invitation:\n        waiting to be tried again" in page
    with app.app_context():
        assert db.session.scalar(sa.select(Contact.invited_at)) is None
    assert smtp.messages == []
    # Invited already (queued): asking again queues nothing twice.
    client.post(f"/studies/{study_id}/panel/invitation", data={"subject": "s", "body": "{link}"})
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(OutboxMail.id))) == 1

    app.config.update(MAIL_PORT=port)
    with app.app_context():
        assert deliver_due(now=utcnow() + timedelta(minutes=2)).sent == 1
        assert db.session.scalar(sa.select(Contact.invited_at)) is not None
    assert [m["To"] for m in smtp.messages] == ["one@example.org"]
    assert "1 mail waiting" not in client.get(f"/studies/{study_id}/panel").get_data(as_text=True)


def test_a_request_only_queues_mail_and_the_worker_sends_it(app, client, owner, make_panellist, smtp):
    """Without JOBS_IMMEDIATE (as in production) the page answers at once and nothing is sent inside it."""
    app.config.update(JOBS_IMMEDIATE=False)
    _, study_id = owner
    for n in range(6):
        make_panellist(study_id, "staff", email=f"p{n}@example.org")
    response = client.post(f"/studies/{study_id}/panel/invitation", data={"subject": "s", "body": "{link}"})
    assert response.status_code == 303
    assert smtp.messages == []
    page = client.get(f"/studies/{study_id}/panel").get_data(as_text=True)
    assert "6 mails waiting to be sent." in page
    with app.app_context():
        assert deliver_due().sent == 6
    assert len(smtp.messages) == 6


def test_revoke_and_reissue_a_link(app, client, owner, make_panellist):
    _, study_id = owner
    pid, token = make_panellist(study_id, "staff")
    assert client.post(f"/studies/{study_id}/panel/{pid}/revoke").status_code == 303
    assert app.test_client().get(f"/p/{token}").status_code == 404
    response = client.post(f"/studies/{study_id}/panel/{pid}/reissue")
    link = response.get_data(as_text=True).split('<code class="link">', 1)[1].split("<", 1)[0]
    assert app.test_client().get(link.replace("http://localhost", "")).status_code == 303
    with app.app_context():
        actions = list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions[-2:] == ["panel.revoke_link", "panel.reissue_link"]


def test_cli_panel_invite_errors(app, runner, make_study, tmp_path):
    study_id = make_study()
    contacts = tmp_path / "c.csv"
    contacts.write_text("group,email\nstaff,a@example.org\nnope\n", encoding="utf-8")
    result = runner.invoke("panel", "invite", str(study_id), str(contacts), "--links", str(tmp_path / "l.csv"))
    assert result.exit_code == 1 and "line 3" in result.output and "nobody was added" in result.output
    result = runner.invoke("panel", "invite", "999", str(contacts), "--links", str(tmp_path / "l.csv"))
    assert result.exit_code == 1 and "no study 999" in result.output
    assert _count(app, study_id) == 0


def test_paper_entry_marks_answers_as_entered_by_staff(app, client, owner, make_panellist):
    user_id, study_id = owner
    pid, _ = make_panellist(study_id, "staff")
    client.post(f"/studies/{study_id}/rounds/open")
    with app.app_context():
        study = db.session.get(Study, study_id)
        pseudonym = db.session.get(Panellist, pid).pseudonym
        ids = [rs.statement_id for rs in study.current_round.statements]
    response = client.post(f"/studies/{study_id}/entry", data={"pseudonym": "P-NOBODY"})
    assert response.status_code == 422 and "No active panellist" in response.get_data(as_text=True)
    response = client.post(f"/studies/{study_id}/entry", data={"pseudonym": pseudonym.lower()})
    assert response.headers["Location"].endswith(f"/entry/{pid}")
    response = client.post(f"/studies/{study_id}/entry/{pid}", data={f"value-{ids[0]}": "12", f"value-{ids[1]}": "3"})
    assert response.status_code == 422 and "Choose a point from 1 to 9" in response.get_data(as_text=True)
    response = client.post(f"/studies/{study_id}/entry/{pid}", data={
        f"value-{ids[0]}": "8", f"value-{ids[1]}": "unable", f"comment-{ids[2]}": "Said on the phone",
        "submit_round": "yes"})
    assert response.status_code == 303
    with app.app_context():
        ratings = db.session.scalars(sa.select(Rating).where(Rating.panellist_id == pid)).all()
        assert {r.statement_id: (r.value, r.unable_to_rate) for r in ratings} == {
            ids[0]: (8, False), ids[1]: (None, True), ids[2]: (None, False)}
        assert all(r.entered_by_id == user_id for r in ratings)
        assert db.session.scalar(sa.select(Submission.entered_by_id)) == user_id
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "ratings.entered_for_panellist"))
        assert event.actor_id == user_id and "Said on the phone" not in str(event.details)


def _add_panel(app, study_id, count, email_every=1, start=0):
    from delphi.services.invitations import ContactRow, add_panel

    with app.app_context():
        study = db.session.get(Study, study_id)
        add_panel(study, [ContactRow(i, "staff", f"person{i:04d}@example.org" if i % email_every == 0 else None)
                          for i in range(start, start + count)], None)
        db.session.commit()
        return db.session.scalars(sa.select(Panellist.pseudonym).where(Panellist.study_id == study_id)
                                  .order_by(Panellist.id)).all()


def _rows(page: str) -> list[str]:
    return [row.split("</th>", 1)[0] for row in page.split('<tr><th scope="row">')[1:]]


def test_a_large_panel_is_shown_a_hundred_at_a_time_with_links_between_pages(app, client, owner):
    _, study_id = owner
    names = _add_panel(app, study_id, 250)
    first = client.get(f"/studies/{study_id}/panel").get_data(as_text=True)
    assert "250 panellists." in first and "Panellists 1–100 of 250" in first and "Page 1 of 3" in first
    assert _rows(first) == names[:100]
    assert f'href="/studies/{study_id}/panel?page=2" rel="next"' in first and 'rel="prev"' not in first
    last = client.get(f"/studies/{study_id}/panel?page=3").get_data(as_text=True)
    assert _rows(last) == names[200:] and "Panellists 201–250 of 250" in last and 'rel="next"' not in last
    # A page number that is not one, or past the end, shows the first or the last page rather than failing.
    for odd, expected in (("abc", names[:100]), ("0", names[:100]), ("-2", names[:100]), ("99", names[200:])):
        response = client.get(f"/studies/{study_id}/panel?page={odd}")
        assert response.status_code == 200 and _rows(response.get_data(as_text=True)) == expected


def test_a_panellist_is_found_by_part_of_their_pseudonym_or_email(app, client, owner):
    _, study_id = owner
    names = _add_panel(app, study_id, 30, email_every=2)
    page = client.get(f"/studies/{study_id}/panel", query_string={"q": "PERSON0012@"}).get_data(as_text=True)
    assert _rows(page) == [names[12]] and "Panellists 1–1 of 1 whose pseudonym" in page
    assert "person0012@example.org" in page and 'value="PERSON0012@"' in page
    assert _rows(client.get(f"/studies/{study_id}/panel", query_string={"q": names[7]}).get_data(as_text=True)) \
        == [names[7]]
    # Wildcards are searched for as themselves.
    for text in ("%", "_"):
        page = client.get(f"/studies/{study_id}/panel", query_string={"q": text}).get_data(as_text=True)
        assert _rows(page) == [] and "No panellist" in page


def test_the_panel_page_loads_contacts_with_the_page_not_one_query_per_panellist(app, client, owner):
    from tests.panel.test_query_counts import queries_of

    _, study_id = owner
    _add_panel(app, study_id, 5)
    few = queries_of(app, client, f"/studies/{study_id}/panel")
    _add_panel(app, study_id, 95, start=5)
    assert queries_of(app, client, f"/studies/{study_id}/panel") == few


def test_revoking_a_link_returns_to_the_same_page_of_the_same_search(app, client, owner):
    _, study_id = owner
    names = _add_panel(app, study_id, 150)
    page = client.get(f"/studies/{study_id}/panel?page=2").get_data(as_text=True)
    actions = [a.split('"', 1)[0].replace("&amp;", "&") for a in page.split('<form method="post" action="')[1:]]
    action = next(a for a in actions if "/revoke" in a)
    assert "page=2" in action
    response = client.post(action, data={})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/studies/{study_id}/panel?page=2")
    assert f"The link of {names[100]} no longer works." in client.get(response.headers["Location"]).get_data(
        as_text=True)


def test_a_reminder_resends_the_same_link_and_nobody_loses_their_place(app, client, owner, make_panellist, smtp):
    """Every reminder used to reissue every link: the invitation in the inbox stopped working, and a panellist
    half-way through a page lost their session. The link is now the same until staff revoke or reissue it."""
    _, study_id = owner
    pid, token = make_panellist(study_id, "staff", email="one@example.org")
    with app.app_context():
        open_next_round(db.session.get(Study, study_id))
        db.session.commit()
    assert client.post(f"/studies/{study_id}/panel/invitation",
                       data={"subject": "Join", "body": "Your link: {link}"}).status_code == 303
    (invitation,) = smtp.to("one@example.org")
    invited = smtp.link(invitation)
    assert invited == f"http://delphi.test/p/{token}"
    panellist = app.test_client()
    assert panellist.get(invited.removeprefix("http://delphi.test")).status_code == 303
    assert panellist.get("/panel/consent").status_code == 200

    for _ in range(2):
        assert client.post(f"/studies/{study_id}/panel/reminder",
                           data={"subject": "Reminder", "body": "Your link again: {link}"}).status_code == 303
    first, second = (smtp.link(m) for m in smtp.to("one@example.org")[1:])
    assert first == second == invited
    assert panellist.get("/panel/consent").status_code == 200  # the session of the page half-way through lives on
    assert app.test_client().get(invited.removeprefix("http://delphi.test")).status_code == 303

    # Revoked, the link stops; reissued, a new one works and the revoked one never comes back.
    client.post(f"/studies/{study_id}/panel/{pid}/revoke")
    assert app.test_client().get(f"/p/{token}").status_code == 404
    reissued = client.post(f"/studies/{study_id}/panel/{pid}/reissue").get_data(as_text=True)
    new_link = reissued.split('<code class="link">', 1)[1].split("<", 1)[0]
    assert token not in new_link
    assert app.test_client().get(new_link.removeprefix("http://delphi.test")).status_code == 303
    assert app.test_client().get(f"/p/{token}").status_code == 404
    client.post(f"/studies/{study_id}/panel/reminder", data={"subject": "Reminder", "body": "{link}"})
    assert smtp.link(smtp.to("one@example.org")[-1]) == new_link


def test_a_link_from_before_derived_links_is_replaced_once_then_resent(app, client, owner, make_panellist, smtp):
    """A random token (made before links were derived) cannot be rebuilt: the first reminder gives a new link, and
    every later one resends that."""
    _, study_id = owner
    pid, _ = make_panellist(study_id, "staff", email="one@example.org")
    with app.app_context():
        panellist = db.session.get(Panellist, pid)
        panellist.token_hash = hash_token(new_token())
        open_next_round(panellist.study)
        db.session.commit()
    for _ in range(2):
        client.post(f"/studies/{study_id}/panel/reminder", data={"subject": "Reminder", "body": "{link}"})
    first, second = (smtp.link(m) for m in smtp.to("one@example.org"))
    assert first == second
    assert app.test_client().get(first.removeprefix("http://delphi.test")).status_code == 303
