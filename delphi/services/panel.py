"""Panellists: pseudonyms, personal links and their tokens."""
from __future__ import annotations

import hashlib
import hmac
import secrets

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import selectinload

from delphi.db import contains_pattern
from delphi.extensions import db
from delphi.models import Contact, Panellist, StakeholderGroup, Study, utcnow

# Pseudonyms avoid letters and digits that are easily confused when read aloud or on paper.
_PSEUDONYM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
TOKEN_BYTES = 24  # 192 bits
PAGE_SIZE = 100  # panellists a page: a national panel is thousands, on one page 2 MB and seconds to build
MAX_SEARCH = 200


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """Tokens carry 192 random bits, so a fast hash is enough: no dictionary can reach them."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_pseudonym() -> str:
    """A pseudonym never used before in any study (checked against the database)."""
    while True:
        candidate = "P-" + "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(8))
        exists = db.session.scalar(sa.select(Panellist.id).where(Panellist.pseudonym == candidate))
        if exists is None:
            return candidate


def add_panellist(study: Study, group: StakeholderGroup | None, email: str | None = None) -> tuple[Panellist, str]:
    """Add a panellist with a fresh personal link; returns the panellist and the token (shown once, never stored)."""
    if group is not None and group.study_id != study.id:
        raise ValueError("the group belongs to another study")
    token = new_token()
    panellist = Panellist(group=group, pseudonym=new_pseudonym(), token_hash=hash_token(token))
    study.panellists.append(panellist)
    if email:
        panellist.contact = Contact(email=email.strip())
    db.session.add(panellist)
    db.session.flush()
    return panellist, token


def reissue_token(panellist: Panellist) -> str:
    token = new_token()
    panellist.token_hash = hash_token(token)
    return token


def revoke_token(panellist: Panellist) -> None:
    panellist.token_hash = None


def find_by_token(token: str) -> Panellist | None:
    """The active panellist whose link carries ``token``, or None (unknown, revoked or withdrawn alike)."""
    if not token or len(token) > 200:
        return None
    digest = hash_token(token)
    panellist = db.session.scalar(sa.select(Panellist).where(Panellist.token_hash == digest))
    if panellist is None or panellist.token_hash is None:
        return None
    # The lookup is by an index on the hash; compare again in constant time so the answer's timing says nothing.
    if not hmac.compare_digest(panellist.token_hash, digest) or panellist.withdrawn:
        return None
    return panellist


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
            Panellist.contact.has(sa.func.lower(Contact.email).like(pattern, escape="\\"))))
    page = db.paginate(select, page=max(number, 1), per_page=PAGE_SIZE, max_per_page=PAGE_SIZE, error_out=False)
    if not page.items and page.page > 1:
        page = db.paginate(select, page=max(page.pages, 1), per_page=PAGE_SIZE, max_per_page=PAGE_SIZE,
                           error_out=False)
    return page


def panel_size(study: Study) -> int:
    """How many panellists the study has, withdrawn ones included."""
    return db.session.scalar(sa.select(sa.func.count(Panellist.id)).where(Panellist.study_id == study.id))


def withdraw_panellist(panellist: Panellist) -> None:
    """Withdraw a panellist: the link stops working, contact details are erased, and ratings, comments and open
    answers are deleted or kept (anonymous) as the study's protocol says."""
    from delphi.models import OpenAnswer, Rating, Submission, Suggestion, WithdrawalPolicy

    panellist.withdrawn = True
    panellist.withdrawn_at = utcnow()
    panellist.token_hash = None
    panellist.contact = None
    db.session.execute(sa.update(Suggestion).where(Suggestion.panellist_id == panellist.id).values(panellist_id=None))
    if panellist.study.withdrawal_policy is WithdrawalPolicy.delete:
        for model in (Rating, Submission, OpenAnswer):
            db.session.execute(sa.delete(model).where(model.panellist_id == panellist.id))
    db.session.flush()
