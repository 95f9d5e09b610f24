"""Who may save an answer is stated once (``answers.refusal``), from facts read two ways: from the loaded panellist
(``Standing.of``, the panel's pages) and by one query with no ORM objects (autosave, the busiest request). The facts
must agree in every state a panellist can be in; and every kind of autosave request, in every state, gets the
response and changes the data as the rating page and the rules say.
"""
import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import ConsentDecision, ConsentRecord, Panellist, Rating, Round, RoundStatus, Study
from delphi.services import answers as answer_service
from delphi.services.panel import hash_token, new_token
from tests.conftest import MINIMAL_PROTOCOL


def _withdrawn(p, study, round_):
    p.withdrawn = True


def _link_reissued(p, study, round_):
    p.token_hash = hash_token(new_token())


def _link_revoked(p, study, round_):
    p.token_hash = None


def _consent_withdrawn_later(p, study, round_):
    db.session.add(ConsentRecord(panellist_id=p.id, decision=ConsentDecision.refused, consent_version=1,
                                 statements=[]))


def _consent_text_changed(p, study, round_):
    study.consent_version += 1  # as editing the consent text does (services/study_setup.py)


def _never_consented(p, study, round_):
    db.session.execute(sa.delete(ConsentRecord).where(ConsentRecord.panellist_id == p.id))


def _no_group(p, study, round_):
    p.group_id = None


def _round_closed(p, study, round_):
    round_.status = RoundStatus.closed


def _next_round_drafted(p, study, round_):
    round_.status = RoundStatus.closed
    db.session.add(Round(study_id=study.id, number=2, status=RoundStatus.draft))


def _later_round_drafted_early(p, study, round_):
    # Not something the console does, but the database allows it: only the latest round is ever answered.
    db.session.add(Round(study_id=study.id, number=2, status=RoundStatus.draft))


# The scale locks when round 1 opens (Study refuses the change); a study created with these settings holds them, as
# the database does after this update.
def _unable_not_allowed(p, study, round_):
    db.session.execute(sa.update(Study).where(Study.id == study.id).values(unable_to_rate=False))


def _scale_of_five(p, study, round_):
    db.session.execute(sa.update(Study).where(Study.id == study.id).values(scale_max=5))


STATES = {
    "ready to answer": lambda p, study, round_: None,
    "withdrawn": _withdrawn,
    "link reissued": _link_reissued,
    "link revoked": _link_revoked,
    "consent withdrawn later": _consent_withdrawn_later,
    "consent text changed since": _consent_text_changed,
    "never consented": _never_consented,
    "no group": _no_group,
    "round closed": _round_closed,
    "next round still a draft": _next_round_drafted,
    "a later round drafted while this one is open": _later_round_drafted_early,
    "unable to rate not allowed": _unable_not_allowed,
    "scale of 1 to 5": _scale_of_five,
}

# (field, value) with statement codes in braces; "OTHER" is a statement of another study with an open round.
REQUESTS = [
    ("s{A-01}", "7"), ("s{A-02}", "1"), ("s{A-01}", "9"), ("s{A-01}", "unable"), ("s{A-01}", "0"), ("s{A-01}", "10"),
    ("s{A-01}", "-3"), ("s{A-01}", "x"), ("s{A-01}", ""), ("s{A-01}", " 7"), ("c{A-01}", "typed\x00 slowly\u202e"),
    ("c{B-01}", ""), ("r{A-02}", "I thought again"), ("s{OTHER}", "5"), ("s999999", "5"), ("x{A-01}", "5"),
    ("s", "5"), ("s{A-01}x", "5"), ("q{A-01}", "words"), ("c{A-01}", "long " * 1500),
]


@pytest.fixture
def setting(app, client, make_study, open_round, make_panellist, statement_ids):
    """A consented panellist in round 1 of a study (and another study with an open round), signed in on ``client``;
    A-01 already has a rating with a comment."""
    study_id = make_study()
    round_id = open_round(study_id)
    other_study = make_study(MINIMAL_PROTOCOL.replace("Test study", "Another study"))
    open_round(other_study)
    panellist_id, token = make_panellist(study_id)
    client.get(f"/p/{token}")
    assert client.post("/panel/consent", data={"agree": "1"}).status_code == 303
    ids = statement_ids(study_id)
    codes = {**ids, "OTHER": statement_ids(other_study)["A-01"]}
    with app.app_context():
        db.session.add(Rating(panellist_id=panellist_id, round_id=round_id, statement_id=ids["A-01"], value=3,
                              comment="earlier words"))
        db.session.commit()
    return {"study": study_id, "round": round_id, "panellist": panellist_id, "codes": codes}


