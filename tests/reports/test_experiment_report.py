"""The report's section on a study within the study (issue 23): a simulated three-round study with two arms, written
as ratings.csv text and read back with the app's reader, the arms attached as the reader will attach them
(``LongRatings.arms``), the experiment in the protocol (``Protocol.experiment``), and the report built with
``report_from_ratings`` as ``delphi analyse`` builds it.

The known effect (issue 23's "Done when"): the panellists of arm ``own_group`` move towards their own group's previous
median, those of ``all_groups`` towards the panel's; the report must show the effect, the null simulation must not,
the CONSORT flow must equal a count by hand, small arm x group cells must be withheld, and every figure must come
again from analysis/ called on the exported rows with the seeds the report states."""
from __future__ import annotations

import html
import re
from dataclasses import replace

import numpy as np
import pytest

import analysis
from delphi.protocol import ArmSpec, ExperimentSpec, load_protocol
from delphi.services.analyse import read_ratings_text
from delphi.services.reports import report_from_ratings
from delphi.services.reports.experiment import (
    CONFIDENCE,
    EFFECT_SEED,
    ESTIMATOR,
    N_PERMUTATIONS,
    N_RESAMPLES,
    experiment_report,
)
from delphi.services.reports.findings import compute_rounds
from delphi.services.reports.source import source_from_ratings

GROUPS = {"service_user": "People with lived experience", "family": "Family members and carers", "staff": "Staff",
          "peer": "Peer support workers"}
N_STATEMENTS = 30
ALLOCATION_SEED = 8_641_205_773
ARMS = (ArmSpec("all_groups", "Every group's scores", feedback="all_groups"),
        ArmSpec("own_group", "Own group's scores only", feedback="own_group"))
PROTOCOL = """
title = "Feedback trial"
min_group_feedback = 5
max_rounds = 3
language = "{language}"
[scale]
min = 1
max = 9
[consensus]
agree = [7, 9]
disagree = [1, 3]
scope = "overall"
include = "pct_agree >= 70"
exclude = "pct_disagree >= 70"
""" + "".join(f'[[groups]]\nkey = "{k}"\nname = "{v}"\n' for k, v in GROUPS.items()) + "".join(
    f'[[statements]]\ncode = "S-{j:02d}"\ntext = "Statement {j}"\n' for j in range(1, N_STATEMENTS + 1))


def _protocol(arms=ARMS, language="en", experiment=True):
    protocol = load_protocol(PROTOCOL.format(language=language))
    if not experiment:
        return protocol
    return replace(protocol, experiment=ExperimentSpec(arms=tuple(arms), block_size=2 * len(arms),
                                                       seed=ALLOCATION_SEED))


def _simulate(seed: int, effect: bool, sizes=None, arms=ARMS):
    """Three rounds of ratings as ratings.csv text, and each pseudonym's arm.

    Groups differ in where they rate each statement. After each round a panellist moves each rating one point
    towards the median they were shown with probability 0.35, and by one point at random with probability 0.1; arm
    ``own_group`` is shown (and moves towards) its own group's median when ``effect``, the panel's otherwise, like
    the other arm. About 10% miss round 3. Allocation by analysis.allocate, each group's panellists by pseudonym."""
    sizes = sizes or dict.fromkeys(GROUPS, 40)
    rng = np.random.default_rng(seed)
    groups = np.array([key for key in GROUPS for _ in range(sizes[key])])
    names = np.array([f"P{i:04d}" for i in range(groups.size)])  # sorted, so also each group's pseudonym order
    keys = [a.key for a in arms]
    arm = np.array(keys, dtype=object)[analysis.allocate(groups, keys, seed=ALLOCATION_SEED,
                                                         block_size=2 * len(keys))]
    codes = np.array([list(GROUPS).index(g) for g in groups])
    centre = rng.integers(3, 8, N_STATEMENTS) + rng.integers(-2, 3, (len(GROUPS), N_STATEMENTS))
    rounds = [np.clip(centre[codes] + rng.integers(-2, 3, (groups.size, N_STATEMENTS)), 1, 9).astype(float)]
    answered = rng.random(groups.size) >= 0.1
    for r in (1, 2):
        previous = rounds[-1]
        panel = np.nanmedian(previous, axis=0)
        own = np.vstack([np.nanmedian(previous[codes == g], axis=0) for g in range(len(GROUPS))])[codes]
        shown = np.where(((arm == "own_group") & effect)[:, None], own, panel[None, :])
        step = np.sign(shown - previous) * (rng.random(previous.shape) < 0.35)
        noise = rng.choice([-1, 0, 1], previous.shape, p=[0.05, 0.9, 0.05])
        current = np.clip(previous + step + noise, 1, 9)
        if r == 2:
            current[~answered] = np.nan
        rounds.append(current)
    lines = ["round,panellist,group,statement,rating"]
    for k, ratings in enumerate(rounds, start=1):
        for i, j in zip(*np.nonzero(~np.isnan(ratings))):
            lines.append(f"{k},{names[i]},{groups[i]},S-{j + 1:02d},{int(ratings[i, j])}")
    return "\n".join(lines) + "\n", dict(zip(names.tolist(), arm.tolist()))


