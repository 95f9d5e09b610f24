"""Reading an uploaded text file (CSV, TOML), with a plain-language error for the form."""
from __future__ import annotations

from flask import Response
from flask_babel import gettext as _

from delphi.services.csv_import import decode_spreadsheet_text

MAX_UPLOAD = 1024 * 1024


def uploaded_text(field, spreadsheet: bool = False) -> str | None:
    """The file's text, or None after adding an error to the field. A ``spreadsheet`` file (CSV) may also be
    Windows-1252, as Excel saves "CSV" by default; a protocol (TOML) is UTF-8 by definition."""
    storage = field.data
    if storage is None or not getattr(storage, "filename", ""):
        field.errors.append(_("Choose a file to upload."))
        return None
    raw = storage.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        field.errors.append(_("The file is larger than 1 MB."))
        return None
    if spreadsheet:
        text = decode_spreadsheet_text(raw)
        if text is None:
            field.errors.append(_("The file is not text. Save it from your spreadsheet as “CSV” and try again."))
        return text
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        field.errors.append(_("The file is not UTF-8 text. Save it as UTF-8 text and try again."))
        return None


def download(content: str, filename: str, mimetype: str = "text/csv") -> Response:
    return Response(content.encode("utf-8"), mimetype=f"{mimetype}; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
