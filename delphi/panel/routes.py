"""Entry by personal link. The token leaves the URL at once; the session keeps only the panellist and the link's hash,
so revoking or reissuing the link ends the session too."""
from __future__ import annotations

import hmac

from flask import redirect, render_template, session, url_for

from delphi.extensions import db
from delphi.models import Panellist
from delphi.panel import bp
from delphi.services.panel import find_by_token


@bp.get("/p/<path:token>")
def enter(token: str):
    panellist = find_by_token(token)
    if panellist is None:
        session.pop("panellist", None)
        return render_template("panel/link_invalid.html"), 404
    session.clear()
    session["panellist"] = {"id": panellist.id, "link": panellist.token_hash}
    session.permanent = True
    if panellist.language is None and panellist.study.language:
        session["lang"] = panellist.study.language
    elif panellist.language:
        session["lang"] = panellist.language
    return redirect(url_for("panel.home"), code=303)


def current_panellist() -> Panellist | None:
    """The panellist of this session, if their link is still the one they came in with."""
    held = session.get("panellist")
    if not isinstance(held, dict):
        return None
    panellist = db.session.get(Panellist, held.get("id"))
    if panellist is None or panellist.withdrawn or panellist.token_hash is None:
        return None
    if not hmac.compare_digest(panellist.token_hash, str(held.get("link", ""))):
        return None
    return panellist


@bp.get("/panel/")
def home():
    panellist = current_panellist()
    if panellist is None:
        return render_template("panel/link_invalid.html"), 404
    study = panellist.study
    current = study.current_round
    return render_template("panel/home.html", panellist=panellist, study=study, current=current)