def _long(text, arm_of, protocol):
    """The exported rows read back by the app's reader, with the arms the other half of issue 23 reads into
    ``LongRatings.arms`` from ratings.csv's ``arm`` column."""
    long = read_ratings_text(text, [g.key for g in protocol.groups], [s.code for s in protocol.statements],
                             protocol.scale)
    return replace(long, arms=np.array([arm_of.get(p) for p in long.panellists], dtype=object))


def _build(seed=2026, effect=True, sizes=None, arms=ARMS, language="en"):
    protocol = _protocol(arms, language)
    text, arm_of = _simulate(seed, effect, sizes, arms)
    long = _long(text, arm_of, protocol)
    source = source_from_ratings(long, protocol, text)
    return protocol, long, experiment_report(source, compute_rounds(source)), report_from_ratings(long, protocol, text)


def _section(report: str) -> str:
    found = re.search(r'<section id="experiment".*?</section>', report, flags=re.S)
    assert found, "no experiment section"
    return html.unescape(found.group(0))


@pytest.fixture(scope="module")
def with_effect():
    return _build()


def test_the_report_shows_the_known_effect(with_effect):
    _, _, figures, report = with_effect
    (comparison,) = figures.comparisons
    assert (comparison.arm_a, comparison.arm_b) == ("all_groups", "own_group")
    towards_panel, towards_own = comparison.effects["panel_median"], comparison.effects["own_group_median"]
    # own_group's panellists move less towards the panel's median and more towards their own group's
    # (seen: -0.106 (95% CI -0.128 to -0.084) and +0.116 (0.093 to 0.139), both p < 0.001)
    assert towards_panel.difference < 0 and towards_panel.ci_high < 0 and towards_panel.pvalue < 0.05
    assert towards_own.difference > 0 and towards_own.ci_low > 0 and towards_own.pvalue < 0.05
    assert towards_own.estimator == towards_panel.estimator == "stratified"
    section = _section(report)
    assert "A study within the study</h2>" in section and 'href="#experiment"' in report
    assert re.search(r'<tr><td>CONSORT</td><th scope="row">A randomised comparison within the study[^<]*</th>'
                     r'<td><a href="#experiment">A study within the study</a></td></tr>', report)
    assert (f"a difference of {towards_panel.difference:.3f} scale points in movement towards the panel's median "
            f"(95% CI {towards_panel.ci_low:.3f} to {towards_panel.ci_high:.3f}), permutation p < 0.001; the difference"
            " is significant at the 5% level.") in section
    # The methods name the functions, estimator, draws and seeds so that the figures can be re-run.
    for words in ("analysis.arm_effect", "analysis.rating_change", "analysis.allocate", "analysis.verdict_agreement",
                  "stratified estimator", "10,000 permutations", "10,000 resamples", f"seed {EFFECT_SEED}",
                  f"seed {ALLOCATION_SEED}", "permuted blocks of 4", "3a Design", "8b Type of randomisation",
                  "11a Blinding", "13a, 13b", "CONSORT 18"):
        assert words in section, words


