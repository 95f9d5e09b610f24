"""A study within the study (issue 23, docs/experiments.md): the experiment as stored, its seed, the allocation of
the panel to arms, and what each arm's panellists see.

The seed is drawn when round 1 opens and locks with the protocol; the arms are allocated when round 2 opens (the
first round whose feedback differs between arms), once, among the panellists then in the study with a group, sorted
by pseudonym, with :func:`analysis.allocate`. Who has no group then, or joins later, is not allocated: they see the
feedback as in a study without an experiment and are left out of the comparison (their ``arm`` stays empty).
"""
from __future__ import annotations

import hashlib
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import sqlalchemy as sa

from analysis.experiment import ALLOCATION_SEED_BITS, allocate
from delphi.extensions import db
from delphi.models import Panellist, StaffUser, StakeholderGroup, Study
from delphi.models.base import utcnow
from delphi.protocol import ArmSpec, ExperimentSpec, experiment_table
from delphi.services import audit
from delphi.services.suppression import withheld_cells

T = TypeVar("T")
P = TypeVar("P")

# What a panellist outside the comparison (no experiment, or not allocated) sees: the feedback as it always was.
STANDARD = ArmSpec(key="", name="", feedback="all_groups", comments=True, order="fixed")


def experiment_column(spec: ExperimentSpec | None) -> dict[str, Any] | None:
    """The ``[experiment]`` table as the study keeps it: never with a seed (a file's seed is not a new study's)."""
    if spec is None:
        return None
    table = experiment_table(spec)
    table.pop("seed", None)
    return table


def experiment_from_column(table: dict[str, Any] | None) -> ExperimentSpec | None:
    if not table:
        return None
    return ExperimentSpec(arms=tuple(ArmSpec(**arm) for arm in table["arms"]), allocation=table["allocation"],
                          block_size=table.get("block_size"))


def with_seed(spec: ExperimentSpec | None, study: Study) -> ExperimentSpec | None:
    """``spec`` with the study's seed once drawn (what the exported protocol states)."""
    if spec is None or study.allocation_seed is None:
        return spec
    return ExperimentSpec(arms=spec.arms, allocation=spec.allocation, block_size=spec.block_size,
                          seed=int(study.allocation_seed))


def experiment_spec(study: Study) -> ExperimentSpec | None:
    """The study's experiment with its seed (None without one)."""
    return with_seed(experiment_from_column(study.experiment), study)


def draw_seed(study: Study, actor: StaffUser | None = None) -> None:
    """Draw the allocation seed as round 1 opens (before the protocol locks, so the locked protocol states it)."""
    if study.experiment is None or study.allocation_seed is not None:
        return
    study.allocation_seed = str(secrets.randbits(ALLOCATION_SEED_BITS))
    study.allocation_seed_drawn_at = utcnow()
    audit.record("experiment.seed_drawn", study=study, actor=actor, target=f"study {study.id}")


def allocate_arms(study: Study, actor: StaffUser | None = None) -> dict[str, int]:
    """Allocate the panel to arms (once, as round 2 opens): every panellist not withdrawn with a group, sorted by
    pseudonym, in permuted blocks within each group (groups in sorted key order, ``analysis.allocate``'s default).
    Returns the count per arm; audited with the counts only."""
    spec = experiment_spec(study)
    if spec is None or spec.seed is None or study.arms_allocated_at is not None:
        return {}
    rows = db.session.execute(
        sa.select(Panellist.id, StakeholderGroup.key)
        .join(StakeholderGroup, StakeholderGroup.id == Panellist.group_id)
        .where(Panellist.study_id == study.id, Panellist.withdrawn.is_(False))
        .order_by(Panellist.pseudonym)).all()
    keys = [arm.key for arm in spec.arms]
    counts = dict.fromkeys(keys, 0)
    if rows:
        arms = allocate([group for _, group in rows], keys, spec.seed, spec.block_size)
        by_arm: dict[str, list[int]] = {}
        for (panellist_id, _), index in zip(rows, arms.tolist()):
            by_arm.setdefault(keys[index], []).append(panellist_id)
        for key, ids in by_arm.items():
            db.session.execute(sa.update(Panellist).where(Panellist.id.in_(ids)).values(arm=key))
            counts[key] = len(ids)
    study.arms_allocated_at = utcnow()
    audit.record("experiment.allocated", study=study, actor=actor, target=f"study {study.id}", arms=counts)
    db.session.flush()
    return counts


