"""Answers posted after a panellist's session ended, kept in this browser's session cookie until the panellist who
wrote them comes back by their own link, sees them, and confirms.

Kept answers belong to one panellist: the rating page carries an opaque *keeper* (an HMAC of the panellist's id and
link hash under the server key: it names no one, and no token), and answers are kept only under a keeper. When a link
is opened, answers kept under another keeper (another panellist on a shared device, or a link since reissued) are
thrown away unseen. A page from another site cannot plant answers: it would need the panellist's keeper, and a
cross-site request is never kept at all.
"""
from __future__ import annotations

import hashlib
import hmac
import re

from flask import current_app, request, session

from delphi.models import Panellist
from delphi.services.answers import ID_DIGITS, MAX_COMMENT, plain_number

SESSION_KEY = "kept"
KEEPER = re.compile(r"^[0-9a-f]{32}$")
_FIELD = re.compile(r"^[scr][0-9]{1,%d}$" % ID_DIGITS)


def keeper(panellist: Panellist) -> str:
    """The panellist's keeper: the same for every page of theirs until their link is revoked or reissued."""
    key = hmac.new(current_app.secret_key.encode(), b"delphi kept answers v1", hashlib.sha256).digest()
    message = f"{panellist.id}.{panellist.token_hash}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def keep(page: int, form) -> bool:
    """Keep a rating page's answers (``form``: the posted fields) in the session; False, keeping nothing, when the
    post carries no keeper or came from another site."""
    tag = form.get("keeper", "")
    if not KEEPER.match(tag) or request.headers.get("Sec-Fetch-Site") == "cross-site":
        return False
    answers = {name: value[:MAX_COMMENT] for name, value in form.items() if _FIELD.match(name)}
    if not answers:
        return False
    session[SESSION_KEY] = {"keeper": tag, "page": page, "answers": answers}
    return True


def held_for(panellist: Panellist) -> dict | None:
    """The answers kept in this session for ``panellist`` ({"page", "answers"}), or None; answers kept for anyone
    else are dropped."""
    held = session.get(SESSION_KEY)
    if not isinstance(held, dict):
        session.pop(SESSION_KEY, None)
        return None
    page = plain_number(str(held.get("page", "")), ID_DIGITS)
    answers = held.get("answers")
    if page is None or not isinstance(answers, dict) or not hmac.compare_digest(
            str(held.get("keeper", "")), keeper(panellist)):
        session.pop(SESSION_KEY, None)
        return None
    return {"page": page, "answers": {k: str(v) for k, v in answers.items() if _FIELD.match(str(k))}}


def drop() -> None:
    session.pop(SESSION_KEY, None)
