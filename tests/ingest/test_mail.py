"""Mail parsers: mbox / Maildir / .eml reading, MIME and charset salvage, headers, and the
quote / signature splitter. Fixture files (fictional people) live in tests/fixtures/mail/;
byte-level oddities are generated here, where they are easier to read than in a file."""

from __future__ import annotations

import json
import os
import re
import tempfile
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant_pipelines.ingest.errors import IngestError
from assistant_pipelines.ingest.mail import (
    iter_mail,
    list_mail_sources,
    parse_message_bytes,
    split_quoted_and_signature,
)
from assistant_pipelines.ingest.mail_text import authored_lines
from assistant_pipelines.ingest.records import Address, MailMessage

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mail"
REAL_DATA = Path(os.environ.get("ASSISTANT_REAL_DATA_DIR", "/work/shared/data"))


def only_messages(items: list[MailMessage | IngestError]) -> list[MailMessage]:
    errors = [i for i in items if isinstance(i, IngestError)]
    assert not errors, errors
    return [i for i in items if isinstance(i, MailMessage)]


def read_all(path: Path, **kwargs: str) -> list[MailMessage]:
    return only_messages(list(iter_mail(path, **kwargs)))


def parse(raw: bytes) -> MailMessage:
    return parse_message_bytes(raw, source_file="test.eml", position="file")


def message(body: bytes, **headers: str) -> bytes:
    """A small RFC 822 message; header names use underscores for dashes."""
    defaults = {
        "From": "Ann Example <ann@example.org>",
        "To": "Bob Builder <bob@example.org>",
        "Subject": "Test",
        "Date": "Mon, 3 Mar 2025 10:00:00 +0000",
        "Message_ID": "<test-1@example.org>",
    }
    defaults.update(headers)
    head = "".join(f"{name.replace('_', '-')}: {value}\n" for name, value in defaults.items())
    return head.encode("utf-8", "surrogateescape") + b"\n" + body


# --- finding sources ---------------------------------------------------------------------------


def _maildir(root: Path, messages: dict[str, bytes]) -> Path:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for rel, raw in messages.items():
        (root / rel).write_bytes(raw)
    return root


def test_list_mail_sources_finds_mbox_eml_and_maildir_and_skips_the_rest(tmp_path: Path) -> None:
    from_line = b"From ann@example.org Mon Mar  3 10:00:00 2025\n" + message(b"hi\n")
    (tmp_path / "team.mbox").write_bytes(from_line)
    (tmp_path / "old.MBX").write_bytes(from_line)
    (tmp_path / "Inbox").write_bytes(from_line)  # Thunderbird: no suffix, From_ first line
    (tmp_path / "notes.txt").write_text("Meeting notes, not mail\n")
    (tmp_path / ".hidden.eml").write_bytes(message(b"x"))
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "sub" / "deeper" / "one.eml").write_bytes(message(b"x"))
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / "partial.eml").write_bytes(message(b"x"))
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "stray.eml").write_bytes(message(b"x"))
    maildir = _maildir(tmp_path / "Maildir", {"cur/1.host:2,S": message(b"x")})
    _maildir(maildir / ".Sent", {"new/2.host": message(b"x")})  # Maildir++ sub-folder
    (tmp_path / "exports" / "new").mkdir(parents=True)  # a folder called new/ with an mbox
    (tmp_path / "exports" / "new" / "march.mbox").write_bytes(from_line)

    found = list_mail_sources(tmp_path)

    assert found == sorted(
        [
            tmp_path / "Inbox",
            tmp_path / "Maildir",
            tmp_path / "Maildir" / ".Sent",
            tmp_path / "exports" / "new" / "march.mbox",
            tmp_path / "old.MBX",
            tmp_path / "sub" / "deeper" / "one.eml",
            tmp_path / "team.mbox",
        ]
    )


def test_list_mail_sources_of_missing_folder_is_empty(tmp_path: Path) -> None:
    assert list_mail_sources(tmp_path / "nope") == []


# --- mbox --------------------------------------------------------------------------------------


