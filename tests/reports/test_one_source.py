"""Issue 20: the figures stored when each round closed are what every download shows, and ``delphi analyse`` of the
exported ratings gives them again. A withdrawal after a close leaves that round's figures frozen (with a note), so no
report can show two verdicts for one statement."""
from __future__ import annotations

import csv
import html
import io
import json
import re
from dataclasses import replace

import numpy as np
import openpyxl
import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import (
    Panellist,
    Round,
    RoundResult,
    RoundStatement,
    Statement,
    Study,
)
from delphi.services.analyse import analyse
from delphi.services.panel import withdraw_panellist
from delphi.services.reports import build_downloads
from delphi.services.reports.document import number
from delphi.services.reports.source import source_from_study
from tests.reports.conftest import build_three_round_study

AFTER_VERDICT = ("p30", "p70", "ipr", "iprcp", "ipras", "disagreement", "appropriateness", "rwg", "ad", "cv",
                 "agree_ci_low", "agree_ci_high")
# Issue 20's figures, appended after those (docs/results.md)
BOOTSTRAP = ("median_boot_low", "median_boot_high", "agree_boot_low", "agree_boot_high")
STABILITY = ("n_pairs", "pct_changed", "pct_change", "stable", "delta_pct_agree", "wilcoxon_v", "wilcoxon_p")
GROUP_TESTS = ("kw_h", "kw_df", "kw_p", "kw_p_holm", "kw_p_bh", "kw_epsilon_squared")
NEW = (*BOOTSTRAP, *STABILITY, *GROUP_TESTS)
MINIMUM = 5  # the test protocol's min_group_feedback


