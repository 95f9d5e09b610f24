"""Feedback phrases, translated once per page rather than once per figure, and the markup of figures and of rating
scales, made once per process.

A round-2 page shows five sets of figures for each of up to 60 statements; looking every phrase up again for each
figure cost more than the rest of the page. These are Babel's raw translations with their placeholders, formatted in
the template. English and Norwegian (bokmål) both use the singular only for 1.

Every panellist sees the same figures for a statement (the panel's and each group's, frozen at close; only their own
answer and the comments differ), and writing a figure's chart, table and sentence was most of a round-2 page's time.
So a figure's markup is kept per process, keyed by everything it is made from: the figures, its heading, the
agreement band and the phrases (so the language). A change to any of them is a different key, never a stale page.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from flask import current_app, get_template_attribute
from flask_babel import format_decimal, get_translations
from markupsafe import Markup, escape

from delphi.localised import page_labels

from delphi.panel import bp
from delphi.services.feedback import Figures


class FeedbackPhrases(NamedTuple):
    last_time: str
    statement_number: str
    you_unable: str
    you_answered: str
    you_skipped: str
    whole_panel: str
    too_few: str
    each_group: str
    withheld: str
    people_one: str
    people_many: str
    middle: str
    agree: str
    comments_one: str
    comments_many: str
    table_caption: str
    answer: str
    people: str
    chose_one: str
    chose_many: str
    most_chose: str
    most_between: str
    either: str
    band_range: str
    show_figures: str
    quartiles: str


def feedback_phrases() -> FeedbackPhrases:
    t = get_translations()
    return FeedbackPhrases(
        last_time=t.gettext("Last time (round %(number)s)"),
        statement_number=t.gettext("statement %(number)s"),
        you_unable=t.gettext("Your answer last time: unable to rate"),
        you_answered=t.gettext("Your answer last time: %(value)s"),
        you_skipped=t.gettext("You did not answer this statement last time."),
        whole_panel=t.gettext("Whole panel:"),
        too_few=t.gettext("Too few people answered last time to show the panel's answers."),
        each_group=t.gettext("How each group answered"),
        withheld=t.gettext("fewer than %(min)s people, not shown."),
        people_one=t.ngettext("%(num)d person answered.", "%(num)d people answered.", 1),
        people_many=t.ngettext("%(num)d person answered.", "%(num)d people answered.", 2),
        middle=t.gettext("The middle answer was %(median)s."),
        agree=t.gettext("%(pct)s%% answered %(low)s to %(high)s."),
        comments_one=t.ngettext("%(num)d comment from the panel", "%(num)d comments from the panel", 1),
        comments_many=t.ngettext("%(num)d comment from the panel", "%(num)d comments from the panel", 2),
        table_caption=t.gettext("Number of people for each answer"),
        answer=t.gettext("Answer"),
        people=t.gettext("People"),
        chose_one=t.ngettext("%(count)d of %(num)d person chose %(band)s.",
                             "%(count)d of %(num)d people chose %(band)s.", 1),
        chose_many=t.ngettext("%(count)d of %(num)d person chose %(band)s.",
                              "%(count)d of %(num)d people chose %(band)s.", 2),
        most_chose=t.gettext("Most people chose %(value)s."),
        most_between=t.gettext("Most people chose between %(low)s and %(high)s."),
        either=t.gettext("%(points)s or %(last)s"),
        band_range=t.gettext("a number from %(low)s to %(high)s"),
        show_figures=t.gettext("Show the figures"),
        quartiles=t.gettext("The middle half of the answers lay between %(q1)s and %(q3)s."),
    )


def band_words(low: int, high: int, t: FeedbackPhrases) -> str:
    """The answers from ``low`` to ``high`` in words: "8", "7, 8 or 9", or, for more than five, "a number from 3 to
    9"."""
    if low == high:
        return str(low)
    if high - low + 1 > 5:
        return t.band_range % {"low": low, "high": high}
    points = [str(p) for p in range(low, high + 1)]
    return t.either % {"points": ", ".join(points[:-1]), "last": points[-1]}


@bp.app_template_global()
def figure_number(value: float) -> str:
    """A figure as the feedback writes it, in the current language: one decimal at most, none when it is whole ("7.5",
    "8"; in Norwegian "7,5")."""
    return format_decimal(round(value, 1), format="0.#")


@bp.app_template_global()
def plain_figure(fig: Figures, study, t: FeedbackPhrases) -> str:
    """One shown figure in plain words: how many chose an answer in the agreement band ("7 of 10 people chose 7, 8 or
    9.") and, when more than one person answered, where most answers lay (the interquartile range, widened to whole answers:
    "Most people chose between 6 and 8.")."""
    in_band = sum(count for point, count in fig.counts if study.agree_low <= point <= study.agree_high)
    words = [(t.chose_one if fig.n == 1 else t.chose_many)
             % {"count": in_band, "num": fig.n, "band": band_words(study.agree_low, study.agree_high, t)}]
    if fig.n > 1 and fig.q1 is not None and fig.q3 is not None:
        low, high = math.floor(fig.q1 + 1e-9), math.ceil(fig.q3 - 1e-9)
        words.append(t.most_chose % {"value": low} if low == high else t.most_between % {"low": low, "high": high})
    return " ".join(words)


_FIGURES_KEPT = 4096  # about 2.5 kB each: 200 statements x 5 figures x 4 languages, 10 MB at most


