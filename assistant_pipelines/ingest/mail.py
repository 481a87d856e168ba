"""Mail parsers: mbox files, Maildir folders and single ``.eml`` files → :class:`MailMessage`.

Owns finding mail sources below a folder (:func:`list_mail_sources`), reading them
(:func:`iter_mail`, mbox streamed line by line so a 100k-message archive keeps memory flat),
turning one RFC 822 message into a record (:func:`parse_message_bytes`): headers, addresses,
ids, dates, the text body chosen from the MIME tree, charsets, attachments by name.
Separating quotes and signatures lives in ``mail_text.py``.

Real mail is broken in many ways, so every step salvages what it can and says what it did
(``charset_note``); a message is only refused, as an :class:`IngestError` with a reason a person
understands, when nothing usable is left. Nothing else escapes.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import html
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.errors import MessageError
from email.message import Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import BinaryIO, NamedTuple, TypeVar

import charset_normalizer
import html2text

from assistant_pipelines.ingest.errors import IngestError
from assistant_pipelines.ingest.mail_text import clean_text, split_quoted_and_signature, unflow
from assistant_pipelines.ingest.records import Address, MailMessage

__all__ = ["iter_mail", "list_mail_sources", "parse_message_bytes", "split_quoted_and_signature"]

MBOX_SUFFIXES = frozenset({".mbox", ".mbx"})
EML_SUFFIX = ".eml"
MAILDIR_SUBFOLDERS = ("cur", "new")

# What the stdlib email package raises on hostile input besides its own errors (seen: IndexError
# and AttributeError from the header value parser, LookupError from unknown charsets).
_EMAIL_LIB_ERRORS = (
    MessageError,
    ValueError,
    TypeError,
    AttributeError,
    IndexError,
    KeyError,
    LookupError,
    AssertionError,
    RecursionError,
)
_MAX_MIME_DEPTH = 30
# mbox lines are read with a limit so a file of binary junk without newlines cannot make one
# "line" as large as the file.
_MAX_LINE_BYTES = 1 << 20

T = TypeVar("T")


# --- finding sources ---------------------------------------------------------------------------


def list_mail_sources(folder: Path) -> list[Path]:
    """Mail sources below ``folder`` (recursively, sorted): mbox files (``.mbox``/``.mbx`` or any
    file whose first line starts with ``From ``), ``.eml`` files and Maildir folders. Hidden
    files and folders and ``tmp/`` are skipped; a Maildir's own Maildir++ sub-folders
    (``.Sent/``) are the one kind of hidden folder that is listed."""
    found: list[Path] = []
    # os.walk ignores folders it cannot list: one unreadable sub-folder must not hide the rest.
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        maildir = _is_maildir(here)
        if maildir:
            found.append(here)
        keep = []
        for name in dirnames:
            if name == "tmp" or (maildir and name in MAILDIR_SUBFOLDERS):
                continue
            if name.startswith(".") and not (maildir and _is_maildir(here / name)):
                continue
            keep.append(name)
        dirnames[:] = sorted(keep)
        for name in filenames:
            if not name.startswith(".") and _looks_like_mail_file(here / name):
                found.append(here / name)
    return sorted(found)


def _is_maildir(folder: Path) -> bool:
    """A folder with ``cur/`` and/or ``new/`` that hold only files (a folder that happens to be
    called ``new/`` and holds sub-folders or mbox files is not a Maildir)."""
    subfolders = [folder / name for name in MAILDIR_SUBFOLDERS if (folder / name).is_dir()]
    if not subfolders:
        return False
    try:
        for sub in subfolders:
            with os.scandir(sub) as entries:
                for entry in entries:
                    if entry.is_dir() or Path(entry.name).suffix.lower() in MBOX_SUFFIXES:
                        return False
    except OSError:
        return False
    return True


def _looks_like_mail_file(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix in MBOX_SUFFIXES or suffix == EML_SUFFIX:
        return True
    return _starts_with_from_line(path)


def _starts_with_from_line(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(5) == b"From "
    except OSError:
        return False


# --- reading sources ---------------------------------------------------------------------------


def iter_mail(
    path: Path, *, display_path: str | None = None
) -> Iterator[MailMessage | IngestError]:
    """Every message of an mbox file, a Maildir folder or an ``.eml`` file.

    A message that cannot be parsed is yielded as an :class:`IngestError` and reading goes on;
    a source that cannot be read at all (missing, unreadable, empty, not a Maildir) raises
    :class:`IngestError`. ``display_path`` replaces ``str(path)`` in records and errors
    (e.g. a path relative to the inbox).
    """
    source = display_path if display_path is not None else str(path)
    try:
        is_dir = path.is_dir()
        exists = is_dir or path.exists()
    except OSError as exc:
        raise IngestError(source, "file", f"cannot read: {_os_reason(exc)}") from exc
    if not exists:
        raise IngestError(source, "file", "no such file or folder")
    if is_dir:
        if not _is_maildir(path):
            raise IngestError(
                source, "folder", "not a Maildir: no cur/ or new/ sub-folder holding messages"
            )
        yield from _iter_maildir(path, source)
    elif _is_mbox_file(path):
        yield from _iter_mbox(path, source)
    else:
        yield from _iter_eml(path, source)


def _os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _is_mbox_file(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix in MBOX_SUFFIXES:
        return True
    # An unreadable file is not sniffed here; reading it as .eml reports why it failed.
    return suffix != EML_SUFFIX and _starts_with_from_line(path)


def _read_bytes(path: Path, source: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise IngestError(source, "file", f"cannot read: {_os_reason(exc)}") from exc


def _iter_eml(path: Path, source: str) -> Iterator[MailMessage | IngestError]:
    raw = _read_bytes(path, source)
    if not raw.strip():
        raise IngestError(source, "file", "empty file")
    yield _parse_or_error(raw, source, "file")


def _iter_maildir(folder: Path, source: str) -> Iterator[MailMessage | IngestError]:
    """Messages in ``cur/`` then ``new/``, each sorted by file name (Maildir names start with
    the delivery time, so this is roughly arrival order). Each message's ``source_file`` is
    its own file, so an error points at the file to look at."""
    for sub in MAILDIR_SUBFOLDERS:
        subfolder = folder / sub
        if not subfolder.is_dir():
            continue
        try:
            names = sorted(
                e.name for e in os.scandir(subfolder) if not e.name.startswith(".") and e.is_file()
            )
        except OSError as exc:
            raise IngestError(
                f"{source}/{sub}", "folder", f"cannot list: {_os_reason(exc)}"
            ) from exc
        for name in names:
            message_source = f"{source}/{sub}/{name}"
            try:
                raw = _read_bytes(subfolder / name, message_source)
            except IngestError as exc:
                yield exc
                continue
            if not raw.strip():
                yield IngestError(message_source, "file", "empty file")
                continue
            yield _parse_or_error(raw, message_source, "file")


def _iter_mbox(path: Path, source: str) -> Iterator[MailMessage | IngestError]:
    with _open_binary(path, source) as fh:
        found_any = False
        for number, line_no, raw in _split_mbox(fh, source):
            found_any = True
            yield _parse_or_error(raw, source, f"message {number} (line {line_no})")
        if not found_any:
            raise IngestError(source, "file", "empty file")


def _open_binary(path: Path, source: str) -> BinaryIO:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise IngestError(source, "file", f"cannot read: {_os_reason(exc)}") from exc


def _parse_or_error(raw: bytes, source: str, position: str) -> MailMessage | IngestError:
    try:
        return parse_message_bytes(raw, source_file=source, position=position)
    except IngestError as exc:
        return exc


# --- mbox splitting ----------------------------------------------------------------------------

# A real From_ line carries the delivery time and year ("From ann@x.org Mon Mar  3 10:00:00
# 2025", "From - Mon Mar 03 …", Gmail's "From 1782…@xxx Mon Jan 01 00:00:00 +0000 2024").
_FROM_LINE_WITH_DATE = re.compile(rb"^From \S+\s(?=.*\d{1,2}:\d{2})(?=.*\d{4})")
_HEADER_LINE = re.compile(rb"^[\x21-\x39\x3b-\x7e]+:")
_ESCAPED_FROM = re.compile(rb"^>+From ")


class _Line(NamedTuple):
    number: int  # 1-based line number in the file
    data: bytes
    at_line_start: bool  # False for the continuation pieces of an over-long line


def _numbered_lines(fh: BinaryIO, source: str) -> Iterator[_Line]:
    number, at_start = 1, True
    while True:
        try:
            data = fh.readline(_MAX_LINE_BYTES)
        except OSError as exc:
            raise IngestError(source, f"line {number}", f"cannot read: {_os_reason(exc)}") from exc
        if not data:
            return
        yield _Line(number, data, at_start)
        at_start = data.endswith(b"\n")
        if at_start:
            number += 1


def _is_separator(line: _Line, previous_blank: bool, following: _Line | None) -> bool:
    """A ``From `` line at the start of a line, at the start of the file or after a blank line,
    that either carries a date or is followed by a header line. Body lines that begin with
    "From " are escaped by mbox writers; the extra checks cover writers that did not."""
    if not (line.at_line_start and previous_blank and line.data.startswith(b"From ")):
        return False
    # Only the start of a line is looked at: a megabyte of junk after "From " must not make
    # the regex backtrack over all of it.
    if _FROM_LINE_WITH_DATE.match(line.data[:200]):
        return True
    return following is not None and bool(_HEADER_LINE.match(following.data[:200]))


def _split_mbox(fh: BinaryIO, source: str) -> Iterator[tuple[int, int, bytes]]:
    """Stream ``(message_number, line_of_its_From_line, raw_message)`` out of an mbox file,
    holding one message in memory at a time. mboxrd ``>From `` escapes are undone. Text
    before the first separator (a file that is one message without a From_ line) is
    message 1, starting at line 1."""
    lines = _numbered_lines(fh, source)
    current: list[bytes] = []
    start_line, number = 1, 0
    has_separator = False  # whether ``current`` began with a From_ line
    previous_blank = True
    following = next(lines, None)
    while following is not None:
        line, following = following, next(lines, None)
        if _is_separator(line, previous_blank, following):
            if has_separator or any(chunk.strip() for chunk in current):
                number += 1
                yield number, start_line, b"".join(current)
            current, start_line, has_separator = [], line.number, True
            previous_blank = False
            continue
        data = line.data
        if data[:1] == b">" and line.at_line_start and _ESCAPED_FROM.match(data):
            data = data[1:]
        current.append(data)
        previous_blank = line.at_line_start and data.endswith(b"\n") and not data.strip()
    if has_separator or any(chunk.strip() for chunk in current):
        yield number + 1, start_line, b"".join(current)


# --- one message -------------------------------------------------------------------------------

# Headers that make a block of "Name: value" lines an e-mail rather than some other text.
_MAIL_HEADERS = frozenset(
    {
        "from", "to", "cc", "bcc", "subject", "date", "message-id", "sender", "reply-to",
        "in-reply-to", "references", "received", "return-path", "delivered-to", "mime-version",
        "content-type", "content-transfer-encoding", "x-mailer", "user-agent", "list-id",
    }
)  # fmt: skip


def parse_message_bytes(raw: bytes, *, source_file: str, position: str) -> MailMessage:
    """One RFC 822 message (bytes, optionally starting with an mbox ``From `` line) as a
    :class:`MailMessage`. Broken MIME, charsets and headers are salvaged; raises
    :class:`IngestError` only when there is no message to speak of."""
    try:
        return _parse_message(raw, source_file, position)
    except IngestError:
        raise
    except Exception as exc:
        # Last resort: the stdlib parser has known crash bugs on hostile input, and a parser
        # must only ever raise IngestError (the fuzz tests feed it arbitrary bytes).
        raise IngestError(
            source_file,
            position,
            f"the e-mail parser failed on this message ({type(exc).__name__}: {exc})",
        ) from exc


def _strip_envelope(raw: bytes) -> tuple[bytes, int]:
    """Drop a leading BOM, blank lines and an mbox ``From `` line; return the rest and how
    many bytes were dropped (so byte offsets in errors point into ``raw``)."""
    start = 0
    if raw.startswith(b"\xef\xbb\xbf"):
        start = 3
    while True:
        end = raw.find(b"\n", start)
        line = raw[start:] if end < 0 else raw[start : end + 1]
        if line and not line.strip():
            start += len(line)
            continue
        if line.startswith(b"From "):
            start += len(line)
            continue
        return raw[start:], start


def _undo_utf16(raw: bytes) -> tuple[bytes, bool]:
    """Windows tools sometimes save an .eml as UTF-16 text; every other byte is then NUL and
    the file would look binary. Convert such input to UTF-8 (with or without a BOM)."""
    head = raw[:200]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif len(head) >= 20 and head[1::2].count(0) == len(head[1::2]) and head[0::2].isascii():
        encoding = "utf-16-le"
    elif len(head) >= 20 and head[0::2].count(0) == len(head[0::2]) and head[1::2].isascii():
        encoding = "utf-16-be"
    else:
        return raw, False
    try:
        return raw.decode(encoding).encode("utf-8"), True
    except UnicodeDecodeError:
        return raw, False


def _header_section_end(data: bytes) -> int:
    match = re.search(rb"\r?\n\r?\n", data)
    return match.start() if match else len(data)


def _parse_message(raw: bytes, source: str, position: str) -> MailMessage:
    notes: list[str] = []
    raw, was_utf16 = _undo_utf16(raw)
    if was_utf16:
        notes.append("the message was stored as UTF-16 text; converted before parsing")
    data, offset = _strip_envelope(raw)
    if not data.strip():
        raise IngestError(source, position, "empty message: no headers and no body")
    nul = data.find(b"\x00")
    if 0 <= nul < _header_section_end(data):
        raise IngestError(
            source, position, f"binary data, not an e-mail (NUL bytes at byte {nul + offset})"
        )
    msg = _parse_tree(data)
    names = [name.lower() for name, _ in msg.raw_items()]
    if not names:
        raise IngestError(source, position, "no headers found: not an RFC 822 message")
    if not _MAIL_HEADERS.intersection(names):
        shown = ", ".join(sorted(set(names))[:5])
        raise IngestError(
            source,
            position,
            f"no e-mail headers found (only {shown}; expected From, To, Subject, Date…): "
            "not an RFC 822 message",
        )

    headers = _Headers(msg, notes)
    message_id = _first(_message_ids(headers.get("message-id"))) or _synthetic_id(data)
    references = _unique(_message_ids(headers.get_all("references")))
    in_reply_to = _first(_message_ids(headers.get("in-reply-to")))
    sender = _first(_addresses(headers.get_all("from"), notes)) or _first(
        _addresses(headers.get_all("sender"), notes)
    )

    body = _Body()
    _collect(msg, body, notes, depth=0)
    main_text = _tidy("\n\n".join(t for t in body.texts if t.strip()))
    forwarded = [t for t in (_tidy(f) for f in body.forwarded) if t]
    new_text, quoted_text, signature = split_quoted_and_signature(main_text)
    return MailMessage(
        source_file=source,
        position=position,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        thread_id=_first(references) or in_reply_to or message_id,
        subject=_one_line(headers.decoded("subject")),
        sender=sender,
        to=_addresses(headers.get_all("to"), notes),
        cc=_addresses(headers.get_all("cc"), notes),
        sent_at=_parse_date(headers.get("date")),
        body_text="\n\n".join(t for t in (main_text, *forwarded) if t),
        new_text=new_text,
        quoted_text="\n\n".join(t for t in (quoted_text, *forwarded) if t),
        signature=signature,
        attachments=body.attachments,
        charset_note="; ".join(_unique(notes)) or None,
    )


def _parse_tree(data: bytes) -> Message:
    """Parse the MIME tree with ``compat32``: headers are read raw below anyway, and the
    modern policy's header objects cost ~70% of all mail ingest time (3.5x slower on the
    benchmark mbox, with identical output). The modern policy is the fallback."""
    try:
        return BytesParser(policy=policy.compat32).parsebytes(data)
    except _EMAIL_LIB_ERRORS:
        return BytesParser(policy=policy.default).parsebytes(data)


def _synthetic_id(data: bytes) -> str:
    """A stable Message-ID for a message without one: the same message gives the same id
    whether it comes from an mbox (envelope line dropped) or a file with CRLF line ends."""
    normalized = data.replace(b"\r\n", b"\n").rstrip()
    return hashlib.sha256(normalized).hexdigest()[:24] + "@missing-id.invalid"


def _first(items: list[T]) -> T | None:
    return items[0] if items else None


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _one_line(text: str) -> str:
    """A header value for display: clean, whitespace (folding, tabs) collapsed."""
    return re.sub(r"\s+", " ", clean_text(text)).strip()


def _tidy(text: str) -> str:
    """Clean a body and trim blank lines at both ends (inner indentation stays)."""
    text = re.sub(r"\n[ \t]*\n(?:[ \t]*\n)+", "\n\n", clean_text(text))
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def _safe(call: Callable[[], T], default: T) -> T:
    """Run one stdlib accessor that may trip over a malformed header; fall back to default."""
    try:
        return call()
    except _EMAIL_LIB_ERRORS:
        return default


# --- headers -----------------------------------------------------------------------------------


class _Headers:
    """Header values read raw (``raw_items``, never the policy's parsed header objects, which
    raise on some malformed input) and decoded by this module's tolerant rules."""

    def __init__(self, msg: Message, notes: list[str]) -> None:
        self._raw: dict[str, list[str]] = {}
        for name, value in msg.raw_items():
            self._raw.setdefault(name.lower(), []).append(str(value))
        self._notes = notes

    def get_all(self, name: str) -> list[str]:
        return [_raw_header_text(value, name, self._notes) for value in self._raw.get(name, [])]

    def get(self, name: str) -> str | None:
        values = self.get_all(name)
        return values[0] if values else None

    def decoded(self, name: str) -> str:
        value = self.get(name)
        return "" if value is None else _decode_header_text(value, name, self._notes)


