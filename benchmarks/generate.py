"""Synthetic inboxes for the ingestion benchmarks: an mbox, a folder of transcripts, ticket exports.

Owns writing realistic-looking but entirely fictional input at any size, deterministically (a
fixed seed gives byte-identical files), streaming to disk so that generating 100k messages
costs no more memory than generating ten. Nothing here is measured: the benchmark generates
first and times the ingestion afterwards.

The shapes follow what the parsers meet in real inboxes, so the benchmark exercises their slow
paths and not only the happy one:

- mail: threads (``In-Reply-To``/``References``), quoted replies with attribution lines,
  signatures, ``multipart/alternative``, HTML-only bodies, quoted-printable and base64,
  ISO-8859-1/windows-1252 parts (declared, mislabelled and undeclared), encoded-word headers,
  attachments, forwarded messages, unescaped and ``>From``-escaped body lines, duplicate
  deliveries, and a few deliberately malformed messages that must end up as ingest errors;
- transcripts: Teams/Meet WebVTT (``<v Name>`` cues, sentences split over cues), Zoom WebVTT
  (numbered ``Name: text`` cues, sidecar JSON), SRT and plain text, in UTF-8, UTF-8 with BOM
  and CRLF, and windows-1252, plus a few broken files;
- tickets: a GitHub REST issues JSON list (issues and pull requests, labels, milestones with due
  dates, null bodies) and a Jira CSV export (repeated ``Labels``/``Comment`` columns, multi-line
  quoted descriptions), each with a few bad records.

All people, companies and addresses are invented; domains are the reserved ``example.*`` ones.
"""

from __future__ import annotations

import base64
import csv
import html as html_lib
import json
import quopri
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

SEED = 20261102

FIRST_NAMES = (
    "Ada", "Bram", "Carmen", "Dario", "Elif", "Femi", "Greta", "Hugo", "Ines", "Jonas", "Kaito",
    "Lena", "Mateo", "Nadia", "Oskar", "Priya", "Quinn", "Rosa", "Sven", "Tamsin", "Umar",
    "Vera", "Wim", "Ximena", "Yusuf", "Zoë", "José", "Małgorzata", "Søren", "Chloé",
)  # fmt: skip
LAST_NAMES = (
    "Abernathy", "Brandvold", "Castellan", "Duvall", "Eckhart", "Falkner", "Grünwald",
    "Halloran", "Ivers", "Jansky", "Kowalczyk", "Lindqvist", "Marchetti", "Nakamura", "Okonkwo",
    "Petrakis", "Quintero", "Rasmussen", "Sørby", "Thibault", "Ulloa", "Varga", "Whitcombe",
    "Yilmaz", "Zeller", "Müller", "Ferreira", "O'Dwyer",
)  # fmt: skip
DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com", "corp.example.org")
COMPANIES = ("Lanternfish Works", "Quillmoor Ltd", "Brightwater Labs", "Oriel Systems")
TITLES = ("Engineering Manager", "Product Lead", "Site Reliability Engineer", "Data Analyst",
          "Support Engineer", "Designer")  # fmt: skip

VERBS = ("send", "review", "update", "draft", "check", "book", "fix", "share", "test", "merge",
         "schedule", "finalise", "estimate", "migrate", "document")  # fmt: skip
NOUNS = ("release notes", "budget sheet", "test plan", "vendor contract", "roadmap",
         "onboarding guide", "incident report", "dashboard", "API docs", "migration script",
         "backup job", "design mock-ups", "sprint board", "invoice", "staging cluster")  # fmt: skip
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "end of the week",
        "next sprint", "the 14th", "tomorrow morning")  # fmt: skip
ADJECTIVES = ("ready", "blocked", "late", "almost done", "on track", "in review", "flaky")
SUBJECTS = ("Quarterly planning", "Release checklist", "Vendor renewal", "Staging outage",
            "Design review follow-up", "Budget for Q3", "Onboarding the new team",
            "Migration weekend", "Customer escalation", "Hiring loop", "Offsite logistics",
            "Docs restructure", "On-call handover", "Security audit findings")  # fmt: skip
MEETING_TITLES = ("Weekly sync", "Stand-up", "Design crit", "Vendor call", "Retro",
                  "Planning", "Incident review", "1-1", "Roadmap review")  # fmt: skip
# Words and names that are not ASCII, for the non-UTF-8 parts and headers.
LATIN_WORDS = ("café", "Grüße", "naïve", "señor", "Zoë", "déjà vu", "Ærø", "façade", "über")

