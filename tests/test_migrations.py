"""Migrations: `delphi db upgrade` on an empty database yields exactly the schema the models describe, and upgrading a
database full of a study's rows, one revision at a time, keeps every row."""
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import upgrade

from delphi.extensions import db
from delphi.models import (
    ConsentDecision, ConsentRecord, Contact, OpenAnswer, OpenQuestion, OutboxMail, Panellist, Rating, RoundResult,
    RoundStatus, Study, Suggestion,
)
from delphi.services.demo import seed_demo
from delphi.services.panel import add_panellist, withdraw_panellist
from tests.conftest import reset_database


def test_upgrade_on_empty_database_matches_the_models(app, runner):
    with app.app_context():
        reset_database(db.engine)
    result = runner.invoke("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    with app.app_context(), db.engine.connect() as conn:
        assert schema_differences(conn) == []
        tables = set(sa.inspect(conn).get_table_names())
    assert set(db.metadata.tables) | {"alembic_version"} == tables


def test_upgrade_twice_is_harmless(app, runner):
    with app.app_context():
        reset_database(db.engine)
    assert runner.invoke("db", "upgrade").exit_code == 0
    assert runner.invoke("db", "upgrade").exit_code == 0


def test_each_upgrade_keeps_a_running_studys_rows(app):
    """The demo study (41 panellists with consent records, round 1 closed with its figures, round 2 open with some
    answers, audit entries) plus a contact, a withdrawal, an approved comment, an open answer and a suggestion: made
    by the current code, written into the first revision's tables, then upgraded one revision at a time. Columns and
    tables that later revisions add are left to those revisions; every value written before must come through."""
    with app.app_context():
        rows = populated_rows()
        reset_database(db.engine)
        revisions = [script.revision for script in reversed(list(migration_scripts().walk_revisions()))]
        upgrade(revision=revisions[0])
        with db.engine.begin() as conn:
            carried = write_rows(conn, rows)
        written = {name: [{k: row[k] for k in columns} for row in rows[name]] for name, columns in carried.items()}

        for revision in revisions[1:]:
            upgrade(revision=revision)
            with db.engine.connect() as conn:
                assert MigrationContext.configure(conn).get_current_revision() == revision
                counts = {name: conn.scalar(sa.select(sa.func.count()).select_from(sa.table(name)))
                          for name in written}
            assert counts == {name: len(table_rows) for name, table_rows in written.items()}, revision

        with db.engine.connect() as conn:
            assert schema_differences(conn) == []
            now = read_rows(conn)
        assert {name: [{k: row[k] for k in carried[name]} for row in now[name]] for name in carried} == written
        db.session.remove()
        study = db.session.scalar(sa.select(Study))
        assert [r.status for r in study.rounds] == [RoundStatus.closed, RoundStatus.open]
        figures = sa.select(sa.func.count(RoundResult.id)).where(RoundResult.round_id == study.rounds[0].id)
        assert db.session.scalar(figures) > 0


def test_every_panellist_still_in_a_study_gets_a_contact_row(app):
    """Revision 0007: the contacts side names a person by their contact row, so a panellist added without an address
    (who had none) gets an empty one; a withdrawn panellist's erased contact stays erased."""
    with app.app_context():
        rows = populated_rows()
        bare = rows["contact"].pop()  # as the code before 0007 left a panellist added without an address
        reset_database(db.engine)
        upgrade(revision="0005")
        with db.engine.begin() as conn:
            write_rows(conn, rows)
        upgrade(revision="0007")
        with db.engine.connect() as conn:
            contacts = dict(conn.execute(sa.text("SELECT panellist_id, email FROM contact")).all())
            active = set(conn.scalars(sa.text("SELECT id FROM panellist WHERE withdrawn = :no"), {"no": False}))
            withdrawn = set(conn.scalars(sa.text("SELECT id FROM panellist WHERE withdrawn = :yes"), {"yes": True}))
        assert set(contacts) == active and withdrawn and not withdrawn & set(contacts)
        assert contacts[bare["panellist_id"]] is None and len(contacts) == len(rows["contact"]) + 1


def populated_rows() -> dict[str, list[dict]]:
    """Every table's rows after the current code has run a study into its second round."""
    demo = seed_demo()
    study = demo.study
    round1, round2 = study.rounds
    panellist, _token = add_panellist(study, study.groups[0], email="panellist@example.org")
    panellist.consents.append(ConsentRecord(decision=ConsentDecision.given, consent_version=study.consent_version))
    first = db.session.scalar(sa.select(Panellist).where(Panellist.study_id == study.id).order_by(Panellist.id))
    withdraw_panellist(first)
    commented = db.session.scalar(sa.select(Rating).where(Rating.round_id == round1.id).order_by(Rating.id))
    commented.comment, commented.comment_approved = "It depends on the person.", True
    question = OpenQuestion(round_id=round1.id, position=0, text="What else matters to you?")
    study.open_questions.append(question)
    question.answers.append(OpenAnswer(panellist=panellist, text="Being asked."))
    db.session.add(Suggestion(study_id=study.id, round_id=round2.id, panellist_id=panellist.id, domain="Hope",
                              text="Staff share their own stories of recovery."))
    db.session.commit()
    db.session.remove()  # its connection would hold locks on the tables that are dropped next
    with db.engine.connect() as conn:
        return read_rows(conn)


def read_rows(conn: sa.Connection) -> dict[str, list[dict]]:
    """Every table's rows, read through the models' column types, in primary-key order."""
    return {
        table.name: [dict(row) for row in conn.execute(sa.select(table).order_by(*table.primary_key)).mappings()]
        for table in db.metadata.sorted_tables
    }


# Columns that 0008 made out of plaintext ones: before it, the value is written in clear under the old name.
ENCRYPTED_FROM = {("contact", "email_encrypted"): "email", ("contact", "phone_encrypted"): "phone",
                  ("contact", "name_encrypted"): "name", ("outbox_mail", "subject_encrypted"): "subject",
                  ("outbox_mail", "body_encrypted"): "body", ("outbox_mail", "error_encrypted"): "error"}


def write_rows(conn: sa.Connection, rows: dict[str, list[dict]]) -> dict[str, list[str]]:
    """Insert the rows into the tables as they are at the current revision; returns the columns written, by table.
    A table or column that a later revision adds is left to that revision; an encrypted column's value goes in
    clear into the plaintext column it was made from."""
    existing = sa.inspect(conn)
    carried = {}
    for table in db.metadata.sorted_tables:
        if not existing.has_table(table.name):
            continue
        present = {column["name"] for column in existing.get_columns(table.name)}
        stored_as = {c.name: ENCRYPTED_FROM.get((table.name, c.name), c.name) for c in table.columns}
        columns = [c for c in table.columns if stored_as[c.name] in present]
        carried[table.name] = [c.name for c in columns]
        if rows[table.name]:
            old = sa.table(table.name, *[sa.column(stored_as[c.name], sa.Text if c.name != stored_as[c.name]
                                                   else c.type) for c in columns])
            conn.execute(sa.insert(old), [{stored_as[c.name]: row[c.name] for c in columns}
                                          for row in rows[table.name]])
    return carried


def migration_scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())


