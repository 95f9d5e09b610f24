"""Building the panel: panellists from a contacts CSV or one by one, their personal links, who is invited or reminded,
and the contacts-side files (links, non-completers). Tokens are never stored: a link is derived again from the
server key whenever it is sent (services/panel.py), so the same link goes out until staff revoke or reissue it. Mail
itself goes through the outbox (services/outbox.py)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager, selectinload

from delphi.contact_cipher import email_index
from delphi.errors import InputErrors, Problem
from delphi.extensions import db
from delphi.localised import localise
from delphi.links import panel_link
from delphi.models import Contact, MailKind, Panellist, Round, StaffUser, Study, Submission, WithdrawalPolicy
from delphi.services import audit
from delphi.services.csv_import import read_rows
from delphi.services.outbox import pending_recipients
from delphi.services.panel import (
    add_panellists, current_link_token, reissue_token, revoke_token, withdraw_panellist,
)
from delphi.services.statements import write_csv

EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")
MAX_CONTACT_ROWS = 5000
KINDS = ("invitation", "reminder")
PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{3,38}[0-9]$")


class ContactsError(InputErrors):
    """A contacts CSV that cannot be added; each problem names its line when it has one."""


@dataclass(frozen=True)
class ContactRow:
    line: int
    group_key: str
    email: str | None
    phone: str | None = None


@dataclass(frozen=True)
class NewLink:
    panellist: Panellist
    token: str


def link_for(token: str) -> str:
    """The panellist's personal link, on PUBLIC_URL (never on the request's host: delphi/links.py)."""
    return panel_link(token)


def check_email(email: str) -> str | None:
    """The address trimmed, or None when it is not one."""
    email = (email or "").strip()
    return email if EMAIL.match(email) and len(email) <= 320 else None


def check_phone(phone: str) -> str | None:
    """The number trimmed, or None when it is not one (digits, spaces, +, -, brackets; 5 to 40 characters)."""
    phone = (phone or "").strip()
    return phone if PHONE.match(phone) and sum(c.isdigit() for c in phone) >= 5 else None


def parse_contacts_csv(content: str, study: Study) -> list[ContactRow]:
    """Read ``group[,email[,phone]]`` rows (a header row is optional); raises ContactsError naming every bad line.

    Many service users have no e-mail: a phone number alone, or nothing, is fine (they are reached by text, letter
    or a call, from the non-completers list)."""
    rows = read_rows(content, ContactsError)
    start = 1
    if rows and rows[0] and rows[0][0].strip().lower() == "group":
        rows, start = rows[1:], 2
    if len(rows) > MAX_CONTACT_ROWS:
        raise ContactsError([_("the file has %(count)s rows; add at most %(limit)s at a time", count=len(rows),
                               limit=MAX_CONTACT_ROWS)])
    keys = {g.key for g in study.groups}
    errors, parsed, seen = [], [], set()
    for line, cells in enumerate(rows, start=start):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > 3:
            errors.append(Problem(_("line %(line)s: expected 1 to 3 columns (group, email, phone), found %(count)s",
                                    line=line, count=len(cells)), line=line))
            continue
        key = cells[0].strip()
        raw_email = cells[1].strip() if len(cells) >= 2 else ""
        raw_phone = cells[2].strip() if len(cells) == 3 else ""
        phone = check_phone(raw_phone) if raw_phone else None
        if raw_phone and phone is None:
            errors.append(Problem(_("line %(line)s: %(phone)s is not a phone number", line=line,
                                    phone=repr(raw_phone)), line=line))
        if key not in keys:
            errors.append(Problem(_("line %(line)s: %(key)s is not a group of this study (groups: %(groups)s)",
                                    line=line, key=repr(key), groups=", ".join(sorted(keys))), line=line))
        email = check_email(raw_email) if raw_email else None
        if raw_email and email is None:
            errors.append(Problem(_("line %(line)s: %(email)s is not an email address", line=line,
                                    email=repr(raw_email)), line=line))
        elif email and email.lower() in seen:
            errors.append(Problem(_("line %(line)s: %(email)s is listed twice", line=line, email=email), line=line))
        if email:
            seen.add(email.lower())
        parsed.append(ContactRow(line, key, email, phone))
    if not parsed and not errors:
        errors.append(_("the file lists nobody"))
    if errors:
        raise ContactsError(errors)
    return parsed


def add_panel(study: Study, rows: list[ContactRow], actor: StaffUser | None) -> list[NewLink]:
    """Add a panellist for each row; :class:`ContactsError` (on the ``email`` field, naming each line) when an
    address is already on the study's panel, and then nobody is added."""
    already = already_on_panel(study, [row.email for row in rows])
    if already:
        raise ContactsError([
            Problem(_("line %(line)s: %(email)s is already on this study's panel", line=row.line, email=row.email)
                    if row.line else _("%(email)s is already on this study's panel", email=row.email),
                    field="email", line=row.line or None)
            for row in rows if row.email and email_index(study.id, row.email) in already])
    links = [NewLink(panellist, token) for panellist, token in add_panellists(
        study, [(study.group_by_key(row.group_key), row.email, row.phone) for row in rows])]
    audit.record("panel.add", study=study, actor=actor, target=f"study {study.id}", count=len(links))
    return links


def already_on_panel(study: Study, emails: list[str | None]) -> set[str]:
    """The blind indexes of those ``emails`` that a panellist of the study already has (addresses are stored
    encrypted, so they are found by their index, never compared in the database)."""
    indexes = {email_index(study.id, email) for email in emails} - {None}
    if not indexes:
        return set()
    return set(db.session.scalars(
        sa.select(Contact.email_index).join(Panellist)
        .where(Panellist.study_id == study.id, Contact.email_index.in_(sorted(indexes)))))