def _raw_header_text(value: str, name: str, notes: list[str]) -> str:
    """Unfold a raw header value and turn raw 8-bit bytes in it (kept by the parser as
    surrogate escapes) into text: UTF-8 (RFC 6532) if they are, else windows-1252."""
    if "\n" in value or "\r" in value:
        value = re.sub(r"\r?\n(?=[ \t])", "", value).replace("\r", "").replace("\n", "")
    if value.isascii():
        return value
    data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        notes.append(f"{name.title()} header: raw 8-bit bytes are not UTF-8; read as windows-1252")
        return data.decode("cp1252", errors="replace")


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?(.*?)(?:\?=|$)", re.DOTALL)


def _decode_header_text(value: str, name: str = "header", notes: list[str] | None = None) -> str:
    """Decode RFC 2047 encoded words (``=?iso-8859-1?q?Caf=E9?=``), tolerating the common
    breakage: words glued to text, spaces inside words, a missing ``?=`` at the end, bad
    base64 padding, unknown charsets and multi-byte characters split across two words."""
    notes = notes if notes is not None else []
    out: list[str] = []
    pending: list[bytes] = []
    pending_charset: str | None = None
    position, last_was_word = 0, False

    def flush() -> None:
        nonlocal pending_charset
        if pending:
            text, note = _decode_bytes(b"".join(pending), pending_charset, what=f"{name} header")
            out.append(text)
            if note:
                notes.append(note)
        pending.clear()
        pending_charset = None

    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        # Whitespace between two encoded words is folding, not content (RFC 2047 §6.2).
        if between and not (last_was_word and between.isspace()):
            flush()
            out.append(between)
        charset = match.group(1).split("*", 1)[0].lower()  # drop an RFC 2231 language tag
        encoded = match.group(3)
        data = _q_decode(encoded) if match.group(2) in "qQ" else _b_decode(encoded)
        if data is None:
            flush()
            out.append(match.group(0))
            last_was_word = False
        else:
            if pending_charset != charset:
                flush()
                pending_charset = charset
            pending.append(data)
            last_was_word = True
        position = match.end()
    flush()
    out.append(value[position:])
    return "".join(out)