def schema_differences(conn: sa.Connection) -> list:
    context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
    return compare_metadata(context, db.metadata)


def test_0008_encrypts_the_contacts_and_the_outbox_that_were_in_clear(app):
    """A database at 0005 with contacts and outbox mail in clear (a refusal that quotes the address, a password
    reset holding its link): after 0008 the tables hold only ciphertext, the app reads the same values, and an
    address is found by its blind index."""
    from delphi.services.invitations import already_on_panel

    with app.app_context():
        rows = populated_rows()
        reset_database(db.engine)
        upgrade(revision="0005")
        with db.engine.begin() as conn:
            write_rows(conn, rows)
            contact_id = conn.execute(sa.text("SELECT id FROM contact WHERE email = 'panellist@example.org'")).scalar()
            conn.execute(sa.text("UPDATE contact SET phone = '+47 912 34 567', name = 'Kari Nordmann' "
                                 "WHERE id = :id"), {"id": contact_id})
            conn.execute(sa.text("UPDATE contact SET email = '' WHERE id <> :id"), {"id": contact_id})
            staff_id = conn.execute(sa.text("SELECT min(id) FROM staff_user")).scalar()
            conn.execute(sa.text(
                "INSERT INTO outbox_mail (study_id, contact_id, staff_user_id, kind, subject, body, status, attempts, "
                "next_attempt_at, error, created_at) VALUES "
                "(NULL, :contact, NULL, 'invitation', 'Join {study}', 'Your link: {link}', 'failed', 1, :now, "
                "'550 <panellist@example.org>: unknown', :now), "
                "(NULL, NULL, :staff, 'password_reset', 'Reset', 'http://x/staff/reset/RESET-TOKEN', 'queued', 0, "
                ":now, '', :now)"), {"contact": contact_id, "staff": staff_id, "now": "2026-12-01 09:00:00"})
            before = " ".join(str(v) for t in ("contact", "outbox_mail")
                              for row in conn.execute(sa.text(f"SELECT * FROM {t}")) for v in row)
        assert "panellist@example.org" in before and "Kari Nordmann" in before and "RESET-TOKEN" in before

        upgrade()
        with db.engine.connect() as conn:
            assert schema_differences(conn) == []
            after = " ".join(str(v) for t in ("contact", "outbox_mail")
                             for row in conn.execute(sa.text(f"SELECT * FROM {t}")) for v in row)
            emails = conn.execute(sa.text("SELECT count(*) FROM contact WHERE email_encrypted IS NOT NULL")).scalar()
        for clear in ("panellist@example.org", "Kari Nordmann", "912 34", "RESET-TOKEN", "Your link", "Join"):
            assert clear not in after
        assert emails == 1  # the empty addresses became NULL
        db.session.remove()
        contact = db.session.get(Contact, contact_id)
        assert (contact.email, contact.phone, contact.name) == ("panellist@example.org", "+47 912 34 567",
                                                                 "Kari Nordmann")
        mails = db.session.scalars(sa.select(OutboxMail).order_by(OutboxMail.id)).all()
        assert [(m.subject, m.body, m.error) for m in mails] == [
            ("Join {study}", "Your link: {link}", "550 <panellist@example.org>: unknown"),
            ("Reset", "http://x/staff/reset/RESET-TOKEN", "")]
        study = contact.panellist.study
        assert already_on_panel(study, [" PANELLIST@example.org"]) == {contact.email_index}