def test_mbox_with_two_threads() -> None:
    msgs = read_all(FIXTURES / "threads.mbox", display_path="inbox/mail/threads.mbox")

    assert [m.position for m in msgs] == [
        "message 1 (line 1)",
        "message 2 (line 18)",
        "message 3 (line 39)",
        "message 4 (line 59)",
        "message 5 (line 76)",
    ]
    assert {m.source_file for m in msgs} == {"inbox/mail/threads.mbox"}
    assert [m.message_id for m in msgs] == [
        "plan-1@example.org",
        "plan-2@example.org",
        "plan-3@example.org",
        "budget-1@example.com",
        "budget-2@example.com",
    ]
    assert [m.thread_id for m in msgs] == ["plan-1@example.org"] * 3 + ["budget-1@example.com"] * 2
    assert msgs[2].references == ["plan-1@example.org", "plan-2@example.org"]  # folded header
    assert msgs[2].in_reply_to == "plan-2@example.org"
    assert msgs[2].subject == "Re: Re: Q3 planning"  # kept as sent; threading strips later

    first = msgs[0]
    assert first.sender == Address("Ann Example", "ann.example@example.org")
    assert first.to == [Address("Planning Team", "team@example.org")]
    assert first.cc == [Address("Builder, Bob", "bob.builder@example.org")]
    assert first.sent_at == datetime(2025, 3, 3, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    # mboxrd: ">From " is un-escaped once, ">>From " keeps one marker (and is then a quote).
    assert "\nFrom the notes of last week: the venue is booked." in first.new_text
    assert ">From here" not in first.new_text
    assert first.quoted_text == ">From here the quoted line keeps one marker."


def test_mbox_replies_are_split_into_new_quoted_and_signature() -> None:
    _, top_post, inline, outlook, mobile = read_all(FIXTURES / "threads.mbox")

    assert top_post.new_text == "Will do, the draft goes out on Thursday."
    assert top_post.quoted_text.startswith("On Mon, 3 Mar 2025 at 09:00, Ann Example")
    assert "> Bob, please send the draft budget by Friday." in top_post.quoted_text
    assert top_post.signature == "-- \nBob Builder\nFacilities, Example Org"

    assert inline.new_text == (
        "Thursday works. Can you include the travel costs?\n\nAlso, I wrote the agenda already."
    )
    assert inline.quoted_text.startswith("Bob Builder wrote:\n> Will do")

    assert outlook.new_text == (
        "Dan, could you review the attached numbers before the board meeting?"
    )
    assert outlook.quoted_text.startswith("-----Original Message-----\nFrom: Erin Exemplar")
    assert outlook.quoted_text.endswith("Here are the numbers.")

    assert mobile.new_text == "Yes, I will review them tomorrow morning."
    assert mobile.signature == "Sent from my iPhone"


def test_mbox_body_lines_starting_with_from_do_not_split(tmp_path: Path) -> None:
    path = tmp_path / "a.mbox"
    path.write_bytes(
        b"From ann@example.org Mon Mar  3 10:00:00 2025\n"
        + message(b"Line one\nFrom the start this was unescaped.\n\nFrom here on, too.\nend\n")
    )
    (msg,) = read_all(path)
    assert (
        msg.body_text == "Line one\nFrom the start this was unescaped.\n\nFrom here on, too.\nend"
    )


def test_mbox_with_crlf_line_ends(tmp_path: Path) -> None:
    text = (FIXTURES / "threads.mbox").read_bytes().replace(b"\n", b"\r\n")
    path = tmp_path / "windows.mbox"
    path.write_bytes(text)
    msgs = read_all(path)
    assert len(msgs) == 5
    assert msgs[1].signature == "-- \nBob Builder\nFacilities, Example Org"
    assert msgs[3].thread_id == "budget-1@example.com"


def test_truncated_mbox_salvages_the_cut_message() -> None:
    complete, cut = read_all(FIXTURES / "truncated.mbox")
    assert complete.new_text == "Oscar, the first message is complete."
    assert cut.message_id == "cut-1@example.org"
    assert cut.new_text.startswith("Nina, I will send the report tomorrow.")
    assert "base64" in (cut.charset_note or "")


def test_mbox_cut_inside_the_headers_keeps_what_is_there(tmp_path: Path) -> None:
    path = tmp_path / "cut.mbox"
    path.write_bytes(
        b"From ann@example.org Mon Mar  3 10:00:00 2025\n"
        + message(b"First.\n")
        + b"\nFrom bob@example.org Mon Mar  3 11:00:00 2025\n"
        + b"From: Bob Builder <bob@example.org>\nSubject: Half a mess"
    )
    _, second = read_all(path)
    assert second.subject == "Half a mess"
    assert second.sender == Address("Bob Builder", "bob@example.org")
    assert second.body_text == ""


def test_binary_junk_in_the_middle_of_an_mbox(tmp_path: Path) -> None:
    junk = bytes(range(256)) * 4  # NULs and every other byte, no newline structure to speak of
    first = b"From ann@example.org Mon Mar  3 10:00:00 2025\n" + message(b"Before the junk.\n")
    middle = b"\nFrom junk@example.org Mon Mar  3 10:30:00 2025\n" + junk + b"\n\n"
    last = b"From bob@example.org Mon Mar  3 11:00:00 2025\n" + message(
        b"After the junk.\n", Message_ID="<after@example.org>"
    )
    path = tmp_path / "junk.mbox"
    path.write_bytes(first + middle + last)
    junk_line = first.count(b"\n") + 2
    last_line = (first + middle).count(b"\n") + 1

    items = list(iter_mail(path))

    assert [type(i) for i in items] == [MailMessage, IngestError, MailMessage]
    before, error, after = items
    assert before.new_text == "Before the junk."
    assert after.new_text == "After the junk."
    assert after.position == f"message 3 (line {last_line})"
    assert error.position == f"message 2 (line {junk_line})"
    assert error.reason == "binary data, not an e-mail (NUL bytes at byte 0)"
    assert error.source_file == str(path)


def test_mbox_junk_before_the_first_separator_is_reported_as_message_1(tmp_path: Path) -> None:
    path = tmp_path / "odd.mbox"
    path.write_bytes(
        b"this is not mail\n\nFrom ann@example.org Mon Mar  3 10:00:00 2025\n" + message(b"ok\n")
    )
    error, msg = list(iter_mail(path))
    assert isinstance(error, IngestError) and error.position == "message 1 (line 1)"
    assert "no headers found" in error.reason
    assert isinstance(msg, MailMessage) and msg.position == "message 2 (line 3)"


# --- Maildir -----------------------------------------------------------------------------------


def test_maildir_reads_cur_then_new_and_names_each_file(tmp_path: Path) -> None:
    root = _maildir(
        tmp_path / "Maildir",
        {
            "cur/1741000000.M1.host:2,S": message(b"Read one.\n", Message_ID="<a@example.org>"),
            "cur/1741000100.M2.host:2,": message(b"Read two.\n", Message_ID="<b@example.org>"),
            "new/1741000200.M3.host": message(b"Unread.\n", Message_ID="<c@example.org>"),
            "tmp/1741000300.M4.host": message(b"Still being delivered.\n"),
            "cur/.DS_Store": b"\x00\x00junk",
            "new/1741000400.M5.host": b"",
            "new/1741000500.M6.host": b"just some words, no headers\n",
        },
    )

    items = list(iter_mail(root, display_path="inbox/mail/Maildir"))

    msgs = [i for i in items if isinstance(i, MailMessage)]
    errors = [i for i in items if isinstance(i, IngestError)]
    assert [m.new_text for m in msgs] == ["Read one.", "Read two.", "Unread."]
    assert msgs[0].source_file == "inbox/mail/Maildir/cur/1741000000.M1.host:2,S"
    assert msgs[2].source_file == "inbox/mail/Maildir/new/1741000200.M3.host"
    assert {m.position for m in msgs} == {"file"}
    assert [(e.source_file, e.reason) for e in errors] == [
        ("inbox/mail/Maildir/new/1741000400.M5.host", "empty file"),
        (
            "inbox/mail/Maildir/new/1741000500.M6.host",
            "no headers found: not an RFC 822 message",
        ),
    ]


def test_same_message_from_maildir_and_mbox_gets_the_same_synthesised_id(tmp_path: Path) -> None:
    raw = message(b"No id here.\n", Message_ID="")
    root = _maildir(tmp_path / "Maildir", {"cur/1.host:2,S": raw.replace(b"\n", b"\r\n")})
    mbox = tmp_path / "a.mbox"
    mbox.write_bytes(b"From ann@example.org Mon Mar  3 10:00:00 2025\n" + raw + b"\n")

    (from_maildir,) = read_all(root)
    (from_mbox,) = read_all(mbox)

    assert re.fullmatch(r"[0-9a-f]{24}@missing-id\.invalid", from_mbox.message_id)
    assert from_maildir.message_id == from_mbox.message_id
    assert from_mbox.thread_id == from_mbox.message_id


def test_folder_that_is_not_a_maildir_raises(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="not a Maildir"):
        list(iter_mail(tmp_path))


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file"):
        list(iter_mail(tmp_path / "gone.eml"))


# --- empty and non-mail input ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["empty.eml", "empty.mbox"])
@pytest.mark.parametrize("content", [b"", b"\n\n  \r\n"])
def test_empty_file_raises(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError) as info:
        list(iter_mail(path, display_path=name))
    assert (info.value.source_file, info.value.position, info.value.reason) == (
        name,
        "file",
        "empty file",
    )


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_utf16_eml_is_converted(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "saved.eml"
    path.write_bytes(message("Grüße, bis morgen.\n".encode()).decode().encode(encoding))
    (msg,) = read_all(path)
    assert msg.new_text == "Grüße, bis morgen."
    assert msg.sender == Address("Ann Example", "ann@example.org")
    assert "UTF-16" in (msg.charset_note or "")


def test_binary_eml_is_yielded_as_error(tmp_path: Path) -> None:
    path = tmp_path / "picture.eml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (error,) = list(iter_mail(path))
    assert isinstance(error, IngestError)
    assert error.reason == "binary data, not an e-mail (NUL bytes at byte 8)"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"Dear diary,\ntoday nothing happened.\n", "no headers found: not an RFC 822 message"),
        (b"key: value\nother: thing\n\nbody\n", "no e-mail headers found (only key, other"),
        (b"\n\n", "empty message: no headers and no body"),
    ],
)
def test_text_that_is_not_mail(raw: bytes, reason: str) -> None:
    with pytest.raises(IngestError) as info:
        parse(raw)
    assert info.value.reason.startswith(reason)
    assert info.value.position == "file"


