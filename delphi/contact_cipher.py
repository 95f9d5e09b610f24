"""Contact details encrypted at rest: the contacts key, the cipher, and the blind index for finding an e-mail address.

A panellist's e-mail address, phone number and name, and the outbox's texts, are stored as AES-256-GCM ciphertext
(authenticated: a changed or swapped value fails to open instead of reading as garbage). The key is 32 random bytes
from ``DELPHI_CONTACTS_KEY`` or the file ``contacts.key`` in the instance folder, never the database, so a copy of the
database alone names nobody. Two keys are derived from it with HKDF-SHA-256: one encrypts, one computes the blind
index, ``HMAC-SHA-256(index key, "<study id>\\0<address, trimmed and lower-cased>")``, which finds an exact address
within a study without decrypting, and which differs between studies (the index does not show that one person is on
two studies' panels). docs/security.md, "Contact details at rest", says what that leaves and to whom.

Stored form: ``c1:<key id>:<base64url(nonce || ciphertext || tag)>``. The key id (the first 4 bytes of an HMAC of
the key, in hex) says nothing about the key; it lets the start-up check say "sealed with another key" plainly.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, current_app

KEY_FILE = "contacts.key"
KEY_BYTES = 32
NONCE_BYTES = 12
PREFIX = "c1"


class ContactsKeyError(RuntimeError):
    """The contacts key is malformed, or is not the key the stored contact details were encrypted with."""


def new_contacts_key() -> str:
    """A fresh key, as ``DELPHI_CONTACTS_KEY`` and the key file hold it (base64url of 32 random bytes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def instance_contacts_key(instance_path: Path) -> str:
    """The contacts key kept in the instance folder, made on first use, readable by its owner only (0600)."""
    from delphi.config import write_private

    path = instance_path / KEY_FILE
    if path.exists():
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
    key = new_contacts_key()
    write_private(path, key + "\n")
    return key


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"delphi contact details v1 " + purpose
                ).derive(master)


class ContactCipher:
    """Encrypts and opens contact details, and computes the e-mail blind index, under one contacts key."""

    def __init__(self, key: str):
        try:
            master = base64.urlsafe_b64decode(_padded(str(key).strip()).replace("+", "-").replace("/", "_"))
        except (binascii.Error, ValueError):
            master = b""
        if len(master) != KEY_BYTES:
            raise ContactsKeyError(
                "the contacts key (DELPHI_CONTACTS_KEY, or contacts.key in the instance folder) must be 32 random "
                "bytes in base64, such as the output of `python -c \"import base64, secrets; "
                "print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())\"`")
        self._aead = AESGCM(_derive(master, b"encryption"))
        self._index_key = _derive(master, b"email index")
        self.key_id = hmac.new(master, b"delphi contacts key id", hashlib.sha256).hexdigest()[:8]

    def encrypt(self, text: str, purpose: str) -> str:
        """Ciphertext of ``text``, bound to ``purpose`` (the column it belongs in: it opens nowhere else)."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, text.encode("utf-8"), purpose.encode("ascii"))
        return f"{PREFIX}:{self.key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"

    def decrypt(self, stored: str, purpose: str) -> str:
        """The text sealed in ``stored``; :class:`ContactsKeyError` when it was sealed with another key, or changed."""
        prefix, key_id, body = (stored.split(":", 2) + ["", ""])[:3]
        if prefix != PREFIX or not body:
            raise ContactsKeyError(f"a stored {purpose} is not encrypted contact data (the database holds a value "
                                   "this platform did not write; restore it from a backup)")
        if key_id != self.key_id:
            raise ContactsKeyError(
                f"the contact details were encrypted with the contacts key {key_id}, and this server has the key "
                f"{self.key_id}. Give the server the key they were made with (DELPHI_CONTACTS_KEY, or contacts.key "
                "in the instance folder, as backed up); without it the contact details cannot be read.")
        try:
            raw = base64.urlsafe_b64decode(body)
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], purpose.encode("ascii")).decode("utf-8")
        except (binascii.Error, ValueError, InvalidTag) as exc:
            raise ContactsKeyError(f"a stored {purpose} fails its integrity check: it was changed after it was "
                                   "written (restore it from a backup)") from exc

    def email_index(self, study_id: int, email: str | None) -> str | None:
        """The blind index of ``email`` within the study: equal for the same address whatever its case or
        surrounding spaces; None for no address."""
        normalised = (email or "").strip().lower()
        if not normalised:
            return None
        return hmac.new(self._index_key, f"{study_id}\0{normalised}".encode("utf-8"), hashlib.sha256).hexdigest()


def _padded(text: str) -> str:
    return text + "=" * (-len(text) % 4)


def init_contact_cipher(app: Flask) -> None:
    app.extensions["contact_cipher"] = ContactCipher(app.config["CONTACTS_KEY"])


def contact_cipher() -> ContactCipher:
    """The cipher of the current app."""
    return current_app.extensions["contact_cipher"]


def email_index(study_id: int, email: str | None) -> str | None:
    return contact_cipher().email_index(study_id, email)


def contacts_key_problem() -> str | None:
    """Why the stored contact details cannot be read with this app's key, in plain words; None when they can (or
    when there are none yet). Opens one stored value of each kind; needs an app context and the current schema."""
    import sqlalchemy as sa

    from delphi.extensions import db
    from delphi.models import Contact, OutboxMail

    checks = [(Contact, column) for column in ("email", "phone", "name")] + [(OutboxMail, "body")]
    try:
        for model, attribute in checks:
            column = getattr(model, attribute)
            # Selecting the column through its model type opens the value, as the app will.
            db.session.scalar(sa.select(column).where(column.is_not(None)).limit(1))
    except ContactsKeyError as exc:
        return f"contact details cannot be read: {exc}"
    finally:
        db.session.rollback()
    return None
