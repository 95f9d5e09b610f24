"""A study's reports page, the build of its downloads, the report in the browser, each file and a zip of all.

The files are made by a background job (``services/reports/builds.py``) and kept until the study's data change:
these views only ask for a build, say how far it has got, and stream kept files. None of them builds anything.
"""
from __future__ import annotations

from flask import Response, abort, jsonify, redirect, render_template, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from delphi.extensions import db
from delphi.facilitate.access import get_study_or_404
from delphi.models import BuildStatus
from delphi.reports import bp
from delphi.services.reports import DOWNLOAD_NAMES, DOWNLOADS
from delphi.services.reports.builds import (
    FAILED_MESSAGE,
    GAVE_UP_MESSAGE,
    MAX_ATTEMPTS,
    ZIP_NAME,
    current_build,
    download_folder,
    file_chunks,
    file_content,
    kept_file,
    outdated_at,
    request_build,
    start_build,
)
from delphi.services.reports.document import style_hashes


@bp.app_template_global()
def build_failure(error: str) -> str:
    """Why a build failed, in the reader's language: the worker stores the English text, whatever the language of
    whoever asked for the files, and each reader sees it in theirs."""
    if error == GAVE_UP_MESSAGE:
        return _("The files were started %(count)s times and never finished (the worker stopped each time, perhaps "
                 "for lack of memory). Try again, or tell the people who run the platform.", count=MAX_ATTEMPTS)
    if error == FAILED_MESSAGE:
        return _("Something went wrong while the files were being made. Try again; if it fails again, tell the "
                 "people who run the platform (the details are in the worker's log).")
    return error


def _ready_build(study):
    """The study's current build if it is ready; None otherwise (the caller sends the user to the progress page)."""
    build = current_build(study)
    return build if build is not None and build.status is BuildStatus.ready else None


def _kept(study, name: str):
    """The kept file of the study's current build; None when there is no ready build (or it was just deleted)."""
    build = _ready_build(study)
    return kept_file(build, name) if build is not None else None


def _progress(study):
    return redirect(url_for("reports.progress", study_id=study.id), code=303)


def _stream(kept, filename: str, mimetype: str) -> Response:
    if mimetype.startswith(("text/", "application/json", "application/toml")):
        mimetype += "; charset=utf-8"
    return Response(stream_with_context(file_chunks(kept)), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Content-Length": str(kept.size)})


@bp.get("/<int:study_id>/reports")
@login_required
def index(study_id: int):
    study, role = get_study_or_404(study_id)
    build = current_build(study)
    sizes = {f.name: f.size for f in build.files} if build is not None and build.status is BuildStatus.ready else {}
    return render_template("reports/index.html", study=study, role=role, downloads=DOWNLOADS, build=build,
                           sizes=sizes, folder=download_folder(study),
                           outdated=outdated_at(study) if build is None else None)


@bp.post("/<int:study_id>/reports/build")
@login_required
def prepare(study_id: int):
    study, _ = get_study_or_404(study_id)
    build = request_build(study, current_user)
    db.session.commit()
    start_build(build)
    return _progress(study)


@bp.get("/<int:study_id>/reports/build")
@login_required
def progress(study_id: int):
    """How far the build has got. Works without JavaScript (a "Check again" link); with it, the page asks
    :func:`progress_status` every few seconds and says what changed in a live region."""
    study, role = get_study_or_404(study_id)
    build = current_build(study)
    if build is None or build.status is BuildStatus.ready:
        return redirect(url_for("reports.index", study_id=study.id, _anchor="files"), code=303)
    return render_template("reports/progress.html", study=study, role=role, build=build)


@bp.get("/<int:study_id>/reports/build.json")
@login_required
def progress_status(study_id: int):
    study, _ = get_study_or_404(study_id)
    build = current_build(study)
    status = build.status.value if build is not None else "none"
    return jsonify(status=status, done=build.files_done if build else 0, total=build.files_total if build else 0,
                   message=Markup(render_template("reports/_status.html", build=build)).striptags())


@bp.get("/<int:study_id>/reports/report")
@login_required
def view_report(study_id: int):
    """The report shown in the browser. Its own stylesheet is allowed by hash for this response only; its charts
    are data: images; nothing else may load or run."""
    study, _ = get_study_or_404(study_id)
    kept = _kept(study, "report.html")
    if kept is None:
        return _progress(study)
    html = file_content(kept)
    policy = "; ".join(["default-src 'none'", "style-src " + " ".join(style_hashes(html.decode())),
                        "img-src data:", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"])
    return Response(html, mimetype="text/html; charset=utf-8", headers={"Content-Security-Policy": policy})


@bp.get("/<int:study_id>/reports/files/<name>")
@login_required
def download(study_id: int, name: str):
    study, _ = get_study_or_404(study_id)
    if name not in DOWNLOAD_NAMES:
        abort(404)
    kept = _kept(study, name)
    if kept is None:
        return _progress(study)
    return _stream(kept, name, DOWNLOAD_NAMES[name].mimetype)


@bp.get("/<int:study_id>/reports/all.zip")
@login_required
def download_all(study_id: int):
    study, _ = get_study_or_404(study_id)
    kept = _kept(study, ZIP_NAME)
    if kept is None:
        return _progress(study)
    return _stream(kept, f"{download_folder(study)}.zip", "application/zip")