def _q_decode(text: str) -> bytes:
    data = text.replace("_", " ").encode("utf-8", "surrogateescape")
    return re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), data)


def _b_decode(text: str) -> bytes | None:
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
    cleaned = cleaned[: len(cleaned) - len(cleaned) % 4 if len(cleaned) % 4 == 1 else None]
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        return None


# --- message ids, dates ------------------------------------------------------------------------


def _message_ids(values: str | list[str] | None) -> list[str]:
    """Ids from Message-ID / In-Reply-To / References values, without angle brackets. Values
    without brackets (seen from some clients) fall back to their tokens that look like ids."""
    if values is None:
        return []
    ids: list[str] = []
    for value in [values] if isinstance(values, str) else values:
        bracketed = [re.sub(r"\s+", "", v) for v in re.findall(r"<([^<>]*)>", value)]
        found = [v for v in bracketed if v]
        if not found:
            tokens = [t.strip("<>,;\"'") for t in value.split()]
            found = [t for t in tokens if "@" in t] or [t for t in tokens[:1] if t]
        ids.extend(found)
    return ids


def _parse_date(value: str | None) -> datetime | None:
    """The Date header as a datetime; invalid or missing is ``None`` (not an error)."""
    if not value or not value.strip():
        return None
    try:
        return parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


