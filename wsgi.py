"""The WSGI entry point for production: ``gunicorn wsgi:app``."""
from delphi import create_app

app = create_app()