# --- MIME --------------------------------------------------------------------------------------


def test_multipart_alternative_prefers_plain_and_lists_attachments() -> None:
    (msg,) = read_all(FIXTURES / "alternative.eml")
    assert msg.new_text == (
        "Grace, please confirm the launch date with the printer by Monday.\n\nThanks,\nFrank"
    )
    assert "HTML version" not in msg.body_text
    assert msg.attachments == ["checklist.pdf", "notes.txt"]
    assert "SECRET" not in msg.body_text and "ATTACHED NOTES" not in msg.body_text
    assert msg.charset_note is None


def test_alternative_with_an_empty_plain_part_uses_the_html() -> None:
    raw = message(
        b"--b\nContent-Type: text/plain\n\n \n--b\nContent-Type: text/html\n\n"
        b"<p>Please sign the form.</p>\n--b--\n",
        Content_Type='multipart/alternative; boundary="b"',
    )
    assert parse(raw).new_text == "Please sign the form."


def test_outlook_html_reply_history_is_quoted() -> None:
    html = (
        b"<html><body><p>Approved, go ahead.</p><p>Carol</p>"
        b'<div id="divRplyFwdMsg"><hr><p><b>From:</b> Dan Demo &lt;dan@example.com&gt;<br>'
        b"<b>Sent:</b> Tuesday, March 4, 2025 9:00 AM<br><b>To:</b> Carol Sample<br>"
        b"<b>Subject:</b> Budget</p></div><p>May I order the chairs?</p></body></html>"
    )
    msg = parse(message(html, Content_Type="text/html; charset=utf-8"))
    assert msg.new_text == "Approved, go ahead.\n\nCarol"
    assert msg.quoted_text.startswith("* * *\n\nFrom: Dan Demo <dan@example.com>")
    assert msg.quoted_text.endswith("May I order the chairs?")