# --- addresses ---------------------------------------------------------------------------------

# One plain address, bare or as "Name <a@x>" (no quotes, comments or encoded words).
_SIMPLE_ADDRESS = re.compile(
    r"^\s*(?:([^\"<>,;:()=@\\]*?)\s*<([^<>@\s\"(),;:]+@[^<>@\s\"(),;:]+)>"
    r"|([^<>@\s\"(),;:]+@[^<>@\s\"(),;:]+))\s*$"
)
_EMAIL = re.compile(r"^[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+$")
_GROUP_PREFIX = re.compile(r'^\s*[^"<>@:,]*:\s*')
# Commas inside angle brackets are not protected: valid addresses have none (bar obsolete
# source routes), and an unclosed "<" must not swallow the rest of the list.
_SIMPLE_LIST_SEPARATOR = re.compile(r"[,;]")


def _addresses(values: list[str], notes: list[str]) -> list[Address]:
    """Every address in the given header values. Unparsable entries are skipped, not fatal:
    ``undisclosed-recipients:;``, X.500 paths, a lone name without an address."""
    result: list[Address] = []
    for value in values:
        simple = _SIMPLE_ADDRESS.match(value)
        if simple:  # the common case, without the salvage machinery below
            name = _one_line(simple.group(1) or "")
            email = (simple.group(2) or simple.group(3)).lower()
            result.append(Address(name if name and name.lower() != email else None, email))
            continue
        for chunk in _split_address_list(value):
            address = _parse_address(chunk, notes)
            if address is not None:
                result.append(address)
    return result


