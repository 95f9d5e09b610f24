"""Autosave in-process: what one save costs against a ``GET /livez``, and against other ways of saving, in one run.

Seeds the load benchmark's study (``bench_panel_load.seed``: 200 statements, round 1 open), signs in --clients
panellists with Flask's test client (each loads a rating page for its CSRF token), then alternates blocks of
--requests autosaves and --requests ``/livez`` calls, --blocks times, each way of saving taking its turn in every
block, so that a neighbour's burst on a shared machine falls on all of them. It prints, per way, the CPU of this
process per request (median block; PostgreSQL's backend is not counted, which is why the SQLite figure is the
cleaner one) and the ratio to ``/livez``. The load benchmark's autosave share follows that ratio: an autosave that
costs the server 3.3 times a ``/livez`` gives a share near 46% (docs/performance.md).

    python benchmarks/bench_autosave.py                      # SQLite in a temporary folder
    DELPHI_BENCH_POSTGRES_URL=postgresql://... python benchmarks/bench_autosave.py --database postgres

``WAYS`` names the ways of saving compared; a way is a context manager that sets the app up for it. Add one to
measure a change head to head with the code as it runs.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_panel_load import CSRF, FIELD, seed  # noqa: E402
from delphi import create_app  # noqa: E402

# Each way of saving: name -> a context manager entered around its requests. "as the app runs" changes nothing.
WAYS = {"as the app runs": contextlib.nullcontext}


def signed_in_clients(app, tokens: list[str]) -> list[tuple]:
    """A test client per panellist, signed in, with the CSRF token and the rating fields of their first page."""
    clients = []
    for token in tokens:
        client = app.test_client()
        assert client.get(f"/p/{token}").status_code == 303
        page = client.get("/panel/rate/1").get_data(as_text=True)
        clients.append((client, CSRF.search(page).group(1), list(dict.fromkeys(FIELD.findall(page)))))
    return clients


def cpu_ms_each(requests: int, send) -> float:
    start = time.process_time()
    for i in range(requests):
        send(i)
    return (time.process_time() - start) * 1000 / requests


def main() -> None:
    parser = argparse.ArgumentParser(description="Autosave against /livez, in-process")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--panellists", type=int, default=1000, help="panellists seeded")
    parser.add_argument("--clients", type=int, default=20, help="panellists saving, in turn")
    parser.add_argument("--requests", type=int, default=400, help="requests of each kind in a block")
    parser.add_argument("--blocks", type=int, default=7)
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="delphi-bench-autosave-")
    url = (os.environ["DELPHI_BENCH_POSTGRES_URL"] if args.database == "postgres"
           else f"sqlite:///{folder}/bench.db")
    tokens = seed(url, args.panellists, 200)[: args.clients]
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "PUBLIC_URL": "http://localhost"})
    clients = signed_in_clients(app, tokens)
    livez = app.test_client()

    def autosave(i: int) -> None:
        client, csrf, fields = clients[i % len(clients)]
        response = client.post("/panel/autosave", data={"field": fields[i % len(fields)], "value": str(1 + i % 9)},
                               headers={"X-CSRFToken": csrf})
        assert response.status_code == 200, response.get_data(as_text=True)

    def ceiling(_i: int) -> None:
        assert livez.get("/livez").status_code == 200

    per_way: dict[str, list[float]] = {name: [] for name in WAYS}
    per_livez: list[float] = []
    for _ in range(args.blocks):
        per_livez.append(cpu_ms_each(args.requests, ceiling))
        for name, way in WAYS.items():
            with way():
                per_way[name].append(cpu_ms_each(args.requests, autosave))
    base = statistics.median(per_livez)
    print(f"{args.database}, {args.clients} panellists saving in turn, {args.blocks} blocks of {args.requests}")
    print(f"  /livez: {base:.3f} ms CPU a request (blocks {', '.join(f'{ms:.3f}' for ms in per_livez)})")
    for name, blocks in per_way.items():
        ms = statistics.median(blocks)
        print(f"  autosave, {name}: {ms:.3f} ms = {ms / base:.2f} times a /livez "
              f"(blocks {', '.join(f'{b:.3f}' for b in blocks)})")


if __name__ == "__main__":
    main()
