"""Panellist load: the real journey under gunicorn, against the ceiling of the same server on a trivial endpoint.

Seeds a study of 200 statements (10 pages of 20) and 5,000 panellists with round 1 open, starts gunicorn (2 workers;
sync workers by default, see below) on 127.0.0.1, then runs, in one process and one run, at 50 and at 200 concurrent
clients:

1. the ceiling: C clients calling GET /livez (no database) back to back;
2. autosave capacity: C panellists, each with their own session, saving answers back to back (what an
   invitation-day crowd clicking through their pages can get). Phases 1 and 2 alternate in slices (--slices of
   --seconds each) so that a neighbour's burst on a shared machine does not fall on one of them only; each figure is
   the median slice;
3. the journey: C concurrent panellists each opening their personal link, loading the start page and a rating page,
   autosaving answers one by one, saving the page, loading the review page and submitting, with a think time between
   steps (exponential, mean --think seconds; 1 s is far quicker than anyone reads a statement). The first C arrive at
   --arrivals a second (locust's spawn rate); each later one starts when an earlier one has finished.

Phases 1 and 2 are closed loops (no pause between requests): they measure capacity, and their latency is only the
queue (Little's law: C / throughput). Phase 3 is the load of people, and its latencies are what they feel. It prints
throughput, p50/p95/p99 latency per endpoint, errors, the CPU used by gunicorn, PostgreSQL and the load generator,
and autosave capacity as a share of the ceiling.

Workers: sync workers (one request at a time each, a new connection per request, as behind nginx, which does not keep
upstream connections alive by default) give the most autosave throughput here; --worker-class gthread --threads N
measures the threaded worker (see docs/performance.md for both).

    DELPHI_BENCH_POSTGRES_URL=postgresql://user@127.0.0.1:5432/bench python benchmarks/bench_panel_load.py
    python benchmarks/bench_panel_load.py --database sqlite     # the embedded default, for comparison

Targets (issue 9): p95 under 150 ms for autosave and page loads at 200 concurrent panellists, zero errors, autosave
throughput at least 40% of the ceiling measured in the same run.
"""
from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import random
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

import numpy as np
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.seeding import empty_database, rate_close_and_open_next, vacuum_like_autovacuum  # noqa: E402
from delphi import create_app  # noqa: E402
from delphi.extensions import db  # noqa: E402
from delphi.models import ConsentRecord, Panellist  # noqa: E402
from delphi.protocol import load_protocol  # noqa: E402
from delphi.services.panel import hash_token, new_token  # noqa: E402
from delphi.services.rounds import open_next_round  # noqa: E402
from delphi.services.studies import create_study  # noqa: E402

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
FIELD = re.compile(r'name="(s\d+)" type="radio"')