def test_html_only_message() -> None:
    (msg,) = read_all(FIXTURES / "html_only.eml")
    first_line = msg.new_text.split("\n")[0]
    # no wrapping: the long paragraph stays one line; the link keeps its target as text
    assert first_line.startswith("Ivan, please book the [Hall B option](https://venue.example.org")
    assert first_line.endswith("by the end of next week at the latest.")
    assert "logo" not in msg.body_text and "cid:" not in msg.body_text
    assert "margin" not in msg.body_text  # the <style> block is not text
    assert "1. Confirm the date" in msg.new_text and "- Ask about parking" in msg.new_text
    assert "Which venue" not in msg.new_text
    assert "> Which venue should we take?" in msg.quoted_text
    assert msg.thread_id == "venue-1@example.org"


def test_forwarded_message_part_becomes_quoted_text() -> None:
    (msg,) = read_all(FIXTURES / "forwarded.eml")
    assert msg.new_text == "Karl, can you handle this renewal? See the forwarded message."
    assert msg.quoted_text.startswith("---------- Forwarded message ----------")
    assert "From: Legal Team <legal@example.com>" in msg.quoted_text
    assert "expires on 31 March" in msg.quoted_text
    assert "expires on 31 March" in msg.body_text
    assert msg.attachments == ["renewal.docx"]  # the forwarded message's own attachment
    assert msg.thread_id == "fwd-1@example.com"  # not the forwarded message's id


def test_missing_boundary_is_recovered() -> None:
    (msg,) = read_all(FIXTURES / "broken_boundary.eml")
    assert msg.new_text == "Mia, the server migration moves to Saturday – please tell the users."
    assert msg.attachments == ["diagram.png"]
    assert "boundary" in (msg.charset_note or "")


def test_wrong_boundary_is_recovered() -> None:
    raw = message(
        b"--real\nContent-Type: text/plain\n\nThe part text.\n--real--\n",
        Content_Type='multipart/mixed; boundary="declared"',
    )
    assert parse(raw).new_text == "The part text."


def test_multipart_without_any_boundary_lines_is_read_as_text() -> None:
    raw = message(b"Just text after all.\n", Content_Type="multipart/mixed")
    msg = parse(raw)
    assert msg.new_text == "Just text after all."
    assert "plain text" in (msg.charset_note or "")


def test_bad_base64_and_quoted_printable_are_salvaged() -> None:
    b64 = message(
        b"UGxlYXNlIGNhbGwg!!!bWUgYmFjay4=\n",
        Content_Type="text/plain; charset=utf-8",
        Content_Transfer_Encoding="base64",
    )
    msg = parse(b64)
    assert msg.new_text == "Please call me back."
    assert "base64" in (msg.charset_note or "")

    qp = message(
        b"Caf=C3=A9 at n=ZZoon, soft=\nbreak=\n",
        Content_Type="text/plain; charset=utf-8",
        Content_Transfer_Encoding="quoted-printable",
    )
    assert parse(qp).new_text == "Café at n=ZZoon, softbreak"


def test_malformed_content_type_falls_back_to_text() -> None:
    raw = message(
        b"Body survives.\n", Content_Type='text/plain; charset="; format=', MIME_Version="1.0"
    )
    assert parse(raw).new_text == "Body survives."


def test_format_flowed_is_unwrapped() -> None:
    raw = message(
        b"This sentence was wrapped \nby the sender's client.\n> quoted and \n> wrapped\n",
        Content_Type="text/plain; charset=utf-8; format=flowed",
    )
    msg = parse(raw)
    assert msg.new_text == "This sentence was wrapped by the sender's client."
    assert msg.quoted_text == "> quoted and wrapped"


def test_attachment_inside_multipart_related_and_signed_parts() -> None:
    raw = message(
        b"--s\nContent-Type: multipart/related; boundary=r\n\n"
        b"--r\nContent-Type: text/html\n\n<p>See the chart.</p>\n"
        b"--r\nContent-Type: image/png; name=chart.png\nContent-ID: <c1>\n"
        b"Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--r--\n"
        b"--s\nContent-Type: application/pgp-signature; name=signature.asc\n\n"
        b"-----BEGIN PGP SIGNATURE-----\n--s--\n",
        Content_Type='multipart/signed; boundary="s"; protocol="application/pgp-signature"',
    )
    msg = parse(raw)
    assert msg.new_text == "See the chart."
    assert msg.attachments == ["chart.png"]


# --- charsets ----------------------------------------------------------------------------------

GERMAN = "Grüße aus München: bitte prüfen Sie die Änderungen bis Freitag."
FRENCH = "Très bien, à bientôt : le café est réservé pour jeudi."


