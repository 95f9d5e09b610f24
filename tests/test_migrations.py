"""Migrations: `delphi db upgrade` on an empty database yields exactly the schema the models describe."""
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from delphi.extensions import db
from tests.conftest import reset_database


def test_upgrade_on_empty_database_matches_the_models(app, runner):
    with app.app_context():
        reset_database(db.engine)
    result = runner.invoke("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        differences = compare_metadata(context, db.metadata)
        assert differences == []
        tables = set(sa.inspect(conn).get_table_names())
    assert set(db.metadata.tables) | {"alembic_version"} == tables


def test_upgrade_twice_is_harmless(app, runner):
    with app.app_context():
        reset_database(db.engine)
    assert runner.invoke("db", "upgrade").exit_code == 0
    assert runner.invoke("db", "upgrade").exit_code == 0