TEMPLATES: tuple[Callable[[random.Random], str], ...] = (
    lambda r: f"I'll {r.choice(VERBS)} the {r.choice(NOUNS)} by {r.choice(DAYS)}.",
    lambda r: f"Can you {r.choice(VERBS)} the {r.choice(NOUNS)} before {r.choice(DAYS)}?",
    lambda r: f"The {r.choice(NOUNS)} is {r.choice(ADJECTIVES)}.",
    lambda r: f"We agreed to {r.choice(VERBS)} the {r.choice(NOUNS)} first.",
    lambda r: f"Not sure the {r.choice(NOUNS)} will be {r.choice(ADJECTIVES)} by {r.choice(DAYS)}.",
    lambda r: f"{r.choice(FIRST_NAMES)} said the {r.choice(NOUNS)} needs another pass.",
    lambda r: "Thanks, that works for me.",
    lambda r: f"Let's {r.choice(VERBS)} it together on {r.choice(DAYS)}.",
    lambda r: (
        f"Reminder: the {r.choice(NOUNS)} moved to the shared drive (https://example.com/d/{r.randrange(10**6)})."
    ),
)


def sentence(rng: random.Random) -> str:
    return rng.choice(TEMPLATES)(rng)


def paragraph(rng: random.Random, low: int = 1, high: int = 4) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(low, high)))


@dataclass(frozen=True)
class Person:
    name: str
    email: str

    @property
    def first(self) -> str:
        return self.name.split()[0]


def make_people(rng: random.Random, count: int) -> list[Person]:
    """A fixed cast: every generated source draws its people from the same pool."""
    people = []
    for i in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = f"{first}.{last}".lower().replace("'", "")
        local = local.encode("ascii", "ignore").decode() or f"user{i}"
        people.append(Person(f"{first} {last}", f"{local}{i}@{rng.choice(DOMAINS)}"))
    return people


# --- mail --------------------------------------------------------------------------------------


@dataclass
class MailStats:
    """What was written, so a benchmark (or a test) can check what the parser made of it."""

    messages: int = 0  # every message in the file, malformed ones included
    malformed: int = 0  # written to be refused (each should become one ingest error)
    duplicates: int = 0  # re-deliveries reusing an earlier Message-ID
    replies: int = 0
    html_only: int = 0
    non_utf8: int = 0
    bytes: int = 0


@dataclass
class _Sent:
    """What a later reply needs from a message: kept for a bounded window of recent mail."""

    message_id: str
    references: tuple[str, ...]
    subject: str
    sender: Person
    text: str


_ZONES = (UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5)),
          timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8)))  # fmt: skip
_MAX_REFERENCES = 12  # mail clients trim References; so do we, to keep headers bounded
_THREAD_WINDOW = 400  # recent messages a reply may answer


def write_mbox(path: Path, messages: int, seed: int = SEED) -> MailStats:
    """Write an mbox of ``messages`` messages to ``path``, one at a time."""
    rng = random.Random(seed)
    people = make_people(rng, 300)
    stats = MailStats()
    recent: list[_Sent] = []
    moment = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    with open(path, "wb") as out:
        for index in range(messages):
            moment += timedelta(seconds=rng.randint(20, 600))
            raw = _one_message(rng, index, moment, people, recent, stats)
            data = _mbox_entry(raw, rng.choice(people).email, moment)
            out.write(data)
            stats.messages += 1
            stats.bytes += len(data)
    return stats


def _mbox_entry(raw: bytes, envelope_sender: str, moment: datetime) -> bytes:
    """A From_ line, the message with body ``From `` lines escaped (mboxrd), a blank line."""
    from_line = f"From {envelope_sender} {moment.strftime('%a %b %e %H:%M:%S %Y')}\n".encode()
    lines = raw.split(b"\n")
    escaped = [b">" + line if line.lstrip(b">").startswith(b"From ") else line for line in lines]
    body = b"\n".join(escaped)
    if not body.endswith(b"\n"):
        body += b"\n"
    return from_line + body + b"\n"