@pytest.mark.parametrize(
    ("text", "charset"),
    [
        (GERMAN, "iso-8859-1"),
        (FRENCH, "ISO-8859-1"),
        ("“Quoted” – costs 5 € per person…", "windows-1252"),
        ("Zażółć gęślą jaźń, proszę o potwierdzenie.", "iso-8859-2"),
        ("Привет, встреча завтра в десять.", "koi8-r"),
    ],
)
def test_declared_charsets_decode_without_note(text: str, charset: str) -> None:
    raw = message(
        text.encode(charset) + b"\n",
        Content_Type=f"text/plain; charset={charset}",
        Content_Transfer_Encoding="8bit",
    )
    msg = parse(raw)
    assert msg.new_text == text
    assert msg.charset_note is None


def test_latin1_label_on_windows_1252_bytes_is_read_as_windows_1252() -> None:
    text = "Costs: 5 € – “approx.”"
    raw = message(text.encode("cp1252"), Content_Type="text/plain; charset=iso-8859-1")
    assert parse(raw).new_text == text


@pytest.mark.parametrize(
    ("body", "charset", "note"),
    [
        (GERMAN.encode("utf-8"), "iso-8859-1", "declared iso-8859-1 but the bytes are UTF-8"),
        (GERMAN.encode("latin-1"), "utf-8", "declared utf-8 does not match the bytes"),
        (FRENCH.encode("cp1252"), "utf-8", "declared utf-8 does not match the bytes"),
        (GERMAN.encode("utf-8"), "unknown-8bit", "'unknown-8bit', which names none; decoded"),
        (FRENCH.encode("cp1252"), "x-user-defined", "'x-user-defined', which names none"),
        (GERMAN.encode("utf-8"), "klingon-1", "declared charset 'klingon-1' is unknown"),
        (GERMAN.encode("latin-1"), None, "no charset declared for 8-bit text"),
        (FRENCH.encode("utf-8"), None, "no charset declared for 8-bit text; decoded as UTF-8"),
    ],
)
def test_wrong_unknown_or_missing_charset_is_detected(
    body: bytes, charset: str | None, note: str
) -> None:
    content_type = "text/plain" if charset is None else f"text/plain; charset={charset}"
    msg = parse(message(body + b"\n", Content_Type=content_type))
    expected = GERMAN if body.startswith(b"Gr") else FRENCH
    assert msg.new_text == expected
    assert note in (msg.charset_note or "")


# --- headers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("=?iso-8859-1?q?Caf=E9_cr=E8me?=", "Café crème"),
        ("=?UTF-8?B?R3LDvMOfZQ==?=", "Grüße"),
        ("Re: =?utf-8?q?Gr=C3?= =?utf-8?q?=BC=C3=9Fe?= aus Berlin", "Re: Grüße aus Berlin"),
        ("=?utf-8?q?Caf=C3=A9?=\n =?utf-8?q?_au_lait?=", "Café au lait"),  # folded
        ("Re:=?utf-8?q?Caf=C3=A9?=bar", "Re:Cafébar"),  # glued to text
        ("=?iso-8859-1?q?Caf=E9 ol?=", "Café ol"),  # space inside the word
        ("=?utf-8?q?Caf=C3=A9", "Café"),  # missing ?=
        ("=?utf-8?b?R3LDvMOfZQ?=", "Grüße"),  # missing base64 padding
        ("=?x-unknown?q?Caf=C3=A9?=", "Café"),  # unknown charset, UTF-8 bytes
        ("=?utf-8*en?q?Hello?=", "Hello"),  # RFC 2231 language tag
        ("Plain subject with =? in it", "Plain subject with =? in it"),
    ],
)
def test_rfc2047_subjects(subject: str, expected: str) -> None:
    assert parse(message(b"x\n", Subject=subject)).subject == expected


def test_raw_8bit_headers() -> None:
    utf8 = message(b"x\n", Subject="Grüße", From="Jörg Beispiel <joerg@example.de>")
    msg = parse(utf8)
    assert msg.subject == "Grüße"
    assert msg.sender == Address("Jörg Beispiel", "joerg@example.de")
    assert msg.charset_note is None

    latin1 = message(b"x\n").replace(b"Subject: Test", "Subject: Grüße".encode("latin-1"))
    msg = parse(latin1)
    assert msg.subject == "Grüße"
    assert "Subject header" in (msg.charset_note or "")


def test_encoded_display_names() -> None:
    raw = message(
        b"x\n",
        From="=?utf-8?q?J=C3=B6rg_Beispiel?= <Joerg@Example.DE>",
        To='"=?iso-8859-1?q?Ren=E9e?=" <renee@example.fr>, =?utf-8?q?Smith=2C_J?= <js@example.com>',
    )
    msg = parse(raw)
    assert msg.sender == Address("Jörg Beispiel", "joerg@example.de")
    assert msg.to == [Address("Renée", "renee@example.fr"), Address("Smith, J", "js@example.com")]


