"""Free text as it is kept and shown: the one cleaning for every text a person writes, panellists' answers and staff's
texts alike (statements, titles, consent, group names, mail, open questions)."""
from __future__ import annotations

import re
import unicodedata

# C0/C1 controls except tab and newline, DEL, and the bidirectional embeddings, overrides and isolates that can make
# text shown to others read differently from what it says (U+202A-U+202E, U+2066-U+2069).
UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str | None, limit: int | None = 5000) -> str:
    """Normalise free text: NFC, CRLF to LF, no control or direction-override characters, no lone surrogates,
    stripped, and cut to ``limit`` characters (None: not cut, for a caller that refuses what is too long)."""
    if not text:
        return ""
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = UNSAFE.sub("", text).strip()
    return text if limit is None else text[:limit]
