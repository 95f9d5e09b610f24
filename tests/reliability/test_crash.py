"""A writer killed with SIGKILL in the middle of its work leaves SQLite consistent: the file passes
`PRAGMA integrity_check`, and every transaction is either wholly there or wholly absent."""
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Study
from delphi.services.rounds import open_next_round
from tests.live import ROOT

WRITER = textwrap.dedent('''
    import sys
    from delphi import create_app
    from delphi.db import writing
    from delphi.extensions import db
    from delphi.models import Round, Study
    from delphi.services.answers import Answer, save_answers
    from delphi.services.panel import add_panellist

    app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SECRET_KEY": "crash-test"})
    with app.app_context():
        i = 0
        while True:
            with writing():
                study = db.session.get(Study, int(sys.argv[2]))
                round_ = db.session.get(Round, int(sys.argv[3]))
                panellist, _ = add_panellist(study, study.groups[0])
                ids = [rs.statement_id for rs in round_.statements]
                # One transaction: a new panellist and three ratings whose comments say which panellist they are.
                save_answers(panellist, round_, {sid: Answer(value=1 + (i + k) % 9, comment="x" * 2000 + str(panellist.id))
                                                for k, sid in enumerate(ids)})
                db.session.commit()
            i += 1
''')


def test_sigkill_mid_write_leaves_whole_transactions_only(app, make_study, tmp_path):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite:"):
        pytest.skip("SQLite only: PostgreSQL's crash safety is the server's")
    path = url.removeprefix("sqlite:///")
    study_id = make_study()
    with app.app_context():
        round_ = open_next_round(db.session.get(Study, study_id))
        db.session.commit()
        round_id = round_.id
        db.session.remove()

    env = {**os.environ, "PYTHONPATH": str(ROOT), "DELPHI_INSTANCE_PATH": str(tmp_path / "writer")}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, url, str(study_id), str(round_id)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        written = 0
        while written < 40 and time.monotonic() < deadline:
            assert writer.poll() is None, writer.stderr.read().decode()
            time.sleep(0.05)
            probe = sqlite3.connect(path, timeout=30)
            written = probe.execute("SELECT count(*) FROM rating").fetchone()[0]
            probe.close()
        assert written >= 40, "the writer did not get going"
        os.kill(writer.pid, signal.SIGKILL)  # mid-write: it writes without pause
    finally:
        writer.kill()
        writer.communicate()

    check = sqlite3.connect(path)
    try:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert check.execute("PRAGMA foreign_key_check").fetchall() == []
        per_panellist = check.execute(
            "SELECT p.id, count(r.id), min(r.comment = printf('%.*c', 2000, 'x') || p.id) "
            "FROM panellist p LEFT JOIN rating r ON r.panellist_id = p.id GROUP BY p.id").fetchall()
    finally:
        check.close()
    assert len(per_panellist) >= 13
    assert all(n == 3 and whole == 1 for _, n, whole in per_panellist), per_panellist
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(sa.table("rating"))) % 3 == 0
