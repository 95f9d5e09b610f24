"""``report.html``: a self-contained, printable consensus report (its own stylesheet, charts as inline SVG images),
written from the protocol and the figures, with an ACCORD / CREDES checklist pointing to its sections."""
from __future__ import annotations

import base64
import hashlib
import math
import re
from pathlib import Path

from babel.numbers import format_decimal, format_percent, get_decimal_symbol
from flask_babel import get_locale, gettext as _, ngettext
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from delphi import __version__, asset_folder
from delphi.models import Classification
from delphi.protocol import N_, ConsensusScope, RichEnum, StoppingRule
from delphi.services.reports import charts, experiment, findings
from delphi.services.reports.source import ReportSource
from delphi.services.round_figures import BOOTSTRAP

# templates/ and static/ sit at the repository root, or inside the package once installed from a wheel.
TEMPLATES = Path(asset_folder("templates")) / "reports"
STYLESHEET = Path(asset_folder("static")) / "css" / "report.css"
# (guideline, item, section id): the items this report can support from the data; the rest are the authors'.
# The items are marked for translation here and translated where the report shows them (:func:`checklist`).
CHECKLIST = [
    ("ACCORD", N_("Define consensus in advance (threshold, scope)"), "methods"),
    ("ACCORD", N_("Describe the rating scale and response options"), "methods"),
    ("ACCORD", N_("Number of rounds and the rule for stopping"), "methods"),
    ("ACCORD", N_("Feedback given to panellists between rounds"), "methods"),
    ("ACCORD", N_("Anonymity of panellists"), "methods"),
    ("ACCORD", N_("Participants: number invited, responding and retained in each round"), "flow"),
    ("ACCORD", N_("Statistical methods, software and version"), "methods"),
    ("ACCORD", N_("Results for every statement, with the round consensus was reached"), "consensus"),
    ("ACCORD", N_("Changes to statements between rounds (added, reworded, merged, dropped)"), "history"),
    ("ACCORD", N_("Attrition and its possible effect on the results"), "attrition"),
    ("CREDES", N_("Definition of consensus and its rationale, set before the study"), "methods"),
    ("CREDES", N_("Informational input and feedback given to the panel"), "methods"),
    ("CREDES", N_("Response rates per round"), "flow"),
    ("CREDES", N_("Results presented clearly, with the agreement reached (figures and charts)"), "figures"),
    ("CREDES", N_("Stability of responses between rounds"), "agreement"),
    ("CREDES", N_("Sensitivity of the results to the consensus definition"), "sensitivity"),
    ("CREDES", N_("Differences between stakeholder groups"), "divergence"),
]


# What a ratings file from elsewhere cannot show (``delphi analyse``): these items are the authors' to report.
NOT_IN_A_RATINGS_FILE = {"Define consensus in advance (threshold, scope)",
                         "Feedback given to panellists between rounds", "Anonymity of panellists",
                         "Participants: number invited, responding and retained in each round",
                         "Changes to statements between rounds (added, reworded, merged, dropped)",
                         "Definition of consensus and its rationale, set before the study",
                         "Informational input and feedback given to the panel", "Response rates per round"}


# Issue 23: the randomised comparison's CONSORT items, listed when the report has a study within the study.
CONSORT_ITEM = ("CONSORT", N_("A randomised comparison within the study: allocation, flow per arm, outcomes with "
                              "intervals, agreement of the arms' verdicts"), "experiment")


def checklist(source: ReportSource) -> list[tuple[str, str, str | None]]:
    """The checklist with each item's section (None for an item the data cannot support: the authors'), each item
    in the current language."""
    items = CHECKLIST + ([CONSORT_ITEM] if experiment.has_experiment(source) else [])
    return [(guideline, _(item), None if not source.from_study and item in NOT_IN_A_RATINGS_FILE else section)
            for guideline, item, section in items]


def _decimal_symbol() -> str:
    locale = get_locale()
    return "." if locale is None else get_decimal_symbol(locale)