def _one_message(
    rng: random.Random,
    index: int,
    moment: datetime,
    people: list[Person],
    recent: list[_Sent],
    stats: MailStats,
) -> bytes:
    roll = rng.random()
    if roll < 0.006:
        stats.malformed += 1
        return _malformed_message(rng, index)

    sender = rng.choice(people)
    recipients = rng.sample(people, rng.randint(1, 3))
    cc = rng.sample(people, rng.randint(1, 2)) if rng.random() < 0.3 else []
    parent = None
    if recent and rng.random() < 0.55:
        parent = recent[-1 - min(int(rng.expovariate(1 / 30)), len(recent) - 1)]

    new_text = paragraph(rng, 1, 5)
    if rng.random() < 0.04:
        # An unescaped-looking body line starting with "From " (the writer escapes it).
        new_text += f"\n\nFrom the notes: {paragraph(rng, 1, 2)}"
    if rng.random() < 0.1:
        new_text += "\n\n" + "\n".join(f"- {sentence(rng)}" for _ in range(rng.randint(2, 5)))
    text = f"Hi {recipients[0].first},\n\n{new_text}"
    if parent is not None:
        stats.replies += 1
        subject = parent.subject if parent.subject.startswith("Re: ") else "Re: " + parent.subject
        quoted = "\n".join(("> " + line) if line else ">" for line in parent.text.split("\n"))
        when = moment - timedelta(minutes=rng.randint(5, 600))
        text += f"\n\nOn {when.strftime('%a, %d %b %Y at %H:%M')}, {parent.sender.name} wrote:\n{quoted}"
        references = (*parent.references, parent.message_id)[-_MAX_REFERENCES:]
    else:
        subject = f"{rng.choice(SUBJECTS)} ({rng.choice(COMPANIES)})"
        references = ()
    if rng.random() < 0.6:
        text += (
            f"\n\n-- \n{sender.name}\n{rng.choice(TITLES)} | {rng.choice(COMPANIES)}\n"
            f"+1 555 01{rng.randint(10, 99)}"
        )
    elif rng.random() < 0.15:
        text += "\n\nSent from my phone"

    if recent and rng.random() < 0.002:
        stats.duplicates += 1
        message_id = rng.choice(recent).message_id
    else:
        message_id = f"{index:07d}.{rng.getrandbits(40):010x}@{sender.email.split('@')[1]}"

    headers = [
        ("From", _address(rng, sender)),
        ("To", ", ".join(_address(rng, p) for p in recipients)),
        *([("Cc", ", ".join(_address(rng, p) for p in cc))] if cc else []),
        ("Subject", _subject_header(rng, subject)),
        ("Date", _date_header(rng, moment)),
        *([("Message-ID", f"<{message_id}>")] if rng.random() > 0.01 else []),
        *([("In-Reply-To", f"<{parent.message_id}>")] if parent is not None else []),
        *([("References", " ".join(f"<{r}>" for r in references))] if references else []),
        ("MIME-Version", "1.0"),
        *([("X-Mailer", "Quillmoor Mail 4.2")] if rng.random() < 0.3 else []),
    ]
    mime_headers, body = _body(rng, text, stats)
    recent.append(_Sent(message_id, references, subject, sender, new_text))
    if len(recent) > _THREAD_WINDOW:
        del recent[: len(recent) - _THREAD_WINDOW]
    head = "".join(f"{name}: {value}\n" for name, value in [*headers, *mime_headers])
    return head.encode("utf-8") + b"\n" + body


def _address(rng: random.Random, person: Person) -> str:
    if rng.random() < 0.1:
        return person.email
    if not person.name.isascii():
        # RFC 2047 encoded word, as most clients write non-ASCII names.
        if rng.random() < 0.5:
            encoded = base64.b64encode(person.name.encode("utf-8")).decode()
            return f"=?UTF-8?B?{encoded}?= <{person.email}>"
        try:
            latin = quopri.encodestring(person.name.encode("iso-8859-1"), header=True).decode()
            return f"=?ISO-8859-1?Q?{latin}?= <{person.email}>"
        except UnicodeEncodeError:
            return f'"{person.name}" <{person.email}>'
    if "'" in person.name or rng.random() < 0.3:
        return f'"{person.name}" <{person.email}>'
    return f"{person.name} <{person.email}>"


def _subject_header(rng: random.Random, subject: str) -> str:
    if rng.random() < 0.05:
        word = rng.choice(LATIN_WORDS)
        return f"{subject} =?UTF-8?Q?{quopri.encodestring(word.encode(), header=True).decode()}?="
    return subject


def _date_header(rng: random.Random, moment: datetime) -> str:
    if rng.random() < 0.005:
        return "sometime next Tuesday"  # unreadable: sent_at becomes NULL, mtime is used
    local = moment.astimezone(rng.choice(_ZONES))
    return local.strftime("%a, %d %b %Y %H:%M:%S %z")