def seed(url: str, panellists: int, statements: int, round_number: int = 1) -> list[str]:
    """A fresh database with one study whose round ``round_number`` is open. For round 2, every panellist has rated
    every statement of round 1 (one comment in 500 approved), and round 1 is closed the way the app closes it, so
    that the rating pages show feedback."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "PUBLIC_URL": "http://localhost"})
    groups = "".join(f'\n[[groups]]\nkey = "g{i}"\nname = "Group {i}"\n' for i in range(4))
    items = "".join(f'\n[[statements]]\ncode = "S{i:03d}"\ndomain = "Domain {i // 20:02d}"\n'
                    f'text = "Statement number {i}, about recovery-oriented practice in everyday work."\n'
                    for i in range(statements))
    with app.app_context():
        empty_database()
        study = create_study(load_protocol(f'title = "Load"\nmin_group_feedback = 5\n{groups}{items}'))
        tokens = [new_token() for _ in range(panellists)]
        db.session.execute(sa.insert(Panellist), [
            {"study_id": study.id, "group_id": study.groups[i % 4].id, "pseudonym": f"L-{i:06d}",
             "token_hash": hash_token(t), "withdrawn": False} for i, t in enumerate(tokens)])
        ids = db.session.scalars(sa.select(Panellist.id).where(Panellist.study_id == study.id)
                                 .order_by(Panellist.id)).all()
        db.session.execute(sa.insert(ConsentRecord), [
            {"panellist_id": pid, "decision": "given", "consent_version": 1, "statements": []} for pid in ids])
        first = open_next_round(study)
        if round_number == 2:
            rate_close_and_open_next(study, first, ids, np.random.default_rng(9))
        db.session.commit()
        if round_number == 2:
            vacuum_like_autovacuum()
        db.session.remove()
        db.engine.dispose()
    return tokens


class Client:
    """One keep-alive connection with a cookie, timing each request by endpoint name.

    Like a browser, it reconnects once when the server has closed an idle keep-alive connection (counted apart from
    errors, in ``reconnects``)."""

    reconnects = 0

    def __init__(self, port: int, timings: dict, errors: list):
        self.port = port
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
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=sent)
                response = self.conn.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected) as exc:
                self.conn.close()
                if attempt == 2:
                    self.errors.append(f"{name}: {exc!r}")
                    return ""
                Client.reconnects += 1
                start = time.perf_counter()
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


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU time used so far by the server (gunicorn and its workers), PostgreSQL's processes (with the backends that
    have exited, which the postmaster has reaped) and this process."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {"gunicorn": 0.0, "postgres": 0.0}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/comm") as handle:
                comm = handle.read().strip()
        except OSError:
            continue
        own, parent = int(fields[11]) + int(fields[12]), int(fields[1])
        if int(entry) == server_pid or parent == server_pid:
            used["gunicorn"] += own / tick
        elif comm == "postgres":
            with open(f"/proc/{parent}/comm") as handle:
                is_postmaster = handle.read().strip() != "postgres"
            reaped = int(fields[13]) + int(fields[14]) if is_postmaster else 0
            used["postgres"] += (own + reaped) / tick
    times = os.times()
    used["load generator"] = times.user + times.system
    return used


def cpu_report(before: dict[str, float], after: dict[str, float], elapsed: float) -> str:
    return "  CPU (cores busy): " + ", ".join(
        f"{name} {(after[name] - before[name]) / elapsed:.2f}" for name in before)


def add_cpu(total: dict[str, float], before: dict[str, float], after: dict[str, float]) -> None:
    """Add the CPU seconds each process group used between two ``cpu_seconds`` readings to ``total``."""
    for name in before:
        total[name] += after[name] - before[name]


def ms_each(per_request: dict[str, float]) -> str:
    return ", ".join(f"{name} {ms:.2f}" for name, ms in per_request.items()) + " ms"


def pause(think: float, rng: random.Random) -> None:
    if think > 0:
        time.sleep(rng.expovariate(1 / think))


def journey(port: int, token: str, timings: dict, errors: list, autosaves: int, think: float = 0.0,
            delay: float = 0.0) -> None:
    rng = random.Random(token)
    time.sleep(delay)
    client = Client(port, timings, errors)
    client.call("open link", "GET", f"/p/{token}", expect=(303,))
    client.call("start page", "GET", "/panel/")
    pause(think, rng)
    page = client.call("rating page", "GET", "/panel/rate/1")
    token_match, fields = CSRF.search(page), list(dict.fromkeys(FIELD.findall(page)))
    if not token_match or not fields:
        errors.append("rating page: no form")
        return
    csrf = token_match.group(1)
    for i in range(autosaves):
        pause(think, rng)
        client.call("autosave", "POST", "/panel/autosave", {"field": fields[i % len(fields)], "value": str(1 + i % 9)},
                    headers={"X-CSRFToken": csrf})
    pause(think, rng)
    client.call("save page", "POST", "/panel/rate/1",
                {"csrf_token": csrf, "next": "1", **{f: "7" for f in fields}}, expect=(303,))
    review = client.call("review page", "GET", "/panel/review")
    match = CSRF.search(review)
    pause(think, rng)
    client.call("submit", "POST", "/panel/review", {"csrf_token": match.group(1) if match else "", "submit": "1"},
                expect=(303,))
    client.conn.close()


def autosave_capacity(port: int, tokens: list[str], seconds: float,
                      server_pid: int) -> tuple[dict, list, float, dict, dict]:
    """Each token's panellist enters and loads a rating page (untimed), then all save answers back to back.

    Returns the timings, the errors, the length of the timed window and the CPU used (``cpu_seconds``) at its start
    and at its end."""
    timings, errors = defaultdict(list), []
    ready = threading.Barrier(len(tokens) + 1)
    window = {}

    def panellist(token: str) -> None:
        client = Client(port, defaultdict(list), errors)
        client.call("open link", "GET", f"/p/{token}", expect=(303,))
        page = client.call("rating page", "GET", "/panel/rate/1")
        token_match, fields = CSRF.search(page), list(dict.fromkeys(FIELD.findall(page)))
        ready.wait()
        if not token_match or not fields:
            errors.append("rating page: no form")
            return
        client.timings = timings
        headers = {"X-CSRFToken": token_match.group(1)}
        i = 0
        while time.perf_counter() < window["stop"]:
            client.call("autosave", "POST", "/panel/autosave",
                        {"field": fields[i % len(fields)], "value": str(1 + i % 9)}, headers=headers)
            i += 1
        client.conn.close()

    threads = [threading.Thread(target=panellist, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    window["stop"] = time.perf_counter() + 3600
    ready.wait()
    cpu, start = cpu_seconds(server_pid), time.perf_counter()
    window["stop"] = start + seconds
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    return timings, errors, elapsed, cpu, cpu_seconds(server_pid)


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


def run_load(port: int, tokens: list[str], concurrency: int, autosaves: int, think: float, ramp: float,
             processes: int = 1) -> tuple[dict, list, float, float]:
    """Journeys on ``concurrency`` threads, spread over ``processes`` load-generator processes (so that one Python
    process's lock between threads does not add to the latencies measured); the first ``concurrency`` panellists
    arrive evenly over ``ramp`` seconds (as locust's spawn rate does), and each later one starts when one before them
    has finished. Returns the timings, the errors, the elapsed time and the generator processes' CPU seconds."""
    start = time.perf_counter()
    shares = [list(range(i, len(tokens), processes)) for i in range(processes)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        results = pool.starmap(_run_share, [
            (port, [tokens[k] for k in share], [ramp * k / concurrency if k < concurrency else 0.0 for k in share],
             max(1, concurrency // processes), autosaves, think) for share in shares])
    timings, errors = defaultdict(list), []
    for share_timings, share_errors, _ in results:
        for name, values in share_timings.items():
            timings[name] += values
        errors += share_errors
    return timings, errors, time.perf_counter() - start, sum(r[2] for r in results)


def _run_share(port: int, tokens: list[str], delays: list[float], threads: int, autosaves: int,
               think: float) -> tuple[dict, list, float]:
    timings, errors = defaultdict(list), []
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda pair: journey(port, pair[0], timings, errors, autosaves, think, pair[1]),
                      zip(tokens, delays)))
    used = os.times()
    return dict(timings), errors, used.user + used.system


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def report(title: str, timings: dict, errors: list, elapsed: float) -> None:
    total = sum(len(v) for v in timings.values())
    print(f"\n{title}: {total} requests in {elapsed:.1f} s = {total / elapsed:.0f} req/s, errors: {len(errors)}")
    if errors:
        print("  first errors:", errors[:5])
    print(f"  {'endpoint':<14}{'count':>7}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for name, values in timings.items():
        print(f"  {name:<14}{len(values):>7}{len(values) / elapsed:>8.0f}{statistics.median(values) * 1000:>9.1f}"
              f"{percentile(values, 95) * 1000:>9.1f}{percentile(values, 99) * 1000:>9.1f}")


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
    parser.add_argument("--autosaves", type=int, default=10, help="autosaves in each journey")
    parser.add_argument("--think", type=float, default=1.0, help="mean think time between journey steps, seconds")
    parser.add_argument("--arrivals", type=float, default=20.0,
                        help="panellists arriving a second at the start of the journey phase (locust's spawn rate)")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each ceiling and capacity slice")
    parser.add_argument("--slices", type=int, default=5, help="alternating ceiling and capacity slices")
    parser.add_argument("--processes", type=int, default=4, help="load-generator processes for the journey")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class: sync (a new connection per "
                        "request) or gthread (keeps connections alive, with --threads)")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (gthread)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--round", type=int, choices=[1, 2], default=1, dest="round_number",
                        help="the open round: 1, or 2 (round 1 rated by everyone and closed: pages show feedback)")
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
        tokens = seed(url, args.panellists, args.statements, args.round_number)
        print(f"Seeded {args.panellists} panellists x {args.statements} statements on {args.database}, round "
              f"{args.round_number} open, in {time.perf_counter() - t0:.1f} s")
        port = 18000 + os.getpid() % 1000
        env = {**os.environ, "DATABASE_URL": url, "DELPHI_SECRET_KEY": "bench", "DELPHI_INSTANCE_PATH": folder,
               "DELPHI_LINK_RATE_LIMIT": "1000000 per minute", "PYTHONPATH": str(ROOT)}
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class", args.worker_class,
                                   "--threads", str(args.threads),
                                   "--bind", f"127.0.0.1:{port}", "--backlog", "2048", "--keep-alive", "30", "wsgi:app"],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until_ready(port)
            print(f"gunicorn: 2 {args.worker_class} workers x {args.threads} threads")
            used, summary = 0, []
            for concurrency in args.concurrency:
                print(f"\n=== {concurrency} concurrent clients ===")
                # The ceiling and autosave capacity are measured in alternating slices, so that a neighbour's burst
                # on this shared machine does not fall on one of them only; each figure is the median slice.
                roofs, capacities, saves, save_errors, cpus = [], [], defaultdict(list), [], []
                # CPU seconds and requests over all slices of each phase, for the CPU each request costs.
                spent = {phase: defaultdict(float) for phase in ("ceiling", "autosave")}
                served = {"ceiling": 0.0, "autosave": 0}
                batch, used = tokens[used:used + concurrency], used + concurrency
                for _ in range(args.slices):
                    cpu, start = cpu_seconds(server.pid), time.perf_counter()
                    roofs.append(ceiling(port, concurrency, args.seconds))
                    after, elapsed = cpu_seconds(server.pid), time.perf_counter() - start
                    cpus.append(("ceiling", cpu_report(cpu, after, elapsed)))
                    served["ceiling"] += roofs[-1] * elapsed
                    add_cpu(spent["ceiling"], cpu, after)
                    timings, errors, elapsed, cpu, after = autosave_capacity(port, batch, args.seconds, server.pid)
                    capacities.append(len(timings["autosave"]) / elapsed)
                    saves["autosave"] += timings["autosave"]
                    save_errors += errors
                    cpus.append(("autosave", cpu_report(cpu, after, elapsed)))
                    served["autosave"] += len(timings["autosave"])
                    add_cpu(spent["autosave"], cpu, after)
                if not args.slices:  # journey only
                    roofs, capacities = [float("nan")], [float("nan")]
                roof, capacity = statistics.median(roofs), statistics.median(capacities)
                if args.slices:
                    print(f"Ceiling, {concurrency} clients calling GET /livez back to back: "
                          + ", ".join(f"{r:.0f}" for r in roofs) + f" req/s, median {roof:.0f}")
                    print(f"Autosave capacity, {concurrency} panellists saving back to back: "
                          + ", ".join(f"{c:.0f}" for c in capacities) + f" req/s, median {capacity:.0f} = "
                          f"{100 * capacity / roof:.0f}% of the ceiling")
                    report("  all autosave slices", saves, save_errors, args.seconds * args.slices)
                    for name, line in cpus[-2:]:
                        print(f"  last {name} slice:" + line[1:])
                    # What each request costs is steadier than the rates when the host is busy: autosave needs both
                    # cores and slows with them, while /livez is held back by the sync workers' accept loop.
                    each = {phase: {name: 1000 * seconds / max(served[phase], 1) for name, seconds in used.items()}
                            for phase, used in spent.items()}
                    server_ms = {phase: ms["gunicorn"] + ms["postgres"] for phase, ms in each.items()}
                    ratio = server_ms["autosave"] / server_ms["ceiling"]
                    print(f"  CPU per request, all slices: /livez {ms_each(each['ceiling'])}; autosave "
                          f"{ms_each(each['autosave'])}; server (gunicorn and postgres) {server_ms['autosave']:.2f} "
                          f"against {server_ms['ceiling']:.2f} ms = {ratio:.1f} times a /livez")
                if not args.journeys:
                    summary.append((concurrency, roof, capacity, float("nan"), len(save_errors)))
                    continue
                batch, used = tokens[used:used + args.journeys], used + args.journeys
                ramp = concurrency / args.arrivals
                cpu = cpu_seconds(server.pid)
                timings, errors, elapsed, generator_cpu = run_load(port, batch, concurrency, args.autosaves,
                                                                   args.think, ramp, args.processes)
                after = cpu_seconds(server.pid)
                after["load generator"] = cpu["load generator"] + generator_cpu
                journey_cpu = cpu_report(cpu, after, elapsed)
                report(f"Journey, {concurrency} concurrent panellists (think time {args.think:g} s, "
                       f"{args.arrivals:g} arriving a second until all {concurrency} are in)", timings, errors, elapsed)
                print(journey_cpu)
                print(f"  reconnects after the server closed an idle connection: {Client.reconnects}")
                Client.reconnects = 0
                worst = max(percentile(v, 95) for v in timings.values()) * 1000
                summary.append((concurrency, roof, capacity, worst, len(errors) + len(save_errors)))
            print(f"\n{'clients':>7}{'ceiling':>10}{'autosave':>10}{'share':>7}{'worst p95 ms':>14}{'errors':>8}")
            for concurrency, roof, capacity, worst, errors in summary:
                print(f"{concurrency:>7}{roof:>10.0f}{capacity:>10.0f}{100 * capacity / roof:>6.0f}%{worst:>14.1f}"
                      f"{errors:>8}")
            print("targets at 200 clients: share >= 40%, worst p95 < 150 ms, errors 0")
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    threading.stack_size(512 * 1024)
    main()
