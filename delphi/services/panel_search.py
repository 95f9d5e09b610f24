"""The panel as the facilitator sees it: a page of panellists at a time, found by part of a pseudonym or an e-mail
address."""
from __future__ import annotations

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import selectinload

from delphi.db import contains_pattern
from delphi.extensions import db
from delphi.models import Contact, Panellist, Study

PAGE_SIZE = 100  # panellists a page: a national panel is thousands, on one page 2 MB and seconds to build
MAX_SEARCH = 200


def panel_page(study: Study, number: int = 1, search: str = "") -> Pagination:
    """A page of the panel: panellists in the order they were added, ``PAGE_SIZE`` a page (a page past the end gives
    the last), those whose pseudonym or e-mail address contains ``search`` when it is given (case aside, wildcards
    taken as themselves). ``total`` counts the panellists found. Contacts and groups are loaded with the page (not one
    query per panellist)."""
    search = (search or "").strip()[:MAX_SEARCH]
    select = (sa.select(Panellist).where(Panellist.study_id == study.id).order_by(Panellist.id)
              .options(selectinload(Panellist.contact), selectinload(Panellist.group)))
    if search:
        pattern = contains_pattern(search.lower())
        select = select.where(sa.or_(
            sa.func.lower(Panellist.pseudonym).like(pattern, escape="\\"),
            Panellist.id.in_(sa.bindparam("email_matches", email_matches(study, search), expanding=True,
                                          literal_execute=True))))
    page = db.paginate(select, page=max(number, 1), per_page=PAGE_SIZE, max_per_page=PAGE_SIZE, error_out=False)
    if not page.items and page.page > 1:
        page = db.paginate(select, page=max(page.pages, 1), per_page=PAGE_SIZE, max_per_page=PAGE_SIZE,
                           error_out=False)
    return page


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
    """How many panellists the study has, withdrawn ones included."""
    return db.session.scalar(sa.select(sa.func.count(Panellist.id)).where(Panellist.study_id == study.id))