def ratings_table(app) -> list[tuple]:
    with app.app_context():
        return db.session.execute(sa.select(
            Rating.panellist_id, Rating.round_id, Rating.statement_id, Rating.value, Rating.unable_to_rate,
            Rating.comment, Rating.change_reason, Rating.comment_approved, Rating.entered_by_id,
        ).order_by(Rating.id)).all()


def restore(app, rows: list[tuple]) -> None:
    with app.app_context():
        db.session.execute(sa.delete(Rating))
        names = ["panellist_id", "round_id", "statement_id", "value", "unable_to_rate", "comment", "change_reason",
                 "comment_approved", "entered_by_id"]
        if rows:
            db.session.execute(sa.insert(Rating), [dict(zip(names, row)) for row in rows])
        db.session.commit()


def outcome(response) -> tuple:
    return (response.status_code, response.headers.get("Location"),
            response.get_json(silent=True) if response.is_json else response.get_data(as_text=True))


CHOOSE = (400, None, {"saved": False, "message": "Choose one of the answers shown."})
NOT_SAVED = (400, None, {"saved": False, "message": "That answer could not be saved."})
CLOSED = (409, None, {"saved": False, "message": "This round has closed. Your answers can no longer be changed."})
SAVED = (200, None, {"saved": True, "message": "Saved"})
# What a panellist who may answer gets for each request: refused as shown, or saved with these parts of the rating.
ANSWERABLE = [
    ({"value": 7, "unable_to_rate": False}, {"scale of 1 to 5": CHOOSE}),
    ({"value": 1, "unable_to_rate": False}, {}),
    ({"value": 9, "unable_to_rate": False}, {"scale of 1 to 5": CHOOSE}),
    ({"value": None, "unable_to_rate": True}, {"unable to rate not allowed": CHOOSE}),
    CHOOSE, CHOOSE, CHOOSE, CHOOSE, CHOOSE, CHOOSE,
    ({"comment": "typed slowly"}, {}), ({"comment": ""}, {}), ({"change_reason": "I thought again"}, {}),
    NOT_SAVED, NOT_SAVED, NOT_SAVED, NOT_SAVED, NOT_SAVED, NOT_SAVED,
    ({"comment": ("long " * 1500).strip()[:5000]}, {}),
]
# Who may not answer gets at autosave what the rating page gives them, whatever they send.
REFUSED_LIKE_THE_PAGE = {"withdrawn", "link reissued", "link revoked", "consent withdrawn later",
                         "consent text changed since", "never consented", "no group"}
ROUND_NOT_OPEN = {"round closed", "next round still a draft", "a later round drafted while this one is open"}
NEW_RATING = {"value": None, "unable_to_rate": False, "comment": "", "change_reason": "", "comment_approved": False,
              "entered_by_id": None}


def ratings_by_statement(app) -> dict[int, dict]:
    return {row[2]: dict(zip(["value", "unable_to_rate", "comment", "change_reason", "comment_approved",
                              "entered_by_id"], row[3:])) for row in ratings_table(app)}


@pytest.mark.parametrize("state", STATES)
def test_autosave_in_every_state(app, client, setting, state):
    """Every request in every state: the response, and the one rating it may change (nothing else), with each save
    made in two statements (the common case is the lean one)."""
    with app.app_context():
        panellist = db.session.get(Panellist, setting["panellist"])
        STATES[state](panellist, db.session.get(Study, setting["study"]), db.session.get(Round, setting["round"]))
        db.session.commit()
    start = ratings_table(app)
    page = outcome(client.get("/panel/rate/1"))
    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement.split()[0].upper())

    with app.app_context():
        engine = db.engine
    for (field, value), expected in zip(REQUESTS, ANSWERABLE):
        name = field
        for code, sid in setting["codes"].items():
            name = name.replace("{" + code + "}", str(sid))
        restore(app, start)
        before = ratings_by_statement(app)
        statements.clear()
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            got = outcome(client.post("/panel/autosave", data={"field": name, "value": value}))
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
        after = ratings_by_statement(app)
        if state in REFUSED_LIKE_THE_PAGE:
            assert page[0] in (302, 404) and got == page, (state, field, value)
        elif state in ROUND_NOT_OPEN:
            assert got == CLOSED, (state, field, value)
        elif isinstance(expected, tuple) and isinstance(expected[0], dict):
            parts, refusals = expected
            if state in refusals:
                assert got == refusals[state], (state, field, value)
            else:
                assert got == SAVED, (state, field, value)
                assert [s for s in statements if s not in {"BEGIN", "COMMIT", "ROLLBACK"}] == ["SELECT", "INSERT"]
                target = int(name[1:])
                before[target] = {**before.get(target, NEW_RATING), **parts}
        else:
            assert got == expected, (state, field, value)
        assert after == before, (state, field, value)


