"""`delphi report STUDY --out DIR`: the researcher's download set written to a folder (cli.md)."""
from __future__ import annotations

from pathlib import Path

import click

from delphi.cli import AppHolder, fail, main, pass_app, require_schema


@main.command("report", help="Write a study's download set (report.html, ratings, statistics, ...) to DIR.")
@click.argument("study_id", metavar="STUDY", type=int)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The folder to write into (created if needed).")
@pass_app
def report(holder: AppHolder, study_id: int, out_dir: Path) -> None:
    from delphi.extensions import db
    from delphi.models import Study
    from delphi.services.reports import build_downloads, write_downloads

    app = holder.app
    require_schema(app)
    with app.app_context():
        study = db.session.get(Study, study_id) if 0 < study_id < 2**31 else None
        if study is None:
            fail(f"there is no study {study_id}.")
        files = build_downloads(study)
        db.session.rollback()  # read only: nothing to keep
    try:
        written = write_downloads(files, out_dir)
    except OSError as exc:
        fail(f"cannot write to {out_dir}: {exc.strerror}")
    for path in written:
        click.echo(f"Wrote {path}")