def arm_for(panellist: Panellist) -> ArmSpec:
    """The feedback format ``panellist`` sees: their arm's, or :data:`STANDARD` outside the comparison."""
    if panellist.arm is None:
        return STANDARD
    spec = experiment_from_column(panellist.study.experiment)
    return next((arm for arm in spec.arms if arm.key == panellist.arm), STANDARD) if spec else STANDARD


def in_panellist_order(items: Sequence[T], panellist: Panellist, domain: str = "") -> list[T]:
    """``items`` (one domain's statements, one page) in the panellist's order: as given, or, for an arm with
    ``order = "random"``, shuffled by a generator seeded from the study's seed, the pseudonym, the domain and the
    items' count, so the order is the same on every page load, after a save, on the review page and on the paper
    form."""
    if arm_for(panellist).order != "random":
        return list(items)
    source = f"{panellist.study.allocation_seed}:{panellist.pseudonym}:{domain}:{len(items)}".encode()
    shuffled = list(items)
    random.Random(int.from_bytes(hashlib.sha256(source).digest()[:8], "big")).shuffle(shuffled)
    return shuffled


def pages_in_panellist_order(pages: Sequence[P], panellist: Panellist) -> tuple[P, ...]:
    """A round's pages (``answers.Page``) with each page's statements in the panellist's order."""
    if arm_for(panellist).order != "random":
        return tuple(pages)
    return tuple(replace(page, statements=tuple(in_panellist_order(page.statements, panellist, page.domain)))
                 for page in pages)


def round_statements_in_panellist_order(statements: Sequence[T], panellist: Panellist) -> list[T]:
    """A round's statements (with ``domain``), domain by domain in the order they first appear (as the pages are),
    each domain's in the panellist's order: the paper form and proxy entry list them as the panellist's pages do."""
    by_domain: dict[str, list[T]] = {}
    for rs in statements:
        by_domain.setdefault(rs.domain, []).append(rs)
    return [rs for domain, items in by_domain.items() for rs in in_panellist_order(items, panellist, domain)]


@dataclass(frozen=True)
class ArmCount:
    """One arm's panellists by group for the settings page; a cell is None when withheld (small-cell rule)."""

    arm: ArmSpec
    by_group: tuple[int | None, ...]
    total: int | None


def arm_counts(study: Study) -> tuple[tuple[str, ...], list[ArmCount], int]:
    """The allocated panel as arm x group counts (group names, one row per arm, and how many were not allocated),
    every cell through :func:`withheld_cells` with the study's minimum: a group whose cell in any arm is small is
    withheld in every arm, so that no cell can be subtracted back from the group's total shown elsewhere."""
    spec = experiment_from_column(study.experiment)
    if spec is None or study.arms_allocated_at is None:
        return (), [], 0
    counts = {(arm, group): n for arm, group, n in db.session.execute(
        sa.select(Panellist.arm, Panellist.group_id, sa.func.count())
        .where(Panellist.study_id == study.id, Panellist.withdrawn.is_(False))
        .group_by(Panellist.arm, Panellist.group_id))}
    unallocated = sum(n for (arm, _), n in counts.items() if arm is None)
    groups = list(study.groups)
    sizes = {g.key: tuple(counts.get((arm.key, g.id), 0) for arm in spec.arms) for g in groups}
    withheld = withheld_cells(sizes, study.min_group_feedback)
    rows = []
    for i, arm in enumerate(spec.arms):
        total = sum(sizes[g.key][i] for g in groups)
        rows.append(ArmCount(arm, tuple(None if g.key in withheld else sizes[g.key][i] for g in groups),
                             None if withheld.overall or 0 < total < study.min_group_feedback else total))
    return tuple(g.name for g in groups), rows, unallocated
