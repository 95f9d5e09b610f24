"""What a panellist sees of the last round: their own rating, the panel's and each group's figures, and approved
comments. Read from the figures frozen at close (no statistics here), with small groups withheld so that nothing can
be subtracted back to them."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from delphi.extensions import db
from delphi.localised import for_page
from delphi.models import Panellist, Rating, Round, RoundResult, RoundStatus, StakeholderGroup, Study
from delphi.services.experiment import arm_for
from delphi.services.suppression import withheld_cells


@dataclass(frozen=True)
class Figures:
    """Figures for one audience (the panel or one group) of one statement; ``shown`` False when withheld."""

    label: str
    shown: bool
    n: int = 0
    median: float | None = None
    pct_agree: float | None = None
    q1: float | None = None
    q3: float | None = None
    counts: tuple[tuple[int, int], ...] = ()

    @property
    def max_count(self) -> int:
        return max((c for _, c in self.counts), default=0) or 1

    @property
    def bars(self) -> list[tuple[int, int, int, float, float]]:
        """(index, point, count, y, height) of each bar in a 24-px-per-point, 60-px-high chart (44 px for the bars)."""
        top = self.max_count
        out = []
        for i, (point, count) in enumerate(self.counts):
            height = round(44 * count / top, 1)
            out.append((i, point, count, round(46 - height, 1), max(height, 1.0)))
        return out


@dataclass
class StatementFeedback:
    previous_round: int
    own_value: int | None = None
    own_unable: bool = False
    panel: Figures | None = None
    groups: list[Figures] = field(default_factory=list)
    comments: list[tuple[str | None, str]] = field(default_factory=list)  # (group name or None, comment)


def feedback_for(panellist: Panellist, round_: Round, statement_ids: Iterable[int] | None = None
                 ) -> dict[int, StatementFeedback]:
    """Feedback for the statements of ``round_`` (those in ``statement_ids``: a page's, or by default all) that were
    also in the previous rating round. Figures and the panellist's own answers are read as plain rows."""
    previous = round_.previous_rating_round
    if previous is None:
        return {}
    study: Study = round_.study
    if statement_ids is None:
        statement_ids = [rs.statement_id for rs in round_.statements]
    statement_ids = list(statement_ids)
    figures = _closed_figures(previous, study, statement_ids)
    own = {
        r.statement_id: r for r in db.session.execute(
            sa.select(Rating.statement_id, Rating.value, Rating.unable_to_rate)
            .where(Rating.panellist_id == panellist.id, Rating.round_id == previous.id,
                   Rating.statement_id.in_(statement_ids)))
    }
    # A study within the study (issue 23): the panellist's arm decides which groups' figures and whose comments they
    # see; the shared figures (and their cache) stay the same for everyone.
    arm = arm_for(panellist)
    comments = _approved_comments(previous, statement_ids) if arm.comments else {}
    names = {g.name: for_page(g, "name", study) for g in study.groups}  # as the reader reads them (issue 21)
    own_group = names.get(panellist.group.name) if arm.feedback == "own_group" and panellist.group is not None else None

    def shown_name(name: str | None, withheld: frozenset):
        """A comment's group as the reader reads it, or None: no group, a withheld one, or one the arm hides."""
        label = None if name is None else names.get(name, name)
        if label is None or label in withheld or (arm.feedback != "all_groups" and label != own_group):
            return None
        return label

    feedback: dict[int, StatementFeedback] = {}
    for statement_id in statement_ids:
        shared = figures.get(statement_id)
        if shared is None:
            continue
        groups = [f for f in shared.groups if arm.feedback == "all_groups" or f.label == own_group]
        item = StatementFeedback(previous_round=previous.number, panel=shared.panel, groups=groups)
        mine = own.get(statement_id)
        if mine is not None:
            item.own_value, item.own_unable = mine.value, mine.unable_to_rate
        item.comments = [(shown_name(name, shared.withheld), text) for name, text in comments.get(statement_id, [])]
        feedback[statement_id] = item
    return feedback


@dataclass(frozen=True, slots=True)
class _StatementFigures:
    """What every panellist sees of one statement's figures: the panel's, each group's (in the study's order) and the
    names of the groups withheld (whose comments then show no group)."""

    panel: Figures
    groups: tuple[Figures, ...]
    withheld: frozenset[str]


# A closed round's figures are written once, when it closes (a round is closed only once, and nothing updates its
# results), so each process keeps what it has read and built of them: on a round-2 page, reading and building 20
# statements' five figures cost more than the rest of the feedback. The key holds the round's id and when it closed
# (a reused id is a different close), and whatever the figures shown depend on besides the results: the groups
# (keys, names, order), the minimum group size and the scale. Own answers, comments and withdrawals are read each time.
_CLOSED_ROUNDS_KEPT = 32


def _closed_figures(previous: Round, study: Study, statement_ids: list[int]) -> dict[int, _StatementFigures | None]:
    """Each statement's shown figures from ``previous`` (None for a statement without the panel's figures)."""
    # The names in the reader's language (delphi/localised.py): a key by language, as the figures' labels differ.
    groups = tuple((g.key, for_page(g, "name", study)) for g in study.groups)
    minimum, points = study.min_group_feedback, range(study.scale_min, study.scale_max + 1)
    cache = current_app.extensions.setdefault("delphi.closed_round_figures", {})
    key = (previous.id, previous.closed_at, groups, minimum, study.scale_min, study.scale_max)
    closed = previous.status is RoundStatus.closed and previous.closed_at is not None
    kept = cache.get(key) if closed else None
    if kept is None:
        kept = {}
        if closed:
            if len(cache) >= _CLOSED_ROUNDS_KEPT:
                cache.clear()
            cache[key] = kept
    missing = [sid for sid in statement_ids if sid not in kept]
    if missing:
        by_statement: dict[int, dict[str, sa.Row]] = {sid: {} for sid in missing}
        for r in db.session.execute(
                sa.select(RoundResult.statement_id, RoundResult.scope, RoundResult.n, RoundResult.median,
                          RoundResult.q1, RoundResult.q3, RoundResult.pct_agree, RoundResult.distribution)
                .where(RoundResult.round_id == previous.id, RoundResult.statement_id.in_(missing))):
            by_statement[r.statement_id][r.scope] = r
        for statement_id, scopes in by_statement.items():
            kept[statement_id] = _statement_figures(scopes, groups, minimum, points)
    return {sid: kept[sid] for sid in statement_ids}


def _statement_figures(scopes: dict[str, sa.Row], groups: tuple[tuple[str, str], ...], minimum: int,
                       points: range) -> _StatementFigures | None:
    overall = scopes.get("overall")
    if overall is None:
        return None
    sizes = {key: scopes[key].n if key in scopes else 0 for key, _ in groups}
    withheld = withheld_cells(sizes, minimum)
    return _StatementFigures(
        panel=_figures("", overall, points, shown=overall.n > 0 and not withheld.overall),
        groups=tuple(_figures(name, scopes[key], points, shown=key not in withheld)
                     for key, name in groups if sizes[key] > 0),
        withheld=frozenset(name for key, name in groups if key in withheld))


def answered_before(panellist: Panellist, round_: Round, statement_ids: Iterable[int]) -> set[int]:
    """The statements (of ``statement_ids``) whose feedback shows the panellist's own answer from the previous rating
    round: those they rated or marked unable to rate there, and that have the panel's figures. The same set as
    ``feedback_for`` gives (``own_value`` or ``own_unable``), in one query and without reading the figures: a page
    that is saved asks why an answer changed for these, and shows no feedback unless it has errors."""
    previous = round_.previous_rating_round
    if previous is None:
        return set()
    return set(db.session.scalars(
        sa.select(Rating.statement_id)
        .join(RoundResult, sa.and_(RoundResult.round_id == Rating.round_id,
                                   RoundResult.statement_id == Rating.statement_id, RoundResult.scope == "overall"))
        .where(Rating.panellist_id == panellist.id, Rating.round_id == previous.id,
               Rating.statement_id.in_(list(statement_ids)),
               sa.or_(Rating.value.is_not(None), Rating.unable_to_rate.is_(True)))))


def _figures(label: str, result: sa.Row, points, *, shown: bool) -> Figures:
    if not shown:
        return Figures(label=label, shown=False)
    counts = tuple((p, int(result.distribution.get(str(p), 0))) for p in points)
    return Figures(label=label, shown=True, n=result.n, median=result.median, pct_agree=result.pct_agree,
                   q1=result.q1, q3=result.q3, counts=counts)


# SQLite (without statistics) sees the partial index of approved comments and ix_rating_round_statement as equally
# good for this query and takes whichever its schema lists first, which varies between databases; through the other
# one it reads every rating of the page's statements (a feedback page for 5,000 panellists took 400 ms instead of 60).
# SQLAlchemy cannot give SQLite an index hint, so on SQLite the same query is written out with INDEXED BY.
_APPROVED_COMMENTS_SQLITE = sa.text(
    "SELECT rating.statement_id, stakeholder_group.name, rating.comment "
    "FROM rating INDEXED BY ix_rating_approved_comment "
    "JOIN panellist ON panellist.id = rating.panellist_id "
    "LEFT OUTER JOIN stakeholder_group ON stakeholder_group.id = panellist.group_id "
    "WHERE rating.round_id = :round_id AND rating.comment_approved = 1 AND rating.comment != '' "
    "AND rating.statement_id IN :statement_ids AND panellist.withdrawn = 0 "
    "ORDER BY rating.statement_id, rating.comment"
).bindparams(sa.bindparam("statement_ids", expanding=True))


def _approved_comments(previous: Round, statement_ids: list[int]) -> dict[int, list[tuple[str | None, str]]]:
    if db.session.get_bind().dialect.name == "sqlite":
        rows = db.session.execute(_APPROVED_COMMENTS_SQLITE,
                                  {"round_id": previous.id, "statement_ids": list(statement_ids) or [-1]}).all()
    else:
        rows = db.session.execute(
            sa.select(Rating.statement_id, StakeholderGroup.name, Rating.comment)
            .join(Panellist, Panellist.id == Rating.panellist_id)
            .outerjoin(StakeholderGroup, StakeholderGroup.id == Panellist.group_id)
            .where(Rating.round_id == previous.id, Rating.comment_approved == sa.true(), Rating.comment != "",
                   Rating.statement_id.in_(statement_ids), Panellist.withdrawn.is_(False))
            .order_by(Rating.statement_id, Rating.comment)
        ).all()
    out: dict[int, list[tuple[str | None, str]]] = {}
    for statement_id, group_name, text in rows:
        out.setdefault(statement_id, []).append((group_name, text))
    return out