def _split_address_list(value: str) -> list[str]:
    """Split on commas and semicolons outside quotes, comments and encoded words; then
    re-join an unquoted "Last, First <a@x>" that the comma split in two."""
    if not any(mark in value for mark in ('"', "(", "=?")):
        chunks = _SIMPLE_LIST_SEPARATOR.split(value)
    else:
        chunks = _split_quoted_address_list(value)
    merged: list[str] = []
    for chunk in chunks:
        if (
            merged
            and "<" in chunk
            and not re.search(r"[@<:]", merged[-1])
            and merged[-1].strip()
            and "@" not in chunk.split("<", 1)[0]
        ):
            merged[-1] = f"{merged[-1]}, {chunk.strip()}"
        else:
            merged.append(chunk)
    return [c.strip() for c in merged if c.strip()]


def _split_quoted_address_list(value: str) -> list[str]:
    chunks: list[str] = []
    buf: list[str] = []
    in_quote, paren_depth = False, 0
    i = 0
    while i < len(value):
        char = value[i]
        if in_quote:
            if char == "\\" and i + 1 < len(value):
                buf.append(value[i : i + 2])
                i += 2
                continue
            in_quote = char != '"'
        elif value.startswith("=?", i):
            end = value.find("?=", i + 2)
            end = len(value) if end < 0 else end + 2
            buf.append(value[i:end])
            i = end
            continue
        elif char == '"':
            in_quote = True
        elif char == "(":
            paren_depth += 1
        elif char == ")" and paren_depth:
            paren_depth -= 1
        elif char in ",;" and not paren_depth:
            chunks.append("".join(buf))
            buf = []
            i += 1
            continue
        buf.append(char)
        i += 1
    chunks.append("".join(buf))
    if in_quote:  # an unbalanced quote swallowed the rest: split naively instead
        return re.split(r"[,;]", value)
    return chunks


