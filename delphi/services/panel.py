"""Panellists: pseudonyms, personal links and their tokens."""
from __future__ import annotations

import hashlib
import hmac
import secrets

import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Contact, Panellist, StakeholderGroup, Study, utcnow

# Pseudonyms avoid letters and digits that are easily confused when read aloud or on paper.
_PSEUDONYM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
TOKEN_BYTES = 24  # 192 bits


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