def number(value, digits: int = 1) -> str:
    """A figure for a table: rounded for reading (the CSV files hold full precision), a dash when undefined, with the
    current language's decimal sign (the report is read by people; the files for R, SPSS and Stata keep a point)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}".replace(".", _decimal_symbol())


def pvalue(value) -> str:
    if value is None or math.isnan(value):
        return "–"
    return ("< 0.001" if value < 0.001 else f"{value:.3f}").replace(".", _decimal_symbol())


def _prose(value) -> str:
    """A setting's number inside a sentence: as short as it is (10, 7.5), in the current language's notation."""
    return f"{value:g}".replace(".", _decimal_symbol())


def _count(value: int) -> str:
    locale = get_locale()
    return f"{value:,}" if locale is None else format_decimal(value, locale=locale)


def _percent(value: float) -> str:
    locale = get_locale()
    return f"{value:.0%}" if locale is None else format_percent(value, locale=locale)


def _quantile_words(method: str) -> str:
    words = {"linear": _("linear interpolation (Hyndman-Fan type 7, as R, numpy and Excel PERCENTILE.INC)"),
             "weibull": _("the Weibull method (Hyndman-Fan type 6, as SPSS)")}
    return words.get(method, method)


def _phrase(kind: type[RichEnum], value, otherwise: str) -> str:
    """How the methods describe a setting's value (the enum's phrase, translated), or ``otherwise`` for a value it
    lacks."""
    try:
        return _(kind(value).phrase)
    except ValueError:
        return otherwise


def methods(source: ReportSource) -> list[tuple[str, str]]:
    """The methods as (topic, sentence) pairs written from the protocol, in the current language; also the "Methods"
    sheet of results.xlsx."""
    p = source.protocol
    s, c = p.scale, p.consensus
    labels = "; ".join(f"{point} = {label}" for point, label in sorted(s.labels.items())) or _("no labels")
    if not s.unable_to_rate:
        unable = _("There was no \"unable to rate\" option.")
    elif c.unable_in_denominator:
        unable = _("Panellists could answer \"unable to rate\"; such answers are reported separately (n_unable) and "
                   "count in the denominator of the percentages agreeing, neutral and disagreeing (and their "
                   "intervals), as the protocol chose (unable_in_denominator); in no other statistic.")
    else:
        unable = _("Panellists could answer \"unable to rate\"; such answers count in no statistic and are reported "
                   "separately (n_unable).")
    if getattr(s, "prefer_not_to_answer", False):
        unable += " " + _("Panellists could also answer \"prefer not to answer\"; such answers are reported "
                          "separately (n_declined) and count in no statistic, not even in a denominator: not "
                          "answering is a panellist's right, not a judgement on the statement.")
    minimum = p.min_group_feedback
    told = [
        (_("Rating scale"), _("Statements were rated on a %(min)s-%(max)s scale (%(labels)s). %(unable)s",
                              min=s.min, max=s.max, labels=labels, unable=unable)),
        (_("Consensus definition"), _(
            "Defined before round 1 and locked when it opened. Agreement is a rating of %(agree_low)s-%(agree_high)s, "
            "disagreement %(disagree_low)s-%(disagree_high)s. A statement reached consensus in when \"%(include)s\", "
            "consensus out when \"%(exclude)s\" (otherwise no consensus), %(scope)s.",
            agree_low=c.agree[0], agree_high=c.agree[1], disagree_low=c.disagree[0], disagree_high=c.disagree[1],
            include=c.include, exclude=c.exclude, scope=_phrase(ConsensusScope, c.scope, c.scope))),
        (_("Stopping rule"), _(
            "At most %(rounds)s rating rounds; %(rule)s. A statement counts as stable when fewer than %(change)s%% "
            "of panellists' ratings changed, net, between rounds.", rounds=p.max_rounds,
            rule=_phrase(StoppingRule, getattr(p, "stopping", None),
                         _("the stopping rule is not stated in the protocol")),
            change=_prose(c.stable_change))),
        (_("Quartiles"), _("Medians and quartiles by %(method)s.", method=_quantile_words(c.quantile_method))),
        (_("Feedback to panellists"), _(
            "From round 2, each panellist saw their own previous rating, the panel's median, agreement and "
            "distribution of ratings, each stakeholder group's figures where at least %(minimum)s of its members "
            "rated (smaller groups withheld, with complementary suppression), and comments approved by the "
            "facilitator, without names.", minimum=minimum)),
        (_("Small groups"), _(
            "A stakeholder group's figures and counts were withheld from panellists' feedback, this report and the "
            "statistics tables when fewer than %(minimum)s of its members rated a statement or responded in a round "
            "(for attrition: stayed or left), together with the next smallest groups until the withheld ones "
            "reached %(minimum)s, and the whole panel's figures when the panel was that small; figures with equal "
            "group weights were withheld whenever a group was. Where a withdrawal removed ratings from a closed "
            "round, a group's figures were withheld when fewer than %(minimum)s had been removed, so that figures "
            "seen at the close minus those reported cannot give a person's rating. The minimum was fixed when round "
            "1 opened.", minimum=minimum)),
        (_("Anonymity"), _("Panellists were anonymous to each other; the study team's exports carry pseudonyms "
                           "only. Contact details are kept apart from answers and are not exported.")),
        (_("Statistics"), _(
            "Per statement: n and the number unable to rate, median, quartiles, mean, SD, coefficient of variation, "
            "percentage agreement with its 95%% Wilson interval, %(rand_ucla)srwg and average deviation; "
            "%(bootstrap)sbetween groups Kruskal-Wallis with epsilon squared and pairwise Mann-Whitney tests with "
            "Holm's adjustment across the pairs of a statement, and each test's p-value adjusted across the round's "
            "statements by Holm's method (family-wise error) and by Benjamini-Hochberg's (false discovery rate), each "
            "pair of groups a family of its own; per round Kendall's W (tie-corrected, listwise: only panellists who "
            "rated every statement), Krippendorff's alpha (ordinal), Fleiss' kappa and rwg(J); stability against the "
            "round before, for the whole panel and for each group, as net change and the Wilcoxon signed-rank test; "
            "and the stability of the classification, the statements whose verdict changed between consecutive "
            "rounds.",
            rand_ucla=_("RAND/UCLA (30th and 70th percentiles, IPR, IPRAS, disagreement, appropriateness), ")
            if (s.min, s.max) == (1, 9) else "", bootstrap=_bootstrap_sentence(source))
         + (" " + _("Every figure was computed when its round closed and stored; this report and the statistics "
                    "tables show those stored figures.") if source.from_study else "")),
        (_("Software"), _("Delphi consensus platform version %(version)s; statistics by its analysis package (numpy, "
                          "scipy), the same code for the live study and for re-analysis with `delphi analyse`.",
                          version=__version__)),
    ]
    return told if source.from_study else _from_elsewhere(source, told)


def _bootstrap_sentence(source: ReportSource) -> str:
    """How the bootstrap intervals were drawn, from the settings stored on each round at its close (a ratings file's
    are computed with the defaults); rounds closed before the intervals were stored are named."""
    if source.stored is None:
        drawn = {1: dict(BOOTSTRAP)}
    else:
        drawn = {r.number: r.indices.get("bootstrap") for r in source.stored}
    settings = {(b["method"], b["n_resamples"], b["seed"], b["confidence"]) for b in drawn.values() if b}
    if not settings:
        return ""
    described = "; ".join(_("%(method)s bootstrap, %(resamples)s resamples, seed %(seed)s, %(level)s level",
                            method=method, resamples=_count(n), seed=seed, level=_percent(confidence))
                          for method, n, seed, confidence in sorted(settings))
    without = [str(k) for k, b in drawn.items() if not b]
    return (_("bootstrap intervals for the median and %% agreement (%(described)s; panellists resampled with "
              "replacement, the same resamples for every statement, within each group its own members, in pseudonym "
              "order so that analysis.bootstrap_intervals on ratings.csv gives them again)", described=described)
            + (_(", not stored for round(s) %(rounds)s, closed before they were", rounds=", ".join(without))
               if without else "") + "; ")


def _from_elsewhere(source: ReportSource, told: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The methods for ratings collected elsewhere: what the analysis was given, and, for what a ratings file cannot
    show (when the definition was set, what panellists saw, how anonymity was kept), that the authors must say."""
    p, long = source.protocol, source.long
    c = p.consensus
    scale, _definition, stopping, quartiles, _feedback, _small, _anonymity, statistics, software = told
    rounds = ", ".join(map(str, long.rounds)) or _("none")
    authors = _("This report cannot know it from a ratings file; the authors should report it.")
    return [
        (_("Data"), _(
            "Ratings collected elsewhere, analysed with `delphi analyse` from a ratings file and a protocol file: "
            "%(panellists)s panellists, rating round(s) %(rounds)s. Who was invited or consented, what panellists "
            "were shown and how statements changed between rounds are not in such a file.",
            panellists=len(long.panellists), rounds=rounds)),
        scale,
        (_("Consensus definition"), _(
            "As given in the protocol file: agreement is a rating of %(agree_low)s-%(agree_high)s, disagreement "
            "%(disagree_low)s-%(disagree_high)s. A statement reached consensus in when \"%(include)s\", consensus out "
            "when \"%(exclude)s\" (otherwise no consensus), %(scope)s. Whether this definition was set before round "
            "1 is not known: %(authors)s", agree_low=c.agree[0], agree_high=c.agree[1], disagree_low=c.disagree[0],
            disagree_high=c.disagree[1], include=c.include, exclude=c.exclude,
            scope=_phrase(ConsensusScope, c.scope, c.scope), authors=authors)),
        stopping,
        quartiles,
        (_("Feedback to panellists"), _("What panellists saw between rounds is not known. %(authors)s",
                                        authors=authors)),
        (_("Small groups"), _(
            "In this report and the statistics tables, a stakeholder group's figures were withheld when fewer than "
            "%(minimum)s of its members rated a statement, together with the next smallest groups until the withheld "
            "ones reached that number, and the whole panel's figures when the panel was that small; figures with "
            "equal group weights were withheld whenever a group was.", minimum=p.min_group_feedback)),
        (_("Anonymity"), _("How panellists' anonymity was kept is not known. %(authors)s", authors=authors)),
        statistics,
        software,
    ]


