"""The panel as the contacts side sees it: a page of contacts at a time, found by part of an e-mail address, with
whether each has sent the open round. Never a pseudonym: the contacts side names a person by their contact number."""
from __future__ import annotations

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import selectinload

from delphi.extensions import db
from delphi.models import Contact, Panellist, Round, Study, Submission

PAGE_SIZE = 100  # contacts a page: a national panel is thousands, on one page 2 MB and seconds to build
MAX_SEARCH = 200


def panel_page(study: Study, number: int = 1, search: str = "") -> Pagination:
    """A page of the study's contacts (panellists still in the study): in the order they were added, ``PAGE_SIZE`` a
    page (a page past the end gives the last), those whose e-mail address contains ``search`` when it is given (case
    aside, wildcards taken as themselves). ``total`` counts the contacts found. Panellists and their groups are
    loaded with the page (not one query per contact)."""
    search = (search or "").strip()[:MAX_SEARCH]
    select = (sa.select(Contact).join(Panellist, Panellist.id == Contact.panellist_id)
              .where(Panellist.study_id == study.id, Panellist.withdrawn.is_(False)).order_by(Contact.id)
              .options(selectinload(Contact.panellist).selectinload(Panellist.group)))
    if search:
        select = select.where(Contact.panellist_id.in_(
            sa.bindparam("email_matches", email_matches(study, search), expanding=True, literal_execute=True)))
    page = db.paginate(select, page=max(number, 1), per_page=PAGE_SIZE, max_per_page=PAGE_SIZE, error_out=False)
    if not page.items and page.page > 1:
        page = db.paginate(select, page=max(page.pages, 1), per_page=PAGE_SIZE, max_per_page=PAGE_SIZE,
                           error_out=False)
    return page


def submitted_among(contacts: list[Contact], round_: Round | None) -> set[int]:
    """The ids of those ``contacts`` who have sent ``round_`` (none without a round): what a reminder needs."""
    if round_ is None or not contacts:
        return set()
    return set(db.session.scalars(
        sa.select(Contact.id).join(Submission, Submission.panellist_id == Contact.panellist_id)
        .where(Submission.round_id == round_.id, Contact.id.in_([c.id for c in contacts]))))


def email_matches(study: Study, search: str) -> list[int]:
    """Ids of the study's panellists whose e-mail address contains ``search`` (case aside).

    Addresses are stored encrypted, so the database cannot search them: the study's addresses are read and opened
    here, in memory, and dropped when the request ends. 5,000 addresses take about 0.1 s on one core (see
    docs/performance.md); an exact address could be found by its blind index instead, but a facilitator often
    remembers only part of one."""
    needle = search.lower()
    rows = db.session.execute(sa.select(Contact.panellist_id, Contact.email).join(Panellist)
                              .where(Panellist.study_id == study.id, Contact.email.is_not(None)))
    return [panellist_id for panellist_id, email in rows if needle in email.lower()]


def panel_size(study: Study) -> int:
    """How many people are on the study's contacts side: panellists still in the study."""
    return db.session.scalar(sa.select(sa.func.count(Panellist.id)).where(
        Panellist.study_id == study.id, Panellist.withdrawn.is_(False)))


def withdrawn_count(study: Study) -> int:
    """How many panellists have left the study (their contact details are erased)."""
    return db.session.scalar(sa.select(sa.func.count(Panellist.id)).where(
        Panellist.study_id == study.id, Panellist.withdrawn.is_(True)))
