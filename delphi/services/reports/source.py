"""What a report is made from: a study in the database, or a ratings file with its protocol.

Both end as a :class:`ReportSource`: the protocol (with every statement ever rated), the ratings as
:class:`~delphi.services.analyse.LongRatings` read back from the exported ``ratings.csv`` text, exactly as
``delphi analyse`` reads that file (so the app's export and a re-analysis agree byte for byte), and what only the
database knows (participant flow, item history, the locked protocol), left empty for a ratings file.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import sqlalchemy as sa
from flask_babel import gettext as _

from delphi.extensions import db
from delphi.models import (
    Classification,
    EntryMode,
    Panellist,
    Rating,
    RevisionKind,
    Round,
    RoundKind,
    RoundResult,
    RoundStatement,
    RoundStatus,
    StakeholderGroup,
    Statement,
    Study,
    Submission,
)
from delphi.protocol import N_, Protocol, StatementSpec
from delphi.services.analyse import LongRatings, arms_of
from delphi.services.csv_export import csv_text_by_column
from delphi.services.reports.stored import StoredRound, stored_rounds
from delphi.services.studies import study_protocol
from delphi.services.suppression import withheld_cells

# ``declined`` (issue 22, appended): true where the panellist chose "prefer not to answer" (the rating then empty).
# ``arm`` (issue 23, appended): the panellist's arm of a study within the study; empty without one, or when the
# panellist was not allocated (docs/experiments.md).
RATINGS_COLUMNS = ("round", "panellist", "group", "statement", "rating", "comment", "mode", "declined", "arm")
# How the answers came in (``Rating.mode``, ``Submission.mode``); a mode given by fewer than ``min_group_feedback``
# people in a round is withheld like a small group (with the next smallest), so that a phone or paper panellist's
# pseudonym cannot be told from the few the contacts side entered for.
MODE_WITHHELD = "withheld"


@dataclass(frozen=True)
class FlowRow:
    """One round x group of the participant flow (``group`` None: the whole panel)."""

    round: int
    group: str | None
    invited: int | None  # None: not known (ratings collected elsewhere)
    consented: int | None  # None when the study asks for no consent, or not known
    responded: int  # answered at least one statement
    submitted: int | None
    retained: int  # responded in this round and in the first rating round
    shown: bool = True  # False: fewer than the minimum responded (or withheld beside such a group); no count shown
    # The whole panel's row: how many sent the round by each mode ((mode, count), web first; a small mode's count is
    # None, withheld); None when not known (a ratings file) or on a group's row.
    submitted_by_mode: tuple[tuple[str, int | None], ...] | None = None


@dataclass(frozen=True)
class HistoryEvent:
    round: int | None  # None: before round 1
    event: str  # added, reworded, merged, carried forward, retired, dropped, ...: statements.csv's words (English)
    text: str
    reason: str = ""
    # What the report shows, in the language it is written in: the event's name, the other statement of a merge,
    # the wording before a rewording, or the verdict a round gave (Classification's value).
    name: str = ""
    other: str | None = None
    was: str | None = None
    verdict: str | None = None

    @property
    def label(self) -> str:
        """The event in the current language, for the report."""
        if self.verdict is not None:
            return _("rated: %(verdict)s", verdict=_(Classification(self.verdict).title))
        label = _(self.name) if self.name else self.event
        if self.other is not None:
            label += f" ({self.other})"
        if self.was is not None:
            label += " " + _("(was: %(text)s)", text=self.was)
        return label


@dataclass
class ReportSource:
    protocol: Protocol  # the locked settings, with every statement ever rated
    ratings_csv: str
    long: LongRatings
    from_study: bool
    locked_protocol: str | None = None
    flow: list[FlowRow] | None = None
    history: dict[str, list[HistoryEvent]] = field(default_factory=dict)
    statement_status: dict[str, str] = field(default_factory=dict)
    # (round, statement code) -> {scope: (n, n_unable)} as frozen when the round closed; None for a ratings file.
    # A withdrawal whose ratings the protocol deletes makes the figures now differ from those seen at the close.
    closed: dict[tuple[int, str], dict[str, tuple[int, int]]] | None = None
    # The figures stored at each round's close (``stored.py``): what every table of a study's report and downloads
    # shows. None for a ratings file, whose figures are computed from ``long``.
    stored: list[StoredRound] | None = None
    # Panellists' reasons for changing a rating: (round, pseudonym, group, statement code, reason), by round,
    # pseudonym and statement (never by time: docs/security.md, "Who can know what").
    reasons: list[tuple] = field(default_factory=list)
    # Issue 23: how many panellists the study allocated to each (arm, group), counted in the database, for the
    # CONSORT flow: an allocated panellist who never answered has no row in the ratings. None for a ratings file
    # (the allocated are then those with ratings, and the report says so).
    allocated: dict[tuple[str, str], int] | None = None


def _rating_rows(study: Study) -> list[tuple]:
    """Every answered rating of the study's closed rating rounds: (round, pseudonym, group, code, value, comment).

    Comment-only drafts (no value, not "unable to rate") are not ratings and are left out, as the round close leaves
    them out; open rounds are left out until they close."""
    query = _closed_ratings(study, Rating.value, Rating.comment, Rating.mode,
                            sa.case((Rating.declined, "true"), else_="false"),
                            sa.func.coalesce(Panellist.arm, ""))
    # The driver's own rows, plain tuples (no column here has a result processor): making a Row of each and copying it
    # into a tuple doubled the time on a million ratings (PostgreSQL 2.3 s against 1.1 s; SQLite 4.2 against 3.2 s).
    # Session.execute would have flushed first.
    db.session.flush()
    result = db.session.connection().execute(query)
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    withheld = _withheld_modes(study, Rating.__table__)
    if withheld:
        rows = [(*row[:6], MODE_WITHHELD, *row[7:]) if (row[0], row[6]) in withheld else row for row in rows]
    return rows


def _withheld_modes(study: Study, table) -> set[tuple[int, str]]:
    """(round number, mode) of the modes fewer than the minimum people used in a closed rating round (``table``:
    ratings or submissions), with the next smallest when those together are few (``withheld_cells``)."""
    counts: dict[int, dict[str, int]] = {}
    for number, mode, people in db.session.execute(
            sa.select(Round.number, table.c.mode, sa.func.count(sa.distinct(table.c.panellist_id)))
            .join(Round, Round.id == table.c.round_id)
            .where(Round.study_id == study.id, Round.status == RoundStatus.closed, Round.kind == RoundKind.rating)
            .group_by(Round.number, table.c.mode)):
        counts.setdefault(number, {})[mode.value if hasattr(mode, "value") else mode] = people
    return {(number, mode) for number, sizes in counts.items()
            for mode in withheld_cells(sizes, study.min_group_feedback).groups}


def _reason_rows(study: Study) -> list[tuple]:
    """Every reason given for changing a rating in the study's closed rating rounds, on the ratings that
    ``ratings.csv`` holds: (round, pseudonym, group, code, reason), by round, pseudonym and statement."""
    return [tuple(row) for row in db.session.execute(
        _closed_ratings(study, Rating.change_reason).where(Rating.change_reason != ""))]


def _closed_ratings(study: Study, *columns) -> sa.Select:
    """(round, pseudonym, group, code, *columns) of every answered rating (a value, "unable to rate" or "prefer not
    to answer") of the
    study's closed rating rounds, by round, pseudonym and the statement's position: the rows ``ratings.csv`` holds."""
    return (
        sa.select(Round.number, Panellist.pseudonym, StakeholderGroup.key, Statement.code, *columns)
        .join(Round, Round.id == Rating.round_id)
        .join(Panellist, Panellist.id == Rating.panellist_id)
        .join(StakeholderGroup, StakeholderGroup.id == Panellist.group_id)
        .join(Statement, Statement.id == Rating.statement_id)
        .join(RoundStatement, sa.and_(RoundStatement.round_id == Rating.round_id,
                                      RoundStatement.statement_id == Rating.statement_id))
        .where(Round.study_id == study.id, Round.status == RoundStatus.closed, Round.kind == RoundKind.rating,
               sa.or_(Rating.value.is_not(None), Rating.unable_to_rate, Rating.declined))
        .order_by(Round.number, Panellist.pseudonym, RoundStatement.position)
    )


def closed_sizes(study: Study) -> dict[tuple[int, str], dict[str, tuple[int, int]]]:
    """The number of ratings and of "unable to rate" answers per round, statement and scope, as frozen at each close
    (``RoundResult``): what the review page and panellists' feedback showed."""
    sizes: dict[tuple[int, str], dict[str, tuple[int, int]]] = {}
    for number, code, scope, n, n_unable in db.session.execute(
            sa.select(Round.number, Statement.code, RoundResult.scope, RoundResult.n, RoundResult.n_unable)
            .join(Round, Round.id == RoundResult.round_id).join(Statement, Statement.id == RoundResult.statement_id)
            .where(Round.study_id == study.id)):
        sizes.setdefault((number, code), {})[scope] = (n, n_unable)
    return sizes


def ratings_csv_text(rows) -> str:
    """The long-format ratings file of ``protocol.md`` with a ``comment`` column."""
    return csv_text_by_column(RATINGS_COLUMNS, rows)


def analysis_protocol(study: Study) -> Protocol:
    """The study's settings (locked at round 1, so unchanged since) with every statement that was ever in a round,
    in study order: what ``delphi analyse`` needs to read the exported ratings back."""
    protocol = study_protocol(study)
    rated = {rs.statement_id for r in study.rounds for rs in r.statements}
    statements = tuple(StatementSpec(s.code, s.domain, s.text) for s in study.statements
                       if s.id in rated or s.status.value == "active")
    return replace(protocol, statements=statements)


def long_from_rows(rows, protocol: Protocol) -> LongRatings:
    """The rows of :func:`_rating_rows` as the matrices that ``delphi analyse`` reads from the same rows written out
    as ``ratings.csv`` (panellists sorted by pseudonym, statements in protocol order, "unable to rate" where the value
    is empty), built straight from the database rows with numpy, without writing and parsing text."""
    if not rows:
        return empty_ratings(protocol)
    codes = [s.code for s in protocol.statements]
    column_of = {code: j for j, code in enumerate(codes)}
    rounds = tuple(sorted({r[0] for r in rows}))
    group_of = {r[1]: r[2] for r in rows}
    panellists = tuple(sorted(group_of))
    row_of = {name: i for i, name in enumerate(panellists)}
    round_at = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    row_at = np.fromiter((row_of[r[1]] for r in rows), dtype=np.intp, count=len(rows))
    column_at = np.fromiter((column_of[r[3]] for r in rows), dtype=np.intp, count=len(rows))
    value_at = np.fromiter((np.nan if r[4] is None else r[4] for r in rows), dtype=float, count=len(rows))
    declined_at = np.fromiter((r[7] == "true" for r in rows), dtype=bool, count=len(rows))
    shape = (len(panellists), len(codes))
    ratings, unable, declined = {}, {}, {}
    for k in rounds:
        chosen = round_at == k
        ratings[k] = np.full(shape, np.nan)
        ratings[k][row_at[chosen], column_at[chosen]] = value_at[chosen]
        unable[k] = np.zeros(shape, dtype=bool)
        unable[k][row_at[chosen], column_at[chosen]] = np.isnan(value_at[chosen]) & ~declined_at[chosen]
        declined[k] = np.zeros(shape, dtype=bool)
        declined[k][row_at[chosen], column_at[chosen]] = declined_at[chosen]
    arm_of = {r[1]: r[8] or None for r in rows} if len(rows[0]) > 8 else {}
    return LongRatings(rounds=rounds, panellists=panellists, groups=np.array([group_of[p] for p in panellists],
                                                                               dtype=object),
                       statements=tuple(codes), ratings=ratings, unable=unable, declined=declined,
                       arms=arms_of(panellists, arm_of))


def source_from_study(study: Study) -> ReportSource:
    """A study's source: its ratings straight from the database (as the round close loads them) and the figures
    stored at each close, which every table shows."""
    protocol = analysis_protocol(study)
    rows = _rating_rows(study)
    text = ratings_csv_text(rows)
    long = long_from_rows(rows, protocol)
    del rows
    keys = [g.key for g in protocol.groups]
    return ReportSource(protocol=protocol, ratings_csv=text, long=long, from_study=True,
                        locked_protocol=study.locked_protocol, flow=participant_flow(study, long),
                        history=item_history(study),
                        statement_status={s.code: s.status.value for s in study.statements},
                        closed=closed_sizes(study),
                        stored=stored_rounds(study, [s.code for s in protocol.statements], keys),
                        reasons=_reason_rows(study), allocated=_allocated(study))


def _allocated(study: Study) -> dict[tuple[str, str], int] | None:
    """(arm, group key) -> panellists allocated there, withdrawn or not (CONSORT counts everyone allocated)."""
    if study.experiment is None:
        return None
    return {(arm, key): n for arm, key, n in db.session.execute(
        sa.select(Panellist.arm, StakeholderGroup.key, sa.func.count(Panellist.id))
        .join(StakeholderGroup, StakeholderGroup.id == Panellist.group_id)
        .where(Panellist.study_id == study.id, Panellist.arm.is_not(None))
        .group_by(Panellist.arm, StakeholderGroup.key))}


def source_from_ratings(long: LongRatings, protocol: Protocol, ratings_csv: str = "") -> ReportSource:
    return ReportSource(protocol=protocol, ratings_csv=ratings_csv, long=long, from_study=False,
                        flow=responders_flow(long, protocol))


def _responders(long: LongRatings) -> dict[int, set[str]]:
    return {k: {long.panellists[i] for i in np.flatnonzero(
        (~np.isnan(long.ratings[k]) | long.unable[k] | long.declined_in(k)).any(axis=1))} for k in long.rounds}


def responders_flow(long: LongRatings, protocol: Protocol) -> list[FlowRow]:
    """The flow a ratings file can tell: who responded in each round, and who of them had responded in the first."""
    responders = _responders(long)
    first = responders[long.rounds[0]] if long.rounds else set()
    group_of = dict(zip(long.panellists, long.groups))
    rows = []
    for k in long.rounds:
        for key in [g.key for g in protocol.groups] + [None]:
            answered = {p for p in responders[k] if key is None or group_of[p] == key}
            rows.append(FlowRow(k, key, None, None, len(answered), None, len(answered & first)))
    return withhold_small_flow(rows, protocol.min_group_feedback)


def withhold_small_flow(rows: list[FlowRow], minimum: int) -> list[FlowRow]:
    """The flow with each round's groups of fewer than ``minimum`` responders withheld (and their complement, and
    the whole panel's row when it is that small): :func:`delphi.services.suppression.withheld_cells` on the numbers
    who responded."""
    out = []
    for k in sorted({row.round for row in rows}):
        this_round = [row for row in rows if row.round == k]
        withheld = withheld_cells({row.group: row.responded for row in this_round if row.group is not None}, minimum)
        out.extend(replace(row, invited=None, consented=None, responded=0, submitted=None, retained=0, shown=False,
                           submitted_by_mode=None)
                   if (row.group in withheld if row.group is not None else withheld.overall) else row
                   for row in this_round)
    return out


def empty_ratings(protocol: Protocol) -> LongRatings:
    return LongRatings(rounds=(), panellists=(), groups=np.array([], dtype=object),
                       statements=tuple(s.code for s in protocol.statements), ratings={}, unable={})


def participant_flow(study: Study, long: LongRatings) -> list[FlowRow]:
    """Invited, consented, responded, submitted and retained per closed rating round, per group and overall."""
    panellists = db.session.scalars(sa.select(Panellist).where(Panellist.study_id == study.id)).all()
    group_of = {p.pseudonym: (p.group.key if p.group else None) for p in panellists}
    submitted = db.session.execute(
        sa.select(Round.number, Panellist.pseudonym).select_from(Submission).join(Round, Round.id == Submission.round_id)
        .join(Panellist, Panellist.id == Submission.panellist_id).where(Round.study_id == study.id)
    ).all()
    asks_consent = bool(study.consent_text.strip())
    by_mode: dict[int, dict[str, int]] = {}
    for number, mode, people in db.session.execute(
            sa.select(Round.number, Submission.mode, sa.func.count(Submission.id))
            .join(Round, Round.id == Submission.round_id).where(Round.study_id == study.id)
            .group_by(Round.number, Submission.mode)):
        by_mode.setdefault(number, {})[mode.value] = people
    withheld_modes = _withheld_modes(study, Submission.__table__)
    responders = _responders(long)
    first = responders[long.rounds[0]] if long.rounds else set()
    rows = []
    for round_ in study.rounds:
        if round_.kind is not RoundKind.rating or round_.status is not RoundStatus.closed:
            continue
        k = round_.number
        invited = [p for p in panellists if round_.closed_at is None or p.created_at <= round_.closed_at]
        for key in [g.key for g in study.groups] + [None]:
            members = [p for p in invited if key is None or group_of[p.pseudonym] == key]
            names = {p.pseudonym for p in members}
            answered = responders.get(k, set()) & names
            rows.append(FlowRow(
                round=k, group=key, invited=len(members),
                consented=sum(p.has_consented for p in members) if asks_consent else None,
                responded=len(answered),
                submitted=sum(1 for number, name in submitted if number == k and name in names),
                retained=len(answered & first),
                submitted_by_mode=None if key is not None else tuple(
                    (mode.value, None if (k, mode.value) in withheld_modes else by_mode[k][mode.value])
                    for mode in EntryMode if by_mode.get(k, {}).get(mode.value))))
    return withhold_small_flow(rows, study.min_group_feedback)


# statements.csv's words (English there); the report translates them (HistoryEvent.label), as the staff pages do.
EVENT_NAMES = {
    RevisionKind.created: N_("added by the study team"),
    RevisionKind.from_open_answers: N_("written from open answers"),
    RevisionKind.from_suggestion: N_("added from a panellist's suggestion"), RevisionKind.reworded: N_("reworded"),
    RevisionKind.merged: N_("merged with another statement"),
    RevisionKind.merged_into: N_("merged into another statement"),
    RevisionKind.carried_forward: N_("carried forward"), RevisionKind.retired: N_("retired"),
    RevisionKind.dropped: N_("dropped"), RevisionKind.reinstated: N_("reinstated"),
    RevisionKind.correction: N_("typo corrected in the open round"),
    RevisionKind.translated: N_("translation changed"),
}


def item_history(study: Study) -> dict[str, list[HistoryEvent]]:
    """Each statement's history by code: its revisions (with the other statement of a merge) and, per round, what
    the round decided."""
    history: dict[str, list[HistoryEvent]] = {}
    decided = {}
    for round_ in study.rounds:
        for rs in round_.statements:
            if rs.classification is not None:
                decided.setdefault(rs.statement_id, []).append((round_.number, rs))
    for statement in study.statements:
        events = []
        for revision in statement.revisions:
            name = EVENT_NAMES.get(revision.kind, revision.kind.value)
            other = revision.source_statement.code if revision.source_statement is not None else None
            event = name + (f" ({other})" if other is not None else "")
            if revision.previous_text is not None:
                event += f" (was: {revision.previous_text})"
            events.append(HistoryEvent(revision.round_number, event, revision.text, revision.reason, name=name,
                                       other=other, was=revision.previous_text))
        for number, rs in decided.get(statement.id, []):
            verdict = (rs.classification or Classification.none).title
            events.append(HistoryEvent(number, f"rated: {verdict}", rs.text, rs.decision_reason,
                                       verdict=(rs.classification or Classification.none).value))
        events.sort(key=lambda e: (e.round or 0, not e.event.startswith(("added", "written", "reworded", "merged",
                                                                           "carried", "reinstated"))))
        history[statement.code] = events
    return history
