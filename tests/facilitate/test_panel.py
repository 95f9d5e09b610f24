"""The panel (the contacts side): panellists one by one or from CSV (errors add nobody), links shown once or as CSV,
invitations through a real SMTP server, revoke and reissue, withdrawal at a person's request; the CLI's panel invite.
Proxy entry (paper and telephone) is in test_proxy_entry.py."""
import csv
import io
from datetime import timedelta

import sqlalchemy as sa

from delphi.contact_cipher import email_index
from delphi.extensions import db
from delphi.models import AuditEvent, Contact, OutboxMail, Panellist, Rating, Study, utcnow
from delphi.services.outbox import deliver_due
from delphi.services.panel import hash_token, new_token
from delphi.services.rounds import open_next_round


def _contact(app, pid: int) -> int:
    with app.app_context():
        return db.session.get(Panellist, pid).contact.id


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
    assert rows[0] == ["group", "email", "link"]  # spec/cli.md: never the pseudonym
    assert [r[0] for r in rows[1:]] == ["staff", "service_user", "staff"]
    assert rows[1][1] == "'=cmd@example.org" and all("/p/" in r[2] for r in rows[1:])
    with app.app_context():
        pseudonyms = db.session.scalars(sa.select(Panellist.pseudonym)).all()
    assert len(pseudonyms) == 3 and not any(p in response.get_data(as_text=True) for p in pseudonyms)


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
    contact = _contact(app, pid)
    assert client.post(f"/studies/{study_id}/panel/contacts/{contact}/revoke").status_code == 303
    assert app.test_client().get(f"/p/{token}").status_code == 404
    response = client.post(f"/studies/{study_id}/panel/contacts/{contact}/reissue")
    page = response.get_data(as_text=True)
    link = page.split('<code class="link">', 1)[1].split("<", 1)[0]
    assert app.test_client().get(link.replace("http://localhost", "")).status_code == 303
    with app.app_context():
        events = list(db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)))
        pseudonym = db.session.get(Panellist, pid).pseudonym
    # The contacts side and its audit entries name the contact's number, never the pseudonym.
    assert [(e.action, e.target) for e in events[-2:]] == [
        ("panel.revoke_link", f"contact #{contact}"), ("panel.reissue_link", f"contact #{contact}")]
    assert f"#{contact}" in page and pseudonym not in page


def test_a_contact_is_withdrawn_at_their_request(app, client, owner, make_panellist, answer_round):
    _, study_id = owner
    keep, _ = make_panellist(study_id, "staff", email="stays@example.org")
    leave, token = make_panellist(study_id, "staff", email="leaves@example.org")
    erase, _ = make_panellist(study_id, "staff", email="erase@example.org")
    client.post(f"/studies/{study_id}/rounds/open", data={"confirm": "yes"})
    answer_round(study_id, {p: {"A-01": 7} for p in (keep, leave, erase)})
    contacts = {pid: _contact(app, pid) for pid in (keep, leave, erase)}
    page = client.get(f"/studies/{study_id}/panel/contacts/{contacts[leave]}/withdraw").get_data(as_text=True)
    assert "Withdraw contact" in page and "answers are kept" in page
    response = client.post(f"/studies/{study_id}/panel/contacts/{contacts[leave]}/withdraw", data={})
    assert response.status_code == 422 and "Tick the box" in response.get_data(as_text=True)
    for pid, erase_answers in ((leave, ""), (erase, "y")):
        response = client.post(f"/studies/{study_id}/panel/contacts/{contacts[pid]}/withdraw",
                               data={"confirm": "y", "erase_answers": erase_answers})
        assert response.status_code == 303
    assert app.test_client().get(f"/p/{token}").status_code == 404
    page = client.get(f"/studies/{study_id}/panel").get_data(as_text=True)
    assert "stays@example.org" in page and "leaves@example.org" not in page and "2 have left the study" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Contact.id))) == 1
        ratings = {pid: db.session.scalar(sa.select(sa.func.count(Rating.id)).where(Rating.panellist_id == pid))
                   for pid in (keep, leave, erase)}
        assert ratings == {keep: 1, leave: 1, erase: 0}  # kept by the protocol's policy, erased on request
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "panel.withdraw_at_request")
                                    .order_by(AuditEvent.id)).all()
        assert [(e.target, e.details["answers_erased"]) for e in events] == [
            (f"contact #{contacts[leave]}", False), (f"contact #{contacts[erase]}", True)]
    assert client.get(f"/studies/{study_id}/panel/contacts/{contacts[leave]}/withdraw").status_code == 404


