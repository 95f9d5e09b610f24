"""`delphi report` (a study's download set written to a folder) and `delphi analyse` (the same statistics and report
for ratings collected elsewhere, with no database) (cli.md)."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from delphi.commands import refused
from delphi.commands.database import require_schema
from delphi.commands.studies import find_study


@click.command("report", help="Write a study's download set (report.html, ratings, statistics, ...) to DIR.")
@click.argument("study_id", metavar="STUDY", type=int)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The folder to write into (created if needed).")
@with_appcontext
def report(study_id: int, out_dir: Path) -> None:
    from delphi.extensions import db
    from delphi.services.reports import build_downloads, write_downloads

    require_schema()
    files = build_downloads(find_study(study_id))
    db.session.rollback()  # read only: nothing to keep
    try:
        written = write_downloads(files, out_dir)
    except OSError as exc:
        raise click.ClickException(f"cannot write to {out_dir}: {exc.strerror}") from exc
    for path in written:
        click.echo(f"Wrote {path}")


@click.command(help="Compute the statistics and report of ratings collected elsewhere (csv, tsv or xlsx; long or wide) "
                    "under a protocol, into DIR.")
@click.argument("ratings_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--protocol", "protocol_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--columns", "columns", multiple=True, metavar="ROLE=NAME,...",
              help="The file's own names for the columns round, panellist, group (and statement, rating in a long "
                   "file), e.g. panellist=record_id,group=role,round=redcap_event_name.")
@click.option("--missing", "missing", metavar="CODES",
              help="Codes that mean no rating, comma-separated, e.g. NA,99 (the cell is skipped).")
@click.option("--unable", "unable", metavar="CODES",
              help="Codes that mean \"unable to rate\", comma-separated, e.g. X,10.")
@click.option("--declined", "declined", metavar="CODES",
              help="Codes that mean \"prefer not to answer\", comma-separated, e.g. PNA,98 (the protocol must set "
                   "[scale] prefer_not_to_answer = true). A long file's declined column, as ratings.csv has, is read "
                   "without it.")
def analyse(ratings_file: Path, protocol_file: Path, out_dir: Path, columns: tuple[str, ...], missing: str | None,
            unable: str | None, declined: str | None) -> None:
    from delphi.protocol import ProtocolError, load_protocol
    from delphi.services.analyse import RatingsFileError, write_analysis
    from delphi.services.ratings_import import parse_codes, parse_columns, read_ratings_file

    try:
        protocol = load_protocol(protocol_file)
    except ProtocolError as exc:
        raise refused(f"{protocol_file} is not a valid protocol:", exc.errors) from exc
    try:
        imported = read_ratings_file(ratings_file, protocol, parse_columns(columns),
                                     parse_codes(missing, "--missing", protocol.scale),
                                     parse_codes(unable, "--unable", protocol.scale),
                                     parse_codes(declined, "--declined", protocol.scale))
    except RatingsFileError as exc:
        raise refused(f"{ratings_file} has problems; nothing was written:", exc.errors) from exc
    long = imported.long
    click.echo(f"Read {ratings_file}: " + "; ".join(imported.given) + f"; {len(long.panellists)} panellists, "
               f"round(s) {', '.join(map(str, long.rounds))}")
    for path in write_analysis(long, protocol, out_dir):
        click.echo(f"Wrote {path}")
