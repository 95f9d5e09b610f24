"""The researcher's download set for a study: anonymised ratings for R, SPSS and Stata, the statistics and consensus
tables (as CSV, a workbook and JSON), the protocol as locked, and a self-contained consensus report.

``build_downloads(study)`` returns every file as bytes in memory, keyed by file name (nothing is written and nothing
committed); ``write_downloads`` and ``zip_downloads`` put them in a folder or one zip (``delphi report``). The
Reports pages serve a set built once by a background job and kept until the data change (``builds.py``). ``report_from_ratings`` is the
report that ``delphi analyse`` writes for ratings collected elsewhere.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Iterator

from flask_babel import force_locale

from delphi.models import Study
from delphi.protocol import N_
from delphi.services.reports import document, experiment, findings, stat_files, tables, workbook
from delphi.services.reports.source import ReportSource, source_from_ratings, source_from_study


@dataclass(frozen=True)
class Download:
    name: str
    mimetype: str
    description: str


# The descriptions are shown on the Reports page, in the reader's language (``_(d.description)`` there).
DOWNLOADS = (
    Download("report.html", "text/html", N_(
        "The consensus report: methods written from the protocol, participant flow, consensus table, item history, "
        "group differences, agreement, sensitivity, attrition, charts and an ACCORD/CREDES checklist. Opens in any "
        "browser and prints to PDF. Small groups are withheld.")),
    Download("ratings.csv", "text/csv", N_(
        "Every rating, one row each (round, pseudonym, group, statement, rating, comment, mode: web, phone, paper or "
        "in person), for R or Python. Not suppressed for small groups: for the study team only.")),
    Download("codebook.csv", "text/csv", N_("What every column and code in these files means.")),
    Download("statements.csv", "text/csv", N_("Each statement's code, domain, wording and history.")),
    Download("statistics.csv", "text/csv", N_(
        "Figures per round, statement and scope (overall, each group, equal group weights), in full precision.")),
    Download("consensus.csv", "text/csv", N_("The study's verdict for each statement in each round.")),
    Download("results.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             N_("The same tables as a workbook, with a sheet describing the methods.")),
    Download("results.json", "application/json", N_("The same tables as JSON.")),
    Download("ratings.sav", "application/x-spss-sav", N_("The ratings for SPSS, with variable and value labels.")),
    Download("ratings.dta", "application/x-stata-dta", N_("The ratings for Stata, with variable and value labels.")),
    Download("comments.sav", "application/x-spss-sav", N_(
        "The comments and reasons for changing a rating for SPSS, one row per rating with either; merge with "
        "ratings.sav on round, panellist and statement.")),
    Download("comments.dta", "application/x-stata-dta", N_(
        "The comments and reasons for changing a rating for Stata, one row per rating with either; merge with "
        "ratings.dta on round, panellist and statement.")),
    Download("protocol.toml", "application/toml", N_(
        "The study's protocol as locked when round 1 opened; re-analyse with "
        "`delphi analyse ratings.csv --protocol protocol.toml --out DIR`.")),
)
DOWNLOAD_NAMES = {d.name: d for d in DOWNLOADS}


class _Files:
    """The files of one source, each built when first asked for: one download needs only its own inputs (the
    ratings file needs no statistics, a CSV table no report), while the whole set shares them."""

    def __init__(self, source: ReportSource, live_settings_toml: str | None = None):
        self.source, self.live_settings_toml = source, live_settings_toml

    @cached_property
    def views(self) -> list:
        """Each round's figures, read (or computed) once for the tables and the report."""
        return findings.compute_rounds(self.source)

    @cached_property
    def experiment(self):
        """The study within the study's figures (their permutations and resamples take a second or more), once for
        experiment.csv, the workbook, the JSON and the report; None without an experiment."""
        return experiment.experiment_report(self.source, self.views)

    @cached_property
    def texts(self) -> dict[str, str]:
        """The CSV tables that the workbook and the JSON repeat."""
        views = self.views
        return {"codebook.csv": tables.codebook_csv(self.source), "statements.csv": tables.statements_csv(self.source),
                **tables.results_tables(self.source), "rounds.csv": tables.rounds_csv(self.source, views),
                "verdict_changes.csv": tables.verdict_changes_csv(self.source, views),
                "pairwise.csv": tables.pairwise_csv(self.source, views),
                "reasons.csv": tables.reasons_csv(self.source),
                **({"experiment.csv": experiment.experiment_csv(self.experiment)} if self.experiment else {})}

    @cached_property
    def ratings_frame(self):
        """The ratings as the SPSS and Stata files hold them, parsed from ``ratings.csv`` once for all four."""
        return stat_files.ratings_frame(self.source.ratings_csv, self.source.protocol)

    @cached_property
    def methods(self) -> list[tuple[str, str]]:
        return document.methods(self.source)

    def build(self, name: str) -> bytes:
        """The file ``name``, its human text (the report, the codebook's meanings, the Methods sheet) in the study's
        language: the build runs in a job or on the command line, where no request chooses one."""
        with force_locale(self.source.protocol.language):
            return self._build(name)

    def _build(self, name: str) -> bytes:
        source = self.source
        if name == "ratings.csv":
            return source.ratings_csv.encode("utf-8")
        if name.endswith(".csv"):
            return self.texts[name].encode("utf-8")
        builders = {
            "report.html": lambda: document.report_html(source, self.views, self.experiment).encode("utf-8"),
            "results.xlsx": lambda: workbook.results_xlsx(self.texts, self.methods),
            "results.json": lambda: workbook.results_json(self.texts, self.methods, source.protocol).encode("utf-8"),
            "ratings.sav": lambda: stat_files.ratings_sav(source.ratings_csv, source.protocol, self.ratings_frame),
            "ratings.dta": lambda: stat_files.ratings_dta(source.ratings_csv, source.protocol, self.ratings_frame),
            "comments.sav": lambda: stat_files.comments_sav(source.ratings_csv, source.protocol, self.ratings_frame,
                                                            source.reasons),
            "comments.dta": lambda: stat_files.comments_dta(source.ratings_csv, source.protocol, self.ratings_frame,
                                                            source.reasons),
            "protocol.toml": lambda: tables.protocol_toml(source, self.live_settings_toml).encode("utf-8"),
        }
        return builders[name]()


