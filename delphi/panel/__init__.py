from flask import Blueprint

bp = Blueprint("panel", __name__)

from delphi.panel import routes  # noqa: E402,F401