def _parse_address(chunk: str, notes: list[str]) -> Address | None:
    chunk = _GROUP_PREFIX.sub("", chunk, count=1) if ":" in chunk.split("<", 1)[0] else chunk
    chunk = chunk.strip().rstrip(";")
    # The last <…> is the address: a quoted display name may hold one too.
    angle = next(reversed(list(re.finditer(r"<([^<>]*)>?", chunk))), None)
    if angle:
        email = angle.group(1)
        name = chunk[: angle.start()] + " " + chunk[angle.end() :]
    else:
        comment = re.search(r"\(([^()]*)\)", chunk)
        rest = chunk if comment is None else chunk[: comment.start()] + chunk[comment.end() :]
        tokens = rest.split()
        email = next((t for t in tokens if "@" in t), "")
        name = comment.group(1) if comment else " ".join(t for t in tokens if t != email)
    email = email.strip().strip("'\"").removeprefix("mailto:").rstrip(".").lower()
    if not _EMAIL.match(email):
        return None
    name = re.sub(r"\([^()]*\)", lambda m: m.group(0)[1:-1], name).strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    name = _one_line(_decode_header_text(name, "address", notes)).strip("'\" ")
    return Address(name if name and name.lower() != email else None, email)


# --- bodies ------------------------------------------------------------------------------------


@dataclass
class _Body:
    texts: list[str] = field(default_factory=list)
    forwarded: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)


_SIGNATURE_TYPES = frozenset(
    {"application/pgp-signature", "application/pkcs7-signature", "application/x-pkcs7-signature"}
)
_INLINE_TEXT_TYPES = frozenset({"text/plain", "text/html", "text/enriched", "text/markdown"})


def _collect(part: Message, body: _Body, notes: list[str], depth: int) -> None:
    """Walk the MIME tree: text parts into ``body.texts``, forwarded messages into
    ``body.forwarded``, everything else into ``body.attachments`` by file name."""
    if depth > _MAX_MIME_DEPTH:
        notes.append(f"MIME parts nested deeper than {_MAX_MIME_DEPTH} levels were skipped")
        return
    ctype = _safe(part.get_content_type, "text/plain")
    maintype = ctype.split("/", 1)[0]
    filename = _filename(part, notes)
    disposition = _safe(part.get_content_disposition, None)

    # Checked before is_multipart(), which is also true for an attached message.
    if ctype in ("message/rfc822", "message/global"):
        if filename:
            body.attachments.append(filename)
        inner = _inner_message(part)
        if inner is not None:
            body.forwarded.append(_forwarded_text(inner, body, notes, depth))
        return

    if part.is_multipart():
        children = [c for c in _safe(part.get_payload, []) if isinstance(c, Message)]
        if ctype == "multipart/alternative":
            best = _best_alternative(children)
            if best is not None:
                _collect(best, body, notes, depth + 1)
            return
        for child in children:
            _collect(child, body, notes, depth + 1)
        return

    if maintype == "multipart":
        # The parser found no parts: the boundary parameter is missing or wrong.
        repaired = _reparse_with_guessed_boundary(part, ctype)
        if repaired is not None:
            notes.append(f"{ctype} had a missing or wrong boundary; parts recovered")
            _collect(repaired, body, notes, depth + 1)
        else:
            notes.append(f"{ctype} had no usable boundary; its content was read as plain text")
            body.texts.append(_part_text(part, notes, "text/plain"))
        return

    if maintype == "message":  # delivery reports and the like: not anyone's words
        return

    if ctype in _SIGNATURE_TYPES:  # a cryptographic signature, not something anyone attached
        return
    if _is_attachment(ctype, disposition, filename):
        body.attachments.append(filename or f"(unnamed {ctype})")
        return
    body.texts.append(_part_text(part, notes, ctype))


def _is_attachment(ctype: str, disposition: str | None, filename: str | None) -> bool:
    if disposition == "attachment":
        return True
    if ctype not in _INLINE_TEXT_TYPES:
        return True
    # A named text part without an explicit "inline" is an attached file (notes.txt).
    return bool(filename) and disposition != "inline"