def test_malformed_address_lists_are_salvaged() -> None:
    raw = message(
        b"x\n",
        To=(
            'Smith, John <John@Example.com>, "Doe, Jane" <JANE@EXAMPLE.COM>; bad entry, '
            "undisclosed-recipients:;, </O=ORG/OU=EXCHANGE/CN=RECIPIENTS/CN=XY>, "
            "kim@example.com (Kim Park), <lee@example.com, Team: pat@example.com, "
            "mailto:sam@example.com"
        ),
        Cc='"Unbalanced <quote@example.com>, ok@example.com',
    )
    msg = parse(raw)
    assert msg.to == [
        Address("Smith, John", "john@example.com"),
        Address("Doe, Jane", "jane@example.com"),
        Address("Kim Park", "kim@example.com"),
        Address(None, "lee@example.com"),
        Address(None, "pat@example.com"),
        Address(None, "sam@example.com"),
    ]
    assert [a.email for a in msg.cc] == ["quote@example.com", "ok@example.com"]
    # a quoted display name that holds an address of its own
    msg = parse(message(b"x\n", To='"Pat <pat@old.example>" <pat@new.example>'))
    assert msg.to == [Address("Pat <pat@old.example>", "pat@new.example")]


def test_sender_falls_back_to_sender_header_and_missing_from_is_none() -> None:
    raw = message(b"x\n", From="undisclosed", Sender="Ann <ann@example.org>")
    assert parse(raw).sender == Address("Ann", "ann@example.org")
    raw = message(b"x\n", From="")
    assert parse(raw).sender is None


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Mon, 3 Mar 2025 10:00:00 +0100", datetime(2025, 3, 3, 9, 0, tzinfo=UTC)),
        ("3 Mar 2025 10:00 GMT", datetime(2025, 3, 3, 10, 0, tzinfo=UTC)),
        ("not a date at all", None),
        ("Mon, 32 Foo 2025 99:99:99 +0100", None),
        ("", None),
    ],
)
def test_dates(date: str, expected: datetime | None) -> None:
    assert parse(message(b"x\n", Date=date)).sent_at == expected


def test_message_ids_and_threading() -> None:
    raw = message(b"x\n", Message_ID="no-brackets@example.org", In_Reply_To="<p@example.org>")
    msg = parse(raw)
    assert msg.message_id == "no-brackets@example.org"
    assert (msg.in_reply_to, msg.references, msg.thread_id) == (
        "p@example.org",
        [],
        "p@example.org",
    )

    raw = message(
        b"x\n",
        References="<root@example.org> <mid@example.org> <root@example.org>",
        In_Reply_To="<mid@example.org> (Ann's message of Monday)",
    )
    msg = parse(raw)
    assert msg.references == ["root@example.org", "mid@example.org"]
    assert msg.in_reply_to == "mid@example.org"
    assert msg.thread_id == "root@example.org"


def test_missing_message_id_is_deterministic() -> None:
    raw = message(b"Same content.\n", Message_ID="")
    first, second = parse(raw), parse(raw)
    other = parse(message(b"Other content.\n", Message_ID=""))
    assert first.message_id == second.message_id != other.message_id
    assert first.message_id.endswith("@missing-id.invalid")


# --- quotes and signatures ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "new", "quoted_start"),
    [
        pytest.param(
            "Sounds good.\n\nOn Mon, 3 Mar 2025 at 10:00, Ann <ann@example.org> wrote:\n"
            "> Shall we meet?\n",
            "Sounds good.",
            "On Mon, 3 Mar 2025 at 10:00, Ann <ann@example.org> wrote:",
            id="english",
        ),
        pytest.param(
            "Sounds good.\n\nOn Mon, 3 Mar 2025 at 10:00, Ann Example <\nann@example.org> wrote:\n"
            ">\n> Shall we meet?\n",
            "Sounds good.",
            "On Mon, 3 Mar 2025 at 10:00, Ann Example <\nann@example.org> wrote:",
            id="english-wrapped",
        ),
        pytest.param(
            "Passt.\n\nAm 03.03.2025 um 10:00 schrieb Jörg Beispiel <joerg@example.de>:\n"
            "> Passt Donnerstag?\n",
            "Passt.",
            "Am 03.03.2025 um 10:00 schrieb",
            id="german",
        ),
        pytest.param(
            "Passt.\n\nJörg Beispiel <joerg@example.de> schrieb am Mo., 3. März 2025, 10:00:\n"
            "> Passt Donnerstag?\n",
            "Passt.",
            "Jörg Beispiel",
            id="german-thunderbird",
        ),
        pytest.param(
            "D'accord.\n\nLe lun. 3 mars 2025 à 10:00, Claire <claire@example.fr> a\u00a0écrit\u00a0:\n"
            "> On se voit jeudi ?\n",
            "D'accord.",
            "Le lun. 3 mars 2025",
            id="french",
        ),
        pytest.param(
            "Vale.\n\nEl lun, 3 mar 2025 a las 10:00, Diego (<diego@example.es>) escribió:\n"
            "> ¿Nos vemos el jueves?\n",
            "Vale.",
            "El lun, 3 mar 2025",
            id="spanish",
        ),
        pytest.param(
            "See below.\n\n-----Original Message-----\nFrom: Ann\nSent: Monday\nTo: Bob\n"
            "Subject: budget\n\nOld text\n",
            "See below.",
            "-----Original Message-----",
            id="outlook-original-message",
        ),
        pytest.param(
            "Agreed.\n\nBob\n\n________________________________\nFrom: Ann Example "
            "<ann@example.org>\nSent: Monday, March 3, 2025 10:00 AM\nTo: Bob\nSubject: RE: x\n\n"
            "older text\n",
            "Agreed.\n\nBob",
            "________________________________\nFrom: Ann Example",
            id="outlook-separator",
        ),
        pytest.param(
            "Agreed.\n\nFrom: Ann Example <ann@example.org>\nDate: Monday, 3 March 2025\n"
            "To: Bob <bob@example.org>\nSubject: plans\n\nolder text\n",
            "Agreed.",
            "From: Ann Example",
            id="outlook-header-block",
        ),
        pytest.param(
            "Einverstanden.\n\nVon: Ann Example\nGesendet: Montag, 3. März 2025 10:00\nAn: Bob\n"
            "Betreff: Plan\n\nalter Text\n",
            "Einverstanden.",
            "Von: Ann Example",
            id="outlook-german",
        ),
        pytest.param(
            "FYI, see below.\n\n---------- Forwarded message ---------\nFrom: Ann <ann@example.org>\n"
            "Date: Mon, 3 Mar 2025\nSubject: plans\nTo: Bob <bob@example.org>\n\nforwarded text\n",
            "FYI, see below.",
            "---------- Forwarded message ---------",
            id="gmail-forward",
        ),
        pytest.param(
            "Look at this.\n\nBegin forwarded message:\n\nFrom: Ann <ann@example.org>\n"
            "Subject: plans\n\nforwarded text\n",
            "Look at this.",
            "Begin forwarded message:",
            id="apple-forward",
        ),
        pytest.param(
            "Noted.\n\nQuoting Keith Sample <keith@example.org>:\n> The draft is ready.\n",
            "Noted.",
            "Quoting Keith Sample",
            id="horde",
        ),
    ],
)
def test_reply_styles(text: str, new: str, quoted_start: str) -> None:
    new_text, quoted_text, signature = split_quoted_and_signature(text)
    assert new_text == new
    assert quoted_text.startswith(quoted_start)
    assert signature == ""