@bp.app_template_global()
def shown_figure(fig: Figures, heading: str, study, t: FeedbackPhrases) -> Markup:
    """The heading, sentence, bar chart and table of one figure that is shown (``panel/_feedback.html``'s
    ``figure``)."""
    cache = current_app.extensions.setdefault("delphi.feedback_figures", {})
    key = (fig, heading, study.agree_low, study.agree_high, t)
    html = cache.get(key)
    if html is None:
        html = get_template_attribute("panel/_feedback.html", "figure")(fig, heading, study, t)
        if len(cache) >= _FIGURES_KEPT:
            cache.clear()
        cache[key] = html
    return html


def _lower_first(label: str) -> str:
    """``label`` inside a sentence: "Critically important" -> "critically important" (not an initialism: "HIV ...")."""
    if len(label) > 1 and label[1].isupper():
        return label
    return label[:1].lower() + label[1:]


def scale_point_names(scale_min: int, scale_max: int, labels: dict | None
                      ) -> tuple[tuple[str, str | None, str], ...]:
    """What each scale point means, for its radio button's label: (value, the protocol's label for it or None, words
    read with the number but not shown). Together they are the button's accessible name: "9 of 9, critically
    important" (a labelled point: the label is shown), "7 of 9, towards critically important" (the nearest labelled
    point; a scale without labels: "1 of 4, the low end", "2 of 4, towards the low end"), "5 of 9, in the middle" (the middle point without
    a label) or "3 of 9, halfway between not important and important" (as near one labelled point as another). A
    scale that does not start at 1 says so: "3 on the scale from 0 to 10, ...". In the current language."""
    t = get_translations()
    labels = {int(point): text for point, text in (labels or {}).items() if text}
    where = (t.gettext("of %(max)s") % {"max": scale_max} if scale_min == 1
             else t.gettext("on the scale from %(min)s to %(max)s") % {"min": scale_min, "max": scale_max})
    ends = ({scale_min: t.gettext("the low end"), scale_max: t.gettext("the high end")} if not labels else labels)
    out = []
    for point in range(scale_min, scale_max + 1):
        label = labels.get(point)
        if label:
            words = t.gettext("%(where)s,") % {"where": where}
        elif point in ends:  # an end of a scale without labels: "1 of 4, the low end"
            words = t.gettext("%(where)s,") % {"where": where} + " " + ends[point]
        elif 2 * point == scale_min + scale_max:
            words = t.gettext("%(where)s, in the middle") % {"where": where}
        else:
            below = max((p for p in ends if p < point), default=None)
            above = min((p for p in ends if p > point), default=None)
            if below is not None and above is not None and point - below == above - point:
                words = t.gettext("%(where)s, halfway between %(low)s and %(high)s") % {
                    "where": where, "low": _lower_first(ends[below]), "high": _lower_first(ends[above])}
            else:
                nearest = min((p for p in (below, above) if p is not None), key=lambda p: abs(p - point))
                words = t.gettext("%(where)s, towards %(label)s") % {"where": where,
                                                                     "label": _lower_first(ends[nearest])}
        out.append((str(point), label, words))
    return tuple(out)


@bp.app_template_global()
def study_scale_names(study) -> tuple[tuple[str, str | None, str], ...]:
    """:func:`scale_point_names` of ``study``'s scale, for a rating page (made once per page)."""
    labels = page_labels(study)  # in the panellist's language, or the study's marked with its lang (issue 21)
    scale = scale_point_names(study.scale_min, study.scale_max, {point: label.text for point, label in labels.items()})
    return tuple((value, labels[value] if anchor and labels[value].foreign else anchor, words)
                 for value, anchor, words in scale)


_NAME = "\x00"  # stands for the field's name in a scale's markup; never in a value or a label


@bp.app_template_global()
def scale_inputs(name: str, chosen, scale: tuple[tuple[str, str | None, str], ...]) -> Markup:
    """One statement's radio buttons and labels, one per scale point (``chosen``'s checked), ids "<name>-<index>" as
    WTForms gives them; ``scale`` from :func:`scale_point_names`. Each label is the visible number, then what the point
    means in visually hidden words, then the protocol's label when the point has one, so that every button's
    accessible name says what it means ("7 of 9, towards critically important"). Written from the scale's markup,
    made once per process and language: a page has 200 inputs, and writing each through the template took a fifth of
    the page's template time (5.8 of 16.7 ms for a round-2 page, 4.5 this way)."""
    cache = current_app.extensions.setdefault("delphi.scale_markup", {})
    points = cache.get(scale)
    if points is None:
        points = cache[scale] = tuple(
            (value,
             f'<div class="scale-point">\n<input class="scale-input" id="{_NAME}-{i}" name="{_NAME}" type="radio" '
             f'value="{escape(value)}"',
             f'>\n<label for="{_NAME}-{i}"><span class="scale-number">{escape(value)}</span>'
             f'<span class="visually-hidden"> {escape(words)}</span>'
             + (f' <span class="scale-anchor">{escape(anchor)}</span>' if anchor else "") + "</label>\n</div>\n")
            for i, (value, anchor, words) in enumerate(scale))
    out = []
    for value, head, tail in points:
        out.append(head)
        if value == chosen:
            out.append(" checked")
        out.append(tail)
    return Markup("".join(out).replace(_NAME, str(escape(name))))