def _rows(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"), newline="")))


def stored_values(study_id: int) -> tuple[dict, dict, dict]:
    """What the database holds, read with plain queries: per (round, code, scope) each statistics.csv column's stored
    value; per (round, code) the stored classification; per round the stored whole-round indices."""
    figures = {}
    for number_, code, r in db.session.execute(
            sa.select(Round.number, Statement.code, RoundResult).join(Round, Round.id == RoundResult.round_id)
            .join(Statement, Statement.id == RoundResult.statement_id).where(Round.study_id == study_id)):
        ru = r.extra.get("rand_ucla", {})
        figures[(number_, code, r.scope)] = {
            "n": r.n, "n_unable": r.n_unable, "median": r.median, "q1": r.q1, "q3": r.q3, "iqr": r.iqr,
            "mean": r.mean, "sd": r.sd, "pct_agree": r.pct_agree, "pct_neutral": r.pct_neutral,
            "pct_disagree": r.pct_disagree, "verdict": r.verdict.value,
            **{name: ru.get(name) for name in AFTER_VERDICT[:7]}, "rwg": r.extra["rwg"],
            "ad": r.extra["average_deviation"], "cv": r.extra["cv"], "agree_ci_low": r.extra["agree_ci_low"],
            "agree_ci_high": r.extra["agree_ci_high"],
            **{name: r.extra["bootstrap"][name.replace("_boot", "")] for name in BOOTSTRAP},
            **{name: r.extra.get("stability", {}).get(name) for name in STABILITY},
            **{name: r.extra.get("kruskal_wallis", {}).get(key) for name, key in zip(
                GROUP_TESTS, ("h", "df", "pvalue", "pvalue_holm", "pvalue_bh", "epsilon_squared"))}}
    verdicts = {(n, code): c.value for n, code, c in db.session.execute(
        sa.select(Round.number, Statement.code, RoundStatement.classification)
        .join(Round, Round.id == RoundStatement.round_id).join(Statement, Statement.id == RoundStatement.statement_id)
        .where(Round.study_id == study_id))}
    indices = {r.number: r.figures for r in db.session.scalars(sa.select(Round).where(Round.study_id == study_id))}
    return figures, verdicts, indices


def same(cell, stored, exact: bool = True) -> bool:
    """A downloaded cell (CSV text, or a workbook/JSON value) against the stored value."""
    if stored is None:
        return cell in ("", None)
    if isinstance(stored, bool):
        return cell in (("true" if stored else "false"), stored)
    if isinstance(stored, str):
        return cell == stored
    value = float(cell)
    return value == stored if exact else value == pytest.approx(stored, rel=1e-14, abs=1e-14)


def check_statistics(records, figures: dict, exact: bool = True) -> int:
    """Every figure of every row equals the stored one; a withheld row has every figure empty. Returns how many
    figures were compared."""
    compared = 0
    for row in records:
        stored = figures[(int(row["round"]), row["statement"], row["scope"])]
        if row["verdict"] == "withheld":
            assert all(row[c] in ("", None) for c in ("n", "median", "mean", "pct_agree", *AFTER_VERDICT, *NEW)), row
            continue
        if stability_withheld(figures, int(row["round"]), row["statement"], row["scope"]):
            assert all(row[c] in ("", None) for c in STABILITY), row
            stored = {c: v for c, v in stored.items() if c not in STABILITY}
        for column, value in stored.items():
            assert same(row[column], value, exact), (row["round"], row["statement"], row["scope"], column,
                                                     row[column], value)
            compared += 1
    return compared


def stability_withheld(figures: dict, round_: int, code: str, scope: str) -> bool:
    """Whether a row's stability is a small cell: fewer than MINIMUM pairs in a group (that group, the next smallest
    group beside it, and the panel when the withheld groups' pairs are fewer than MINIMUM in all)."""
    pairs = {s: v["n_pairs"] or 0 for (k, c, s), v in figures.items() if (k, c) == (round_, code)
             and s not in ("overall", "equal_groups")}
    small = sorted(g for g, n in pairs.items() if 0 < n < MINIMUM)
    withheld = set(small)
    while withheld and 0 < sum(pairs[g] for g in withheld) < MINIMUM:
        rest = sorted((n, g) for g, n in pairs.items() if g not in withheld and n > 0)
        if not rest:
            break
        withheld.add(rest[0][1])
    if scope == "overall":
        return 0 < sum(pairs.values()) < MINIMUM
    return scope in withheld


def report_verdicts(report: str, code: str) -> tuple[str, str]:
    """The consensus table's classification and "reached in round" of a statement."""
    row = re.search(rf'<tr><th scope="row">{re.escape(code)}<span class="statement-text">.*?</span></th>\s*'
                    rf'<td>(.*?)</td>\s*<td class="num">(.*?)</td>', report, flags=re.S)
    assert row, code
    return html.unescape(row.group(1)).lower(), row.group(2)


def history_verdicts(report: str, code: str) -> dict[int, str]:
    """Item history: round -> the verdict it names ("rated: ...")."""
    section = report[report.index('id="history"'):report.index('id="divergence"')]
    return {int(k): v.lower() for k, v in re.findall(
        rf'<tr><th scope="row">{re.escape(code)}</th><td>(\d+)</td><td>rated: (.*?)</td>', section)}


def check_report(report: str, study: Study, verdicts: dict, figures: dict, indices: dict) -> None:
    titles = {"in": "consensus in", "out": "consensus out", "none": "no consensus"}
    further = report[report.index('id="more-figures"'):report.index('id="history"')]
    for statement in study.statements:
        rounds = sorted(k for k, code in verdicts if code == statement.code)
        if not rounds:
            continue
        shown, reached = report_verdicts(report, statement.code)
        assert shown == titles[verdicts[(rounds[-1], statement.code)]], statement.code
        first = next((k for k in rounds if verdicts[(k, statement.code)] in ("in", "out")), None)
        assert reached == number(first), statement.code
        for k, verdict in history_verdicts(report, statement.code).items():
            assert verdict == titles[verdicts[(k, statement.code)]], (statement.code, k)
        overall = figures[(rounds[-1], statement.code, "overall")]
        row = re.search(rf'<tr><th scope="row">{re.escape(statement.code)}</th>(.*?)</tr>', further, flags=re.S)
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
        if "withheld" in cells[0]:
            continue
        assert cells[:4] == [str(overall["n"]), str(overall["n_unable"]), number(overall["cv"], 2),
                             f'{number(overall["pct_agree"])} ({number(overall["agree_ci_low"])}–'
                             f'{number(overall["agree_ci_high"])})'], statement.code
        assert cells[4:6] == [number(overall["rwg"], 2), number(overall["ad"], 2)]
        assert cells[6:9] == [f'{number(overall["p30"])}–{number(overall["p70"])}', number(overall["ipr"], 2),
                              number(overall["ipras"], 2)]
        assert cells[10] == (overall["appropriateness"] or "–")
    agreement = report[report.index('id="agreement"'):report.index('id="sensitivity"')]
    for k, figures_of_round in indices.items():
        w = figures_of_round["kendalls_w"]
        assert f'<td class="num">{w["n_panellists"]} of {figures_of_round["n_panellists"]}</td>' in agreement
        assert f'<td class="num">{number(w["w"], 3)}</td>' in agreement


def test_every_download_shows_the_stored_figures_and_delphi_analyse_gives_them_again(app, runner, tmp_path):
    with app.app_context():
        study_id = build_three_round_study()
        study = db.session.get(Study, study_id)
        files = build_downloads(study)
        figures, verdicts, indices = stored_values(study_id)

        statistics = _rows(files["statistics.csv"])
        assert list(statistics[0])[15:] == [*AFTER_VERDICT, *NEW]
        assert check_statistics(statistics, figures) > 1000
        shown = [r for r in statistics if r["verdict"] != "withheld"]
        # the new figures are there: bootstrap on every panel and group row, stability from round 2 (per group too),
        # the group test with its adjustments on the panel's rows
        assert all(r["median_boot_low"] and r["agree_boot_high"] for r in shown if r["scope"] != "equal_groups")
        assert {r["scope"] for r in shown if r["pct_change"]} >= {"overall", "staff"}
        assert all(not r["pct_change"] for r in statistics if r["round"] == "1")
        assert all(r["kw_p_holm"] and r["kw_p_bh"] for r in shown if r["scope"] == "overall")
        assert all(not r["kw_p"] for r in shown if r["scope"] != "overall")
        assert sum(r["verdict"] == "withheld" for r in statistics) > 0  # the two peers: small cells stay withheld
        assert any(r["appropriateness"] for r in statistics) and any(r["disagreement"] for r in statistics)
        consensus = _rows(files["consensus.csv"])
        assert {(int(r["round"]), r["statement"]): r["classification"] for r in consensus} == verdicts

        book = openpyxl.load_workbook(io.BytesIO(files["results.xlsx"]))
        sheet = list(book["statistics"].values)
        check_statistics([dict(zip(sheet[0], row)) for row in sheet[1:]], figures, exact=False)  # xlsx: 15 digits
        document = json.loads(files["results.json"])
        assert check_statistics(document["statistics"], figures) == check_statistics(statistics, figures)
        assert {(r["round"], r["statement"]): r["classification"] for r in document["consensus"]} == verdicts

        check_report(files["report.html"].decode(), study, verdicts, figures, indices)

    (tmp_path / "ratings.csv").write_bytes(files["ratings.csv"])
    (tmp_path / "protocol.toml").write_bytes(files["protocol.toml"])
    result = runner.invoke("analyse", str(tmp_path / "ratings.csv"), "--protocol", str(tmp_path / "protocol.toml"),
                           "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    again = _rows((tmp_path / "out" / "statistics.csv").read_bytes())
    assert check_statistics(again, figures) == check_statistics(statistics, figures)
    assert {(int(r["round"]), r["statement"]): r["classification"]
            for r in _rows((tmp_path / "out" / "consensus.csv").read_bytes())} == verdicts


def _flipping_panellist(source) -> tuple[str, tuple]:
    """A panellist whose ratings, deleted, would change a closed round's classification if it were recomputed."""
    long, protocol = source.long, source.protocol
    before = {(c["round"], c["statement"]): c["classification"] for c in analyse(long, protocol)[1]}
    for i, name in enumerate(long.panellists):
        keep = np.arange(len(long.panellists)) != i
        without = replace(long, panellists=tuple(np.array(long.panellists)[keep]), groups=long.groups[keep],
                          ratings={k: v[keep] for k, v in long.ratings.items()},
                          unable={k: v[keep] for k, v in long.unable.items()})
        for c in analyse(without, protocol)[1]:
            if before[(c["round"], c["statement"])] != c["classification"]:
                return name, (c["round"], c["statement"])
    raise AssertionError("no single withdrawal changes a verdict in this study")


def test_a_withdrawal_after_the_close_leaves_the_figures_frozen_and_one_verdict_per_statement(app):
    """Deleting a withdrawn panellist's ratings would change a closed round's verdict if the report recomputed it
    (one table then said 'consensus out', the item history 'no consensus'). The stored figures stand, with a note."""
    with app.app_context():
        study_id = build_three_round_study()
        study = db.session.get(Study, study_id)
        figures, verdicts, indices = stored_values(study_id)
        pseudonym, _ = _flipping_panellist(source_from_study(study))
        withdraw_panellist(db.session.scalar(sa.select(Panellist).filter_by(pseudonym=pseudonym)), erase_answers=True)
        db.session.commit()
        files = build_downloads(db.session.get(Study, study_id))
        assert pseudonym not in files["ratings.csv"].decode()
        consensus = _rows(files["consensus.csv"])
        assert {(int(r["round"]), r["statement"]): r["classification"] for r in consensus} == verdicts
        check_statistics(_rows(files["statistics.csv"]), figures)
        report = files["report.html"].decode()
        check_report(report, db.session.get(Study, study_id), verdicts, figures, indices)
        assert "withdrawals removed answers from these rounds" in report
        assert "Every figure is as it was when its round closed" in report


def test_the_workbook_and_json_hold_each_rounds_indices_as_stored(app):
    """Fleiss' kappa, Krippendorff's alpha and Kendall's W (with the panellists it used, of those who rated) per
    round, in the workbook and results.json, as stored at each close."""
    with app.app_context():
        study_id = build_three_round_study()
        files = build_downloads(db.session.get(Study, study_id))
        _, _, indices = stored_values(study_id)
    rounds = json.loads(files["results.json"])["rounds"]
    assert [r["round"] for r in rounds] == sorted(indices)
    for row in rounds:
        stored = indices[row["round"]]
        w = stored["kendalls_w"]
        assert (row["n_panellists"], row["kendalls_w_n"], row["kendalls_w"], row["kendalls_w_p"]) == (
            stored["n_panellists"], w["n_panellists"], w["w"], w["pvalue"])
        assert row["krippendorff_alpha"] == stored["krippendorff_alpha_ordinal"]
        assert (row["fleiss_kappa"], row["fleiss_kappa_statements"]) == (
            stored["fleiss_kappa"]["kappa"], stored["fleiss_kappa"]["n_subjects"])
        assert row["rwg_j"] == stored["rwg_j"]
        assert row["kendalls_w_n"] <= row["n_panellists"]
    book = openpyxl.load_workbook(io.BytesIO(files["results.xlsx"]))
    sheet = list(book["rounds"].values)
    assert [dict(zip(sheet[0], r))["kendalls_w_n"] for r in sheet[1:]] == [r["kendalls_w_n"] for r in rounds]
