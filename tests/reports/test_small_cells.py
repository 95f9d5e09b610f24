"""Small cells everywhere (docs/security.md, "Small cells"): a lone peer support worker's ratings, mean and count
cannot be read, or worked out, from the report, statistics.csv, consensus.csv, the workbook or results.json: not
from one table, not from the panel minus the groups shown, not between rounds and not before and after a withdrawal.

The study: 7 service users, 6 staff, 5 family members and 1 peer support worker, who rates every statement 1
(everyone else 6-9); the family members are withheld beside the peer worker (complementary suppression). One staff
member rates 2 in round 1 and leaves; everyone else answers round 2."""
from __future__ import annotations

import csv
import io
import json
import re

import openpyxl
import pytest

from delphi.extensions import db
from delphi.models import Panellist, Study
from delphi.protocol import load_protocol
from delphi.services.answers import Answer, save_answers, submit_round
from delphi.services.panel import add_panellist, withdraw_panellist
from delphi.services.reports import build_downloads
from delphi.services.rounds import close_round, open_next_round
from delphi.services.studies import create_study

MINIMUM = 5
PROTOCOL = f"""
title = "Small cells"
min_group_feedback = {MINIMUM}
max_rounds = 3
withdrawal = "delete"

[consensus]
scope = "overall"
include = "pct_agree >= 70"
exclude = "pct_disagree >= 70"

[[groups]]
key = "service_user"
name = "Service users"

[[groups]]
key = "staff"
name = "Staff"

[[groups]]
key = "family"
name = "Family members"

[[groups]]
key = "peer"
name = "Peer support workers"

[[statements]]
code = "S1"
text = "First."

[[statements]]
code = "S2"
text = "Second."
"""
SIZES = {"service_user": 7, "staff": 6, "family": 5, "peer": 1}


def _rate(round_, panellists, value_of):
    for i, (panellist, key) in enumerate(panellists):
        value = value_of(i, key)
        if value is None:
            continue
        save_answers(panellist, round_, {rs.statement_id: Answer(value=value) for rs in round_.statements})
        submit_round(panellist, round_)


def build(app) -> tuple[int, list[int]]:
    """The study with two closed rounds; returns its id and the service users' panellist ids."""
    with app.app_context():
        study = create_study(load_protocol(PROTOCOL))
        panellists = [(add_panellist(study, study.group_by_key(key))[0], key)
                      for key, size in SIZES.items() for _ in range(size)]
        db.session.flush()
        leaver = next(i for i, (_, key) in enumerate(panellists) if key == "staff")

        def first(i, key):
            return 1 if key == "peer" else 2 if i == leaver else 6 + i % 4

        round1 = open_next_round(study)
        _rate(round1, panellists, first)
        close_round(round1)
        for rs in round1.statements:
            rs.carry_forward = True
        round2 = open_next_round(study)
        _rate(round2, panellists, lambda i, key: None if i == leaver else first(i, key))
        close_round(round2)
        db.session.commit()
        return study.id, [p.id for p, key in panellists if key == "service_user"]


def downloads(app, study_id: int) -> dict[str, bytes]:
    with app.app_context():
        return build_downloads(db.session.get(Study, study_id))


def statistics(files) -> dict[tuple[str, str, str], dict]:
    rows = csv.DictReader(io.StringIO(files["statistics.csv"].decode(), newline=""))
    return {(r["round"], r["statement"], r["scope"]): r for r in rows}


def section(html: str, name: str) -> str:
    return html[html.index(f'id="{name}-h"'):].split("</section>", 1)[0]


def table_rows(html: str) -> list[str]:
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in html.split("<tr>")[1:]]


def never_small(n: int) -> bool:
    return n == 0 or n >= MINIMUM


@pytest.fixture
def study(app):
    return build(app)


def test_a_table_never_shows_the_lone_peer_worker(app, study):
    """(a) Attrition used to print the lone peer worker's own mean (1.00, "stayed") and the leaver's (2.00)."""
    html = downloads(app, study[0])["report.html"].decode()
    attrition = table_rows(section(html, "attrition"))
    peer = next(row for row in attrition if row.startswith("Peer support workers"))
    assert "withheld" in peer and "1.00" not in peer
    assert all("2.00" not in row and "1.00" not in row for row in attrition)
    flow = [row for row in table_rows(section(html, "flow")) if "Peer support workers" in row]
    assert len(flow) == 2 and all("withheld" in row for row in flow)
    for name in ("consensus", "divergence"):  # the peer worker's column
        body = [row for row in table_rows(section(html, name)) if row.startswith(("S1 ", "S2 "))]
        assert len(body) == 2 and all("withheld" in row for row in body), (name, body)
    for row in table_rows(section(html, "figures")):
        if "Peer support workers" in row:
            assert "withheld" in row and not re.search(r"\b1\.0\b", row), row
    stats = statistics(downloads(app, study[0]))
    for (round_, code, scope), row in stats.items():
        if scope in ("peer", "family", "equal_groups"):
            assert row["verdict"] == "withheld" and row["n"] == row["mean"] == row["median"] == ""


