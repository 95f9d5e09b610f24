"""Panellists' requests, from their own link, to have their data deleted: tasks for the contacts side.

A request names the contact (``contact #N``), never a pseudonym or an answer; owners and facilitators see it on the
panel page and act on it with the erase and withdraw actions that already exist, which delete it. Withdrawing (by
the link or at a request) deletes the contact, and the request with it.
"""
from __future__ import annotations

import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Contact, DeletionRequest, DeletionScope, Panellist, Study, utcnow
from delphi.services import audit


def request_deletion(panellist: Panellist, scope: DeletionScope) -> DeletionRequest:
    """Record that ``panellist`` asked for their contact details (``contact``) or their answers and contact details
    (``answers``) to be deleted. Asked again, the request keeps the wider scope and the new date. Audited by the
    contact's number, with no actor (the panellist asked)."""
    from delphi.services.invitations import contact_ref

    contact = panellist.contact
    if contact is None:  # every panellist still in a study has a contact row (migration 0007)
        raise ValueError("a panellist without a contact row cannot ask for deletion")
    request = contact.deletion_requests[0] if contact.deletion_requests else None
    if request is None:
        request = DeletionRequest(study_id=panellist.study_id, scope=scope)
        contact.deletion_requests.append(request)
    elif scope is DeletionScope.answers:
        request.scope = scope
    request.requested_at = utcnow()
    audit.record("panel.deletion_request", study=panellist.study, target=contact_ref(contact),
                 scope=request.scope.value)
    db.session.flush()
    return request


def asked_to_delete_answers(panellist: Panellist) -> bool:
    """Whether the panellist has asked for their answers to be deleted (leaving by their link then deletes them)."""
    contact = panellist.contact
    return contact is not None and any(r.scope is DeletionScope.answers for r in contact.deletion_requests)


def open_requests(study: Study) -> list[DeletionRequest]:
    """The study's requests not yet acted on, oldest first (the panel page's task list)."""
    return list(db.session.scalars(
        sa.select(DeletionRequest).where(DeletionRequest.study_id == study.id)
        .order_by(DeletionRequest.requested_at, DeletionRequest.id)))


def contact_details_erased(contact_ids) -> None:
    """Contact details were erased (``contact_ids``: ids, or a select of them): requests for just that are done;
    requests for answers wait for a withdrawal."""
    db.session.execute(sa.delete(DeletionRequest).where(DeletionRequest.contact_id.in_(contact_ids),
                                                        DeletionRequest.scope == DeletionScope.contact)
                       .execution_options(synchronize_session=False))
    for loaded in list(db.session.identity_map.values()):
        if isinstance(loaded, Contact):
            db.session.expire(loaded, ["deletion_requests"])