def _best_alternative(children: list[Message]) -> Message | None:
    """The part of a multipart/alternative to read: plain text when it has words in it (some
    senders put only "view this in HTML" there), else HTML, else the richest nested part."""
    by_type = [(_safe(c.get_content_type, "text/plain"), c) for c in children]
    plain = [c for t, c in by_type if t == "text/plain"]
    if plain and _has_words(plain[0]):
        return plain[0]
    for wanted in ("text/html", "multipart/related", "multipart/mixed"):
        match = [c for t, c in by_type if t == wanted]
        if match:
            return match[-1]
    nested = [c for c in children if c.is_multipart()]
    return (nested or plain or children or [None])[-1]


def _has_words(part: Message) -> bool:
    payload = _decoded_payload(part)
    return len(re.findall(rb"\w+", payload[:4096])) >= 3


def _filename(part: Message, notes: list[str]) -> str | None:
    name = _safe(part.get_filename, None)
    if not name:
        return None
    text = _raw_header_text(str(name), "file name", notes)
    return _one_line(_decode_header_text(text, "file name", notes)) or None


def _inner_message(part: Message) -> Message | None:
    payload = _safe(part.get_payload, None)
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    data = _payload_bytes(part)
    return _parse_tree(data) if data.strip() else None


def _forwarded_text(inner: Message, outer: _Body, notes: list[str], depth: int) -> str:
    """A forwarded message as the quoted block a mail client shows: a short header summary,
    then its body (its own attachments are listed on the outer message)."""
    headers = _Headers(inner, notes)
    lines = ["---------- Forwarded message ----------"]
    for name in ("from", "date", "subject", "to", "cc"):
        value = _one_line(headers.decoded(name))
        if value:
            lines.append(f"{name.title()}: {value}")
    body = _Body()
    _collect(inner, body, notes, depth + 1)
    outer.attachments.extend(body.attachments)
    text = "\n\n".join(t for t in (*body.texts, *body.forwarded) if t.strip())
    return "\n".join(lines) + "\n\n" + text


def _payload_bytes(part: Message) -> bytes:
    """The part's payload as it was on the wire (not transfer-decoded)."""
    payload = _safe(lambda: part.get_payload(decode=False), "")
    if isinstance(payload, list):
        return b""
    return str(payload).encode("utf-8", "surrogateescape")


def _reparse_with_guessed_boundary(part: Message, ctype: str) -> Message | None:
    data = _payload_bytes(part)
    match = re.search(rb"^--([^\s]{1,70}?)(?:--)?[ \t]*\r?$", data, re.MULTILINE)
    if match is None:
        return None
    boundary = match.group(1).replace(b'"', b"")
    header = b"Content-Type: " + ctype.encode() + b'; boundary="' + boundary + b'"\r\n\r\n'
    repaired = _parse_tree(header + data)
    return repaired if repaired.is_multipart() else None


def _decoded_payload(part: Message, notes: list[str] | None = None) -> bytes:
    """The part's content with its transfer encoding undone. Base64 is decoded here rather
    than by the stdlib, which gives up on a cut-off last quantum (a truncated file) and then
    hands back nothing; this decodes every complete quantum."""
    cte = str(_safe(lambda: part.get("content-transfer-encoding", ""), "")).strip().lower()
    if cte == "base64":
        encoded = re.sub(rb"\s+", b"", _payload_bytes(part)).rstrip(b"=")
        cleaned = re.sub(rb"[^A-Za-z0-9+/]", b"", encoded)
        if notes is not None and (cleaned != encoded or len(cleaned) % 4 == 1):
            notes.append("bad base64 in a text part; decoded what was readable")
        return _b_decode(cleaned.decode("ascii")) or b""
    data = _safe(lambda: part.get_payload(decode=True), None)
    return data if isinstance(data, bytes) else _payload_bytes(part)


def _part_text(part: Message, notes: list[str], ctype: str) -> str:
    data = _decoded_payload(part, notes)
    declared = _safe(lambda: part.get_param("charset"), None)
    declared = declared if isinstance(declared, str) else None
    if declared is None and ctype == "text/html":
        meta = re.search(rb"<meta[^>]+charset=[\"']?([\w.:-]+)", data[:4096], re.IGNORECASE)
        declared = meta.group(1).decode("ascii") if meta else None
    text, note = _decode_bytes(data, declared, what="body")
    if note:
        notes.append(note)
    if ctype == "text/html":
        return _html_to_text(text)
    if str(_safe(lambda: part.get_param("format"), "")).lower() == "flowed":
        delsp = str(_safe(lambda: part.get_param("delsp"), "")).lower() == "yes"
        text = unflow(clean_text(text), delsp=delsp)
    return text


# --- HTML --------------------------------------------------------------------------------------

