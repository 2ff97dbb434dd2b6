"""E-mail over SMTP (EMAIL_GATEWAY=smtp), with the standard library only.

The Message-ID is derived from the outbox id, so a message sent again after a lost
acknowledgement (the worker died between the send and its commit) is recognisable as the same
one by the mail system and the reader. An SMTP 5xx about this message (recipient or content
refused) is permanent; a connection failure, a 4xx, or a refused login or sender address (our
configuration) is temporary, so the message waits for the server or the operator.
"""
from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate

from . import GatewayError, Message, mask

TIMEOUT = 10  # seconds per SMTP operation: a hung server must not hold the worker


class SmtpGateway:
    name = "smtp"

    def __init__(self, config: Mapping):
        self.host = config.get("SMTP_HOST", "localhost")
        self.port = int(config.get("SMTP_PORT", 25))
        self.username = config.get("SMTP_USERNAME", "")
        self.password = config.get("SMTP_PASSWORD", "")
        self.starttls = bool(config.get("SMTP_STARTTLS", False))
        self.sender = config.get("MAIL_FROM", "service@example.com")

    def message_id(self, message: Message) -> str:
        domain = self.sender.rpartition("@")[2] or "localhost"
        return f"<outbox-{message.id}@{domain}>"

    def compose(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        try:
            mail["Subject"] = message.subject
            mail["From"] = self.sender
            mail["To"] = message.recipient
        except ValueError as exc:  # a header that cannot be written: the address is unusable
            raise GatewayError(f"invalid e-mail header: {exc}", temporary=False) from exc
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = self.message_id(message)
        mail.set_content(message.body, charset="utf-8")
        return mail

    def send(self, message: Message) -> str:
        mail = self.compose(message)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=TIMEOUT) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _text in exc.recipients.values()]
            refused = "; ".join(f"{mask(to)} {code} {_text(text)}" for to, (code, text) in exc.recipients.items())
            raise GatewayError(f"recipient refused: {refused}",  # masked: the error shows on screens and in logs
                               temporary=not all(code >= 500 for code in codes)) from exc
        except smtplib.SMTPDataError as exc:  # the content refused
            raise GatewayError(f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}",
                               temporary=exc.smtp_code < 500) from exc
        except (smtplib.SMTPException, OSError) as exc:  # connection, TLS, login, MAIL FROM: not the message's fault
            raise GatewayError(f"SMTP {type(exc).__name__}: {exc}") from exc
        return mail["Message-ID"]


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