def test_bottom_posting_keeps_interleaved_answers() -> None:
    text = (
        "On Mon, 3 Mar 2025, Ann <ann@example.org> wrote:\n"
        "> Can you book the room?\n"
        "\n"
        "Yes, booked for Thursday.\n"
        "\n"
        "> And order lunch?\n"
        ">> (for twelve people)\n"
        "\n"
        "I will order it on Wednesday.\n"
        "\n"
        "-- \n"
        "Bob\n"
    )
    new_text, quoted_text, signature = split_quoted_and_signature(text)
    assert new_text == "Yes, booked for Thursday.\n\nI will order it on Wednesday."
    assert quoted_text == (
        "On Mon, 3 Mar 2025, Ann <ann@example.org> wrote:\n> Can you book the room?\n\n"
        "> And order lunch?\n>> (for twelve people)"
    )
    assert signature == "-- \nBob"


def test_authored_lines_mark_the_new_text_line_by_line() -> None:
    """What the evaluation blanks of an e-mail to read it as the pipeline does, keeping the
    line numbers its gold sentences are known by."""
    lines = [
        "On Mon, 3 Mar 2025, Ann <ann@example.org> wrote:", "> Can you book the room?", "",
        "Yes, booked for Thursday.", "", "> And order lunch?", "I will order it on Wednesday.\r",
        "-- ", "Bob", "-----Original Message-----", "From: Ann", "I'll bring the slides.",
    ]
    authored = authored_lines(lines)
    assert [line for line, mine in zip(lines, authored, strict=True) if mine and line.strip()] == [
        "Yes, booked for Thursday.", "I will order it on Wednesday.\r"]
    new_text, _, _ = split_quoted_and_signature("\n".join(lines))
    assert new_text == "Yes, booked for Thursday.\n\nI will order it on Wednesday."
    assert authored_lines(["Plain text.", "No quote: none at all"]) == [True, True]
    assert authored_lines([]) == []


@pytest.mark.parametrize(
    "footer",
    [
        "Sent from my iPhone",
        "Sent from my Samsung Galaxy smartphone.",
        "Get Outlook for iOS<https://aka.ms/o0ukef>",
        "Get [Outlook for Android](https://aka.ms/ghei36)",
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPad",
        "Enviado desde mi iPhone",
    ],
)
def test_mobile_footers_are_signatures(footer: str) -> None:
    text = (
        f"I'll call you back.\n\n{footer}\n\nOn Mon, 3 Mar 2025, Ann <a@example.org> wrote:\n> ?\n"
    )
    assert split_quoted_and_signature(text) == (
        "I'll call you back.",
        "On Mon, 3 Mar 2025, Ann <a@example.org> wrote:\n> ?",
        footer,
    )


def test_signature_delimiters_and_what_is_not_one() -> None:
    assert split_quoted_and_signature("Text.\n--\nAnn\n+1 555 0100\n") == (
        "Text.",
        "",
        "--\nAnn\n+1 555 0100",
    )
    # A footer-like line in the middle of the text is content.
    text = "Sent from my iPhone yesterday, the file was broken.\nPlease resend it."
    assert split_quoted_and_signature(text) == (text, "", "")
    # A dashed rule that is longer than the delimiter is content.
    assert split_quoted_and_signature("Agenda\n---\nItem one\n") == (
        "Agenda\n---\nItem one",
        "",
        "",
    )


@pytest.mark.parametrize(
    "text",
    [
        "I wrote the report yesterday.\nAnn wrote: the plan is ready.",
        "Ann wrote:\nthe plan is ready, nothing is quoted below this line.",
        "Here is what Claire wrote:\n\nNothing quoted follows.",
        "From: the whole team\nthanks for a great quarter!",
        "Subject: budget\nTo do: everything",
    ],
)
def test_ordinary_content_is_not_cut(text: str) -> None:
    assert split_quoted_and_signature(text) == (text, "", "")