def test_the_panel_minus_the_groups_shown_is_never_a_small_cell(app, study):
    """(b) In every table, what the panel's figure minus the shown groups' leaves is 0 or at least the minimum."""
    files = downloads(app, study[0])
    stats = statistics(files)
    for (round_, code, scope), row in stats.items():
        if scope != "overall" or row["verdict"] == "withheld":
            continue
        shown = [stats[(round_, code, key)] for key in SIZES if stats[(round_, code, key)]["verdict"] != "withheld"]
        assert never_small(int(row["n"]) - sum(int(r["n"]) for r in shown)), (round_, code)
    html = files["report.html"].decode()
    flow = table_rows(section(html, "flow"))
    for round_ in ("1", "2"):
        rows = [row.split() for row in flow if row.startswith(round_ + " ")]
        everyone = next(r for r in rows if "All" in r)
        shown = [r for r in rows if "withheld" not in r and "All" not in r]
        if "withheld" not in everyone:
            assert never_small(int(everyone[-3]) - sum(int(r[-3]) for r in shown))  # responded
    for row in table_rows(section(html, "attrition")):
        if row.startswith("All groups"):
            assert "withheld" in row  # one person left in all: the panel's leavers are a small cell


def test_round_one_minus_round_two_gives_no_leaver(app, study):
    """(c) Staff are shown in both rounds (6, then 5); the staff member who left is a cell of one, so nothing splits
    the stayers from the leaver: attrition withholds staff and the panel's leavers."""
    files = downloads(app, study[0])
    stats = statistics(files)
    assert stats[("1", "S1", "staff")]["n"] == "6" and stats[("2", "S1", "staff")]["n"] == "5"
    attrition = table_rows(section(files["report.html"].decode(), "attrition"))
    assert all("withheld" in row for row in attrition if row.startswith(("Staff", "All groups")))


def test_a_withdrawal_cannot_be_subtracted_out(app, study):
    """(d) A service user withdraws after round 2 closed and their ratings are deleted: every figure shown both
    before and after is the same, so before minus after gives nothing; the changed ones are withheld after."""
    study_id, service_users = study
    before = downloads(app, study_id)
    with app.app_context():
        withdraw_panellist(db.session.get(Panellist, service_users[0]))
        db.session.commit()
    after = downloads(app, study_id)
    assert before["ratings.csv"] != after["ratings.csv"]
    old, new = statistics(before), statistics(after)
    assert old.keys() == new.keys()
    changed = [key for key in old if old[key] != new[key]]
    assert changed and all(new[key]["verdict"] == "withheld" for key in changed)
    assert all(new[key]["verdict"] == "withheld" for key in new if key[2] in ("overall", "service_user"))
    old_html, new_html = before["report.html"].decode(), after["report.html"].decode()
    for name in ("consensus", "attrition"):
        for a, b in zip(table_rows(section(old_html, name)), table_rows(section(new_html, name))):
            assert a == b or "withheld" in b, (name, a, b)


def test_every_file_withholds_the_same_cells(app, study):
    """(e) statistics.csv, the workbook and results.json withhold the same rows, and consensus.csv has no figure."""
    files = downloads(app, study[0])
    stats = statistics(files)
    withheld = {key for key, row in stats.items() if row["verdict"] == "withheld"}
    assert {key[2] for key in withheld} == {"peer", "family", "equal_groups"}
    document = json.loads(files["results.json"])
    in_json = {(str(r["round"]), r["statement"], r["scope"]) for r in document["statistics"]
               if r["verdict"] == "withheld"}
    assert in_json == withheld
    assert all(r["n"] is None and r["mean"] is None for r in document["statistics"] if r["verdict"] == "withheld")
    sheet = openpyxl.load_workbook(io.BytesIO(files["results.xlsx"]))["statistics"]
    header = [c.value for c in sheet[1]]
    in_book = set()
    for cells in sheet.iter_rows(min_row=2, values_only=True):
        row = dict(zip(header, cells))
        if row["verdict"] == "withheld":
            in_book.add((str(row["round"]), row["statement"], row["scope"]))
            assert all(row[c] is None for c in header if c not in ("round", "statement", "scope", "verdict"))
    assert in_book == withheld
    consensus = list(csv.DictReader(io.StringIO(files["consensus.csv"].decode(), newline="")))
    assert list(consensus[0]) == ["round", "statement", "classification"]
