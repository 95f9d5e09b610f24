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

import analysis
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
from delphi.services.reports.document import number, pvalue
from delphi.services.reports.source import source_from_study
from tests.reports.conftest import build_three_round_study

AFTER_VERDICT = ("p30", "p70", "ipr", "iprcp", "ipras", "disagreement", "appropriateness", "rwg", "ad", "cv",
                 "agree_ci_low", "agree_ci_high")
# Issue 20's figures, appended after those (docs/results.md)
BOOTSTRAP = ("median_boot_low", "median_boot_high", "agree_boot_low", "agree_boot_high")
STABILITY = ("n_pairs", "pct_changed", "pct_change", "stable", "delta_pct_agree", "wilcoxon_v", "wilcoxon_p")
GROUP_TESTS = ("kw_h", "kw_df", "kw_p", "kw_p_holm", "kw_p_bh", "kw_epsilon_squared")
NEW = (*BOOTSTRAP, *STABILITY, *GROUP_TESTS, "n_declined")  # issue 22: "prefer not to answer", last
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
            "n": r.n, "n_unable": r.n_unable, "n_declined": r.n_declined, "median": r.median, "q1": r.q1, "q3": r.q3, "iqr": r.iqr,
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
        assert cells[:5] == [str(overall["n"]), str(overall["n_unable"]), str(overall["n_declined"]),
                             number(overall["cv"], 2),
                             f'{number(overall["pct_agree"])} ({number(overall["agree_ci_low"])}–'
                             f'{number(overall["agree_ci_high"])})'], statement.code
        assert cells[5:7] == [number(overall["rwg"], 2), number(overall["ad"], 2)]
        assert cells[7:10] == [f'{number(overall["p30"])}–{number(overall["p70"])}', number(overall["ipr"], 2),
                              number(overall["ipras"], 2)]
        assert cells[11] == (overall["appropriateness"] or "–")
        assert cells[12:14] == [
            f'{number(overall["median"])} ({number(overall["median_boot_low"])}–{number(overall["median_boot_high"])})',
            f'{number(overall["pct_agree"])} ({number(overall["agree_boot_low"])}–{number(overall["agree_boot_high"])})']
    assert "percentile bootstrap, 2,000 resamples, seed 20" in report
    divergence = report[report.index('id="divergence"'):report.index('id="agreement"')]
    for statement in study.statements:
        rounds = sorted(k for k, code in verdicts if code == statement.code)
        if not rounds:
            continue
        overall = figures[(rounds[-1], statement.code, "overall")]
        row = re.search(rf'<tr><th scope="row">{re.escape(statement.code)}</th>(.*?)</tr>', divergence, flags=re.S)
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
        assert cells[2:5] == [pvalue(overall["kw_p"]), pvalue(overall["kw_p_holm"]), pvalue(overall["kw_p_bh"])]
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
        # a group whose pairs are a small cell has its stability withheld, while its row of this round is shown
        assert any(r["scope"] not in ("overall", "equal_groups") and r["round"] != "1" and not r["pct_change"]
                   for r in shown)
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
                          unable={k: v[keep] for k, v in long.unable.items()},
                          declined={k: v[keep] for k, v in long.declined.items()})
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


def _exported(files) -> tuple[dict, dict]:
    """ratings.csv as matrices per round (rows: the panellists who answered that round, in pseudonym order, as the
    file lists them) and each panellist's group."""
    rows = _rows(files["ratings.csv"])
    group = {r["panellist"]: r["group"] for r in rows}
    codes = list(dict.fromkeys(r["statement"] for r in rows))
    rounds = {}
    for k in sorted({int(r["round"]) for r in rows}):
        mine = [r for r in rows if int(r["round"]) == k]
        names = sorted({r["panellist"] for r in mine})
        x = np.full((len(names), len(codes)), np.nan)
        unable = np.zeros(x.shape, dtype=bool)
        for r in mine:
            i, j = names.index(r["panellist"]), codes.index(r["statement"])
            if r["rating"] == "":
                unable[i, j] = True
            else:
                x[i, j] = float(r["rating"])
        rounds[k] = (names, codes, x, unable)
    return rounds, group


