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

from typing import NamedTuple

from flask import current_app, get_template_attribute
from flask_babel import get_translations
from markupsafe import Markup, escape

from delphi.panel import bp
from delphi.services.feedback import Figures


class FeedbackPhrases(NamedTuple):
    last_time: str
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


def feedback_phrases() -> FeedbackPhrases:
    t = get_translations()
    return FeedbackPhrases(
        last_time=t.gettext("Last time (round %(number)s)"),
        you_unable=t.gettext("You answered: unable to rate."),
        you_answered=t.gettext("You answered: %(value)s."),
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
    )


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


_NAME = "\x00"  # stands for the field's name in a scale's markup; never in a value or a label


@bp.app_template_global()
def scale_inputs(name: str, chosen, scale: tuple[tuple[str, str | None], ...]) -> Markup:
    """One statement's radio buttons and labels, one per scale point (``chosen``'s checked), ids "<name>-<index>" as
    WTForms gives them. Written from the scale's markup, made once per process: a page has 200 inputs, and writing
    each through the template took a fifth of the page's template time (5.8 of 16.7 ms for a round-2 page, 4.5 this
    way)."""
    cache = current_app.extensions.setdefault("delphi.scale_markup", {})
    points = cache.get(scale)
    if points is None:
        points = cache[scale] = tuple(
            (value,
             f'<div class="scale-point">\n<input class="scale-input" id="{_NAME}-{i}" name="{_NAME}" type="radio" '
             f'value="{escape(value)}"',
             f'>\n<label for="{_NAME}-{i}"><span class="scale-number">{escape(value)}</span>'
             + (f'<span class="scale-anchor">{escape(anchor)}</span>' if anchor else "") + "</label>\n</div>\n")
            for i, (value, anchor) in enumerate(scale))
    out = []
    for value, head, tail in points:
        out.append(head)
        if value == chosen:
            out.append(" checked")
        out.append(tail)
    return Markup("".join(out).replace(_NAME, str(escape(name))))