# html2text escapes Markdown-significant characters ("1\." "\-"); the inverse of its escaping
# gives back the text as written.
_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!])")


def _html_to_text(source: str) -> str:
    """HTML as plain text: no line wrapping, links kept (``[text](url)``), images dropped,
    blockquotes as ``>`` lines so quote detection works on them."""
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    converter.ignore_links = False
    converter.ignore_emphasis = True
    converter.unicode_snob = True
    try:
        text = converter.handle(source)
    except Exception:  # noqa: BLE001 - a third-party HTML parser on hostile input: strip tags
        # instead of losing the message.
        text = html.unescape(
            re.sub(r"<[^>]*>", " ", re.sub(r"(?is)<(style|script).*?</\1>", "", source))
        )
    text = _MARKDOWN_ESCAPE.sub(r"\1", text)
    return "\n".join(line.rstrip() for line in text.split("\n"))


# --- charsets ----------------------------------------------------------------------------------

# Labels that say "I don't know" rather than naming a charset.
_NON_CHARSETS = frozenset(
    {"unknown-8bit", "x-unknown", "unknown", "x-user-defined", "8bit", "binary", "default",
     "charset", "none", "us-ascii-8bit", "x-binaryenc"}
)  # fmt: skip
# Labels Python does not know, or where a superset is what senders really use (WHATWG).
_CHARSET_ALIASES = {
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-8-e": "iso-8859-8",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "big5": "big5hkscs",
    "tis-620": "cp874",
    "windows-874": "cp874",
    "x-mac-roman": "mac_roman",
    "ansi_x3.4-1968": "ascii",
    "utf8mb4": "utf-8",
}
# Codecs whose text is not plain ASCII even when every byte is 7-bit.
_SEVEN_BIT_CODECS = ("utf-16", "utf-32", "utf-7", "iso2022", "hz")
# (codecs.lookup() names.)
_SINGLE_BYTE_FAMILY = re.compile(r"^(ascii|iso8859-\d+|cp125\d|mac-roman|koi8-[ru]|cp437|cp850)$")


def _codec_name(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if not label or label in _NON_CHARSETS:
        return None
    label = _CHARSET_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except (LookupError, ValueError):  # ValueError: a NUL inside the label
        return None


def _decode_bytes(
    data: bytes, declared: str | None, *, what: str = "body"
) -> tuple[str, str | None]:
    """Decode ``data`` by its declared charset, detecting the real one when the declaration is
    missing, unknown or wrong. Returns the text and a note for ``charset_note`` (or None when
    the declaration was right)."""
    label = (declared or "").strip().strip("\"'").lower() or None
    codec = _codec_name(label)
    ascii_only = data.isascii()

    if codec is None:
        if ascii_only:
            return data.decode("ascii"), None
        text, found = _detect(data)
        if label is None:
            return text, f"{what}: no charset declared for 8-bit text; decoded as {found}"
        if label in _NON_CHARSETS:
            return text, f"{what}: charset given as {label!r}, which names none; decoded as {found}"
        return text, f"{what}: declared charset {label!r} is unknown; decoded as {found}"

    if ascii_only and not codec.startswith(_SEVEN_BIT_CODECS):
        return data.decode("ascii"), None
    if _SINGLE_BYTE_FAMILY.match(codec) and not ascii_only:
        # Latin-1 text is almost never valid UTF-8 by accident, so valid multi-byte UTF-8
        # means the declaration is wrong (a common mistake of mail gateways).
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return text, f"{what}: declared {label} but the bytes are UTF-8; decoded as UTF-8"
        if codec == "iso8859-1":
            # 0x80-0x9F are control codes in ISO-8859-1 but curly quotes, dashes and € in
            # windows-1252, which is what senders that say latin-1 really use (browsers too).
            return data.decode("cp1252", errors="replace"), None
    try:
        return data.decode(codec), None
    except (UnicodeDecodeError, LookupError):
        text, found = _detect(data)
        return text, f"{what}: declared {label} does not match the bytes; decoded as {found}"


def _detect(data: bytes) -> tuple[str, str]:
    """Guess the charset of 8-bit text: UTF-8 if valid, else charset_normalizer, preferring
    windows-1252 among equally good guesses (charset_normalizer alone picks cp1250 for most
    short Western European texts)."""
    try:
        return data.decode("utf-8"), "UTF-8 (detected)"
    except UnicodeDecodeError:
        pass
    matches = list(charset_normalizer.from_bytes(data))
    if matches:
        least_chaos = min(m.chaos for m in matches)
        best = [m for m in matches if m.chaos <= least_chaos + 0.01]
        for match in best:
            if "cp1252" in (match.encoding, *match.could_be_from_charset):
                return data.decode("cp1252", errors="replace"), "windows-1252 (detected)"
        return str(best[0]), f"{best[0].encoding} (detected)"
    return data.decode("cp1252", errors="replace"), "windows-1252 (a guess: detection failed)"
