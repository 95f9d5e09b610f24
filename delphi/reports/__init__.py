"""The Reports area: a study's downloads for its owner, facilitators and researchers."""
from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/studies")

from delphi.reports import routes  # noqa: E402,F401
