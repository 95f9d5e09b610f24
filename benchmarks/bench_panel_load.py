"""Panellist load: the real journey under gunicorn, against the ceiling of the same server on a trivial endpoint.

Seeds a study of 200 statements (10 pages of 20) and 5,000 panellists with round 1 open, starts gunicorn (2 workers,
--threads T) on 127.0.0.1, then runs, in one process and one run:

1. the ceiling: C concurrent clients calling GET /livez (no database) for a few seconds;
2. the journey at 50 and at 200 concurrent panellists: open the personal link, load the start page and a rating
   page, autosave answers one by one, save the page, load the review page and submit.

It prints throughput, p50/p95/p99 latency per endpoint, errors, and autosave throughput as a share of the ceiling.

    DELPHI_BENCH_POSTGRES_URL=postgresql://user@127.0.0.1:5432/bench python benchmarks/bench_panel_load.py
    python benchmarks/bench_panel_load.py --database sqlite     # the embedded default, for comparison

Targets (issue 9): p95 under 150 ms for autosave and page loads at 200 concurrent panellists, zero errors, autosave
throughput at least 40% of the ceiling measured in the same run.
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from delphi import create_app  # noqa: E402
from delphi.extensions import db  # noqa: E402
from delphi.models import ConsentRecord, Panellist  # noqa: E402
from delphi.protocol import load_protocol  # noqa: E402
from delphi.services.panel import hash_token, new_token  # noqa: E402
from delphi.services.rounds import open_next_round  # noqa: E402
from delphi.services.studies import create_study  # noqa: E402

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
FIELD = re.compile(r'name="(s\d+)" type="radio"')


def seed(url: str, panellists: int, statements: int) -> list[str]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    groups = "".join(f'\n[[groups]]\nkey = "g{i}"\nname = "Group {i}"\n' for i in range(4))
    items = "".join(f'\n[[statements]]\ncode = "S{i:03d}"\ndomain = "Domain {i // 20:02d}"\n'
                    f'text = "Statement number {i}, about recovery-oriented practice in everyday work."\n'
                    for i in range(statements))
    with app.app_context():
        meta = sa.MetaData()
        meta.reflect(bind=db.engine)
        meta.drop_all(bind=db.engine)
        db.create_all()
        study = create_study(load_protocol(f'title = "Load"\n{groups}{items}'))
        tokens = [new_token() for _ in range(panellists)]
        db.session.execute(sa.insert(Panellist), [
            {"study_id": study.id, "group_id": study.groups[i % 4].id, "pseudonym": f"L-{i:06d}",
             "token_hash": hash_token(t), "withdrawn": False} for i, t in enumerate(tokens)])
        ids = db.session.scalars(sa.select(Panellist.id).where(Panellist.study_id == study.id)).all()
        db.session.execute(sa.insert(ConsentRecord), [
            {"panellist_id": pid, "decision": "given", "consent_version": 1, "statements": []} for pid in ids])
        open_next_round(study)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return tokens


class Client:
    """One keep-alive connection with a cookie, timing each request by endpoint name."""

    def __init__(self, port: int, timings: dict, errors: list):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie = ""
        self.timings, self.errors = timings, errors

    def call(self, name: str, method: str, path: str, form: dict | None = None, headers: dict | None = None,
             expect=(200,)) -> str:
        body = urllib.parse.urlencode(form) if form is not None else None
        sent = {"Cookie": self.cookie, **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        start = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=sent)
            response = self.conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as exc:
            self.errors.append(f"{name}: {exc!r}")
            self.conn.close()
            return ""
        self.timings[name].append(time.perf_counter() - start)
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        if response.status not in expect:
            self.errors.append(f"{name}: HTTP {response.status}")
        return text


def journey(port: int, token: str, timings: dict, errors: list, autosaves: int) -> None:
    client = Client(port, timings, errors)
    client.call("open link", "GET", f"/p/{token}", expect=(303,))
    client.call("start page", "GET", "/panel/")
    page = client.call("rating page", "GET", "/panel/rate/1")
    token_match, fields = CSRF.search(page), list(dict.fromkeys(FIELD.findall(page)))
    if not token_match or not fields:
        errors.append("rating page: no form")
        return
    csrf = token_match.group(1)
    for i in range(autosaves):
        client.call("autosave", "POST", "/panel/autosave", {"field": fields[i % len(fields)], "value": str(1 + i % 9)},
                    headers={"X-CSRFToken": csrf})
    client.call("save page", "POST", "/panel/rate/1",
                {"csrf_token": csrf, "next": "1", **{f: "7" for f in fields}}, expect=(303,))
    review = client.call("review page", "GET", "/panel/review")
    match = CSRF.search(review)
    client.call("submit", "POST", "/panel/review", {"csrf_token": match.group(1) if match else "", "submit": "1"},
                expect=(303,))
    client.conn.close()


def ceiling(port: int, concurrency: int, seconds: float) -> float:
    timings, errors = defaultdict(list), []
    stop = time.perf_counter() + seconds

    def hammer(_):
        client = Client(port, timings, errors)
        while time.perf_counter() < stop:
            client.call("livez", "GET", "/livez")
        client.conn.close()

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(hammer, range(concurrency)))
    return len(timings["livez"]) / (time.perf_counter() - start)


def run_load(port: int, tokens: list[str], concurrency: int, panellists: int, autosaves: int) -> tuple[dict, list, float]:
    timings, errors = defaultdict(list), []
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda t: journey(port, t, timings, errors, autosaves), tokens[:panellists]))
    return timings, errors, time.perf_counter() - start


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def report(title: str, timings: dict, errors: list, elapsed: float, ceiling_rps: float) -> None:
    total = sum(len(v) for v in timings.values())
    print(f"\n{title}: {total} requests in {elapsed:.1f} s = {total / elapsed:.0f} req/s, errors: {len(errors)}")
    if errors:
        print("  first errors:", errors[:5])
    print(f"  {'endpoint':<14}{'count':>7}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for name, values in timings.items():
        print(f"  {name:<14}{len(values):>7}{len(values) / elapsed:>8.0f}{statistics.median(values) * 1000:>9.1f}"
              f"{percentile(values, 95) * 1000:>9.1f}{percentile(values, 99) * 1000:>9.1f}")
    autosave_rps = len(timings.get("autosave", [])) / elapsed
    print(f"  autosave throughput {autosave_rps:.0f} req/s = {100 * autosave_rps / ceiling_rps:.0f}% of the ceiling; "
          f"all requests {100 * total / elapsed / ceiling_rps:.0f}% of the ceiling")


def wait_until_ready(port: int) -> None:
    """Wait until both workers answer (each imports the app, numpy and scipy on start)."""
    deadline = time.perf_counter() + 60
    answered = 0
    while answered < 20 and time.perf_counter() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/livez")
            if conn.getresponse().status == 200:
                answered += 1
            conn.close()
        except OSError:
            time.sleep(0.2)
    if answered < 20:
        sys.exit("gunicorn did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description="Panellist load benchmark")
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--panellists", type=int, default=5000, help="panellists seeded")
    parser.add_argument("--statements", type=int, default=200)
    parser.add_argument("--journeys", type=int, default=400, help="journeys run at each concurrency")
    parser.add_argument("--autosaves", type=int, default=10)
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[50, 200])
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        if args.database == "postgres":
            url = os.environ.get("DELPHI_BENCH_POSTGRES_URL")
            if not url:
                sys.exit("Set DELPHI_BENCH_POSTGRES_URL (or use --database sqlite).")
        else:
            url = f"sqlite:///{folder}/load.sqlite3"
        os.environ["DELPHI_INSTANCE_PATH"] = folder
        t0 = time.perf_counter()
        tokens = seed(url, args.panellists, args.statements)
        print(f"Seeded {args.panellists} panellists x {args.statements} statements on {args.database} "
              f"in {time.perf_counter() - t0:.1f} s")
        port = 18000 + os.getpid() % 1000
        env = {**os.environ, "DATABASE_URL": url, "DELPHI_SECRET_KEY": "bench", "DELPHI_INSTANCE_PATH": folder,
               "DELPHI_LINK_RATE_LIMIT": "1000000 per minute", "PYTHONPATH": str(ROOT)}
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", str(args.threads),
                                   "--bind", f"127.0.0.1:{port}", "--backlog", "2048", "wsgi:app"],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until_ready(port)
            print(f"gunicorn: 2 workers x {args.threads} threads")
            used = 0
            for concurrency in args.concurrency:
                roof = ceiling(port, concurrency, 5)
                print(f"\nCeiling at {concurrency} clients: GET /livez {roof:.0f} req/s")
                batch = tokens[used:used + args.journeys]
                used += args.journeys
                timings, errors, elapsed = run_load(port, batch, concurrency, len(batch), args.autosaves)
                report(f"Journey at {concurrency} concurrent panellists", timings, errors, elapsed, roof)
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    threading.stack_size(512 * 1024)
    main()