def test_the_stored_bootstrap_reproduces_from_its_seed_with_the_public_function(app):
    """Issue 20: the bounds stored at each close are analysis.bootstrap_intervals on that scope's rows of
    ratings.csv (the panellists who answered the round, in the file's pseudonym order) with the seed and resamples
    stored on the round, to the last bit."""
    with app.app_context():
        study_id = build_three_round_study()
        files = build_downloads(db.session.get(Study, study_id))
        figures, _, indices = stored_values(study_id)
    rounds, group = _exported(files)
    scale = analysis.Scale(min=1, max=9, agree=(7, 9), disagree=(1, 3))
    compared = 0
    for k, (names, codes, x, unable) in rounds.items():
        drawn = indices[k]["bootstrap"]
        assert drawn == {"method": "percentile", "n_resamples": 2000, "seed": 20, "confidence": 0.95}
        member = np.array([group[n] for n in names])
        for scope in ("overall", "service_user", "staff"):
            rows = np.ones(len(names), bool) if scope == "overall" else member == scope
            boot = analysis.bootstrap_intervals(x[rows], scale, n_resamples=drawn["n_resamples"],
                                                confidence=drawn["confidence"], seed=drawn["seed"],
                                                unable=unable[rows])
            for j, code in enumerate(codes):
                if (k, code, scope) not in figures or not (~np.isnan(x[:, j]) | unable[:, j]).any():
                    continue
                stored = figures[(k, code, scope)]
                got = [boot.median_low[j], boot.median_high[j], boot.pct_agree_low[j], boot.pct_agree_high[j]]
                assert [None if np.isnan(v) else float(v) for v in got] == [stored[c] for c in BOOTSTRAP], (k, code)
                compared += 1
    assert compared > 30


def test_group_stability_and_the_adjusted_group_tests_are_the_analysis_functions_on_the_stored_figures(app):
    """Each group's stability equals analysis.stability_by_group on ratings.csv; the Kruskal-Wallis p-values
    adjusted across a round's statements equal adjust_pvalues (R's p.adjust, checked in test_multiplicity.py) of the
    stored raw p-values; the pairwise table's equal correct_group_tests of the stored Mann-Whitney p-values."""
    with app.app_context():
        study_id = build_three_round_study()
        files = build_downloads(db.session.get(Study, study_id))
        figures, _, _ = stored_values(study_id)
    rounds, group = _exported(files)
    scale = analysis.Scale(min=1, max=9, agree=(7, 9), disagree=(1, 3))
    for k in (2, 3):
        names, codes, x, _ = rounds[k]
        before_names, before_codes, before_x, _ = rounds[k - 1]
        previous = np.full(x.shape, np.nan)
        for i, name in enumerate(names):
            if name in before_names:
                for j, code in enumerate(codes):
                    if code in before_codes:
                        previous[i, j] = before_x[before_names.index(name), before_codes.index(code)]
        member = np.array([group[n] for n in names])
        keys = ["service_user", "family", "staff", "peer"]
        by_group = analysis.stability_by_group(previous, x, member, scale, 15, group_keys=keys)
        checked = 0
        for key in keys:
            for j, code in enumerate(codes):
                stored = figures.get((k, code, key))
                if stored is None or by_group[key].n_pairs[j] == 0:
                    continue
                assert stored["n_pairs"] == by_group[key].n_pairs[j]
                assert stored["pct_change"] == by_group[key].pct_change[j]
                assert stored["stable"] == bool(by_group[key].stable[j])
                assert (stored["wilcoxon_p"] is None and np.isnan(by_group[key].wilcoxon_p[j])) or \
                    stored["wilcoxon_p"] == by_group[key].wilcoxon_p[j]
                checked += 1
        assert checked >= 10

        raw = [figures[(k, code, "overall")]["kw_p"] for code in codes if (k, code, "overall") in figures]
        p_ = np.array([np.nan if v is None else v for v in raw])
        for method, column in (("holm", "kw_p_holm"), ("BH", "kw_p_bh")):
            adjusted = analysis.adjust_pvalues(p_, method)
            stored = [figures[(k, code, "overall")][column] for code in codes if (k, code, "overall") in figures]
            assert [None if np.isnan(v) else float(v) for v in adjusted] == stored
        assert any(h > p for h, p in zip(analysis.adjust_pvalues(p_, "holm"), p_) if not np.isnan(p))

    pairwise = json.loads(files["results.json"])["pairwise"]
    assert pairwise and {r["round"] for r in pairwise} == {1, 2, 3}
    whole = 0
    for k in (1, 2, 3):
        rows = [r for r in pairwise if r["round"] == k]
        for a, b in {(r["group_a"], r["group_b"]) for r in rows}:
            family = [r for r in rows if (r["group_a"], r["group_b"]) == (a, b)]
            p_ = np.array([np.nan if r["p"] is None else r["p"] for r in family])
            # every statement of the round with a p-value for this pair is shown here (no group withheld), so the
            # family is whole and BH across it is adjust_pvalues(..., "BH")
            if len(family) == len({c for (kk, c, _s) in figures if kk == k}):
                assert [r["p_bh"] for r in family] == [None if np.isnan(v) else float(v)
                                                       for v in analysis.adjust_pvalues(p_, "BH")]
                assert [r["p_holm"] for r in family] == [None if np.isnan(v) else float(v)
                                                         for v in analysis.adjust_pvalues(p_, "holm")]
                whole += 1
    assert whole >= 3