def test_split_on_empty_and_quote_only_text() -> None:
    assert split_quoted_and_signature("") == ("", "", "")
    assert split_quoted_and_signature("> only a quote\n") == ("", "> only a quote", "")


# --- property tests ----------------------------------------------------------------------------

_FRAGMENTS = [
    b"From a@b.c Mon Mar  3 10:00:00 2025\n",
    b"From: Ann <ann@example.org>\n",
    b'To: a@b, "x, <y@z>\n',
    b"Subject: =?utf-8?q?=C3=A9?= =?x?b?####?=\n",
    b"Content-Type: multipart/mixed; boundary=zz\n",
    b"Content-Type: multipart/alternative\n",
    b"Content-Type: message/rfc822\n",
    b"Content-Type: text/html; charset=x-user-defined\n",
    b'Content-Type: text/plain; charset="utf-8"; format=flowed; delsp=yes\n',
    b"Content-Transfer-Encoding: base64\n",
    b"Content-Transfer-Encoding: quoted-printable\n",
    b"Content-Disposition: attachment; filename*=utf-8''%E2%82%AC.pdf\n",
    b"Date: Mon, 3 Mar 2025 10:00:00 +9999\n",
    b"Message-ID: <<>>\n",
    b"References: < > <a@b\n",
    b"\n",
    b"--zz\n",
    b"--zz--\n",
    b">From x\n",
    b"-- \n",
    b"> quoted\n",
    b"On Mon, Ann <a@b> wrote:\n",
    b"<p>html <a href='x'>link</a><blockquote>q</blockquote>\n",
    b"=E9=\n",
    b"\x00",
    b"\xff\xfe\xc3",
]
_MAIL_LIKE_BYTES = st.one_of(
    st.binary(max_size=600),
    st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.binary(max_size=20)), max_size=30).map(
        b"".join
    ),
)


def _check_items(path: Path) -> None:
    try:
        items = list(iter_mail(path))
    except IngestError:
        return
    for item in items:
        assert isinstance(item, MailMessage | IngestError)
        if isinstance(item, MailMessage):
            for text in (item.subject, item.body_text, item.new_text, item.quoted_text):
                text.encode("utf-8")  # storable: no lone surrogates
                assert "\x00" not in text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_MAIL_LIKE_BYTES)
def test_arbitrary_bytes_as_eml_only_yield_records_or_ingest_errors(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.eml"
        path.write_bytes(data)
        _check_items(path)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_MAIL_LIKE_BYTES)
def test_arbitrary_bytes_as_mbox_only_yield_records_or_ingest_errors(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.mbox"
        path.write_bytes(data)
        _check_items(path)


# --- streaming ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_mbox_is_streamed_with_flat_memory(tmp_path: Path) -> None:
    """20k messages (~10 MB): holding the file, or an index of it, would cost megabytes; a
    stream holds one message at a time."""
    path = tmp_path / "big.mbox"
    filler = b"Status line that makes the file big enough to notice. " * 8
    with open(path, "wb") as fh:
        fh.writelines(
            b"From a@example.org Mon Mar  3 10:00:00 2025\nFrom: a@example.org\n"
            b"Message-ID: <m%d@example.org>\n\n%s\n\n" % (n, filler)
            for n in range(20_000)
        )
    size = path.stat().st_size

    tracemalloc.start()
    try:
        count = 0
        last = None
        for item in iter_mail(path):
            assert isinstance(item, MailMessage)
            count += 1
            last = item
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == 20_000
    assert last is not None and last.message_id == "m19999@example.org"
    assert size > 9_000_000
    assert peak < size / 20, f"peak {peak} bytes for a {size}-byte file"


# --- real data ---------------------------------------------------------------------------------


def test_splitter_on_real_mailing_list_replies() -> None:
    """BC3 (W3C mailing-list threads, read from the shared data folder at run time): every
    sentence the annotators saw as quoted (``>``) must leave the new text, every other sentence
    must stay in the new text or signature, except the attribution lines themselves."""
    path = REAL_DATA / "bc3_emails.jsonl"
    if not path.exists():
        pytest.skip(f"{path} not available")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]

    def norm(text: str) -> str:
        return " ".join(text.split())

    own = leaked = 0
    missing: list[str] = []
    for row in rows:
        raw = (
            f"From: {row['from']}\nTo: {row['to']}\nSubject: {row['subject']}\n"
            f"Date: {row['date']}\n\n{row['body']}"
        ).encode()
        msg = parse_message_bytes(raw, source_file="bc3", position=row["source_id"])
        sender = re.search(r"<([^>]+)>", row["from"])
        if sender:
            assert msg.sender is not None and msg.sender.email == sender.group(1).lower()
        kept = norm(msg.new_text + " " + msg.signature)
        for sentence in row["sentences"]:
            text = norm(sentence["text"])
            if text.startswith(">"):
                leaked += text in norm(msg.new_text)
            else:
                own += 1
                if text not in kept:
                    missing.append(text)
    assert leaked == 0
    not_attribution = [
        t for t in missing if not re.search(r"(wrote|Quoting .*):$|Original Message", t)
    ]
    assert len(not_attribution) <= own * 0.01, not_attribution[:10]