def test_the_consort_flow_equals_a_count_by_hand(with_effect):
    _, long, _, report = with_effect
    section = _section(report)
    answered = {k: ~np.isnan(long.ratings[k]).all(axis=1) for k in long.rounds}
    arm_names = {a.key: a.name for a in ARMS}
    rows = re.findall(r'<tr><th scope="row">([^<]*)</th><td>([^<]*)</td>((?:<td class="num">\d+</td>)+)</tr>',
                      section)
    flow = {(arm, group): [int(v) for v in re.findall(r"\d+", cells)] for arm, group, cells in rows
            if len(re.findall(r"\d+", cells)) == 8}
    assert len(flow) == 10  # 2 arms x (4 groups + all groups)
    for arm in arm_names:
        for key, name in [*GROUPS.items(), (None, "All groups")]:
            who = (long.arms == arm) & ((long.groups == key) if key else True)
            r1, r2, r3 = (int((who & answered[k]).sum()) for k in (1, 2, 3))
            kept = [int((who & answered[1]).sum()), int((who & answered[1] & answered[2]).sum()),
                    int((who & answered[1] & answered[2] & answered[3]).sum())]
            allocated = int(who.sum())
            assert flow[(arm_names[arm], name)] == [allocated, r1, kept[0], r2, kept[1], r3, kept[2],
                                                    allocated - kept[2]], (arm, key)
    # every panellist answered rounds 1 and 2 (so retained equals answered), about 10% missed round 3
    assert flow[("Every group's scores", "All groups")][0] + flow[("Own group's scores only", "All groups")][0] == 160
    assert 0 < flow[("Every group's scores", "All groups")][-1] < 20


def test_the_figures_come_again_from_analysis_on_the_exported_rows(with_effect):
    _, long, figures, report = with_effect
    scale = analysis.Scale(min=1, max=9, agree=(7, 9), disagree=(1, 3))
    keys = list(GROUPS)
    code = np.array([keys.index(g) for g in long.groups])
    towards = {"panel_median": [], "own_group_median": [], "changed_band": []}
    for before, after in ((1, 2), (2, 3)):
        x, y = long.ratings[before], long.ratings[after]
        panel = np.nanquantile(x, 0.5, axis=0, method="linear")  # the protocol's quantile method, default linear
        own = np.vstack([np.nanquantile(x[code == g], 0.5, axis=0, method="linear") for g in range(4)])[code]
        change = analysis.rating_change(x, y, panel, scale)
        towards["panel_median"].append(change.movement)
        towards["own_group_median"].append(analysis.rating_change(x, y, own, scale).movement)
        towards["changed_band"].append(np.where(change.compared, 100.0 * change.changed_band, np.nan))
        row = next(r for r in figures.change if (r.arm, r.round_from) == ("own_group", before))
        mine = (long.arms == "own_group") & (change.n_pairs > 0)
        assert row.panellists == mine.sum() and row.pairs == change.n_pairs[mine].sum()
        assert row.movement == pytest.approx(change.mean_movement[mine].mean(), abs=1e-12)
        assert row.pct_changed_band == pytest.approx(change.pct_changed_band[mine].mean(), abs=1e-12)
    (comparison,) = figures.comparisons
    section = _section(report)
    for outcome, parts in towards.items():
        again = analysis.arm_effect(np.hstack(parts), long.arms, long.groups, n_permutations=N_PERMUTATIONS,
                                    n_resamples=N_RESAMPLES, seed=EFFECT_SEED, confidence=CONFIDENCE,
                                    arm_keys=("all_groups", "own_group"), group_keys=keys, estimator=ESTIMATOR)
        shown = comparison.effects[outcome]
        # equal, not close: the same rows, medians, draws and seed give the same floats
        assert (shown.difference, shown.ci_low, shown.ci_high, shown.pvalue, shown.n, shown.n_excluded) == \
               (again.difference, again.ci_low, again.ci_high, again.pvalue, again.n, again.n_excluded)
        digits = 1 if outcome == "changed_band" else 3
        assert f"{again.difference:.{digits}f} ({again.ci_low:.{digits}f} to {again.ci_high:.{digits}f})" in section
    # Each arm's final verdicts: the study's rule on that arm's round-3 ratings alone, as analysis classifies them.
    last = long.ratings[3]
    answered = ~np.isnan(last).all(axis=1)
    verdicts = []
    for arm in ("all_groups", "own_group"):
        rows = answered & (long.arms == arm)
        verdicts.append(analysis.classify(last[rows], long.groups[rows].astype(str), scale, "pct_agree >= 70",
                                          "pct_disagree >= 70", "overall"))
    agreement = analysis.verdict_agreement(*verdicts)
    assert comparison.verdicts.table.tolist() == agreement.table.tolist()
    assert comparison.verdicts.kappa == pytest.approx(agreement.kappa, abs=1e-12)
    assert f"Cohen's kappa {agreement.kappa:.2f}; {agreement.n_discordant} of {N_STATEMENTS} statements" in section


