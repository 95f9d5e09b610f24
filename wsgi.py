"""The WSGI entry point for production: ``gunicorn wsgi:app``.

A server whose database cannot be used, whose schema is not the one this code needs, whose contacts key cannot read
the stored contact details, or that has no ``DELPHI_PUBLIC_URL`` to build the links in its mails on, refuses to start
with the reason instead of serving errors: gunicorn stops with "Worker failed to boot" after the message.
"""
import sys

import sqlalchemy as sa

from delphi import create_app
from delphi.contact_cipher import contacts_key_problem
from delphi.db import explain_database_error, schema_problem
from delphi.links import public_url_problem

app = create_app()
problem = public_url_problem(app.config.get("PUBLIC_URL"))
if not problem:
    with app.app_context():
        try:
            problem = schema_problem() or contacts_key_problem()
        except sa.exc.OperationalError as error:
            problem = explain_database_error(error, app.config["SQLALCHEMY_DATABASE_URI"])
if problem:
    print(f"delphi: not starting: {problem}", file=sys.stderr, flush=True)
    raise SystemExit(3)
