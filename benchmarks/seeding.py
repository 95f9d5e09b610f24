"""Seeding shared by the benchmarks: an empty database, and a first round rated by everyone and closed as the app
closes it, so that the next round's pages show feedback."""
from __future__ import annotations

import numpy as np
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Rating, Round, Study
from delphi.services.rounds import close_round, open_next_round

ROWS_PER_INSERT = 50_000


def empty_database() -> None:
    """Drop every table (ours and Alembic's) and create ours again, in the current app's database, stamped as
    migrated (a server refuses to start on a database whose schema revision is not the code's)."""
    from flask_migrate import stamp

    meta = sa.MetaData()
    meta.reflect(bind=db.engine)
    meta.drop_all(bind=db.engine)
    db.create_all()
    stamp()


def vacuum_like_autovacuum() -> None:
    """On PostgreSQL, VACUUM ANALYZE, as autovacuum would have long since done in a real study, whose first-round
    ratings arrive over weeks. Seeded in seconds, they would otherwise be measured with plans made blind (the approved
    comments of a round-2 page, for one, were joined to every panellist by hash: 1.8 against 0.7 ms), and with
    autovacuum's first pass over a million new rows running in the middle of the measurement. A panel just imported,
    as for round 1, is measured as it is: that is invitation day."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE"))


def rate_close_and_open_next(study: Study, first: Round, panellist_ids: list[int], rng: np.random.Generator) -> Round:
    """Every panellist rates every statement of ``first`` (uniformly 1-9; one rating in 500 has a comment, approved),
    ``first`` is closed (its figures stored), every statement goes on, and the next round is opened and returned."""
    statement_ids = [rs.statement_id for rs in first.statements]
    values = rng.integers(1, 10, size=(len(panellist_ids), len(statement_ids)))
    per_insert = max(1, ROWS_PER_INSERT // max(1, len(statement_ids)))
    for start in range(0, len(panellist_ids), per_insert):
        db.session.execute(sa.insert(Rating), [
            {"panellist_id": panellist_ids[p], "round_id": first.id, "statement_id": sid,
             "value": int(values[p, s]), "unable_to_rate": False,
             "comment": "A comment." if (p + s) % 500 == 0 else "", "comment_approved": (p + s) % 500 == 0}
            for p in range(start, min(start + per_insert, len(panellist_ids)))
            for s, sid in enumerate(statement_ids)])
    close_round(first)
    for rs in first.statements:
        rs.carry_forward = True
    return open_next_round(study)
