"""The mailer: ``.eml`` files in the outbox (atomic, stable Message-ID) or SMTP to a real
loopback server; failures are :class:`MailerError` with the password masked."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from assistant_pipelines.resources.mailer import MailerError, MailerResource, message_id_for

PASSWORD = "pa55-W0rd-secret"


def message(to: str = "priya@example.com", subject: str = "Your action items") -> EmailMessage:
    m = EmailMessage()
    m["To"] = to
    m["Subject"] = subject
    m.set_content("OPEN\n  * Draft the launch post — due Friday\n")
    return m


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_message_id_is_derived_from_the_idempotency_key() -> None:
    key = "digest:2026-10-05:priya.nair"
    assert message_id_for(key) == message_id_for(key)
    assert message_id_for(key) != message_id_for("digest:2026-10-12:priya.nair")
    assert message_id_for(key).startswith("<") and message_id_for(key).endswith("@assistant-pipelines.local>")


def test_outbox_writes_one_readable_eml_per_key(tmp_path: Path) -> None:
    mailer = MailerResource(outbox_dir=str(tmp_path / "outbox"))
    key = "digest:2026-10-05:priya.nair"
    assert mailer.transport == "outbox"
    assert mailer.send(message(), key) == "outbox"
    files = sorted((tmp_path / "outbox").iterdir())
    assert [f.name for f in files] == [mailer.outbox_path(key).name]
    assert files[0].suffix == ".eml" and files[0].name.startswith("digest_2026-10-05_priya.nair-")
    parsed = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert parsed["Message-ID"] == message_id_for(key)
    assert parsed["To"] == "priya@example.com" and parsed["Subject"] == "Your action items"
    assert parsed["From"] == "Assistant Pipelines <assistant@localhost>"
    assert parsed["Date"] is not None
    assert "Draft the launch post" in parsed.get_content()


def test_outbox_resend_replaces_the_same_file_with_the_same_message_id(tmp_path: Path) -> None:
    mailer = MailerResource(outbox_dir=str(tmp_path))
    key = "digest:2026-10-05:zoe"
    mailer.send(message(subject="first"), key)
    mailer.send(message(subject="second"), key)
    (only,) = [p for p in tmp_path.iterdir()]
    parsed = message_from_bytes(only.read_bytes(), policy=policy.default)
    assert (parsed["Subject"], parsed["Message-ID"]) == ("second", message_id_for(key))
    assert not list(tmp_path.glob("*.partial"))  # written beside, then renamed over


def test_outbox_never_shows_a_half_written_file(tmp_path: Path, monkeypatch) -> None:
    """The bytes go to a side file; the .eml appears only by an atomic rename."""
    mailer = MailerResource(outbox_dir=str(tmp_path))
    target = mailer.outbox_path("k")
    writes: list[tuple[str, bool]] = []
    real_write = Path.write_bytes

    def spy(self: Path, data: bytes) -> int:
        writes.append((self.name, target.exists()))
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", spy)
    mailer.send(message(), "k")
    assert writes == [(target.name + ".partial", False)]
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_outbox_keys_that_read_alike_do_not_overwrite_each_other(tmp_path: Path) -> None:
    mailer = MailerResource(outbox_dir=str(tmp_path))
    for key in ("digest:w:new@x.org", "digest:w:new_x.org", "digest/w/new@x.org", "../../escape"):
        mailer.send(message(), key)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 4
    assert all(Path(tmp_path / n).parent == tmp_path for n in names)  # no path escapes the outbox


def test_an_outbox_that_cannot_be_written_is_a_mailer_error(tmp_path: Path) -> None:
    blocker = tmp_path / "outbox"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    with pytest.raises(MailerError, match="cannot write"):
        MailerResource(outbox_dir=str(blocker)).send(message(), "digest:w:p")


def test_a_message_keeps_its_own_headers(tmp_path: Path) -> None:
    m = message()
    m["From"] = "Team Bot <bot@example.com>"
    m["Message-ID"] = "<custom@example.com>"
    MailerResource(outbox_dir=str(tmp_path)).send(m, "k")
    parsed = message_from_bytes(next(tmp_path.iterdir()).read_bytes(), policy=policy.default)
    assert (parsed["From"], parsed["Message-ID"]) == ("Team Bot <bot@example.com>", "<custom@example.com>")


def test_smtp_delivers_to_a_real_server(smtp_server) -> None:
    url, sink = smtp_server
    mailer = MailerResource(smtp_url=url, outbox_dir="/nonexistent", timeout_s=10)
    assert mailer.transport == "smtp"
    assert mailer.send(message(), "digest:2026-10-05:priya.nair") == "smtp"
    assert mailer.send(message(to="zoe@example.com"), "digest:2026-10-05:zoe") == "smtp"
    assert [m["To"] for m in sink.messages] == ["priya@example.com", "zoe@example.com"]
    assert sink.messages[0]["Message-ID"] == message_id_for("digest:2026-10-05:priya.nair")
    assert sink.messages[0]["Subject"] == "Your action items"


def test_an_unreachable_smtp_server_is_a_mailer_error_without_the_password() -> None:
    url = f"smtp://bot%40example.com:{PASSWORD}@127.0.0.1:{free_port()}"
    with pytest.raises(MailerError) as raised:
        MailerResource(smtp_url=url, timeout_s=5).send(message(), "k")
    text = str(raised.value)
    assert PASSWORD not in text and PASSWORD not in repr(raised.value)
    assert "smtp://bot%40example.com:***@127.0.0.1" in text
    assert raised.value.__cause__ is None and raised.value.__suppress_context__  # no chained secrets


def test_a_server_refusing_the_login_is_a_mailer_error_without_the_password(smtp_server) -> None:
    url, sink = smtp_server  # the loopback server offers no AUTH
    with_credentials = url.replace("smtp://", f"smtp://bot:{PASSWORD}@")
    with pytest.raises(MailerError) as raised:
        MailerResource(smtp_url=with_credentials, timeout_s=10).send(message(), "k")
    assert PASSWORD not in str(raised.value)
    assert "AUTH" in str(raised.value)
    assert sink.messages == []


def test_a_bad_port_is_a_mailer_error() -> None:
    with pytest.raises(MailerError) as raised:
        MailerResource(smtp_url=f"smtp://bot:{PASSWORD}@127.0.0.1:notaport").send(message(), "k")
    assert PASSWORD not in str(raised.value)


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.123", 9))  # TEST-NET: nothing is sent, the route is looked up
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_credentials_are_never_sent_in_clear_text_off_the_machine() -> None:
    """A server that offers no TLS on a non-loopback address gets no password."""
    from aiosmtpd.controller import Controller

    address = _non_loopback_address()
    if address is None:
        pytest.skip("no non-loopback interface on this machine")
    received: list[bytes] = []

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
            received.append(envelope.content)
            return "250 OK"

    port = free_port()
    controller = Controller(Sink(), hostname=address, port=port, auth_require_tls=False)
    try:
        controller.start()
    except OSError as exc:  # pragma: no cover - machine specific
        pytest.skip(f"cannot listen on {address}: {exc}")
    try:
        with pytest.raises(MailerError, match="clear text") as raised:
            MailerResource(smtp_url=f"smtp://bot:{PASSWORD}@{address}:{port}", timeout_s=10).send(message(), "k")
        assert PASSWORD not in str(raised.value)
        assert received == []
        # Without credentials there is nothing to protect: it is sent.
        MailerResource(smtp_url=f"smtp://{address}:{port}", timeout_s=10).send(message(), "k")
        assert len(received) == 1
    finally:
        controller.stop()
