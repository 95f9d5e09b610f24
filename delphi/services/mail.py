"""Sending e-mail through the configured SMTP server (``MAIL_*`` settings), one connection per batch."""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app


class MailError(RuntimeError):
    """The SMTP server could not be reached or refused a message; the message says so in plain words."""


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def _message(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(mail.body)
    return message


def send_mails(mails: list[Mail]) -> list[str]:
    """Send each mail over one SMTP connection; returns the addresses the server refused (the others were sent).

    Raises :class:`MailError` when the server cannot be reached or refuses the sign-in.
    """
    if not mails:
        return []
    config = current_app.config
    refused: list[str] = []
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=30) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
            for mail in mails:
                try:
                    smtp.send_message(_message(mail, config["MAIL_FROM"]))
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused):
                    refused.append(mail.to)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(
            f"the mail server {config['MAIL_SERVER']}:{config['MAIL_PORT']} could not be used ({exc}). "
            "Check the MAIL_* settings."
        ) from exc
    return refused


def send_mail(to: str, subject: str, body: str) -> None:
    if send_mails([Mail(to, subject, body)]):
        raise MailError(f"the mail server refused the address {to}.")