def test_a_null_simulation_shows_no_significant_effect():
    _, _, figures, report = _build(seed=77, effect=False)
    (comparison,) = figures.comparisons
    effect = comparison.effects["panel_median"]
    assert effect.pvalue >= 0.05 and effect.ci_low <= 0 <= effect.ci_high
    assert "no significant difference at the 5% level" in _section(report)


def test_a_small_arm_within_a_group_is_withheld_with_its_complement():
    # 6 peer support workers in blocks of 4: 2-4 per arm, below the minimum of 5. Their group is withheld in both
    # arms (the arms add up to the group's flow), and so is the next smallest group, else the arms' totals minus the
    # groups shown would give the peers' counts.
    sizes = {"service_user": 40, "family": 12, "staff": 30, "peer": 6}
    _, _, figures, report = _build(sizes=sizes)
    hidden = {(c.arm, c.group) for c in figures.flow if not c.shown}
    assert hidden == {(arm, group) for arm in ("all_groups", "own_group") for group in ("peer", "family")}
    section = _section(report)
    for name in ("Peer support workers", "Family members and carers"):
        cells = re.findall(rf"<td>{name}</td>(.*?)</tr>", section)
        assert len(cells) == 2 and all("withheld (small group)" in c and "num" not in c for c in cells)
    # The report's own flow table shows the peers (6 responded), so only the split by arm is withheld.
    assert re.search(r"<td>Peer support workers</td><td class=\"num\">–</td><td class=\"num\">–</td>"
                     r"<td class=\"num\">6</td>", report)
    # whole arms are large: their figures stay
    assert all(c.shown for c in figures.flow if c.group is None)
    assert figures.comparisons[0].effects["panel_median"] is not None


def test_figures_of_an_arm_below_the_minimum_are_withheld():
    sizes = {"service_user": 2, "family": 2, "staff": 2, "peer": 2}
    _, _, figures, report = _build(sizes=sizes)
    assert not any(c.shown for c in figures.flow)
    (comparison,) = figures.comparisons
    assert all(e is None for e in comparison.effects.values()) and comparison.verdicts is None
    assert not any(r.shown for r in figures.change)
    section = _section(report)
    assert "withheld (small arm)" in section and not re.search(r"Cohen's kappa -?\d", section)
    assert not re.search(r'<td class="num">\d', section)


