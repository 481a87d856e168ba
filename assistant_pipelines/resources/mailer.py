"""``mailer``: sends digests and reminders over SMTP, or writes them to the outbox folder.

With no ``ASSISTANT_SMTP_URL`` nothing leaves the machine: each message becomes an ``.eml`` file
in ``$ASSISTANT_HOME/outbox`` that a person can open. Whether a message was already sent is the
caller's business (``outbound_messages``); the Message-ID is derived from the idempotency key, so
even a resend after a crash is recognisable as the same message by mail clients.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

from dagster import ConfigurableResource

from assistant_pipelines.settings import redact_url


class MailerError(RuntimeError):
    pass


def message_id_for(idempotency_key: str, domain: str = "assistant-pipelines.local") -> str:
    return f"<{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}@{domain}>"


class MailerResource(ConfigurableResource):
    smtp_url: str | None = None  # smtp://user:pass@host:port or smtps://…; None → outbox
    outbox_dir: str = "./var/outbox"
    from_address: str = "Assistant Pipelines <assistant@localhost>"
    timeout_s: float = 30.0

    @property
    def transport(self) -> str:
        return "smtp" if self.smtp_url else "outbox"

    def send(self, message: EmailMessage, idempotency_key: str) -> str:
        """Deliver ``message``; returns the transport used. Raises :class:`MailerError`."""
        if "From" not in message:
            message["From"] = self.from_address
        if "Message-ID" not in message:
            message["Message-ID"] = message_id_for(idempotency_key)
        if self.smtp_url:
            self._send_smtp(message)
            return "smtp"
        folder = Path(self.outbox_dir)
        folder.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", idempotency_key) + ".eml"
        path = folder / name
        partial = path.with_suffix(".eml.partial")
        partial.write_bytes(bytes(message))
        partial.replace(path)
        return "outbox"

    def _send_smtp(self, message: EmailMessage) -> None:
        assert self.smtp_url
        parts = urlsplit(self.smtp_url)
        host = parts.hostname or "localhost"
        secure = parts.scheme == "smtps"
        port = parts.port or (465 if secure else 25)
        try:
            if secure:
                client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=self.timeout_s,
                                                        context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(host, port, timeout=self.timeout_s)
            with client:
                client.ehlo()
                if not secure and client.has_extn("starttls"):
                    client.starttls(context=ssl.create_default_context())
                    client.ehlo()
                if parts.username:
                    client.login(unquote(parts.username), unquote(parts.password or ""))
                client.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise MailerError(f"cannot send through {redact_url(self.smtp_url)}: {exc}") from None
