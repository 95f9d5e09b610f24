"""Panellists: pseudonyms, personal links and their tokens."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm.attributes import set_committed_value

from delphi.contact_cipher import email_index
from delphi.extensions import db
from delphi.models import Contact, Panellist, StakeholderGroup, Study, utcnow

# Pseudonyms avoid letters and digits that are easily confused when read aloud or on paper.
_PSEUDONYM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
TOKEN_BYTES = 24  # 192 bits


def new_token() -> str:
    """A random token of the same strength (benchmarks and tests seed links in bulk with these)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def link_token(panellist: Panellist) -> str:
    """The token of the panellist's link in its current generation: HMAC-SHA-256 under a key derived from the app's
    secret key, cut to ``TOKEN_BYTES``.

    Derived rather than random and stored, so that a reminder resends the very link in the panellist's inbox (a new
    link on every reminder broke the old one, and the session of anyone half-way through a page) while the database
    keeps only the token's hash: a copy of the database alone cannot rebuild any link. docs/security.md says why.
    """
    key = hmac.new(current_app.config["SECRET_KEY"].encode(), b"delphi personal link v1", hashlib.sha256).digest()
    message = f"{panellist.id}.{panellist.link_generation}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:TOKEN_BYTES]
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def current_link_token(panellist: Panellist) -> str | None:
    """The token of the panellist's working link, or None when there is none to resend: revoked, withdrawn, made
    before links were derived (a random token), or made under another secret key."""
    if panellist.token_hash is None or panellist.withdrawn:
        return None
    token = link_token(panellist)
    return token if hmac.compare_digest(hash_token(token), panellist.token_hash) else None


def hash_token(token: str) -> str:
    """Tokens carry 192 random bits, so a fast hash is enough: no dictionary can reach them."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_pseudonyms(count: int) -> list[str]:
    """``count`` different pseudonyms never used before in any study (checked against the database in one query a
    thousand, however many are asked for)."""
    chosen: list[str] = []
    while len(chosen) < count:
        candidates = list({_random_pseudonym() for _ in range(count - len(chosen))} - set(chosen))
        taken = set()
        for start in range(0, len(candidates), 1000):
            taken.update(db.session.scalars(sa.select(Panellist.pseudonym).where(
                Panellist.pseudonym.in_(candidates[start:start + 1000]))))
        chosen.extend(c for c in candidates if c not in taken)
    return chosen


def _random_pseudonym() -> str:
    return "P-" + "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(8))


def add_panellists(study: Study, people: list[tuple[StakeholderGroup | None, str | None, str | None]]
                   ) -> list[tuple[Panellist, str]]:
    """Add a panellist with a fresh personal link for each ``(group, email, phone)``; returns each panellist with the
    token of their link (shown once, never stored).

    Three bulk statements, whatever the number of people: the panellists (their ids come back with them), their
    contact rows, and the hashes of their links (derived from the ids). The unit of work's per-object bookkeeping took
    1.9-3.2 s of a contacts file of 5,000 people (benchmarks/bench_contacts.py); docs/performance.md has the figures."""
    if any(group is not None and group.study_id != study.id for group, _, _ in people):
        raise ValueError("the group belongs to another study")
    if not people:
        return []
    db.session.flush()  # anything pending first: the bulk statements below bypass the unit of work
    created = utcnow()
    rows = [{"study_id": study.id, "group_id": None if group is None else group.id, "pseudonym": pseudonym,
             "link_generation": 0, "withdrawn": False, "created_at": created}
            for (group, _email, _phone), pseudonym in zip(people, new_pseudonyms(len(people)))]
    # ORM bulk INSERT .. RETURNING: the new panellists as objects, in the order of ``rows``.
    panellists = list(db.session.scalars(sa.insert(Panellist).returning(Panellist, sort_by_parameter_order=True),
                                         rows))
    contacts = []
    for panellist, (_group, email, phone) in zip(panellists, people):
        # Every panellist has a contact row, addresses or not: the contacts side names a person by it
        # ("contact #12"), never by the pseudonym.
        email, phone = (email or "").strip() or None, (phone or "").strip() or None
        contacts.append({"panellist_id": panellist.id, "email": email, "email_index": email_index(study.id, email),
                         "phone": phone})
    db.session.execute(sa.insert(Contact), contacts)
    contact_of = {contact.panellist_id: contact for contact in db.session.scalars(
        sa.select(Contact).where(Contact.panellist_id.in_([p.id for p in panellists])))}
    added = [(panellist, link_token(panellist)) for panellist in panellists]
    db.session.execute(sa.update(Panellist), [{"id": panellist.id, "token_hash": hash_token(token)}
                                              for panellist, token in added])
    # The objects returned stand for the rows as they now are, without a query each when read.
    for panellist, token in added:
        contact = contact_of[panellist.id]
        set_committed_value(panellist, "token_hash", hash_token(token))
        set_committed_value(panellist, "contact", contact)
        set_committed_value(contact, "panellist", panellist)
    if "panellists" not in sa.inspect(study).unloaded:
        db.session.expire(study, ["panellists"])
    return added


def add_panellist(study: Study, group: StakeholderGroup | None, email: str | None = None,
                  phone: str | None = None) -> tuple[Panellist, str]:
    """Add one panellist with a fresh personal link; returns the panellist and the token."""
    return add_panellists(study, [(group, email, phone)])[0]


def reissue_token(panellist: Panellist) -> str:
    """A new link for the panellist (the next generation); the previous one stops working."""
    panellist.link_generation += 1
    token = link_token(panellist)
    panellist.token_hash = hash_token(token)
    return token


def revoke_token(panellist: Panellist) -> None:
    """The link stops working; the generation moves on, so a later reissue never brings the revoked link back."""
    panellist.token_hash = None
    panellist.link_generation += 1


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


def withdraw_panellist(panellist: Panellist, erase_answers: bool = False) -> None:
    """Withdraw a panellist: the link stops working, contact details are erased, and ratings, comments and open
    answers are deleted or kept (anonymous) as the study's protocol says; deleted whatever it says with
    ``erase_answers`` (the panellist asked for their answers to be erased)."""
    from delphi.models import OpenAnswer, Rating, Submission, Suggestion, WithdrawalPolicy

    panellist.withdrawn = True
    panellist.withdrawn_at = utcnow()
    panellist.token_hash = None
    panellist.contact = None
    db.session.execute(sa.update(Suggestion).where(Suggestion.panellist_id == panellist.id).values(panellist_id=None))
    if erase_answers or panellist.study.withdrawal_policy is WithdrawalPolicy.delete:
        from delphi.services.reports.builds import purge_builds

        for model in (Rating, Submission, OpenAnswer):
            db.session.execute(sa.delete(model).where(model.panellist_id == panellist.id))
        purge_builds(panellist.study_id)  # no kept download may keep their answers either
    db.session.flush()