def test_0014_marks_staff_entered_answers_with_the_channel_the_audit_log_names(app):
    """Revision 0014: answers and submissions were marked only by who typed them in; the channel (phone, paper, in
    person) was in the audit entry. They take that channel; everything the panellists saved themselves is "web"."""
    import json

    with app.app_context():
        rows = populated_rows()
        reset_database(db.engine)
        upgrade(revision="0011")
        with db.engine.begin() as conn:
            write_rows(conn, rows)
            staff_id = conn.scalar(sa.text("SELECT min(id) FROM staff_user"))
            panellist_id, round_id, study_id = conn.execute(sa.text(
                "SELECT rating.panellist_id, rating.round_id, round.study_id FROM rating "
                "JOIN round ON round.id = rating.round_id JOIN contact ON contact.panellist_id = rating.panellist_id "
                "ORDER BY round.number DESC, rating.id")).first()
            number = conn.scalar(sa.text("SELECT number FROM round WHERE id = :id"), {"id": round_id})
            contact_id = conn.scalar(sa.text("SELECT id FROM contact WHERE panellist_id = :p"), {"p": panellist_id})
            for table in ("rating", "submission"):
                conn.execute(sa.text(f"UPDATE {table} SET entered_by_id = :staff WHERE panellist_id = :p "
                                     "AND round_id = :r"), {"staff": staff_id, "p": panellist_id, "r": round_id})
            # Rows were written with their ids: the next ids are given too (PostgreSQL's sequences did not move).
            conn.execute(sa.text("INSERT INTO submission (id, panellist_id, round_id, submitted_at, entered_by_id) "
                                 "SELECT (SELECT coalesce(max(id), 0) + 1 FROM submission), :p, :r, CURRENT_TIMESTAMP, "
                                 ":staff WHERE NOT EXISTS (SELECT 1 FROM submission "
                                 "WHERE panellist_id = :p AND round_id = :r)"),
                         {"p": panellist_id, "r": round_id, "staff": staff_id})
            for channel in ("phone", "paper"):  # the latest entry wins
                conn.execute(sa.text("INSERT INTO audit_event (id, study_id, actor_id, action, target, details, "
                                     "created_at) SELECT coalesce(max(id), 0) + 1, :s, :a, "
                                     "'ratings.entered_for_panellist', :t, :d, CURRENT_TIMESTAMP FROM audit_event"),
                             {"s": study_id, "a": staff_id, "t": f"contact #{contact_id}",
                              "d": json.dumps({"round": number, "channel": channel, "answers": 1})})
        upgrade(revision="0014")
        with db.engine.connect() as conn:
            modes = conn.execute(sa.text("SELECT panellist_id = :p AND round_id = :r, mode FROM rating"),
                                 {"p": panellist_id, "r": round_id}).all()
            submitted = dict(conn.execute(sa.text("SELECT panellist_id = :p AND round_id = :r, mode FROM submission "
                                                  "WHERE panellist_id = :p"), {"p": panellist_id, "r": round_id}).all())
            consents = set(conn.scalars(sa.text("SELECT mode FROM consent_record")))
        assert {mode for entered, mode in modes if entered} == {"paper"}
        assert {mode for entered, mode in modes if not entered} == {"web"}
        assert submitted[True] == "paper" and consents == {"web"}