def _body(rng: random.Random, text: str, stats: MailStats) -> tuple[list[tuple[str, str]], bytes]:
    """MIME headers and body bytes for ``text`` in one of the shapes real mail comes in."""
    roll = rng.random()
    if roll < 0.50:
        return _plain_part(rng, text)
    if roll < 0.62:
        boundary = f"=_alt_{rng.getrandbits(48):012x}"
        _, plain = _plain_part(rng, text, cte="quoted-printable")
        html = _html(text).encode("utf-8")
        body = (
            (
                f"--{boundary}\nContent-Type: text/plain; charset=utf-8\n"
                f"Content-Transfer-Encoding: quoted-printable\n\n"
            ).encode()
            + plain
            + (
                f"\n--{boundary}\nContent-Type: text/html; charset=utf-8\n"
                f"Content-Transfer-Encoding: quoted-printable\n\n"
            ).encode()
            + quopri.encodestring(html)
            + f"\n--{boundary}--\n".encode()
        )
        return [("Content-Type", f'multipart/alternative; boundary="{boundary}"')], body
    if roll < 0.70:
        stats.html_only += 1
        html = _html(text).encode("utf-8")
        if rng.random() < 0.5:
            return [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Transfer-Encoding", "quoted-printable"),
            ], quopri.encodestring(html)
        return [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Transfer-Encoding", "base64"),
        ], base64.encodebytes(html)
    if roll < 0.80:
        stats.non_utf8 += 1
        return _legacy_charset_part(rng, text)
    if roll < 0.87:
        return _with_attachment(rng, text)
    if roll < 0.89:
        return _forwarded(rng, text)
    if roll < 0.90:
        # A multipart whose boundary parameter is wrong: the parser recovers the parts.
        boundary = f"=_b_{rng.getrandbits(32):08x}"
        body = (
            f"--{boundary}\nContent-Type: text/plain; charset=utf-8\n\n{text}\n--{boundary}--\n"
        ).encode()
        return [("Content-Type", 'multipart/mixed; boundary="wrong-boundary"')], body
    return _plain_part(rng, text, cte=rng.choice(("base64", "8bit", "quoted-printable")))


def _plain_part(
    rng: random.Random, text: str, cte: str | None = None
) -> tuple[list[tuple[str, str]], bytes]:
    cte = cte or ("7bit" if text.isascii() else "8bit")
    data = text.encode("utf-8")
    if cte == "quoted-printable":
        data = quopri.encodestring(data)
    elif cte == "base64":
        data = base64.encodebytes(data)
    params = "; format=flowed" if rng.random() < 0.05 else ""
    return [
        ("Content-Type", f"text/plain; charset=utf-8{params}"),
        ("Content-Transfer-Encoding", cte),
    ], data


def _legacy_charset_part(rng: random.Random, text: str) -> tuple[list[tuple[str, str]], bytes]:
    """Western European text in a legacy charset: declared right, declared wrong, or not at all
    (the last two send the parser to charset detection, its slowest path)."""
    text = f"{text}\n\n{rng.choice(LATIN_WORDS)} \u2013 \u201c{rng.choice(LATIN_WORDS)}\u201d"
    data = text.encode("cp1252", errors="replace")
    roll = rng.random()
    if roll < 0.5:
        ctype = "text/plain; charset=windows-1252"
    elif roll < 0.7:
        ctype = "text/plain; charset=iso-8859-1"
    elif roll < 0.85:
        ctype = "text/plain; charset=utf-8"  # a lie the parser must notice
    else:
        ctype = "text/plain"  # 8-bit text without a charset
    return [("Content-Type", ctype), ("Content-Transfer-Encoding", "8bit")], data


def _with_attachment(rng: random.Random, text: str) -> tuple[list[tuple[str, str]], bytes]:
    boundary = f"=_mix_{rng.getrandbits(48):012x}"
    blob = base64.encodebytes(rng.randbytes(rng.randint(300, 4000)))
    name = rng.choice(("notes.pdf", "budget.xlsx", "diagram.png", "Grüße.txt", "export.csv"))
    if not name.isascii():
        disposition = f"attachment; filename*=utf-8''{quote(name)}"
    else:
        disposition = f'attachment; filename="{name}"'
    body = (
        (
            f"--{boundary}\nContent-Type: text/plain; charset=utf-8\n\n{text}\n"
            f"--{boundary}\nContent-Type: application/octet-stream\n"
            f"Content-Disposition: {disposition}\nContent-Transfer-Encoding: base64\n\n"
        ).encode()
        + blob
        + f"--{boundary}--\n".encode()
    )
    return [("Content-Type", f'multipart/mixed; boundary="{boundary}"')], body


