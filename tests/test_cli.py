"""The `delphi` command: set-up commands, study creation from a protocol, and the demo."""
import re

import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Panellist, StaffUser, Statement, Study, StudyMember, StudyRole
from tests.conftest import MINIMAL_PROTOCOL


def test_help_lists_the_commands(runner):
    result = runner.invoke("--help")
    assert result.exit_code == 0
    for command in ("demo", "serve", "db", "user", "study", "analyse"):
        assert command in result.output


def test_user_create_with_password_on_stdin(app, runner):
    result = runner.invoke("user", "create", "Lead@Example.org", "--role", "admin", "--password-stdin",
                           input="a long enough password\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(sa.select(StaffUser))
        assert user.email == "lead@example.org"
        assert user.is_admin
        assert user.check_password("a long enough password")
        assert "a long enough password" not in user.password_hash
        assert user.password_hash.startswith("scrypt:")


def test_user_create_asks_twice_for_the_password(app, runner):
    result = runner.invoke("user", "create", "a@example.org", input="a long enough password\na long enough password\n")
    assert result.exit_code == 0, result.output
    assert "Created staff account a@example.org" in result.output


def test_user_create_refuses_short_password_and_duplicates(app, runner):
    short = runner.invoke("user", "create", "a@example.org", "--password-stdin", input="short\n")
    assert short.exit_code == 1
    assert "at least 10 characters" in short.output
    assert runner.invoke("user", "create", "a@example.org", "--password-stdin", input="long enough pass\n").exit_code == 0
    again = runner.invoke("user", "create", "A@example.org", "--password-stdin", input="long enough pass\n")
    assert again.exit_code == 1
    assert "already an account" in again.output


def test_user_create_refuses_a_non_address(runner):
    result = runner.invoke("user", "create", "not-an-address", "--password-stdin", input="long enough pass\n")
    assert result.exit_code == 1
    assert "is not an email address" in result.output


def test_study_create_from_protocol_prints_id_last(app, runner, make_user, tmp_path):
    make_user("owner@example.org")
    path = tmp_path / "protocol.toml"
    path.write_text(MINIMAL_PROTOCOL, encoding="utf-8")
    result = runner.invoke("study", "create", str(path), "--owner", "owner@example.org")
    assert result.exit_code == 0, result.output
    study_id = int(result.output.strip().splitlines()[-1])
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert study.title == "Test study"
        assert [g.key for g in study.groups] == ["service_user", "staff"]
        assert [s.code for s in study.statements] == ["A-01", "A-02", "B-01"]
        member = db.session.scalar(sa.select(StudyMember))
        assert member.role is StudyRole.owner and member.user.email == "owner@example.org"


def test_study_create_refuses_bad_protocol_and_writes_nothing(app, runner, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(MINIMAL_PROTOCOL.replace('scope = "overall"', 'scope = "all"\ninclude = "pct_agree >>= 70"'),
                    encoding="utf-8")
    result = runner.invoke("study", "create", str(path))
    assert result.exit_code == 1
    assert "nothing was created" in result.output
    assert "consensus.scope" in result.output
    assert "consensus.include" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Study.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(Statement.id))) == 0


def test_study_create_refuses_unknown_owner(app, runner, tmp_path):
    path = tmp_path / "protocol.toml"
    path.write_text(MINIMAL_PROTOCOL, encoding="utf-8")
    result = runner.invoke("study", "create", str(path), "--owner", "nobody@example.org")
    assert result.exit_code == 1
    assert "no staff account" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Study.id))) == 0


def test_study_create_with_missing_file(runner, tmp_path):
    result = runner.invoke("study", "create", str(tmp_path / "nope.toml"))
    assert result.exit_code == 1
    assert "cannot read" in result.output


def test_commands_refuse_a_database_without_schema(runner, tmp_path):
    from click.testing import CliRunner

    from delphi.cli import main

    result = CliRunner().invoke(main, ["--database", f"sqlite:///{tmp_path / 'empty.db'}", "user", "create",
                                       "x@example.org", "--password-stdin"], input="long enough pass\n")
    assert result.exit_code == 1
    assert "delphi db upgrade" in result.output


def test_database_option_and_variable_select_the_database(runner, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from delphi.cli import main

    chosen = tmp_path / "chosen.db"
    upgraded = CliRunner().invoke(main, ["--database", f"sqlite:///{chosen}", "db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{chosen}")
    created = CliRunner().invoke(main, ["user", "create", "x@example.org", "--password-stdin"],
                                 input="long enough pass\n")
    assert created.exit_code == 0, created.output
    assert sqlite3_count(chosen, "staff_user") == 1


def test_help_and_analyse_build_no_app(tmp_path, monkeypatch):
    """`delphi --help` touches no instance folder and no database (cli.md: `analyse` needs none either)."""
    from click.testing import CliRunner

    from delphi.cli import main

    instance = tmp_path / "instance"
    monkeypatch.setenv("DELPHI_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    protocol = tmp_path / "protocol.toml"
    protocol.write_text(MINIMAL_PROTOCOL, encoding="utf-8")
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("round,panellist,group,statement,rating\n1,p1,staff,A-01,7\n", encoding="utf-8")
    analysed = CliRunner().invoke(main, ["analyse", str(ratings), "--protocol", str(protocol),
                                         "--out", str(tmp_path / "out")])
    assert analysed.exit_code == 0, analysed.output
    assert (tmp_path / "out" / "statistics.csv").is_file()
    assert not instance.exists()


def sqlite3_count(path, table: str) -> int:
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_demo_seeds_a_study_and_prints_working_logins_and_links(app, runner, client):
    with app.app_context():
        from tests.conftest import reset_database

        reset_database(db.engine)
    app.config["PUBLIC_URL"] = None  # the demo's links then start with the address it serves on
    result = runner.invoke("demo", "--no-serve", "--port", "5055")
    assert result.exit_code == 0, result.output
    email = re.search(r"email:\s+(\S+)", result.output).group(1)
    password = re.search(r"password:\s+(\S+)", result.output).group(1)
    links = re.findall(r"http://localhost:5055(/p/\S+)", result.output)
    assert len(links) == 4

    with app.app_context():
        study = db.session.scalar(sa.select(Study))
        assert study.title == "What does recovery-oriented practice mean?"
        assert [g.key for g in study.groups] == ["service_user", "family", "staff", "peer"]
        assert 25 <= len(study.statements) <= 40
        assert [(r.number, r.status.value) for r in study.rounds] == [(1, "closed"), (2, "open")]
        assert db.session.scalar(sa.select(sa.func.count(Panellist.id))) >= 30

    response = client.post("/staff/login", data={"email": email, "password": password})
    assert response.status_code == 303
    page = client.get(f"/studies/{study.id}")
    assert page.status_code == 200
    assert "What does recovery-oriented practice mean?" in page.get_data(as_text=True)

    for link in links:
        entered = client.get(link)
        assert entered.status_code == 303
        assert client.get(entered.headers["Location"]).status_code == 200

    # Running the demo again keeps one study and prints fresh links that work.
    app.config["PUBLIC_URL"] = None  # as in a new process
    again = runner.invoke("demo", "--no-serve")
    assert again.exit_code == 0, again.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Study.id))) == 1
    new_link = re.findall(r"http://localhost:5000(/p/\S+)", again.output)[0]
    assert client.get(new_link).status_code == 303
