"""Sending e-mail through the configured SMTP server (``MAIL_*`` settings), one connection reused for a run of the
outbox (services/outbox.py), which is the only sender."""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app


class MailError(RuntimeError):
    """The SMTP server could not be reached or refused a message; the message says so in plain English words (for
    the log), ``code`` and ``details`` say the same in parts (for the outbox, which shows it in its reader's
    language): ``"unreachable"`` (``server``, ``reason``), ``"try_later"`` or ``"refused"`` (``reason``: the server's
    answer)."""

    def __init__(self, message: str, code: str, **details: str):
        super().__init__(message)
        self.code, self.details = code, details


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def _message(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    # A header cannot hold a line break (EmailMessage raises on one): whatever reached the outbox is sent on one line.
    message["Subject"] = " ".join(mail.subject.split())
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(mail.body)
    return message


class MailRefused(MailError):
    """The server refused this one mail for good (a 5xx answer); the message is the server's own reason."""


def _reason(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {text}".strip()[:480]


class MailServer:
    """One connection to the configured SMTP server, opened on the first mail and reused for the next.

    :meth:`send` raises :class:`MailRefused` when the server refuses that mail for good (5xx), and
    :class:`MailError` when it cannot be reached or answers "try again later" (4xx, a dropped connection); after a
    MailError the connection is closed and the next send opens a new one.
    """

    def __init__(self):
        self.config = current_app.config
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "MailServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self.smtp = None

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        smtp = smtplib.SMTP(config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=30)
        try:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, mail: Mail, message_id: str | None = None) -> None:
        message = _message(mail, self.config["MAIL_FROM"])
        if message_id:
            message.replace_header("Message-ID", message_id)
        try:
            if self.smtp is None:
                self.smtp = self._connect()
            self.smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            self._refused(code, text)
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
            self._refused(exc.smtp_code, exc.smtp_error)
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            server = f"{self.config['MAIL_SERVER']}:{self.config['MAIL_PORT']}"
            raise MailError(f"the mail server {server} could not be used ({exc})", "unreachable", server=server,
                            reason=str(exc)[:300]) from exc

    def _refused(self, code: int, text) -> None:
        reason = _reason(code, text)
        if code >= 500:
            raise MailRefused(reason, "refused", reason=reason)
        self.close()
        raise MailError(f"the mail server asked to try again later ({reason})", "try_later", reason=reason)
