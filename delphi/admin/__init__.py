"""Site administration, for staff accounts with ``is_admin``: accounts and the site-wide audit log."""
from flask import Blueprint, abort
from flask_login import current_user, login_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def require_admin():
    """Every page here is for administrators: others signed in get 403, others not signed in the sign-in page."""
    if not current_user.is_admin:
        abort(403)


from delphi.admin import routes  # noqa: E402,F401
