"""Flask extensions, created unbound here and bound to an app in :func:`delphi.create_app`."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from delphi.models.base import Base
from delphi.security import rate_limit_key

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
# Limits are set per view from configuration (LOGIN_RATE_LIMIT, LINK_RATE_LIMIT, ...); storage from
# RATELIMIT_STORAGE_URI: "memory://" for one process, "redis://host:6379" when several processes share the load
# (each gunicorn worker would otherwise keep counts of its own). Clients count by IPv4 address or IPv6 /64.
limiter = Limiter(key_func=rate_limit_key)
