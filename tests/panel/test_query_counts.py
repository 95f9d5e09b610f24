"""The rating and review pages issue a constant number of SQL queries, whatever the number of statements (no N+1):
feedback comes precomputed from the round close, and a page loads its panellist, study, rounds and group at once."""
import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import ConsentDecision, ConsentRecord, Study
from delphi.protocol import STATEMENT_BANK
from delphi.services.panel import add_panellist
from delphi.services.rounds import close_round, open_next_round
from tests.conftest import MINIMAL_PROTOCOL


def queries_of(app, client, path: str, method: str = "GET", data=None) -> int:
    count = 0

    def counter(*_args, **_kwargs):
        nonlocal count
        count += 1

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", counter)
    try:
        response = client.open(path, method=method, data=data)
        assert response.status_code in (200, 303), (path, response.status_code)
    finally:
        sa.event.remove(engine, "before_cursor_execute", counter)
    return count


def panellist_in_round_two(app, client, protocol_text: str) -> dict:
    """A study closed after round 1 (two raters per group) and in round 2; the client is a panellist in it."""
    from delphi.protocol import load_protocol
    from delphi.services.answers import Answer, save_answers
    from delphi.services.studies import create_study

    with app.app_context():
        study = create_study(load_protocol(protocol_text))
        study.min_group_feedback = 1
        round1 = open_next_round(study)
        raters = []
        for group in study.groups:
            for _ in range(2):
                panellist, token = add_panellist(study, group)
                panellist.consents.append(ConsentRecord(decision=ConsentDecision.given, consent_version=1))
                raters.append((panellist, token))
        db.session.flush()
        for i, (panellist, _) in enumerate(raters):
            save_answers(panellist, round1, {rs.statement_id: Answer(value=1 + (i * 3 + k) % 9, comment=f"c{k}")
                                            for k, rs in enumerate(round1.statements)})
        close_round(round1)
        for rs in round1.statements:
            rs.carry_forward = True
        open_next_round(study)
        db.session.commit()
        statements = len(study.statements)
        token = raters[0][1]
    client.get(f"/p/{token}")
    return {"statements": statements}


@pytest.mark.parametrize("path", ["/panel/rate/1", "/panel/review", "/panel/"])
def test_page_queries_do_not_grow_with_the_number_of_statements(app, client, path):
    small = panellist_in_round_two(app, client, MINIMAL_PROTOCOL)
    few = queries_of(app, client, path)
    other = app.test_client()
    large = panellist_in_round_two(app, other, STATEMENT_BANK.read_text(encoding="utf-8"))
    assert large["statements"] > 10 * small["statements"]
    many = queries_of(app, other, path)
    assert many == few
    assert many <= 12


def test_autosave_queries_are_few_and_constant(app, client):
    panellist_in_round_two(app, client, STATEMENT_BANK.read_text(encoding="utf-8"))
    with app.app_context():
        statement_id = db.session.scalars(sa.select(Study)).all()[-1].rounds[-1].statements[0].statement_id
    assert queries_of(app, client, "/panel/autosave", "POST", {"field": f"s{statement_id}", "value": "5"}) <= 5


def test_a_closed_rounds_figures_are_read_once_per_process(app, client):
    """Figures frozen at a round's close are kept per process: the first rating page that shows them reads them, and
    later pages, of any panellist, read only their own answers and the comments."""
    panellist_in_round_two(app, client, STATEMENT_BANK.read_text(encoding="utf-8"))
    read = []

    def record(_conn, _cursor, statement, *_args):
        read.append("round_result" in statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get("/panel/rate/1").status_code == 200
        first, read[:] = sum(read), []
        assert client.get("/panel/rate/1").status_code == 200
        assert "Last time (round 1)" in client.get("/panel/rate/2").get_data(as_text=True)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert first == 1
    assert read and sum(read) == 1  # page 2's statements, not read before
