from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/staff")

from delphi.auth import routes  # noqa: E402,F401