def test_without_an_experiment_there_is_no_section():
    protocol = _protocol(experiment=False)
    text, arm_of = _simulate(2026, True)
    long = _long(text, arm_of, protocol)
    report = report_from_ratings(long, protocol, text)
    assert 'id="experiment"' not in report and "A study within the study" not in report
    assert "<td>CONSORT</td>" not in report
    # an experiment in the protocol, but no arm in the ratings: nothing to report either
    report = report_from_ratings(replace(long, arms=None), _protocol(), text)
    assert 'id="experiment"' not in report


def test_three_arms_compare_each_with_the_first():
    arms = (*ARMS, ArmSpec("panel", "The panel's scores only", feedback="panel"))
    _, _, figures, report = _build(arms=arms)
    assert [(c.arm_a, c.arm_b) for c in figures.comparisons] == [("all_groups", "own_group"),
                                                                  ("all_groups", "panel")]
    section = _section(report)
    assert "allocation ratio 1:1:1" in section and "Each other arm is compared with it" in section
    assert "permuted blocks of 6" in section
    assert section.count("The arm effect, ") == 2


def test_the_norwegian_report_translates_the_section(app):
    with app.app_context():
        _, _, _, english = _build(language="en")
        _, _, _, norwegian = _build(language="nb")
    section_en, section_nb = _section(english), _section(norwegian)
    assert "En studie i studien</h2>" in section_nb and "A study within the study</h2>" in section_en
    # no sentence of the English section is left in the Norwegian one (names, codes and figures aside)
    sentences = {s for s in re.findall(r">([^<>]*[a-z]{3,}[^<>]*)<", section_en)
                 if not any(name in s for name in (*GROUPS.values(), "Every group's scores", "Own group's scores"))}
    leftovers = [s for s in sentences if s.strip() and s in section_nb and not re.fullmatch(r"[\w\s.-]*\d[\w\s.-]*", s)
                 and s.strip() not in {a.key for a in ARMS}]
    assert leftovers == []
    # the same figures, with decimal commas
    numbers = lambda s: [re.sub(r"(\d),(\d)", r"\1.\2", c).replace(" til ", " to ")  # noqa: E731
                         for c in re.findall(r'<td class="num">([^<]*)</td>', s)]
    assert numbers(section_nb) == numbers(section_en) and len(numbers(section_en)) > 60
    assert re.search(r"-0,\d{3}", section_nb) or re.search(r"−0,\d{3}", section_nb)


def test_the_workbook_and_json_hold_the_comparisons_in_full_precision(app):
    import io
    import json

    import openpyxl

    from delphi.services.reports import _Files

    protocol = _protocol()
    text, arm_of = _simulate(2026, True)
    source = source_from_ratings(_long(text, arm_of, protocol), protocol, text)
    figures = experiment_report(source, compute_rounds(source))
    with app.app_context():
        files = _Files(source)
        document = json.loads(files.build("results.json"))
        book = openpyxl.load_workbook(io.BytesIO(files.build("results.xlsx")), read_only=True)
        codebook = files.build("codebook.csv").decode()
    rows = {(r["arm_b"], r["outcome"]): r for r in document["experiment"]}
    assert set(rows) == {("own_group", o) for o in ("panel_median", "own_group_median", "changed_band",
                                                    "final_verdicts")}
    effect = figures.comparisons[0].effects["panel_median"]
    row = rows[("own_group", "panel_median")]
    assert (row["difference"], row["ci_low"], row["ci_high"], row["p"]) == (
        effect.difference, effect.ci_low, effect.ci_high, effect.pvalue)
    assert (row["withheld"], row["estimator"], row["seed"], row["permutations"]) == (False, "stratified", 23, 10000)
    assert rows[("own_group", "final_verdicts")]["kappa"] == figures.comparisons[0].verdicts.kappa
    assert "experiment" in book.sheetnames and '"results.xlsx, results.json",experiment,' in codebook
    # without an experiment, neither the table nor its codebook entry
    plain = _Files(source_from_ratings(_long(text, arm_of, protocol), _protocol(experiment=False), text))
    with app.app_context():
        assert "experiment" not in json.loads(plain.build("results.json"))
        assert ",experiment," not in plain.build("codebook.csv").decode()
