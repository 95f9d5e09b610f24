from flask import Blueprint

bp = Blueprint("facilitate", __name__, url_prefix="/studies")

from delphi.facilitate import routes  # noqa: E402,F401