def _forwarded(rng: random.Random, text: str) -> tuple[list[tuple[str, str]], bytes]:
    boundary = f"=_fwd_{rng.getrandbits(48):012x}"
    inner = (
        f"From: Quillmoor Billing <billing@example.net>\nTo: ops@example.com\n"
        f"Subject: Invoice {rng.randrange(10**5)}\nDate: Mon, 02 Mar 2026 09:00:00 +0000\n"
        f"Content-Type: text/plain; charset=utf-8\n\n{paragraph(rng)}\n"
    )
    body = (
        f"--{boundary}\nContent-Type: text/plain; charset=utf-8\n\n{text}\n"
        f"--{boundary}\nContent-Type: message/rfc822\n\n{inner}\n--{boundary}--\n"
    ).encode()
    return [("Content-Type", f'multipart/mixed; boundary="{boundary}"')], body


def _html(text: str) -> str:
    """The HTML a webmail client makes of ``text``: paragraphs, a blockquote, a signature div."""
    parts = []
    quote: list[str] = []
    for block in text.split("\n\n"):
        lines = block.split("\n")
        if all(line.startswith(">") for line in lines if line):
            quote.extend(line.lstrip("> ") for line in lines)
            continue
        inner = "<br>".join(html_lib.escape(line) for line in lines)
        parts.append(f"<p>{inner}</p>")
    if quote:
        joined = "<br>".join(html_lib.escape(q) for q in quote)
        parts.append(f'<blockquote style="margin:0 0 0 .8ex">{joined}</blockquote>')
    return (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        "<style>p{margin:0}</style></head><body>" + "\n".join(parts) + "</body></html>"
    )


def _malformed_message(rng: random.Random, index: int) -> bytes:
    """A message the parser must refuse (one ingest error each), in one of three shapes."""
    kind = index % 3
    if kind == 0:  # binary junk where the headers should be
        return b"X\x00\x01\x02" + rng.randbytes(200).replace(b"\n", b" ") + b"\n\nrest\n"
    if kind == 1:  # "Name: value" lines, but none of them an e-mail header
        return b"Build-Status: failed\nRunner: ci-7\n\nThis is a CI log pasted into the archive.\n"
    return b""  # an envelope line and nothing after it


# --- transcripts -------------------------------------------------------------------------------


@dataclass
class TranscriptStats:
    files: int = 0
    cues: int = 0  # cues (VTT/SRT) or speaker lines (text) written
    broken: int = 0  # files written to be refused
    by_format: dict[str, int] = field(default_factory=dict)
    bytes: int = 0


FORMATS = ("teams_vtt", "zoom_vtt", "srt", "txt")


def write_transcripts(folder: Path, files: int, seed: int = SEED) -> TranscriptStats:
    """Write ``files`` meeting transcripts to ``folder``, cycling through :data:`FORMATS`."""
    rng = random.Random(seed + 1)
    people = make_people(rng, 60)
    folder.mkdir(parents=True, exist_ok=True)
    stats = TranscriptStats()
    day = datetime(2026, 1, 5, 9, 0)
    for index in range(files):
        day += timedelta(hours=rng.randint(2, 30))
        fmt = FORMATS[index % len(FORMATS)]
        attendees = rng.sample(people, rng.randint(2, 7))
        cues = _meeting_cues(rng, attendees)
        broken = rng.random() < 0.01
        name, data, sidecar = _render_transcript(rng, fmt, index, day, attendees, cues, broken)
        (folder / name).write_bytes(data)
        if sidecar is not None:
            (folder / (name.rsplit(".", 1)[0] + ".json")).write_text(
                json.dumps(sidecar), encoding="utf-8"
            )
        stats.files += 1
        stats.cues += len(cues)
        stats.broken += broken
        stats.bytes += len(data)
        stats.by_format[fmt] = stats.by_format.get(fmt, 0) + 1
    return stats


def _meeting_cues(
    rng: random.Random, attendees: list[Person]
) -> list[tuple[float, float, Person, str]]:
    """(start, end, speaker, text) for a 10–70 minute meeting, a cue every few seconds."""
    cues = []
    clock = rng.uniform(0.5, 4.0)
    speaker = attendees[0]
    for _ in range(rng.randint(60, 450)):
        if rng.random() < 0.35:
            speaker = rng.choice(attendees)
        text = sentence(rng) if rng.random() < 0.9 else rng.choice(("Yeah.", "Okay.", "Mm-hmm."))
        length = rng.uniform(1.5, 7.0)
        cues.append((clock, clock + length, speaker, text))
        clock += length + rng.choice((0.0, 0.0, 0.2, 1.1))
    return cues