def each_download(source: ReportSource, live_settings_toml: str | None = None) -> Iterator[tuple[str, bytes]]:
    """Each file of the set in :data:`DOWNLOADS` order, built as it is asked for (the report builds keep one file
    at a time, not the whole set)."""
    files = _Files(source, live_settings_toml)
    for d in DOWNLOADS:
        yield d.name, files.build(d.name)


def downloads_from_source(source: ReportSource, live_settings_toml: str | None = None) -> dict[str, bytes]:
    return dict(each_download(source, live_settings_toml))


def build_downloads(study: Study) -> dict[str, bytes]:
    """Every file of the study's download set, in :data:`DOWNLOADS` order."""
    return downloads_from_source(source_from_study(study))


def build_one(study: Study, name: str) -> bytes:
    """One file of the set, built alone (the ratings file without the statistics, a table without the report)."""
    return _Files(source_from_study(study)).build(name)


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
            add_to_zip(archive, folder, name, content)
    return buffer.getvalue()


def add_to_zip(archive: zipfile.ZipFile, folder: str, name: str, content: bytes) -> None:
    archive.writestr(zipfile.ZipInfo(f"{folder}/{name}", date_time=(1980, 1, 1, 0, 0, 0)), content,
                     compress_type=zipfile.ZIP_DEFLATED)


def report_from_ratings(long_ratings, protocol, ratings_csv: str = "") -> str:
    """``report.html`` for ratings collected elsewhere (``delphi analyse``)."""
    with force_locale(protocol.language):
        return document.report_html(source_from_ratings(long_ratings, protocol, ratings_csv))
