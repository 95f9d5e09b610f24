"""Feedback pages: a round-2 rating page with 60 statements and per-group feedback, for a panel of 5,000.

Seeds 5,000 panellists in 4 groups rating 60 statements (one page) in round 1, closes it (figures are precomputed
then), opens round 2, and times the page a panellist loads, in-process with Flask's test client, against the same
page without feedback (round 1) in the same run. It also counts the page's SQL queries, on the first load in the
process and on the next (a process keeps a closed round's figures once it has read them; the timed loads come after).

    python benchmarks/bench_feedback_page.py
    DELPHI_BENCH_POSTGRES_URL=postgresql://... python benchmarks/bench_feedback_page.py --database postgres
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.seeding import empty_database, rate_close_and_open_next, vacuum_like_autovacuum  # noqa: E402
from delphi import create_app  # noqa: E402
from delphi.extensions import db  # noqa: E402
from delphi.models import ConsentRecord, Panellist  # noqa: E402
from delphi.protocol import load_protocol  # noqa: E402
from delphi.services.panel import hash_token, new_token  # noqa: E402
from delphi.services.rounds import open_next_round  # noqa: E402
from delphi.services.studies import create_study  # noqa: E402


def seed(panellists: int, statements: int) -> tuple[str, str]:
    """Returns tokens of a panellist in round 1 of a fresh study and of one in round 2 of the study with feedback."""
    groups = "".join(f'\n[[groups]]\nkey = "g{i}"\nname = "Group {i}"\n' for i in range(4))
    items = "".join(f'\n[[statements]]\ncode = "S{i:03d}"\ndomain = "All"\n'
                    f'text = "Statement number {i} about recovery-oriented practice in everyday work."\n'
                    for i in range(statements))
    rng = np.random.default_rng(3)
    tokens = {}
    for label in ("round1", "round2"):
        study = create_study(load_protocol(f'title = "Feedback {label}"\nmin_group_feedback = 5\n{groups}{items}'))
        token_list = [new_token() for _ in range(panellists)]
        db.session.execute(sa.insert(Panellist), [
            {"study_id": study.id, "group_id": study.groups[i % 4].id, "pseudonym": f"F{label[-1]}-{i:06d}",
             "token_hash": hash_token(t), "withdrawn": False} for i, t in enumerate(token_list)])
        ids = db.session.scalars(sa.select(Panellist.id).where(Panellist.study_id == study.id)
                                 .order_by(Panellist.id)).all()
        db.session.execute(sa.insert(ConsentRecord), [
            {"panellist_id": pid, "decision": "given", "consent_version": 1, "statements": []} for pid in ids])
        round1 = open_next_round(study)
        if label == "round2":
            rate_close_and_open_next(study, round1, ids, rng)
        db.session.commit()
        tokens[label] = token_list[0]
    vacuum_like_autovacuum()
    return tokens["round1"], tokens["round2"]


def time_page(client, runs: int) -> list[float]:
    client.get("/panel/rate/1")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get("/panel/rate/1")
        times.append(time.perf_counter() - start)
        assert response.status_code == 200
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description="Feedback page benchmark")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--panellists", type=int, default=5000)
    parser.add_argument("--statements", type=int, default=60)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["DELPHI_INSTANCE_PATH"] = folder
        url = os.environ["DELPHI_BENCH_POSTGRES_URL"] if args.database == "postgres" else f"sqlite:///{folder}/f.db"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "PUBLIC_URL": "http://localhost"})
        with app.app_context():
            empty_database()
            t0 = time.perf_counter()
            plain, with_feedback = seed(args.panellists, args.statements)
            print(f"Seeded 2 studies of {args.panellists} panellists x {args.statements} statements "
                  f"(one closed round of {args.panellists * args.statements} ratings) in {time.perf_counter() - t0:.1f} s")
            db.session.remove()
        # The pages are timed in the process that seeded 300,000 ratings; a server process would not hold what the
        # seeding left behind, so keep it out of the garbage collector's work.
        gc.collect()
        gc.freeze()
        results = {}
        for label, token in (("round 1, no feedback", plain), ("round 2, with feedback", with_feedback)):
            client = app.test_client()
            client.get(f"/p/{token}")
            queries = []

            def count(*_args, **_kwargs):
                queries[-1] += 1

            with app.app_context():
                engine = db.engine
            sa.event.listen(engine, "before_cursor_execute", count)
            for _ in range(2):  # the first load in a process also reads what the process then keeps
                queries.append(0)
                client.get("/panel/rate/1")
            sa.event.remove(engine, "before_cursor_execute", count)
            times = time_page(client, args.runs)
            results[label] = statistics.median(times)
            print(f"  {label:<24} median {statistics.median(times) * 1000:6.1f} ms   "
                  f"p95 {sorted(times)[int(0.95 * (len(times) - 1))] * 1000:6.1f} ms   "
                  f"SQL queries: {queries[0]} on the first load, then {queries[1]}")
        ratio = results["round 2, with feedback"] / results["round 1, no feedback"]
        print(f"  feedback costs {ratio:.2f}x the plain page ({args.statements} statements, {args.database})")


if __name__ == "__main__":
    main()
