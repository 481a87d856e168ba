"""Transcript parsers: WebVTT, SRT, plain text and JSON meeting transcripts → ``Transcript``.

This module owns reading one transcript file (bytes → text, encoding detection included),
turning its cues or lines into numbered utterances, and finding the meeting's title, date and
attendees: a sidecar ``NAME.json`` first, then a date prefix of the file name, then what the
transcript itself says, then the file's mtime. It also decides which files of an inbox folder
are transcripts (:func:`list_transcript_files`) and which JSON files are sidecars
(:func:`is_sidecar`).

Pure Python, no Dagster. Every problem with the input is raised as
:class:`~assistant_pipelines.ingest.errors.IngestError` naming the file, where, and why.
"""

from __future__ import annotations

import codecs
import html
import json
import math
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes

from assistant_pipelines.ingest.errors import IngestError
from assistant_pipelines.ingest.records import Transcript, Utterance

__all__ = [
    "MERGE_LIMIT",
    "TRANSCRIPT_SUFFIXES",
    "continues_line",
    "ends_sentence",
    "is_sidecar",
    "list_transcript_files",
    "parse_transcript",
]

TRANSCRIPT_SUFFIXES: tuple[str, ...] = (".vtt", ".srt", ".txt", ".json")
"""File suffixes (lower case) read as transcripts; ``.json`` ones may instead be sidecars."""

# Suffixes a sidecar NAME.json can belong to (a JSON transcript has no sidecar).
_SIDECAR_OWNERS = (".vtt", ".srt", ".txt")

# One meeting is a few MB at most; anything far larger is not a transcript and would only
# cost memory.
_MAX_FILE_BYTES = 64 * 1024 * 1024
_MAX_SIDECAR_BYTES = 1024 * 1024

# Teams, Meet and Zoom split one sentence over several cues; consecutive cues of one speaker
# are joined until the sentence ends, and never beyond this many characters (captions without
# punctuation), so a line the model cites is a sentence or two, not a whole monologue.
MERGE_LIMIT = 500
# A cue that ends so ends its line: ".", "!", "?" (or their CJK forms), maybe followed by a
# closing quote or bracket. A trailing "..." or "…" does not: the speaker trails off and the
# next cue usually goes on with the same sentence.
_ENDS_SENTENCE = re.compile(r"(?<!\.)[.!?。！？][\"'”’»)\]]*$")

_JSON_LIST_KEYS = ("utterances", "transcript", "segments", "results")
_JSON_SPEAKER_KEYS = (
    "speaker",
    "name",
    "participant",
    "speaker_name",
    "speakerName",
    "speaker_label",
)
_JSON_TEXT_KEYS = ("text", "content", "utterance", "transcript")
_JSON_START_KEYS = ("start", "start_time", "startTime", "offset")
_JSON_END_KEYS = ("end", "end_time", "endTime")
_JSON_TITLE_KEYS = ("title", "topic", "meeting_title", "subject")
_JSON_DATE_KEYS = ("date", "meeting_date", "started_at", "start_time", "startTime")
_JSON_ATTENDEE_KEYS = ("attendees", "participants")
_PERSON_NAME_KEYS = ("name", "display_name", "displayName", "label", "email")

_EXPECTED_CONTENT = {
    "vtt": "WebVTT cues (a 'WEBVTT' header, then 'hh:mm:ss.ttt --> hh:mm:ss.ttt' lines "
    "followed by text)",
    "srt": "numbered SRT blocks with 'hh:mm:ss,ttt --> hh:mm:ss,ttt' timings followed by text",
    "txt": "'Name: text' lines",
    "json": "utterance objects with a 'text' field",
}
_EXPECTED_TIMING = {
    "vtt": "hh:mm:ss.ttt --> hh:mm:ss.ttt",
    "srt": "hh:mm:ss,ttt --> hh:mm:ss,ttt",
}

# fmt: off
# Words people put before a colon in notes and headers that are not speakers ("Note: ...").
_NOT_SPEAKERS = frozenset({
    "note", "notes", "nb", "n.b", "todo", "to-do", "action", "actions", "decision", "decisions",
    "agenda", "summary", "follow-up", "followup", "update", "updates", "fyi", "ps", "p.s", "re",
    "fw", "fwd", "subject", "reminder", "warning", "important", "tip", "example", "e.g", "eg",
    "i.e", "ie", "deadline", "due", "status", "risk", "risks", "issue", "issues", "problem",
    "question", "result", "results", "goal", "goals", "outcome", "context", "background", "title",
    "date", "time", "attendees", "participants", "present", "absent", "location", "where", "when",
    "duration", "meeting", "topic", "recording", "transcript", "link", "url", "source", "http",
    "https", "mailto", "tel", "edit", "edited", "caption", "captions", "kind", "language", "so",
    "well", "okay", "ok", "also", "and", "but", "anyway", "basically", "remember", "yes", "no",
    "hi", "hello", "thanks", "why", "because", "plus", "first", "second", "third", "finally",
    "meaning", "correction", "to do", "action item", "action items", "next step", "next steps",
    "follow up",
})
# Bracketed sound descriptions in subtitles, not speaker names ("[Music] ...").
_SOUND_CUES = frozenset({
    "music", "laughter", "laughs", "laughing", "applause", "inaudible", "crosstalk", "silence",
    "noise", "foreign", "blank_audio", "cough", "coughs", "coughing", "sighs", "sigh", "pause",
    "unintelligible", "indistinct", "static", "beep", "typing", "overlapping", "cross talk",
    "background noise", "no audio",
})
# fmt: on
# Lower-case name particles allowed in a multi-word name ("Ludwig van Beethoven").
_NAME_PARTICLES = frozenset({"van", "von", "de", "da", "del", "der", "den", "la", "le", "di"})

