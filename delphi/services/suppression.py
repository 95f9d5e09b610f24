"""Small cells: the one rule for which stakeholder groups' figures and counts are withheld, wherever staff or
panellists look (feedback, the report, statistics.csv and the files made from it, the participant flow, attrition,
the round's progress).

A *cell* is a set of people or ratings that a figure or a count is made from: a group's ratings of a statement in a
round, the group's panellists who stayed or left, the ratings removed from a closed round since it closed. A cell
with at least one member and fewer than the minimum (``min_group_feedback``) is *small*. The rule
(:func:`withheld_cells`):

1. A group with a small cell is withheld: none of its figures or counts is shown (counts read "fewer than N").
2. Complementary suppression: when the withheld groups' cells add up to a small cell (the panel's figure minus the
   shown groups' would give it), the next smallest group is withheld too, until they reach the minimum or every
   group with members is withheld.
3. The whole panel (the "overall" or "All groups" figures) is withheld when its own cell is small.

Figures that weigh the groups otherwise than the panel does (``equal_groups``) give a second equation beside the
overall's, so they are withheld whenever any group is (:func:`withheld_in_round`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import analysis


@dataclass(frozen=True)
class Withheld:
    """What one table withholds: the groups' keys, and whether the whole panel's figures go too."""

    groups: frozenset[str]
    overall: bool = False

    def __contains__(self, key: object) -> bool:
        return key in self.groups

    @property
    def scopes(self) -> frozenset[str]:
        """The withheld scopes of a round's figures: the groups, ``overall`` when the panel is withheld, and
        ``equal_groups`` whenever anything is (see the module's docstring)."""
        if not self.groups and not self.overall:
            return frozenset()
        return self.groups | {"equal_groups"} | ({"overall"} if self.overall else set())


def withheld_cells(sizes: Mapping[str, int | Sequence[int]], minimum: int) -> Withheld:
    """The groups (and whether the panel) to withhold from one table.

    ``sizes`` gives each group's cell size, or a tuple of them when the group's figures are made from several cells
    (stayed and left; ratings now and ratings removed since the close): all groups give the same number of parts.

    >>> sorted(withheld_cells({"a": 12, "b": 9, "c": 2}, 5).groups)
    ['b', 'c']
    >>> sorted(withheld_cells({"a": 12, "b": 9, "c": 0}, 5).groups)
    []
    >>> withheld = withheld_cells({"a": 3, "b": 4}, 5)
    >>> sorted(withheld.groups), withheld.overall
    (['a', 'b'], False)
    >>> withheld_cells({"a": (6, 1), "b": (7, 0), "c": (9, 0)}, 5)  # one of a's seven left, the panel's only leaver
    Withheld(groups=frozenset({'a'}), overall=True)
    >>> sorted(withheld_cells({"a": (6, 1), "b": (7, 2), "c": (9, 6)}, 5).groups)  # 1 + 2 left: c's 6 goes too
    ['a', 'b', 'c']
    """
    parts = {key: (n,) if isinstance(n, int) else tuple(int(v) for v in n) for key, n in sizes.items()}
    width = max((len(p) for p in parts.values()), default=1)

    def small(n: int) -> bool:
        return 0 < n < minimum

    withheld = {key for key, p in parts.items() if any(small(n) for n in p)}
    changed = bool(withheld)
    while changed:
        changed = False
        for i in range(width):
            if not small(sum(parts[key][i] for key in withheld)):
                continue
            candidates = sorted((parts[key][i], key) for key in set(parts) - withheld if parts[key][i] > 0)
            if candidates:
                withheld.add(candidates[0][1])
                changed = True
    overall = any(small(sum(p[i] for p in parts.values())) for i in range(width))
    return Withheld(frozenset(withheld), overall)


def withheld_in_round(figures: analysis.RoundFigures, keys: Sequence[str], j: int, minimum: int,
                      closed: Mapping[str, tuple[int, int]] | None = None) -> Withheld:
    """:func:`withheld_cells` for statement ``j`` of a round's figures (``figures.summaries[key].n``).

    ``closed`` (scope -> (n, n_unable) as frozen when the round closed; None for ratings from a file) adds, per
    group, the cells of ratings and of "unable to rate" answers removed since the close (a withdrawal whose ratings
    the protocol deletes): figures seen at the close minus figures now would give them. Whatever was withheld at
    the close stays withheld, so that a group withheld then beside a small one is not shown now to be subtracted
    from the panel's figures of then."""
    sizes, then = {}, {}
    for key in keys:
        n, unable = int(figures.summaries[key].n[j]), int(figures.n_unable[key][j])
        was_n, was_unable = (n, unable) if closed is None else closed.get(key, (n, unable))
        sizes[key], then[key] = (n, abs(was_n - n), abs(was_unable - unable)), was_n
    now, at_close = withheld_cells(sizes, minimum), withheld_cells(then, minimum)
    return Withheld(now.groups | at_close.groups, now.overall or at_close.overall)