def test_a_changed_classification_is_listed_in_the_workbook_json_and_report(app):
    """Stability of the classification: a statement in consensus in round 1 and out in round 2 is listed with both
    verdicts in the verdict_changes table of the workbook and results.json, and in the report; the rounds table
    counts it."""
    from delphi.protocol import load_protocol
    from delphi.services.analyse import LongRatings
    from delphi.services.reports import _Files, document, workbook
    from delphi.services.reports.source import source_from_ratings
    from tests.reports.conftest import PROTOCOL

    protocol = load_protocol(PROTOCOL)
    codes = tuple(s.code for s in protocol.statements)
    n = 24
    groups = np.array(["service_user", "family", "staff", "peer"] * (n // 4), dtype=object)
    first = np.full((n, len(codes)), 5.0)
    first[:, 0] = 9  # everyone agrees: consensus in
    second = first.copy()
    second[:, 0] = 1  # everyone disagrees: consensus out
    long = LongRatings(rounds=(1, 2), panellists=tuple(f"P{i:03d}" for i in range(n)), groups=groups,
                       statements=codes, ratings={1: first, 2: second},
                       unable={1: np.zeros(first.shape, bool), 2: np.zeros(first.shape, bool)})
    source = source_from_ratings(long, protocol)
    files = _Files(source)
    texts = files.texts
    changes = _rows(texts["verdict_changes.csv"].encode())
    assert {(r["statement"], r["verdict_before"], r["verdict_after"], r["changed"]) for r in changes
            if r["changed"] == "true"} == {(codes[0], "in", "out", "true")}
    assert len(changes) == len(codes)
    rounds = _rows(texts["rounds.csv"].encode())
    assert (rounds[1]["verdicts_compared"], rounds[1]["verdicts_changed"]) == (str(len(codes)), "1")
    assert rounds[0]["verdicts_changed"] == ""
    document_ = json.loads(workbook.results_json(texts, files.methods, protocol))
    assert [r for r in document_["verdict_changes"] if r["changed"]] == [
        {"round_from": 1, "round_to": 2, "statement": codes[0], "verdict_before": "in", "verdict_after": "out",
         "changed": True}]
    book = openpyxl.load_workbook(io.BytesIO(workbook.results_xlsx(texts, files.methods)))
    sheet = list(book["verdict_changes"].values)
    assert [row for row in sheet[1:] if row[5] is True] == [(1, 2, codes[0], "in", "out", True)]
    report = document.report_html(source)
    assert (f'<tr><th scope="row">{codes[0]}</th><td class="num">1</td><td class="num">2</td>'
            "<td>Consensus in</td><td>Consensus out</td></tr>") in report
    assert f"From round 1 to round 2, 1 of the {len(codes)} statements rated in both changed classification" in report


def test_a_round_closed_before_issue_20_has_the_new_figures_empty_and_the_report_says_so(app):
    """Rounds closed before these figures were stored keep them empty (stored figures are never recomputed); the
    report names those rounds, and the methods give the bootstrap settings of the rounds that have them."""
    with app.app_context():
        study_id = build_three_round_study()
        first = db.session.scalar(sa.select(Round).filter_by(study_id=study_id, number=1))
        first.figures = {k: v for k, v in first.figures.items() if k != "bootstrap"}
        for result in db.session.scalars(sa.select(RoundResult).filter_by(round_id=first.id)):
            extra = {k: v for k, v in result.extra.items() if k not in ("bootstrap", "stability")}
            if "kruskal_wallis" in extra:
                extra["kruskal_wallis"] = {k: v for k, v in extra["kruskal_wallis"].items()
                                           if k not in ("pvalue_holm", "pvalue_bh")}
            extra["mann_whitney"] = [{k: v for k, v in m.items() if not k.endswith("_statements")}
                                     for m in extra.get("mann_whitney", [])]
            result.extra = extra
        db.session.commit()
        files = build_downloads(db.session.get(Study, study_id))
    statistics = _rows(files["statistics.csv"])
    assert all(r[c] == "" for r in statistics if r["round"] == "1" for c in (*BOOTSTRAP, "kw_p_holm", "kw_p_bh"))
    assert all(r["kw_p"] for r in statistics if r["round"] == "1" and r["scope"] == "overall"
               and r["verdict"] != "withheld")
    assert all(r["median_boot_low"] for r in statistics if r["round"] == "2" and r["scope"] == "overall")
    rounds = json.loads(files["results.json"])["rounds"]
    assert [r["bootstrap_seed"] for r in rounds] == [None, 20, 20]
    report = files["report.html"].decode()
    assert "Round(s) 1 closed before bootstrap intervals" in report
    assert "percentile bootstrap, 2,000 resamples, seed 20, 95% level" in report
    assert "not stored for round(s) 1, closed before they were" in report