def test_cli_panel_invite_errors(app, runner, make_study, tmp_path):
    study_id = make_study()
    contacts = tmp_path / "c.csv"
    contacts.write_text("group,email\nstaff,a@example.org\nnope\n", encoding="utf-8")
    result = runner.invoke("panel", "invite", str(study_id), str(contacts), "--links", str(tmp_path / "l.csv"))
    assert result.exit_code == 1 and "line 3" in result.output and "nobody was added" in result.output
    result = runner.invoke("panel", "invite", "999", str(contacts), "--links", str(tmp_path / "l.csv"))
    assert result.exit_code == 1 and "no study 999" in result.output
    assert _count(app, study_id) == 0


def _add_panel(app, study_id, count, email_every=1, start=0):
    from delphi.services.invitations import ContactRow, add_panel

    with app.app_context():
        study = db.session.get(Study, study_id)
        add_panel(study, [ContactRow(i, "staff", f"person{i:04d}@example.org" if i % email_every == 0 else None)
                          for i in range(start, start + count)], None)
        db.session.commit()
        return [f"#{c}" for c in db.session.scalars(
            sa.select(Contact.id).join(Panellist).where(Panellist.study_id == study_id).order_by(Contact.id))]


def _rows(page: str) -> list[str]:
    return [row.split("</th>", 1)[0] for row in page.split('<tr><th scope="row">')[1:]]


def test_a_large_panel_is_shown_a_hundred_at_a_time_with_links_between_pages(app, client, owner):
    _, study_id = owner
    names = _add_panel(app, study_id, 250)
    first = client.get(f"/studies/{study_id}/panel").get_data(as_text=True)
    assert "250 people on the panel" in first and "People 1–100 of 250" in first and "Page 1 of 3" in first
    assert _rows(first) == names[:100]
    assert f'href="/studies/{study_id}/panel?page=2" rel="next"' in first and 'rel="prev"' not in first
    last = client.get(f"/studies/{study_id}/panel?page=3").get_data(as_text=True)
    assert _rows(last) == names[200:] and "People 201–250 of 250" in last and 'rel="next"' not in last
    # A page number that is not one, or past the end, shows the first or the last page rather than failing.
    for odd, expected in (("abc", names[:100]), ("0", names[:100]), ("-2", names[:100]), ("99", names[200:])):
        response = client.get(f"/studies/{study_id}/panel?page={odd}")
        assert response.status_code == 200 and _rows(response.get_data(as_text=True)) == expected


def test_a_contact_is_found_by_part_of_their_email_never_by_pseudonym(app, client, owner):
    _, study_id = owner
    names = _add_panel(app, study_id, 30, email_every=2)
    page = client.get(f"/studies/{study_id}/panel", query_string={"q": "PERSON0012@"}).get_data(as_text=True)
    assert _rows(page) == [names[12]] and "People 1–1 of 1 whose e-mail address" in page
    assert "person0012@example.org" in page and 'value="PERSON0012@"' in page
    with app.app_context():
        pseudonym = db.session.scalar(sa.select(Panellist.pseudonym).join(Contact).where(
            Contact.email_index == email_index(study_id, "person0012@example.org")))
    # The contacts side does not find anyone by pseudonym (nor show one).
    for text in (pseudonym, pseudonym[2:6]):
        page = client.get(f"/studies/{study_id}/panel", query_string={"q": text}).get_data(as_text=True)
        assert _rows(page) == [] and "No e-mail address contains" in page
    # Wildcards are searched for as themselves.
    for text in ("%", "_"):
        page = client.get(f"/studies/{study_id}/panel", query_string={"q": text}).get_data(as_text=True)
        assert _rows(page) == [] and "No e-mail address contains" in page


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
    assert f"The link of contact {names[100]} no longer works." in client.get(response.headers["Location"]).get_data(
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
    client.post(f"/studies/{study_id}/panel/contacts/{_contact(app, pid)}/revoke")
    assert app.test_client().get(f"/p/{token}").status_code == 404
    reissued = client.post(f"/studies/{study_id}/panel/contacts/{_contact(app, pid)}/reissue").get_data(as_text=True)
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
