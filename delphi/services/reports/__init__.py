"""The researcher's download set for a study: anonymised ratings for R, SPSS and Stata, the statistics and consensus
tables (as CSV, a workbook and JSON), the protocol as locked, and a self-contained consensus report.

``build_downloads(study)`` returns every file as bytes in memory, keyed by file name (nothing is written and nothing
committed); ``write_downloads`` and ``zip_downloads`` put them in a folder or one zip. ``report_from_ratings`` is the
report that ``delphi analyse`` writes for ratings collected elsewhere.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from delphi.models import Study
from delphi.services.reports import document, stat_files, tables, workbook
from delphi.services.reports.source import ReportSource, source_from_ratings, source_from_study


@dataclass(frozen=True)
class Download:
    name: str
    mimetype: str
    description: str


DOWNLOADS = (
    Download("report.html", "text/html", "The consensus report: methods written from the protocol, participant flow, "
             "consensus table, item history, group differences, agreement, sensitivity, attrition, charts and an "
             "ACCORD/CREDES checklist. Opens in any browser and prints to PDF. Small groups are withheld."),
    Download("ratings.csv", "text/csv", "Every rating, one row each (round, pseudonym, group, statement, rating, "
             "comment), for R or Python. Not suppressed for small groups: for the study team only."),
    Download("codebook.csv", "text/csv", "What every column and code in these files means."),
    Download("statements.csv", "text/csv", "Each statement's code, domain, wording and history."),
    Download("statistics.csv", "text/csv", "Figures per round, statement and scope (overall, each group, equal "
             "group weights), in full precision."),
    Download("consensus.csv", "text/csv", "The study's verdict for each statement in each round."),
    Download("results.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "The same tables as a workbook, with a sheet describing the methods."),
    Download("results.json", "application/json", "The same tables as JSON."),
    Download("ratings.sav", "application/x-spss-sav", "The ratings for SPSS, with variable and value labels."),
    Download("ratings.dta", "application/x-stata-dta", "The ratings for Stata, with variable and value labels."),
    Download("protocol.toml", "application/toml", "The study's protocol as locked when round 1 opened; re-analyse with "
             "`delphi analyse ratings.csv --protocol protocol.toml --out DIR`."),
)
DOWNLOAD_NAMES = {d.name: d for d in DOWNLOADS}


def downloads_from_source(source: ReportSource, live_settings_toml: str | None = None) -> dict[str, bytes]:
    texts = {"ratings.csv": source.ratings_csv, "codebook.csv": tables.codebook_csv(source),
             "statements.csv": tables.statements_csv(source), **tables.results_tables(source)}
    methods = document.methods(source)
    files = {name: text.encode("utf-8") for name, text in texts.items()}
    files["report.html"] = document.report_html(source).encode("utf-8")
    files["results.xlsx"] = workbook.results_xlsx(texts, methods)
    files["results.json"] = workbook.results_json(texts, methods, source.protocol).encode("utf-8")
    files["ratings.sav"] = stat_files.ratings_sav(source.ratings_csv, source.protocol)
    files["ratings.dta"] = stat_files.ratings_dta(source.ratings_csv, source.protocol)
    files["protocol.toml"] = tables.protocol_toml(source, live_settings_toml).encode("utf-8")
    return {d.name: files[d.name] for d in DOWNLOADS}


def build_downloads(study: Study) -> dict[str, bytes]:
    """Every file of the study's download set, in :data:`DOWNLOADS` order."""
    return downloads_from_source(source_from_study(study))


def build_one(study: Study, name: str) -> bytes:
    """One file of the set (the report alone avoids building the data files)."""
    source = source_from_study(study)
    if name == "report.html":
        return document.report_html(source).encode("utf-8")
    return downloads_from_source(source)[name]


def write_downloads(files: dict[str, bytes], out_dir) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in files.items():
        (out / name).write_bytes(content)
        written.append(out / name)
    return written


def zip_downloads(files: dict[str, bytes], folder: str) -> bytes:
    """One zip with every file in ``folder/`` (fixed timestamps, so the same study gives the same zip)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(zipfile.ZipInfo(f"{folder}/{name}", date_time=(1980, 1, 1, 0, 0, 0)), content,
                             compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def report_from_ratings(long_ratings, protocol, ratings_csv: str = "") -> str:
    """``report.html`` for ratings collected elsewhere (``delphi analyse``)."""
    return document.report_html(source_from_ratings(long_ratings, protocol, ratings_csv))
