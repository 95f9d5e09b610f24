"""Feedback phrases, translated once per page rather than once per figure.

A round-2 page shows five sets of figures for each of up to 60 statements; looking every phrase up again for each
figure cost more than the rest of the page. These are Babel's raw translations with their placeholders, formatted in
the template. English and Norwegian (bokmål) both use the singular only for 1.
"""
from __future__ import annotations

from flask_babel import get_translations


def feedback_phrases() -> dict[str, str]:
    t = get_translations()
    return {
        "last_time": t.gettext("Last time (round %(number)s)"),
        "you_unable": t.gettext("You answered: unable to rate."),
        "you_answered": t.gettext("You answered: %(value)s."),
        "you_skipped": t.gettext("You did not answer this statement last time."),
        "whole_panel": t.gettext("Whole panel:"),
        "too_few": t.gettext("Too few people answered last time to show the panel's answers."),
        "each_group": t.gettext("How each group answered"),
        "withheld": t.gettext("fewer than %(min)s people, not shown."),
        "people_one": t.ngettext("%(num)d person answered.", "%(num)d people answered.", 1),
        "people_many": t.ngettext("%(num)d person answered.", "%(num)d people answered.", 2),
        "middle": t.gettext("The middle answer was %(median)s."),
        "agree": t.gettext("%(pct)s%% answered %(low)s to %(high)s."),
        "comments_one": t.ngettext("%(num)d comment from the panel", "%(num)d comments from the panel", 1),
        "comments_many": t.ngettext("%(num)d comment from the panel", "%(num)d comments from the panel", 2),
        "table_caption": t.gettext("Number of people for each answer"),
        "answer": t.gettext("Answer"),
        "people": t.gettext("People"),
    }