_TIME = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
# hh:mm:ss.ttt, mm:ss.ttt, old Teams 0:0:5.44, SRT's "," decimals, and up to 9 fraction digits.
_TIMESTAMP = re.compile(r"(?:(\d{1,4}):)?(\d{1,4}):(\d{1,2})(?:[.,](\d{1,9}))?")
# A line that was meant as a cue timing but has no proper "-->" ("00:00:01,000 -> 00:00:02,000").
_TIMING_LIKE = re.compile(r"\s*\d{1,4}:\d{1,2}(?:[:.,]\d+)*\s*(?:-+>?|–|—|>)")
_VTT_HEADER = re.compile(r"WEBVTT(?:[ \t].*)?")
_VTT_META_BLOCK = re.compile(r"(?:NOTE|STYLE|REGION)(?:[ \t].*)?")
# Neither part may contain "<", so a line full of unclosed "<v " stays linear to scan.
_VOICE_TAG = re.compile(r"<v(?:\.[^\s<>]*)?(?:[ \t]+([^<>\n]*))?>")
# Markup inside cue text: <b>, </i>, <c.x>, <font color=...>, <00:01.000>; ASS overrides {\an8}.
_CUE_MARKUP = re.compile(r"</?[A-Za-z][^<>]*>|<\d[\d:.]*>|\{\\[^{}]*\}")
_BRACKET_SPEAKER = re.compile(r"\[([^\[\]]{1,40})\]\s*:?\s*(.*)", re.DOTALL)
_TXT_TIME_PREFIX = re.compile(
    rf"\s*(?:\[(?P<b>{_TIME})\]|\((?P<p>{_TIME})\)|(?P<n>{_TIME})(?=\s))\s*(?P<rest>.*)"
)
# "Alice Smith (00:01:23): text" and "Alice Smith [01:23]: text".
_TXT_NAME_TIME_COLON = re.compile(
    rf"(?P<name>[^\[\]():]{{1,40}}?)\s*[\[(](?P<t>{_TIME})[\])]\s*:\s*(?P<rest>.*)"
)
# Otter.ai-style header: a speaker and a time alone on a line, the text on the lines below.
_OTTER_HEADER = re.compile(rf"(?P<name>[^\d\W][^:\[\]()]{{0,39}}?)\s+[\[(]?(?P<t>{_TIME})[\])]?\s*")
_TXT_META_LINE = re.compile(
    r"(?P<key>title|meeting|subject|topic|date|attendees|participants|present)\s*:\s*(?P<value>.*)",
    re.IGNORECASE,
)
# Windows-1252 punctuation and Latin-1 symbols seen in Western prose (letters are U+00C0-U+00FF).
_WESTERN_EXTRA = frozenset(
    "\u2018\u2019\u201a\u201c\u201d\u201e\u2013\u2014\u2026\u20ac\u2022\u2122\u00a0¡¿«»°§©®·£¢¥"
)
_PHONE_LABEL = re.compile(r"\+?\d[\d ()./-]{5,22}\d")
_CONTROL_CHAR = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
# "2024-03-04 …", "2024_03_04_…", "20240304-…", and Zoom's "GMT20240304-140000_…" (UTC).
_DATE_PREFIX = re.compile(
    r"(?P<gmt>GMT)?(?P<y>\d{4})(?P<sep>[-_.]?)(?P<m>\d{2})(?P=sep)(?P<d>\d{2})(?!\d)"
    r"(?:-(?P<time>\d{6})(?!\d))?"
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class _Draft:
    """An utterance being assembled from cues: ``parts``, joined with spaces."""

    speaker: str | None
    parts: list[str]
    start_s: float | None = None
    end_s: float | None = None

    @property
    def text(self) -> str:
        return " ".join(self.parts)

    def append(self, text: str) -> None:
        if text:
            self.parts.append(text)


@dataclass
class _Meta:
    """What a sidecar or the transcript's own content says about the meeting."""

    title: str | None = None
    occurred_at: datetime | None = None
    attendees: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Public API


def parse_transcript(path: Path, *, display_path: str | None = None) -> Transcript:
    """Parse one transcript file (``.vtt``, ``.srt``, ``.txt`` or ``.json``) into a meeting.

    ``display_path`` is how the file is named in the result and in errors (for example its
    path relative to the inbox); it defaults to ``str(path)``. Raises only :class:`IngestError`.
    """
    source = display_path or str(path)
    suffix = path.suffix.lower()
    if suffix not in TRANSCRIPT_SUFFIXES:
        raise IngestError(
            source,
            "file",
            f"unsupported transcript file type '{path.suffix or '(none)'}': expected one of "
            + ", ".join(TRANSCRIPT_SUFFIXES),
        )
    text = _decode(_read_bytes(path, source, _MAX_FILE_BYTES), source, "file")
    if not text.strip():
        raise IngestError(source, "file", "empty file: no transcript text")

    fmt = suffix[1:]
    content_meta = _Meta()
    if fmt == "txt":
        fmt = _sniff_text_format(text)
    if fmt in ("vtt", "srt"):
        drafts = _parse_cues(text, fmt, source)
    elif fmt == "txt":
        drafts, content_meta = _parse_plain_text(text.split("\n"), with_header=True)
    else:
        drafts, content_meta = _parse_json(text, source)

    utterances = _number(drafts)
    if not utterances:
        raise IngestError(source, "file", f"no utterances found: expected {_EXPECTED_CONTENT[fmt]}")

    sidecar = _read_sidecar(path, source) if suffix in _SIDECAR_OWNERS else None
    title, occurred_at, date_source, attendees = _resolve_meta(
        path, source, sidecar, content_meta, utterances
    )
    return Transcript(
        source_file=source,
        format=fmt,
        title=title,
        occurred_at=occurred_at,
        attendees=attendees,
        utterances=utterances,
        date_source=date_source,
    )


def list_transcript_files(folder: Path) -> list[Path]:
    """Transcript files anywhere below ``folder``, sorted; sidecars, hidden files, editor
    backups and lock files are left out. A missing folder has no transcripts."""
    if not folder.is_dir():
        return []
    found: list[Path] = []
    # os.walk does not follow symlinked folders, so a link loop cannot make this run forever.
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if _is_ignored_name(name):
                continue
            candidate = Path(root, name)
            suffix = candidate.suffix.lower()
            if suffix not in TRANSCRIPT_SUFFIXES:
                continue
            if suffix == ".json" and is_sidecar(candidate):
                continue
            found.append(candidate)
    return sorted(found)


def is_sidecar(path: Path) -> bool:
    """Whether ``path`` is a meeting-metadata sidecar rather than a JSON transcript.

    ``NAME.json`` is a sidecar when a transcript ``NAME.vtt``/``.srt``/``.txt`` sits beside it,
    or when it is a JSON object with ``title``/``date``/``attendees`` and no utterance list.
    """
    if path.suffix.lower() != ".json":
        return False
    for suffix in _SIDECAR_OWNERS:
        for variant in (suffix, suffix.upper()):
            if path.with_suffix(variant).is_file():
                return True
    try:
        if path.stat().st_size > _MAX_SIDECAR_BYTES:
            return False
        obj = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return False
    return (
        isinstance(obj, dict)
        and any(key in obj for key in ("title", "date", "attendees"))
        and not any(key in obj for key in _JSON_LIST_KEYS)
    )


# --------------------------------------------------------------------------------------------
# Bytes → text


def _read_bytes(path: Path, source: str, limit: int, position: str = "file") -> bytes:
    try:
        size = path.stat().st_size
        if size > limit:
            raise IngestError(
                source,
                position,
                f"file is {size / (1024 * 1024):.1f} MB, more than the {limit // (1024 * 1024)} "
                "MB a meeting transcript or its sidecar can be",
            )
        return path.read_bytes()
    except OSError as exc:
        raise IngestError(source, position, f"cannot read file: {exc.strerror or exc}") from exc


def _decode(data: bytes, source: str, position: str) -> str:
    """Bytes to text with ``\\n`` line ends: UTF-8 (BOM or not), UTF-16/32 with a BOM,
    BOM-less UTF-16, then whatever charset detection finds for legacy files."""
    text: str | None = None
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        # Checked before UTF-16: the UTF-32 LE BOM begins with the UTF-16 LE one.
        text = _try_decode(data, "utf-32") or _try_decode(data, "utf-16")
        if text is None:
            raise IngestError(source, position, "has a UTF-32 byte-order mark but is not UTF-32")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _try_decode(data, "utf-16")
        if text is None:
            raise IngestError(
                source, position, "has a UTF-16 byte-order mark but is not valid UTF-16"
            )
    elif data.startswith(codecs.BOM_UTF8):
        text = _try_decode(data, "utf-8-sig")
        if text is None:  # a BOM glued onto legacy text: detect the rest
            text = _detect_charset(data[len(codecs.BOM_UTF8) :], source, position)
    elif b"\x00" in data:
        encoding = _bomless_utf16(data)
        text = _try_decode(data, encoding) if encoding else None
        if text is None:
            raise IngestError(source, position, "binary file, not a transcript")
    else:
        text = _try_decode(data, "utf-8") or _western_legacy(data)
        if text is None:
            text = _detect_charset(data, source, position)

    text = text.removeprefix("\ufeff")
    if "\x00" in text or _mostly_control_characters(text):
        raise IngestError(source, position, "binary file, not a transcript")
    # One line-end convention, so line numbers match what an editor shows.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _try_decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _bomless_utf16(data: bytes) -> str | None:
    """``utf-16-le``/``-be`` when NULs sit in every other byte the way mostly-ASCII UTF-16
    text puts them; ``None`` for anything else with NULs (a binary file)."""
    if len(data) < 4 or len(data) % 2:
        return None
    even, odd = data[0::2], data[1::2]
    half = len(data) // 2
    if even.count(0) == 0 and odd.count(0) >= 0.9 * half:
        return "utf-16-le"
    if odd.count(0) == 0 and even.count(0) >= 0.9 * half:
        return "utf-16-be"
    return None


def _western_legacy(data: bytes) -> str | None:
    """Text saved as Windows-1252, the usual legacy encoding of Western transcripts (Word and
    Notepad "smart quotes"). Tried before charset detection because detection guesses badly on
    short files (it reads "Très" as Central European "Tčs"). Accepted only when the non-ASCII
    characters are Western letters and punctuation and a minority of the letters: Cyrillic or
    Greek legacy text decodes to mostly accented Latin letters and goes on to detection."""
    text = _try_decode(data, "cp1252")
    if text is None:
        return None
    non_ascii = [ch for ch in text if ord(ch) > 127]
    if not all(ch in _WESTERN_EXTRA or "\u00c0" <= ch <= "\u00ff" for ch in non_ascii):
        return None
    letters = sum(1 for ch in text if ch.isalpha())
    return text if len(non_ascii) * 4 <= letters else None


def _detect_charset(data: bytes, source: str, position: str) -> str:
    best = from_bytes(data).best()
    if best is None:
        raise IngestError(
            source,
            position,
            "not valid UTF-8 and no other text encoding fits: expected a UTF-8 text file",
        )
    return str(best)


def _mostly_control_characters(text: str) -> bool:
    """More than a tenth control characters (other than whitespace) means binary content."""
    if not text:
        return False
    controls = sum(1 for _ in _CONTROL_CHAR.finditer(text))
    return controls * 10 > len(text)


# --------------------------------------------------------------------------------------------
# WebVTT and SRT


def _sniff_text_format(text: str) -> str:
    """A ``.txt`` file may hold WebVTT or SRT (exports renamed by hand); read it as such."""
    head = [line.strip() for line in text[:4096].split("\n") if line.strip()][:2]
    if not head:
        return "txt"
    if _VTT_HEADER.fullmatch(head[0]):
        return "vtt"
    if len(head) == 2 and head[0].isdigit() and "-->" in head[1]:
        return "srt"
    if "-->" in head[0] and _TIMING_LIKE.match(head[0]):
        return "vtt"
    return "txt"


def _blocks(lines: list[str]) -> Iterator[list[tuple[int, str]]]:
    """Runs of non-blank lines, each line with its 1-based number in the file."""
    block: list[tuple[int, str]] = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            block.append((number, line))
        elif block:
            yield block
            block = []
    if block:
        yield block


def _parse_cues(text: str, fmt: str, source: str) -> list[_Draft]:
    """WebVTT or SRT cues → merged drafts. Both formats share one reader: real files mix their
    conventions (``,`` vs ``.`` decimals, missing headers), and the differences that matter
    (header, NOTE/STYLE/REGION blocks, speaker syntax) are harmless to accept in both."""
    expected = _EXPECTED_TIMING[fmt]
    pieces: list[_Draft] = []
    seen_cue = False
    for block in _blocks(text.split("\n")):
        first = block[0][1].strip()
        if _VTT_META_BLOCK.fullmatch(first):
            continue
        timing_at = next((k for k, (_, line) in enumerate(block) if "-->" in line), None)
        if timing_at is None:
            _check_missing_timing(block, source, expected)
            if seen_cue and not (len(block) == 1 and first.isdigit()):
                # Text after a blank line inside a cue: some exporters write those.
                _add_cue_text(pieces, [line for _, line in block], None, None, continuation=True)
            continue
        number, timing = block[timing_at]
        start, end = _parse_timing(timing, number, source, expected)
        seen_cue = True
        _add_cue_text(pieces, [line for _, line in block[timing_at + 1 :]], start, end)
    return _merge(pieces)


def _check_missing_timing(block: list[tuple[int, str]], source: str, expected: str) -> None:
    """Raise for a block that was meant to be a cue but has no usable timing line: a timing
    with a mangled arrow as its first or second line (after a cue id), or an SRT cue number
    followed by text."""
    for number, line in block[:2]:
        if _TIMING_LIKE.match(line):
            raise _bad_timing(source, number, line.strip(), expected)
    first = block[0][1].strip()
    if len(block) > 1 and first.isdigit() and first.isascii():
        raise IngestError(
            source,
            f"line {block[1][0]}",
            f"cue {first} has no timing line: expected {expected} after the cue number",
        )


def _bad_timing(source: str, number: int, line: str, expected: str) -> IngestError:
    shown = line if len(line) <= 80 else line[:77] + "..."
    return IngestError(source, f"line {number}", f"bad cue timing '{shown}': expected {expected}")


def _parse_timing(line: str, number: int, source: str, expected: str) -> tuple[float, float]:
    left, _, right = line.partition("-->")
    # Cue settings ("align:start position:10%") may follow the end time.
    right_words = right.split()
    start = _cue_seconds(left.strip())
    end = _cue_seconds(right_words[0]) if right_words else None
    if start is None or end is None:
        raise _bad_timing(source, number, line.strip(), expected)
    return start, end


def _cue_seconds(value: str) -> float | None:
    """``hh:mm:ss.ttt``, ``mm:ss.ttt``, old Teams ``0:0:5.44`` or SRT ``,`` decimals."""
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return None
    return _timestamp_seconds(match)


def _timestamp_seconds(match: re.Match[str]) -> float | None:
    hours, minutes, seconds, fraction = match.groups()
    if int(seconds) >= 60 or (hours is not None and int(minutes) >= 60):
        return None
    total = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    if fraction:
        total += int(fraction) / 10 ** len(fraction)
    return float(total)


def _add_cue_text(
    pieces: list[_Draft],
    lines: list[str],
    start: float | None,
    end: float | None,
    *,
    continuation: bool = False,
) -> None:
    """Split one cue's text into (speaker, text) pieces and append them to ``pieces``."""
    raw = "\n".join(lines)
    previous = pieces[-1] if pieces else None
    if continuation and previous is not None:
        start, end = previous.start_s, previous.end_s
    for speaker, segment in _cue_segments(raw):
        text = _clean_cue_text(segment)
        if speaker is None:
            speaker, text = _split_speaker(text)
            if speaker is None and continuation and previous is not None:
                speaker = previous.speaker
        if text:
            pieces.append(_Draft(speaker, [text], start, end))


def _cue_segments(raw: str) -> Iterator[tuple[str | None, str]]:
    """Teams/Meet voice spans ``<v Name>…</v>`` (closing tag optional, several per cue);
    text outside any voice span comes back with speaker ``None``."""
    matches = list(_VOICE_TAG.finditer(raw))
    if not matches:
        yield None, raw
        return
    if raw[: matches[0].start()].strip():
        yield None, raw[: matches[0].start()]
    for k, match in enumerate(matches):
        stop = matches[k + 1].start() if k + 1 < len(matches) else len(raw)
        name = _clean_name(html.unescape(match.group(1) or ""))
        yield name, raw[match.end() : stop]


def _clean_cue_text(text: str) -> str:
    return _squash(html.unescape(_CUE_MARKUP.sub("", text)))


def ends_sentence(text: str) -> bool:
    """Whether ``text`` ends a sentence ("… by Friday.", "Can you?", "「…。」"); "so..." does not."""
    return _ENDS_SENTENCE.search(text.rstrip()) is not None


def continues_line(line_speaker: str | None, line_text: str, speaker: str | None, text: str) -> bool:
    """Whether the cue ``text`` said by ``speaker`` joins the line before it (``line_text`` so
    far, said by ``line_speaker``): the same speaker, a sentence not yet ended, and the joined
    line within :data:`MERGE_LIMIT`.

    Joining a speaker's cues all the way to the limit made a line of four or five sentences;
    the judge scores such a turn lower than the same promise said alone, and the AMI meetings
    shown that way lost half their recall (docs/quality.md, rows 36 and 45). The evaluation
    renders AMI meetings as cue exports by this same rule (``eval --as-cues``)."""
    return (
        line_speaker == speaker
        and not ends_sentence(line_text)
        and len(line_text) + 1 + len(text) <= MERGE_LIMIT
    )


def _merge(pieces: Iterable[_Draft]) -> list[_Draft]:
    """Join consecutive pieces of one speaker (start of the first, end of the last) by
    :func:`continues_line`: until a sentence ends, within the merge limit."""
    merged: list[_Draft] = []
    for piece in pieces:
        text = " ".join(piece.parts)
        last = merged[-1] if merged else None
        if last is not None and continues_line(last.speaker, last.text, piece.speaker, text):
            last.append(text)
            if piece.end_s is not None:
                last.end_s = piece.end_s
        else:
            merged.append(_Draft(piece.speaker, [text], piece.start_s, piece.end_s))
    return merged


# --------------------------------------------------------------------------------------------
# Speaker labels


def _split_speaker(text: str) -> tuple[str | None, str]:
    """``"Name: text"``, ``"[Name] text"`` or ``"[Name]: text"`` → (name, text); anything
    else → (None, text). A label must look like a name, not like ``Note:`` or a URL."""
    bracket = _BRACKET_SPEAKER.fullmatch(text)
    if bracket is not None:
        label, rest = bracket.group(1).strip(), bracket.group(2).strip()
        if rest and _is_speaker_label(label) and label.casefold() not in _SOUND_CUES:
            return _clean_name(label), rest
    colon = text.find(":")
    if colon > 0 and colon <= 60:
        label, rest = text[:colon], text[colon + 1 :]
        if (not rest or rest[0].isspace()) and _is_speaker_label(label):
            return _clean_name(label), rest.strip()
    return None, text


def _is_speaker_label(label: str) -> bool:
    label = label.strip()
    if _PHONE_LABEL.fullmatch(label) and sum(ch.isdigit() for ch in label) >= 7:
        return True  # Zoom names dial-in participants by their number: "+49 170 5550142: …"
    if not label or len(label) > 40 or not label[0].isalpha():
        return False
    if "://" in label or "www." in label.casefold():
        return False
    words = label.split()
    if len(words) > 5:
        return False
    if any(ch in label for ch in '?!;:"<>{}[]|*=#\\'):
        return False
    if label.casefold().rstrip(".") in _NOT_SPEAKERS:
        return False
    # A name of several words is capitalised ("Olga Berg", "Speaker 2", "PM (B)"); "It is on
    # the drive: ..." is prose. A single lower-case word may still be a chat handle.
    return len(words) == 1 or all(_is_name_word(word) for word in words)


def _is_name_word(word: str) -> bool:
    return not word[0].isalpha() or word[0].isupper() or word in _NAME_PARTICLES


def _is_header_name(label: str) -> bool:
    """Otter headers carry a proper name ("Alice Smith", "Speaker 2", "Ludwig van Beethoven"),
    which tells them apart from a text line that happens to end with a time."""
    return _is_speaker_label(label) and all(_is_name_word(word) for word in label.split())


def _clean_name(name: str) -> str | None:
    cleaned = _squash(name)
    return cleaned or None


def _squash(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------------------------
# Plain text


@dataclass
class _TextLine:
    """One line of a plain-text transcript, read one way (see ``_classify_line``)."""

    kind: str  # "blank" | "otter" | "speaker" | "text"
    speaker: str | None = None
    text: str = ""
    start_s: float | None = None
    raw: str = ""  # the whole line, whitespace squashed


def _classify_line(line: str) -> tuple[_TextLine, _TextLine | None]:
    """How a line reads in a ``Name: text`` file, and (when it could be one) as an Otter
    ``Name  0:05`` header. The file's style decides which reading wins."""
    stripped = _squash(line)
    if not stripped:
        return _TextLine("blank"), None
    otter = None
    header = _OTTER_HEADER.fullmatch(stripped)
    if header is not None and _is_header_name(header.group("name")):
        otter = _TextLine(
            "otter", _clean_name(header.group("name")), "", _loose_seconds(header.group("t"))
        )

    named = _TXT_NAME_TIME_COLON.fullmatch(stripped)
    if named is not None and _is_speaker_label(named.group("name")):
        return (
            _TextLine(
                "speaker",
                _clean_name(named.group("name")),
                named.group("rest").strip(),
                _loose_seconds(named.group("t")),
                stripped,
            ),
            otter,
        )
    start_s = None
    rest = stripped
    prefix = _TXT_TIME_PREFIX.fullmatch(stripped)
    if prefix is not None:
        start_s = _loose_seconds(prefix.group("b") or prefix.group("p") or prefix.group("n"))
        rest = prefix.group("rest").strip()
    speaker, text = _split_speaker(rest)
    # A bracketed time starts an utterance even without a name; a bare one ("10:30 we meet")
    # only when a name follows it, otherwise it is just text that starts with a time.
    if speaker is not None or (prefix is not None and prefix.group("n") is None):
        return _TextLine("speaker", speaker, text, start_s, stripped), otter
    return _TextLine("text", None, stripped, None, stripped), otter


def _parse_plain_text(lines: list[str], *, with_header: bool) -> tuple[list[_Draft], _Meta]:
    """``Name: text`` lines (optionally time-stamped) or Otter-style ``Name  0:05`` blocks.

    Lines without a speaker continue the utterance above them. With ``with_header``, leading
    ``Title:``/``Date:``/``Attendees:`` lines are read as meeting metadata.
    """
    classified = [_classify_line(line) for line in lines]
    otter_count = sum(1 for _, otter in classified if otter is not None)
    colon_count = sum(1 for plain, _ in classified if plain.kind == "speaker")
    # Otter exports have no "Name:" lines, so a "Note: ..." line inside one is text.
    block_style = otter_count > 0 and otter_count >= colon_count

    meta = _Meta()
    drafts: list[_Draft] = []
    for plain, otter in classified:
        if plain.kind == "blank":
            continue
        if block_style:
            if otter is not None:
                drafts.append(_Draft(otter.speaker, [], otter.start_s))
                continue
            reading = _TextLine("text", None, plain.raw, None, plain.raw)
        else:
            reading = plain
        if with_header and not drafts and _take_header_line(reading, meta):
            continue
        if reading.kind == "speaker":
            drafts.append(
                _Draft(reading.speaker, [reading.text] if reading.text else [], reading.start_s)
            )
        elif drafts:
            drafts[-1].append(reading.text)
        else:
            drafts.append(_Draft(None, [reading.text]))
    return drafts, meta


def _take_header_line(reading: _TextLine, meta: _Meta) -> bool:
    """Read a ``Title:``/``Date:``/``Attendees:`` line at the top of a text transcript."""
    if reading.kind == "speaker":
        # A metadata key never parses as a speaker (it is in _NOT_SPEAKERS); only plain text.
        return False
    match = _TXT_META_LINE.fullmatch(reading.text)
    if match is None:
        return False
    key, value = match.group("key").casefold(), match.group("value").strip()
    if key in ("title", "meeting", "subject", "topic"):
        meta.title = meta.title or value or None
    elif key == "date":
        meta.occurred_at = meta.occurred_at or _parse_meeting_date(value)
    else:
        meta.attendees = meta.attendees or _split_names(value)
    return True


def _split_names(value: str) -> list[str]:
    return [name for name in (_clean_name(part) for part in re.split(r"[;,]", value)) if name]


def _loose_seconds(value: str | None) -> float | None:
    if value is None:
        return None
    match = _TIMESTAMP.fullmatch(value.strip())
    return _timestamp_seconds(match) if match is not None else None


# --------------------------------------------------------------------------------------------
# JSON


def _parse_json(text: str, source: str) -> tuple[list[_Draft], _Meta]:
    data = _load_json(text, source)
    meta = _Meta()
    items: Any = data
    if isinstance(data, dict):
        meta = _json_meta(data)
        items = next(
            (data[key] for key in _JSON_LIST_KEYS if isinstance(data.get(key), list)), None
        )
        whole_text = next(
            (data[key] for key in ("transcript", "text") if isinstance(data.get(key), str)), None
        )
        if items is None and whole_text is not None:
            # {"title": ..., "transcript": "Alice: ...\nBob: ..."} or Whisper's bare {"text": ...}
            lines = whole_text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            drafts, _ = _parse_plain_text(lines, with_header=False)
            return drafts, meta
    if not isinstance(items, list):
        raise IngestError(
            source,
            "file",
            f"found a JSON {_json_type(data)}: expected a list of utterances or an object with "
            "an 'utterances' list",
        )
    drafts: list[_Draft] = []
    for item in items:
        # A file is one meeting: an element without text is skipped, not fatal.
        draft = _json_utterance(item)
        if draft is not None:
            drafts.append(draft)
    return drafts, meta


def _load_json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            lines = _load_json_lines(text)
            if lines is not None:
                return lines
        raise IngestError(
            source, f"line {exc.lineno}", f"not valid JSON: {exc.msg} (column {exc.colno})"
        ) from exc
    except (ValueError, RecursionError) as exc:
        raise IngestError(source, "file", f"not valid JSON: {exc}") from exc


def _load_json_lines(text: str) -> list[Any] | None:
    """JSON Lines (one utterance object per line), which some tools save as ``.json``."""
    rows = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError):
            return None
        if not isinstance(row, dict):
            return None
        rows.append(row)
    return rows


def _json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "object without an utterance list"
    return {list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _json_utterance(item: Any) -> _Draft | None:
    if isinstance(item, str):
        speaker, text = _split_speaker(_squash(item))
        return _Draft(speaker, [text]) if text else None
    if not isinstance(item, dict):
        return None
    text = next((item[k] for k in _JSON_TEXT_KEYS if isinstance(item.get(k), str)), "")
    text = _squash(text)
    if not text:
        return None
    speaker = next(
        (name for k in _JSON_SPEAKER_KEYS if (name := _person_name(item.get(k))) is not None),
        None,
    )
    start = next(
        (s for k in _JSON_START_KEYS if (s := _json_seconds(item.get(k))) is not None), None
    )
    end = next((s for k in _JSON_END_KEYS if (s := _json_seconds(item.get(k))) is not None), None)
    return _Draft(speaker, [text], start, end)


def _person_name(value: Any) -> str | None:
    if isinstance(value, str):
        return _clean_name(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):
        return next(
            (
                name
                for k in _PERSON_NAME_KEYS
                if isinstance(value.get(k), str) and (name := _clean_name(value[k])) is not None
            ),
            None,
        )
    return None


def _json_seconds(value: Any) -> float | None:
    """Seconds as a number, a numeric string or an ``hh:mm:ss(.ttt)`` string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = float(value) if abs(value) < 1e12 else math.inf
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    if isinstance(value, str):
        stripped = value.strip()
        if re.fullmatch(r"\d{1,9}(?:\.\d{1,9})?", stripped):
            return float(stripped)
        return _loose_seconds(stripped)
    return None


def _json_meta(data: dict[str, Any]) -> _Meta:
    meta = _Meta()
    meta.title = next(
        (t for k in _JSON_TITLE_KEYS if isinstance(data.get(k), str) and (t := _squash(data[k]))),
        None,
    )
    meta.occurred_at = next(
        (
            d
            for k in _JSON_DATE_KEYS
            if isinstance(data.get(k), str) and (d := _parse_meeting_date(data[k])) is not None
        ),
        None,
    )
    for key in _JSON_ATTENDEE_KEYS:
        value = data.get(key)
        if isinstance(value, list):
            meta.attendees = _dedupe(n for n in map(_person_name, value) if n is not None)
            break
    return meta


# --------------------------------------------------------------------------------------------
# Meeting metadata


def _read_sidecar(path: Path, source: str) -> _Meta | None:
    """The sidecar ``NAME.json`` beside a transcript, or ``None`` when there is none."""
    sidecar = next(
        (p for p in (path.with_suffix(".json"), path.with_suffix(".JSON")) if p.is_file()), None
    )
    if sidecar is None:
        return None
    position = f"sidecar {sidecar.name}"
    raw = _read_bytes(sidecar, source, _MAX_SIDECAR_BYTES, position)
    text = _decode(raw, source, position)
    try:
        data = json.loads(text) if text.strip() else None
    except (ValueError, RecursionError) as exc:
        raise IngestError(source, position, f"not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise IngestError(
            source,
            position,
            "expected a JSON object with 'title', 'date' and 'attendees'",
        )
    meta = _Meta()
    title = data.get("title")
    if title is not None and not isinstance(title, str):
        raise IngestError(source, position, "'title' must be a string")
    meta.title = _squash(title) if title else None
    raw_date = data.get("date")
    if raw_date not in (None, ""):
        meta.occurred_at = _parse_meeting_date(raw_date) if isinstance(raw_date, str) else None
        if meta.occurred_at is None:
            raise IngestError(
                source,
                position,
                f"bad date {_short_repr(raw_date)}: expected YYYY-MM-DD or an ISO 8601 "
                "date-time such as 2024-03-04T10:00:00+01:00",
            )
    attendees = data.get("attendees")
    if attendees is not None:
        if isinstance(attendees, str):
            meta.attendees = _split_names(attendees)
        elif isinstance(attendees, list) and all(_person_name(a) is not None for a in attendees):
            meta.attendees = _dedupe(n for n in map(_person_name, attendees) if n is not None)
        else:
            raise IngestError(source, position, "'attendees' must be a list of names (strings)")
    return meta


def _short_repr(value: Any) -> str:
    shown = json.dumps(value, ensure_ascii=False)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _parse_meeting_date(value: str) -> datetime | None:
    """``YYYY-MM-DD`` (naive midnight) or an ISO 8601 date-time, aware when it has an offset."""
    stripped = value.strip()
    if not stripped:
        return None
    if _ISO_DATE.fullmatch(stripped):
        try:
            day = date.fromisoformat(stripped)
        except ValueError:
            return None
        return datetime(day.year, day.month, day.day)
    if not _ISO_DATE.match(stripped):
        return None  # fromisoformat also takes "20240304" or week dates; a sidecar should not
    try:
        return datetime.fromisoformat(stripped)
    except ValueError:
        return None


def _filename_date(stem: str) -> tuple[datetime | None, str]:
    """A ``YYYY-MM-DD`` / ``YYYY_MM_DD`` / ``YYYYMMDD`` prefix of the stem and the rest of the
    stem. Zoom's ``GMT20240304-140000`` names carry the UTC start time too."""
    match = _DATE_PREFIX.match(stem)
    if match is None:
        return None, stem
    try:
        day = date(int(match["y"]), int(match["m"]), int(match["d"]))
        when = datetime(day.year, day.month, day.day)
        if match["gmt"] and match["time"]:
            clock = match["time"]
            when = when.replace(
                hour=int(clock[:2]),
                minute=int(clock[2:4]),
                second=int(clock[4:]),
                tzinfo=UTC,
            )
    except ValueError:
        return None, stem
    return when, stem[match.end() :]


def _title_from_stem(rest: str, stem: str) -> str:
    rest = re.sub(r"\.transcript$", "", rest, flags=re.IGNORECASE)  # Zoom's "x.transcript.vtt"
    title = _squash(re.sub(r"[_-]+", " ", rest))
    return title or _squash(stem) or stem


def _resolve_meta(
    path: Path,
    source: str,
    sidecar: _Meta | None,
    content: _Meta,
    utterances: list[Utterance],
) -> tuple[str, datetime, str, list[str]]:
    """Title, date, where the date came from, and attendees, by the precedence in DESIGN.md."""
    file_date, rest = _filename_date(path.stem)
    if sidecar is not None and sidecar.occurred_at is not None:
        occurred_at, date_source = sidecar.occurred_at, "sidecar"
    elif file_date is not None:
        occurred_at, date_source = file_date, "filename"
    elif content.occurred_at is not None:
        occurred_at, date_source = content.occurred_at, "content"
    else:
        try:
            mtime = path.stat().st_mtime
        except OSError as exc:
            raise IngestError(source, "file", f"cannot read file: {exc.strerror or exc}") from exc
        occurred_at, date_source = datetime.fromtimestamp(mtime, tz=UTC), "mtime"

    title = (
        (sidecar.title if sidecar else None) or content.title or _title_from_stem(rest, path.stem)
    )
    attendees = (
        (sidecar.attendees if sidecar else None)
        or content.attendees
        or _dedupe(u.speaker for u in utterances if u.speaker is not None)
    )
    return title, occurred_at, date_source, attendees


def _dedupe(names: Iterable[str]) -> list[str]:
    """Distinct names in order of first appearance; "alice" and "Alice" are one person."""
    seen: set[str] = set()
    result = []
    for name in names:
        key = name.casefold()
        if key not in seen:
            seen.add(key)
            result.append(name)
    return result


# --------------------------------------------------------------------------------------------
# Shared helpers


def _number(drafts: Iterable[_Draft]) -> list[Utterance]:
    """Drafts → utterances numbered 1..n, dropping any that ended up without text."""
    utterances: list[Utterance] = []
    for draft in drafts:
        text = " ".join(draft.parts).strip()
        if text:
            utterances.append(
                Utterance(len(utterances) + 1, draft.speaker, text, draft.start_s, draft.end_s)
            )
    return utterances


def _is_ignored_name(name: str) -> bool:
    """Hidden files, editor backups (``x~``, ``#x#``) and Office lock files (``~$x``)."""
    return (
        name.startswith((".", "~"))
        or name.endswith("~")
        or (name.startswith("#") and name.endswith("#"))
    )