def links_csv(links: list[NewLink]) -> str:
    """``group,email,link`` (spec/cli.md): for a mail merge, a letter or a text; never the pseudonym, which is on the
    data side only."""
    return write_csv(["group", "email", "link"],
                     [[_group_key(n.panellist), _email(n.panellist) or "", link_for(n.token)] for n in links])


def contact_ref(contact: Contact) -> str:
    """How the contacts side and its audit entries name a person: by the contact's number, never the pseudonym."""
    return f"contact #{contact.id}"


def non_completers_csv(study: Study, round_: Round, actor: StaffUser | None) -> str:
    """``group,email,phone,link`` of everyone still in the study who has not submitted the round, for text
    messages, letters and phone calls (contacts side only: no pseudonym). A link that cannot be rebuilt (made before
    links were derived) or was revoked is left empty: staff give that person a new one from the panel page."""
    rows = []
    for panellist in non_completers(study, round_):
        contact = panellist.contact
        token = current_link_token(panellist)
        rows.append([_group_key(panellist), (contact.email or "") if contact else "",
                     (contact.phone or "") if contact else "", link_for(token) if token else ""])
    audit.record("panel.export_non_completers", study=study, actor=actor, target=f"round {round_.number}",
                 count=len(rows))
    db.session.flush()
    return write_csv(["group", "email", "phone", "link"], rows)


def _group_key(panellist: Panellist) -> str:
    return panellist.group.key if panellist.group else ""


def _email(panellist: Panellist) -> str | None:
    return panellist.contact.email if panellist.contact and panellist.contact.email else None


MAIL_TEMPLATES = (*KINDS, "results")


def default_template(kind: str, language: str) -> tuple[str, str]:
    """The default subject and body of an invitation, a reminder or the results mail, in the study's language
    (English otherwise)."""
    if kind not in MAIL_TEMPLATES:
        raise ValueError(kind)
    folder = Path(current_app.template_folder) / "email"
    path = folder / f"{kind}.{language}.txt"
    if not path.is_file():
        path = folder / f"{kind}.en.txt"
    subject, _, body = path.read_text(encoding="utf-8").partition("\n\n")
    return subject.removeprefix("Subject:").strip(), body.strip() + "\n"


def render(text: str, study: Study, link: str | None, language: str | None = None) -> str:
    """Fill {study} (its title in ``language`` when the study has it, else in the study's language) and {link};
    plain replacement, so braces elsewhere in the text are left alone."""
    title = study.title if language is None else localise(study, "title", study, language).text
    return text.replace("{study}", title).replace("{link}", link or "")


def non_completers(study: Study, round_: Round, with_email: bool = False) -> list[Panellist]:
    """Panellists still in the study who have not submitted the round; with ``with_email``, only those with an
    e-mail address."""
    submitted = sa.select(Submission.panellist_id).where(Submission.round_id == round_.id)
    query = sa.select(Panellist).where(Panellist.study_id == study.id, Panellist.withdrawn.is_(False),
                                       Panellist.id.not_in(submitted))
    # Each contact comes with its panellist: not one query per panellist (5,000 of them on a national panel).
    if with_email:
        query = query.join(Contact).where(Contact.email.is_not(None)).options(contains_eager(Panellist.contact))
    else:
        query = query.options(selectinload(Panellist.contact))
    return list(db.session.scalars(query.order_by(Panellist.id)))


def reminder_recipients(study: Study, round_: Round) -> list[Panellist]:
    """Panellists with an e-mail address who have not submitted the round."""
    return non_completers(study, round_, with_email=True)


def invitation_recipients(study: Study, only_new: bool = True) -> list[Panellist]:
    query = sa.select(Panellist).join(Contact).where(
        Panellist.study_id == study.id, Panellist.withdrawn.is_(False), Contact.email.is_not(None)
    ).options(contains_eager(Panellist.contact))
    if only_new:
        query = query.where(Contact.invited_at.is_(None), Contact.id.not_in(pending_recipients(study,
                                                                                                MailKind.invitation)))
    return list(db.session.scalars(query.order_by(Panellist.id)))


def revoke_link(panellist: Panellist, actor: StaffUser | None) -> None:
    revoke_token(panellist)
    audit.record("panel.revoke_link", study=panellist.study, actor=actor, target=contact_ref(panellist.contact))
    db.session.flush()


def reissue_link(panellist: Panellist, actor: StaffUser | None) -> str:
    token = reissue_token(panellist)
    audit.record("panel.reissue_link", study=panellist.study, actor=actor, target=contact_ref(panellist.contact))
    db.session.flush()
    return token


def withdraw_at_request(contact: Contact, erase_answers: bool, actor: StaffUser | None) -> None:
    """A panellist asked staff (by phone, letter or mail) to leave the study: as if they had left through their own
    link (services/panel.withdraw_panellist: the link stops, contact details are erased, answers kept or deleted as the
    protocol says), and with ``erase_answers`` their answers are deleted whatever the protocol says (they asked for
    them to be erased). The audit entry names the contact's number, which then names nobody."""
    panellist = contact.panellist
    audit.record("panel.withdraw_at_request", study=panellist.study, actor=actor, target=contact_ref(contact),
                 answers_erased=erase_answers or panellist.study.withdrawal_policy is WithdrawalPolicy.delete)
    withdraw_panellist(panellist, erase_answers=erase_answers)
