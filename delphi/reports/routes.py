"""A study's reports page, the report in the browser, each file, and a zip of all. Every view is a GET that reads:
the download set is built from the database on request and never stored."""
from __future__ import annotations

import re

from flask import Response, abort, render_template
from flask_login import login_required

from delphi.facilitate.access import get_study_or_404
from delphi.reports import bp
from delphi.services.reports import DOWNLOAD_NAMES, DOWNLOADS, build_downloads, build_one, zip_downloads
from delphi.services.reports.document import style_hashes


def _folder(study) -> str:
    """A file-system-safe name for the study's downloads (``study-3-what-does-recovery``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", study.title.lower()).strip("-")[:40].strip("-")
    return f"study-{study.id}" + (f"-{slug}" if slug else "")


def _attachment(content: bytes, filename: str, mimetype: str) -> Response:
    if mimetype.startswith(("text/", "application/json", "application/toml")):
        mimetype += "; charset=utf-8"
    return Response(content, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/<int:study_id>/reports")
@login_required
def index(study_id: int):
    study, role = get_study_or_404(study_id)
    return render_template("reports/index.html", study=study, role=role, downloads=DOWNLOADS,
                           folder=_folder(study))


@bp.get("/<int:study_id>/reports/report")
@login_required
def view_report(study_id: int):
    """The report shown in the browser. Its own stylesheet is allowed by hash for this response only; its charts
    are data: images; nothing else may load or run."""
    study, _ = get_study_or_404(study_id)
    html = build_one(study, "report.html")
    policy = "; ".join(["default-src 'none'", "style-src " + " ".join(style_hashes(html.decode())),
                        "img-src data:", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"])
    return Response(html, mimetype="text/html; charset=utf-8", headers={"Content-Security-Policy": policy})


@bp.get("/<int:study_id>/reports/files/<name>")
@login_required
def download(study_id: int, name: str):
    study, _ = get_study_or_404(study_id)
    if name not in DOWNLOAD_NAMES:
        abort(404)
    return _attachment(build_one(study, name), name, DOWNLOAD_NAMES[name].mimetype)


@bp.get("/<int:study_id>/reports/all.zip")
@login_required
def download_all(study_id: int):
    study, _ = get_study_or_404(study_id)
    folder = _folder(study)
    return _attachment(zip_downloads(build_downloads(study), folder), f"{folder}.zip", "application/zip")