def _timestamp(seconds: float, separator: str = ".") -> str:
    ms = round(seconds * 1000)
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


def _render_transcript(
    rng: random.Random,
    fmt: str,
    index: int,
    day: datetime,
    attendees: list[Person],
    cues: list[tuple[float, float, Person, str]],
    broken: bool,
) -> tuple[str, bytes, dict[str, Any] | None]:
    """File name, bytes and an optional sidecar for one meeting in format ``fmt``."""
    title = rng.choice(MEETING_TITLES)
    slug = title.lower().replace(" ", "-")
    sidecar = None
    lines: list[str]
    if fmt == "teams_vtt":
        guid = f"{rng.getrandbits(128):032x}"
        lines = ["WEBVTT", ""]
        if rng.random() < 0.3:
            lines += ["NOTE", "Generated by the benchmark; fictional meeting.", ""]
        for n, (start, end, who, text) in enumerate(cues):
            # Teams splits a sentence over two cues with ids "<guid>/<n>-0", "-1".
            words = text.split()
            pieces = (
                [text]
                if len(words) < 6 or rng.random() < 0.6
                else [" ".join(words[: len(words) // 2]), " ".join(words[len(words) // 2 :])]
            )
            step = (end - start) / len(pieces)
            for k, piece in enumerate(pieces):
                escaped = piece.replace("&", "&amp;").replace("'", "&apos;")
                lines += [
                    f"{guid}/{n}-{k}",
                    f"{_timestamp(start + k * step)} --> {_timestamp(start + (k + 1) * step)}",
                    f"<v {who.name}>{escaped}</v>",
                    "",
                ]
        name = f"{day:%Y-%m-%d} {title} {index}.vtt"
        encoding, newline = "utf-8", "\n"
    elif fmt == "zoom_vtt":
        lines = ["WEBVTT", ""]
        for n, (start, end, who, text) in enumerate(cues, start=1):
            lines += [
                str(n),
                f"{_timestamp(start)} --> {_timestamp(end)}",
                f"{who.name}: {text}",
                "",
            ]
        name = f"GMT{day:%Y%m%d-%H%M%S}_Recording_{index}.transcript.vtt"
        sidecar = {
            "title": f"{title} ({rng.choice(COMPANIES)})",
            "date": day.isoformat() + "Z",
            "attendees": [p.name for p in attendees],
        }
        encoding, newline = "utf-8", "\n"
    elif fmt == "srt":
        lines = []
        for n, (start, end, who, text) in enumerate(cues, start=1):
            speaker = f"[{who.name}]" if rng.random() < 0.2 else f"{who.name}:"
            words = text.split()
            body = (
                [f"{speaker} {text}"]
                if len(words) < 8
                else [f"{speaker} {' '.join(words[:5])}", " ".join(words[5:])]
            )
            lines += [str(n), f"{_timestamp(start, ',')} --> {_timestamp(end, ',')}", *body, ""]
        name = f"{day:%Y-%m-%d}_{slug}-{index}.srt"
        encoding, newline = "utf-8", "\r\n" if rng.random() < 0.3 else "\n"
    else:
        lines = []
        if rng.random() < 0.5:
            lines += [
                f"Title: {title}",
                f"Date: {day:%Y-%m-%d %H:%M}",
                "Attendees: " + ", ".join(p.name for p in attendees),
                "",
            ]
        stamped = rng.random() < 0.6
        for start, _end, who, text in cues:
            stamp = f"[{_timestamp(start)[:8]}] " if stamped else ""
            lines.append(f"{stamp}{who.name}: {text}")
        name = f"{day:%Y-%m-%d}-{slug}-{index}.txt"
        encoding = "cp1252" if rng.random() < 0.2 else "utf-8"
        newline = "\n"
    if broken:
        # A timing line a person mangled: the parser must refuse the file with its position.
        lines = [line.replace(" --> ", " -> ", 1) if "-->" in line else line for line in lines]
        if fmt == "txt":
            lines = ["\x00\x01\x02 not a transcript"]
    text = newline.join(lines) + newline
    data = text.encode(encoding, errors="replace")
    if fmt == "srt" and newline == "\r\n":
        data = b"\xef\xbb\xbf" + data  # Windows tools add a BOM as well
    return name, data, sidecar


# --- tickets -----------------------------------------------------------------------------------


@dataclass
class TicketStats:
    github: int = 0
    jira: int = 0
    malformed: int = 0
    bytes: int = 0

    @property
    def tickets(self) -> int:
        return self.github + self.jira


def write_tickets(folder: Path, github: int, jira: int, seed: int = SEED) -> TicketStats:
    """A GitHub REST issues JSON list of ``github`` records and a Jira CSV of ``jira`` rows."""
    rng = random.Random(seed + 2)
    people = make_people(rng, 80)
    folder.mkdir(parents=True, exist_ok=True)
    stats = TicketStats()
    path = folder / "github_issues.json"
    with open(path, "w", encoding="utf-8") as out:
        _write_github(out, rng, people, github, stats)
    stats.bytes += path.stat().st_size
    path = folder / "jira_export.csv"
    with open(path, "w", encoding="utf-8", newline="") as out:
        _write_jira_csv(out, rng, people, jira, stats)
    stats.bytes += path.stat().st_size
    return stats


def _login(person: Person) -> str:
    return person.email.split("@")[0].replace(".", "-")


def _github_user(person: Person, user_id: int) -> dict[str, Any]:
    login = _login(person)
    return {
        "login": login,
        "id": user_id,
        "node_id": f"MDQ6VXNlcj{user_id}",
        "avatar_url": f"https://avatars.example.com/u/{user_id}?v=4",
        "url": f"https://api.github.com/users/{login}",
        "html_url": f"https://github.com/{login}",
        "type": "User",
        "site_admin": False,
    }


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_github(
    out: TextIO, rng: random.Random, people: list[Person], count: int, stats: TicketStats
) -> None:
    repos = ("lanternfish/harbor", "lanternfish/harbor-ui", "oriel/telemetry")
    labels = ("bug", "enhancement", "documentation", "good first issue", "priority: high",
              "needs-triage", "area/api", "area/ui")  # fmt: skip
    created = datetime(2024, 1, 2, 9, 0, tzinfo=UTC)
    out.write("[\n")
    for index in range(count):
        created += timedelta(minutes=rng.randint(5, 90))
        repo = rng.choice(repos)
        number = index + 1
        author = rng.choice(people)
        assignees = rng.sample(people, rng.choice((0, 0, 1, 1, 2)))
        closed = rng.random() < 0.55
        is_pull = rng.random() < 0.1
        milestone = None
        if rng.random() < 0.2:
            due = created + timedelta(days=rng.randint(7, 90))
            milestone = {
                "title": f"v{rng.randint(1, 4)}.{rng.randint(0, 9)}",
                "number": rng.randint(1, 40),
                "state": "open",
                "due_on": _iso(due.replace(hour=7, minute=0)),
            }
        api = f"https://api.github.com/repos/{repo}/issues/{number}"
        issue: dict[str, Any] = {
            "url": api,
            "repository_url": f"https://api.github.com/repos/{repo}",
            "labels_url": api + "/labels{/name}",
            "comments_url": api + "/comments",
            "html_url": f"https://github.com/{repo}/{'pull' if is_pull else 'issues'}/{number}",
            "id": 2_000_000_000 + index,
            "node_id": f"I_kwDO{index:08d}",
            "number": number,
            "title": f"{rng.choice(VERBS).capitalize()} the {rng.choice(NOUNS)}"
            f"{' (' + rng.choice(LATIN_WORDS) + ')' if rng.random() < 0.05 else ''}",
            "user": _github_user(author, 1000 + people.index(author)),
            "labels": [
                {"id": 7000 + i, "name": name, "color": "d73a4a", "default": i < 3}
                for i, name in enumerate(rng.sample(labels, rng.randint(0, 3)))
            ],
            "state": "closed" if closed else "open",
            "locked": False,
            "assignee": _github_user(assignees[0], 1000 + people.index(assignees[0]))
            if assignees
            else None,
            "assignees": [_github_user(p, 1000 + people.index(p)) for p in assignees],
            "milestone": milestone,
            "comments": rng.randint(0, 25),
            "created_at": _iso(created),
            "updated_at": _iso(created + timedelta(hours=rng.randint(1, 400))),
            "closed_at": _iso(created + timedelta(days=rng.randint(1, 60))) if closed else None,
            "author_association": rng.choice(("MEMBER", "CONTRIBUTOR", "NONE")),
            "body": None if rng.random() < 0.08 else _markdown_body(rng),
            "state_reason": rng.choice(("completed", "completed", "not_planned"))
            if closed
            else None,
            "reactions": {"total_count": rng.randint(0, 5), "+1": 0, "-1": 0},
        }
        if is_pull:
            issue["pull_request"] = {"url": api.replace("/issues/", "/pulls/"), "merged_at": None}
        if rng.random() < 0.003:
            stats.malformed += 1
            issue = _broken_github(rng, issue)
        else:
            stats.github += 1
        out.write(
            ("" if index == 0 else ",\n") + json.dumps(issue, ensure_ascii=rng.random() < 0.5)
        )
    out.write("\n]\n")


def _markdown_body(rng: random.Random) -> str:
    parts = [paragraph(rng, 1, 4)]
    if rng.random() < 0.4:
        parts.append(
            "### Steps to reproduce\n"
            + "\n".join(f"{i}. {sentence(rng)}" for i in range(1, rng.randint(2, 5)))
        )
    if rng.random() < 0.2:
        parts.append(
            "```\nTraceback (most recent call last):\n  File \"app.py\", line 12\nKeyError: 'id'\n```"
        )
    if rng.random() < 0.3:
        parts.append("- [ ] " + sentence(rng) + "\n- [x] " + sentence(rng))
    return "\r\n\r\n".join(parts) if rng.random() < 0.3 else "\n\n".join(parts)


def _broken_github(rng: random.Random, issue: dict[str, Any]) -> Any:
    """A record the parser must refuse: no number, an empty title, or not an object at all."""
    roll = rng.random()
    if roll < 0.4:
        return {**issue, "number": None}
    if roll < 0.7:
        return {**issue, "title": "   "}
    return f"issue {issue['number']} (a string where an object belongs)"


_JIRA_HEADER = ["Summary", "Issue key", "Issue id", "Issue Type", "Status", "Status Category",
                "Project key", "Priority", "Resolution", "Assignee", "Reporter", "Created",
                "Updated", "Resolved", "Due Date", "Labels", "Labels", "Labels", "Description",
                "Comment", "Comment", "Comment", "Sprint"]  # fmt: skip
_JIRA_STATUSES = (("To Do", "To Do", ""), ("In Progress", "In Progress", ""),
                  ("In Review", "In Progress", ""), ("Done", "Done", "Done"),
                  ("Done", "Done", "Won't Do"), ("Blocked", "In Progress", ""))  # fmt: skip


def _jira_date(moment: datetime) -> str:
    # Jira's default export format: 15/Jan/24 10:30 AM
    return moment.strftime("%d/%b/%y %I:%M %p")


def _write_jira_csv(
    out: TextIO, rng: random.Random, people: list[Person], count: int, stats: TicketStats
) -> None:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_JIRA_HEADER)
    created = datetime(2024, 2, 1, 9, 30)
    for index in range(count):
        created += timedelta(minutes=rng.randint(10, 200))
        status, category, resolution = rng.choice(_JIRA_STATUSES)
        labels = rng.sample(
            ("backend", "frontend", "infra", "customer", "q3", "tech-debt"), rng.randint(0, 3)
        )
        comments = [
            f"{_jira_date(created + timedelta(hours=h))};{rng.getrandbits(64):016x};{paragraph(rng, 1, 2)}"
            for h in sorted(rng.sample(range(1, 300), rng.randint(0, 3)))
        ]
        description = paragraph(rng, 1, 3)
        if rng.random() < 0.3:
            description += (
                f'\n\nAcceptance: "{sentence(rng)}"\n* {sentence(rng)}\n* {sentence(rng)}'
            )
        key = f"HARB-{index + 1}"
        if rng.random() < 0.004:
            stats.malformed += 1
            key = rng.choice(("", "not a key", "HARB 12"))
        else:
            stats.jira += 1
        assignee = rng.choice(people).name if rng.random() < 0.8 else ""
        writer.writerow(
            [
                f"{rng.choice(VERBS).capitalize()} the {rng.choice(NOUNS)}",
                key,
                str(10000 + index),
                rng.choice(("Task", "Bug", "Story")),
                status,
                category,
                "HARB",
                rng.choice(("Low", "Medium", "High")),
                resolution,
                assignee,
                rng.choice(people).name,
                _jira_date(created),
                _jira_date(created + timedelta(hours=rng.randint(1, 300))),
                _jira_date(created + timedelta(days=3)) if resolution else "",
                _jira_date(created + timedelta(days=rng.randint(3, 40)))
                if rng.random() < 0.3
                else "",
                *(labels + [""] * (3 - len(labels))),
                description,
                *(comments + [""] * (3 - len(comments))),
                f"HARB Sprint {rng.randint(1, 30)}",
            ]
        )