def _image(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _environment() -> Environment:
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                              trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
    # Flask-Babel's gettext: the language forced for the build (the study's), the default outside an app.
    environment.install_gettext_callables(_, ngettext, newstyle=True)
    environment.filters["number"] = number
    environment.filters["pvalue"] = pvalue
    environment.filters["thousands"] = _count
    environment.filters["percent"] = _percent
    return environment


_NOT_GIVEN = object()


def report_html(source: ReportSource, views: list | None = None, experiment_figures=_NOT_GIVEN) -> str:
    """The whole report as one HTML document (no external resources). ``views`` and ``experiment_figures``, when the
    caller already has them (a download set builds them once for every file), are those of ``source``."""
    p = source.protocol
    views = findings.compute_rounds(source) if views is None else views
    if experiment_figures is _NOT_GIVEN:
        experiment_figures = experiment.experiment_report(source, views)
    results = findings.statement_results(source, views)
    names = {g.key: g.name for g in p.groups}
    rounds = [v.number for v in views]
    bars = []
    for r in results:
        bars.append((r.code, _("All panellists"), r.overall))
        bars.extend((r.code, names[c.scope], c) for c in r.groups)
    charts_ = {}
    if results:
        charts_["bars"] = _image(charts.diverging_bars(bars))
        charts_["rounds"] = _image(charts.across_rounds([(r.code, r.history) for r in results], rounds,
                                                        p.scale.min, p.scale.max))
    return _environment().get_template("report_document.html").render(
        p=p, source=source, version=__version__, methods=methods(source), views=views, rounds=rounds,
        results=results, names=names, divergence=findings.divergence(source, views),
        sensitivity=findings.sensitivity(source, views), attrition=findings.attrition(source),
        stability=findings.stability(source, views), removed=findings.removed_since_close(source, views),
        verdict_changes=findings.verdict_changes(source, views),
        removed_rounds="; ".join(_("round %(round)s: %(count)s", round=k, count=count)
                                 for k, count in findings.removed_since_close(source, views)),
        appropriateness={"appropriate": _("appropriate"), "inappropriate": _("inappropriate"),
                         "uncertain": _("uncertain")},
        not_stored=[v.number for v in views if v.bootstrap is None],
        rand_ucla=(p.scale.min, p.scale.max) == (1, 9),
        charts=charts_, bars=bars, checklist=checklist(source), flow=source.flow, embedded_stylesheet=_stylesheet(),
        experiment=experiment_figures,
        quantile_words=_quantile_words(p.consensus.quantile_method),
        verdicts={c.value: _(c.title) for c in Classification}, language=str(get_locale() or "en"),
    )


def _stylesheet() -> Markup:
    """The report's stylesheet inside the file, so that a downloaded report stands alone. Templates never hold a
    <style> (the app's CSP forbids inline styles); the app serves this document with a CSP that allows exactly this
    block by its hash (:func:`style_hashes`)."""
    return Markup("<style>\n" + STYLESHEET.read_text(encoding="utf-8") + "</style>")


def style_hashes(html: str) -> list[str]:
    """CSP hashes of the report's own <style> blocks, so the app can show it without allowing any other style."""
    return ["'sha256-" + base64.b64encode(hashlib.sha256(block.encode()).digest()).decode() + "'"
            for block in re.findall(r"<style>(.*?)</style>", html, flags=re.S)]
