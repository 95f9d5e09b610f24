"""A study's consent statements, and what changed in them since a panellist consented (a changed text is asked again:
``Panellist.consent_is_current``, ``answers.refusal``)."""
from __future__ import annotations

from dataclasses import dataclass


def consent_items(text: str) -> list[str]:
    """The statements a panellist ticks: one per non-empty line of the study's consent text."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


@dataclass(frozen=True)
class ConsentChanges:
    """What a panellist who consented to ``earlier`` statements is told before consenting to the current ones."""

    new: tuple[str, ...]  # statements now asked that were not there (or were worded otherwise)
    removed: tuple[str, ...]  # statements they agreed to that are no longer asked

    @property
    def reordered_only(self) -> bool:
        return not self.new and not self.removed


def consent_changes(earlier: list[str], current: list[str]) -> ConsentChanges:
    """Statements new to the panellist and those no longer asked, each in its own order; a statement reworded shows
    as both (its old wording removed, its new one new)."""
    before, now = set(earlier or []), set(current)
    return ConsentChanges(new=tuple(item for item in current if item not in before),
                          removed=tuple(item for item in earlier or [] if item not in now))


def consent_changed(old_text: str, new_text: str) -> bool:
    """Whether a new consent text asks panellists anything else (wording, statements added or removed), as opposed to
    blank lines and spaces around lines."""
    return consent_items(old_text) != consent_items(new_text)
