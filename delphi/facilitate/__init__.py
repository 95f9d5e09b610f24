from flask import Blueprint

bp = Blueprint("facilitate", __name__, url_prefix="/studies")

from delphi.facilitate import (  # noqa: E402,F401
    audit,
    entry,
    open_answers,
    panellists,
    review,
    rounds,
    routes,
    setup,
    statements,
)
