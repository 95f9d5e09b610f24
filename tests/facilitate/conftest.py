"""Fixtures for the staff console: a real local SMTP server, signed-in staff, and a synthetic panel's answers."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Panellist, Round, Study, StudyRole
from delphi.services.answers import Answer, save_answers, submit_round
from tests.live import Mailbox, free_port


@pytest.fixture
def smtp(app, monkeypatch):
    """A local SMTP server (aiosmtpd) the app, and the ``delphi`` command, send through; yields its Mailbox."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_FROM="delphi@example.org",
                      PUBLIC_URL="http://delphi.test")
    for name, value in (("MAIL_SERVER", "127.0.0.1"), ("MAIL_PORT", str(port)), ("MAIL_FROM", "delphi@example.org"),
                        ("PUBLIC_URL", "http://delphi.test")):
        monkeypatch.setenv(f"DELPHI_{name}", value)
    yield mailbox
    controller.stop()


@pytest.fixture
def owner(make_user, make_study, auth):
    """A signed-in owner of a study made from the minimal protocol; returns (user id, study id)."""
    user_id = make_user("owner@example.org")
    study_id = make_study(members={user_id: StudyRole.owner})
    auth.login(email="owner@example.org")
    return user_id, study_id


@pytest.fixture
def answer_round(app):
    """Save answers for panellists in the study's open round and submit: answers(study_id, {pid: {code: value}})."""

    def do(study_id: int, by_panellist: dict[int, dict[str, int | None]], submit: bool = True, comments=None):
        with app.app_context():
            study = db.session.get(Study, study_id)
            round_ = study.current_round
            codes = {rs.statement.code: rs.statement_id for rs in round_.statements}
            for pid, values in by_panellist.items():
                panellist = db.session.get(Panellist, pid)
                answers = {codes[c]: Answer(value=v, unable=v is None, comment=(comments or {}).get((pid, c), ""))
                           for c, v in values.items() if c in codes}
                save_answers(panellist, round_, answers)
                if submit:
                    submit_round(panellist, round_)
            db.session.commit()

    return do


@pytest.fixture
def round_of(app):
    def read(study_id: int, number: int) -> Round:
        with app.app_context():
            db.session.expire_all()
            round_ = db.session.scalar(sa.select(Round).where(Round.study_id == study_id, Round.number == number))
            if round_ is not None:
                db.session.expunge(round_)
            return round_

    return read


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
