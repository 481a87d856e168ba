"""``mailer``: sends digests and reminders over SMTP, or writes them to the outbox folder.

With no ``ASSISTANT_SMTP_URL`` nothing leaves the machine: each message becomes an ``.eml`` file
in ``$ASSISTANT_HOME/outbox`` that a person can open. Whether a message was already sent is the
caller's business (``outbound_messages``); the Message-ID is derived from the idempotency key, so
even a resend after a crash is recognisable as the same message by mail clients.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit

from dagster import ConfigurableResource

from assistant_pipelines.settings import redact_url


class MailerError(RuntimeError):
    """A message could not be delivered; the text says why, with any password masked."""


def message_id_for(idempotency_key: str, domain: str = "assistant-pipelines.local") -> str:
    """The same Message-ID for the same key, always: a resend is recognisably the same mail."""
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
        """Deliver ``message``; returns the transport used ("smtp" or "outbox"). Adds From,
        Date and a Message-ID derived from ``idempotency_key`` where missing. Raises
        :class:`MailerError` for anything that stops delivery, secrets redacted."""
        if "From" not in message:
            message["From"] = self.from_address
        if "Date" not in message:
            message["Date"] = formatdate(localtime=False)
        if "Message-ID" not in message:
            message["Message-ID"] = message_id_for(idempotency_key)
        if self.smtp_url:
            self._send_smtp(message)
            return "smtp"
        self._write_outbox(message, idempotency_key)
        return "outbox"

    def outbox_path(self, idempotency_key: str) -> Path:
        """``<outbox>/<readable key>-<hash>.eml``: the hash keeps two keys that read the same
        once made file-name safe ("a:b", "a/b") from overwriting each other."""
        readable = re.sub(r"[^A-Za-z0-9._-]+", "_", idempotency_key).strip("._")[:120]
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:10]
        return Path(self.outbox_dir) / f"{readable}-{digest}.eml"

    def _write_outbox(self, message: EmailMessage, idempotency_key: str) -> None:
        path = self.outbox_path(idempotency_key)
        # Written beside the target, then renamed: a reader never sees half a message.
        partial = path.with_name(path.name + ".partial")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(bytes(message))
            partial.replace(path)
        except OSError as exc:
            raise MailerError(f"cannot write {path}: {exc.strerror or exc}") from None

    def _send_smtp(self, message: EmailMessage) -> None:
        assert self.smtp_url
        safe_url = redact_url(self.smtp_url)
        try:
            parts = urlsplit(self.smtp_url)
            host = parts.hostname or "localhost"
            secure = parts.scheme == "smtps"
            port = parts.port or (465 if secure else 25)
        except ValueError as exc:
            raise MailerError(f"cannot send through {safe_url}: {exc}") from None
        try:
            if secure:
                client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=self.timeout_s,
                                                        context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(host, port, timeout=self.timeout_s)
            with client:
                client.ehlo()
                encrypted = secure
                if not secure and client.has_extn("starttls"):
                    client.starttls(context=ssl.create_default_context())
                    client.ehlo()
                    encrypted = True
                if parts.username:
                    if not encrypted and not _is_loopback(host):
                        raise MailerError(
                            f"cannot send through {safe_url}: the server offers no TLS, and the "
                            "password would cross the network in clear text (use smtps://)"
                        )
                    client.login(unquote(parts.username), unquote(parts.password or ""))
                client.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise MailerError(f"cannot send through {safe_url}: {_redact_secret(str(exc), parts)}") from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _redact_secret(text: str, parts: SplitResult) -> str:
    """Servers sometimes echo what they were sent; never let the password through."""
    password = unquote(parts.password or "")
    return text.replace(password, "***") if password else text