def test_a_saves_standing_is_read_the_same_both_ways(app, client, setting):
    refusals = {"withdrawn": "signed out", "link reissued": "signed out", "link revoked": "signed out",
                "consent withdrawn later": "no consent", "consent text changed since": "no consent",
                "never consented": "no consent", "no group": "no group",
                "round closed": "round closed", "next round still a draft": "round closed",
                "a later round drafted while this one is open": "round closed"}
    with app.app_context():
        link = db.session.get(Panellist, setting["panellist"]).token_hash
        db.session.commit()
        query = answer_service._build_standing_query(db.engine.dialect.name)
    for state, change in STATES.items():
        with app.app_context():
            panellist = db.session.get(Panellist, setting["panellist"])
            change(panellist, db.session.get(Study, setting["study"]), db.session.get(Round, setting["round"]))
            db.session.flush()
            db.session.expire_all()
            loaded = answer_service.Standing.of(db.session.get(Panellist, setting["panellist"]))
            read = answer_service.Standing.from_row(db.session.execute(query, {"panellist_id": panellist.id}).one())
            assert read == loaded, state
            refused = answer_service.refusal(read, link)
            assert (refused.value if refused else None) == refusals.get(state), state
            db.session.rollback()


def test_lean_path_saves_in_two_statements(app, client, setting):
    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement.split()[0].upper())

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.post("/panel/autosave", data={"field": f"s{setting['codes']['A-02']}", "value": "8"})
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert response.get_json() == {"saved": True, "message": "Saved"}
    assert [s for s in statements if s not in {"BEGIN", "COMMIT", "ROLLBACK"}] == ["SELECT", "INSERT"]
    # ...and the response does not re-send the session cookie for every background save.
    assert "Set-Cookie" not in response.headers


def _plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


def test_a_save_reads_only_its_own_panellists_consent_records(app, setting):
    """Every save reads the panellist's latest consent decision. It must be found down an index on the panellist's
    records, not by walking everybody's: with an index on panellist_id alone, PostgreSQL without statistics (a panel
    just imported, before autovacuum has analysed it) walked the primary key backwards through all the newer records
    of other panellists, and each save cost it about 0.5 ms more at 5,000 panellists."""
    with app.app_context():
        others = db.session.scalars(sa.insert(Panellist).returning(Panellist.id), [
            {"study_id": setting["study"], "pseudonym": f"P-bulk-{i}"} for i in range(1500)]).all()
        db.session.execute(sa.insert(ConsentRecord), [
            {"panellist_id": pid, "decision": ConsentDecision.given, "consent_version": 1, "statements": []}
            for pid in others])
        db.session.commit()
        engine = db.engine
        statement = answer_service._build_standing_query(engine.dialect.name).params(panellist_id=setting["panellist"])
        sql = str(statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
        if engine.dialect.name == "postgresql":
            plan = db.session.execute(sa.text("EXPLAIN (ANALYZE, FORMAT JSON) " + sql.replace(":", r"\:"))).scalar()
            nodes = [n for n in _plan_nodes(plan[0]["Plan"]) if n.get("Relation Name") == "consent_record"]
            assert nodes
            for node in nodes:
                assert "panellist_id" in node.get("Index Cond", ""), node
                assert node.get("Rows Removed by Filter", 0) == 0, node
                assert node["Actual Rows"] <= 1, node
        else:
            plan = [row[-1] for row in db.session.execute(sa.text("EXPLAIN QUERY PLAN " + sql.replace(":", r"\:")))]
            consent = [line for line in plan if " consent " in f" {line} "]
            assert consent and all(line.startswith("SEARCH") and "panellist_id=?" in line for line in consent), plan
        db.session.rollback()


def test_a_save_still_refreshes_the_cookie_on_page_loads(client, setting):
    assert "Set-Cookie" in client.get("/panel/rate/1").headers
