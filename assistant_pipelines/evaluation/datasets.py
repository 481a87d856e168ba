"""Loaders for the labelled evaluation sets in ``/work/shared/data`` (see its README.md).

This module owns reading the AMI meetings and BC3 e-mails into typed records with their gold
action items, how those documents are rendered into the numbered lines the extraction sees,
and who the gold says owns each item. It knows nothing about models or matching.

Line numbers are 1-based positions in the rendered lines (:meth:`LabelledMeeting.lines`,
:meth:`LabelledEmail.lines`), the same numbering ``records.Utterance.line_no`` uses and the
extraction cites as evidence.

Owners. AMI gold names roles ("The industrial designer will …"), so a meeting's speakers are
shown to the extraction by their role ("Industrial Designer: …") and gold owners are role codes
``PM``/``ME``/``UI``/``ID``. BC3 gold sentences are requests (owned by whoever is asked, which
the data does not say) or commitments (owned by the sender); only commitments get an owner.

Any record of the wrong shape raises :class:`DatasetError` naming the file, the line and the
field, so a changed export fails loudly instead of scoring zero.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from dataclasses import fields as dataclass_fields
from datetime import date, datetime, time
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from assistant_pipelines.ingest.errors import IngestError
from assistant_pipelines.ingest.transcripts import MERGE_LIMIT, continues_line
from assistant_pipelines.selection import is_filler

#: Role codes of the AMI scenario and the label each speaker gets in rendered transcripts.
ROLE_NAMES: dict[str, str] = {
    "PM": "Project Manager",
    "ME": "Marketing Expert",
    "UI": "User Interface Designer",
    "ID": "Industrial Designer",
}

# Role words as AMI annotators (and models) write them, typos included ("Industial",
# "Deigner"). Marketing goes first and its match is blanked out before the others, so
# "marketing manager" is not also read as the project manager.
_ROLE_WORDS: list[tuple[str, re.Pattern[str]]] = [
    (
        "ME",
        re.compile(
            r"\bmarketing(?:\s+(?:expert|executive|manager|person|specialist))?\b", re.IGNORECASE
        ),
    ),
    (
        "UI",
        re.compile(
            r"\b(?:user[\s-]*)?interface(?:\s+(?:designer|specialist|expert))?\b", re.IGNORECASE
        ),
    ),
    ("ID", re.compile(r"\bindus\w*(?:\s+de\w*gner)?\b", re.IGNORECASE)),
    ("PM", re.compile(r"\bproject[\s-]*manager\b|\bmanager\b", re.IGNORECASE)),
]
# Upper-case abbreviations only: "id" and "me" are ordinary words in lower case.
_ROLE_ABBREVIATIONS = re.compile(r"\b(PM|ME|UI|ID)\b")

# The subject of an AMI gold sentence ends at its first verb or modal; roles named after it
# ("… will ask the supplier to help the Industrial Designer") are not owners.
_SUBJECT_END = re.compile(
    r"\b(?:will|shall|should|would|must|can|could|may|might|is|are|was|were|has|have|had|"
    r"needs?|to|also)\b",
    re.IGNORECASE,
)
_PRONOUN_SUBJECT = re.compile(r"^\s*(?:he|she)\b", re.IGNORECASE)
# "*NA*", "NA.", "N/A", "none": the annotators found no action item in the meeting.
_NO_ACTIONS = re.compile(r"^\W*(?:n\W?a|none)\W*$", re.IGNORECASE)


class DatasetError(IngestError):
    """A labelled file that cannot be read: ``source_file``, ``position`` ("line 12") and a
    ``reason`` naming the field that is missing or wrong."""


class AmiUtterance(NamedTuple):
    speaker_label: str  # as the corpus writes it, e.g. "PM (B)"
    role: str | None  # "PM" | "ME" | "UI" | "ID"; None when the corpus gives none
    text: str
    start: float | None
    end: float | None


@dataclass(frozen=True)
class GoldItem:
    """One labelled action item.

    ``owners`` holds every owner the gold names (AMI role codes, or the sender's name for a
    BC3 commitment); ``owner`` is the single owner, or None for a group action, an item owned
    by several people, or one whose owner the data does not say.
    """

    text: str
    owner: str | None
    evidence_lines: tuple[int, ...]  # 1-based line numbers in the rendered document
    owners: tuple[str, ...] = ()
    kind: str = "action"  # AMI: "action"; BC3: "request" | "commitment"


@dataclass
class LabelledMeeting:
    """An AMI meeting with its gold action items."""

    source: ClassVar[str] = "ami"

    id: str
    series: str
    title: str
    date: date | None
    utterances: list[AmiUtterance]
    gold: list[GoldItem]
    participant_roles: dict[str, str] = field(default_factory=dict)  # corpus participant id → role

    kind: ClassVar[str] = "meeting"

    def lines(self) -> list[str]:
        return ami_transcript_lines(self)

    @property
    def occurred_at(self) -> datetime | None:
        """The meeting day at midnight, naive: the corpus gives no time of day or zone."""
        return datetime.combine(self.date, time()) if self.date else None

    @property
    def participants(self) -> list[str]:
        """Speakers as the rendered lines label them, in order of first utterance."""
        return list(dict.fromkeys(speaker_labels(self).values()))

    def speaker_roles(self) -> dict[str, str]:
        """Every way the rendered transcript or the corpus names a speaker → role code."""
        roles: dict[str, str] = {}
        shown = speaker_labels(self)
        for utterance in self.utterances:
            if utterance.role:
                roles[utterance.speaker_label] = utterance.role
                roles[shown[utterance.speaker_label]] = utterance.role
        for participant, role in self.participant_roles.items():
            roles[participant] = role
        for code, name in ROLE_NAMES.items():
            roles.setdefault(name, code)
        return roles


@dataclass
class LabelledEmail:
    """A BC3 e-mail with the sentences the annotators marked as requests or commitments."""

    source: ClassVar[str] = "bc3"

    id: str
    thread_id: str
    subject: str
    sender: str  # display name, else the address
    date: datetime | None
    body: str
    gold: list[GoldItem]
    sender_email: str | None = None
    recipients: list[str] = field(default_factory=list)  # addresses from To

    kind: ClassVar[str] = "email"

    def lines(self) -> list[str]:
        return email_lines(self)

    @property
    def occurred_at(self) -> datetime | None:
        return self.date

    @property
    def participants(self) -> list[str]:
        return [self.sender, *(r for r in self.recipients if r != self.sender_email)]

    def speaker_roles(self) -> dict[str, str]:
        """The sender's name and address → the name gold owners use for them."""
        roles = {self.sender: self.sender}
        if self.sender_email:
            roles[self.sender_email] = self.sender
        return roles


# --- rendering -----------------------------------------------------------------------------


def _one_line(text: str) -> str:
    # One utterance or sentence must stay one line, or every later line number shifts.
    return " ".join(text.split())


def speaker_labels(meeting: LabelledMeeting) -> dict[str, str]:
    """Corpus speaker label ("PM (B)") → the label rendered lines show ("Project Manager")."""
    labels_per_role: dict[str | None, set[str]] = {}
    for u in meeting.utterances:
        labels_per_role.setdefault(u.role, set()).add(u.speaker_label)
    shown: dict[str, str] = {}
    for u in meeting.utterances:
        if u.speaker_label in shown:
            continue
        if u.role in ROLE_NAMES and len(labels_per_role[u.role]) == 1:
            shown[u.speaker_label] = ROLE_NAMES[u.role]
        elif u.role in ROLE_NAMES:
            # Two speakers with one role (not in this corpus, but possible): keep them apart.
            shown[u.speaker_label] = f"{ROLE_NAMES[u.role]} ({u.speaker_label})"
        else:
            shown[u.speaker_label] = u.speaker_label
    return shown


def ami_transcript_lines(meeting: LabelledMeeting) -> list[str]:
    """The transcript as ``Speaker: text`` lines, one per utterance, in corpus order.

    Speakers are labelled by their full role name ("Project Manager"), because that is how the
    gold names owners; the corpus label ("PM (B)") would invite owners the gold never uses.
    Line ``n`` is utterance ``n - 1``, so gold evidence indexes map to line numbers by ``+ 1``.
    """
    shown = speaker_labels(meeting)
    return [f"{shown[u.speaker_label]}: {_one_line(u.text)}" for u in meeting.utterances]


@dataclass
class MeetingWindow(LabelledMeeting):
    """A short stretch of a labelled meeting, lines ``first_line`` to ``last_line``; the others
    are blanked, so line numbers, and the gold's evidence lines, stay the meeting's."""

    first_line: int = 1
    last_line: int = 0

    def lines(self) -> list[str]:
        return [line if self.first_line <= n <= self.last_line else ""
                for n, line in enumerate(ami_transcript_lines(self), start=1)]


def short_meetings(meetings: Iterable[LabelledMeeting], content_lines: int = 24) -> list[MeetingWindow]:
    """Short meetings cut from long ones, to measure extraction on a ten-minute standup (the
    focus pass treats every meeting alike: docs/quality.md, row 30). From each meeting with
    gold evidence: the ``content_lines`` non-filler lines ending four lines after its last
    gold evidence line, with the gold items whose evidence lies wholly inside (none used when
    it would cut an item's evidence in two); and the ``content_lines`` ending at its middle
    line, with no gold, when no evidence lies within ten lines of that stretch. Ids read
    ``ES2002a@358-391``."""
    windows: list[MeetingWindow] = []
    for meeting in meetings:
        lines = meeting.lines()
        evidence = sorted({n for item in meeting.gold for n in item.evidence_lines})
        if not evidence:
            continue
        last = min(len(lines), evidence[-1] + 4)
        first = _start_of_last(lines, last, content_lines)
        inside = [g for g in meeting.gold if g.evidence_lines and all(first <= n <= last for n in g.evidence_lines)]
        if inside and all(g in inside or not any(first <= n <= last for n in g.evidence_lines) for g in meeting.gold):
            windows.append(_window(meeting, first, last, inside))
        middle = len(lines) // 2
        first = _start_of_last(lines, middle, content_lines)
        if not any(first - 10 <= n <= middle + 10 for n in evidence):
            windows.append(_window(meeting, first, middle, []))
    return windows


def _start_of_last(lines: list[str], last: int, content_lines: int) -> int:
    """The first line of the ``content_lines`` non-filler lines ending at line ``last``."""
    first, seen = last, 0
    while first > 1:
        if lines[first - 1].strip() and not is_filler(lines[first - 1]):
            seen += 1
            if seen == content_lines:
                break
        first -= 1
    return first


def _window(meeting: LabelledMeeting, first: int, last: int, gold: list[GoldItem]) -> MeetingWindow:
    kept = {f.name: getattr(meeting, f.name) for f in dataclass_fields(LabelledMeeting) if f.name not in ("id", "gold")}
    return MeetingWindow(id=f"{meeting.id}@{first}-{last}", gold=gold, first_line=first, last_line=last, **kept)


def merged_turns(meeting: LabelledMeeting) -> LabelledMeeting:
    """The meeting as a transcript whose lines are whole turns (a text or document export that
    writes a paragraph per turn): consecutive utterances of one speaker joined into one line of
    up to :data:`MERGE_LIMIT` characters. Each gold item's evidence moves to the turns that hold
    its utterances, so two items handed out in one breath may cite the same line. The id reads
    ``ES2002a~turns``. Before row 45, transcript ingestion joined WebVTT and SRT cues this way."""
    return _joined(meeting, "turns", _same_turn)


def _same_turn(speaker: str, line: str, next_speaker: str, text: str) -> bool:
    return speaker == next_speaker and len(line) + 1 + len(text) <= MERGE_LIMIT


def as_cues(meeting: LabelledMeeting) -> LabelledMeeting:
    """The meeting as transcript ingestion reads a WebVTT or SRT export of it, each utterance a
    cue: a speaker's consecutive cues joined until a sentence ends (:func:`continues_line`), so
    AMI's unpunctuated fragments ("Um and um") join the sentence they lead into. The id reads
    ``ES2002a~cues``."""
    return _joined(meeting, "cues", continues_line)


def _joined(meeting: LabelledMeeting, suffix: str, joins: Callable[[str, str, str, str], bool]) -> LabelledMeeting:
    """``meeting`` with consecutive utterances joined into one line wherever ``joins(speaker,
    line so far, next speaker, next text)`` says so, and its gold evidence moved with them."""
    lines: list[AmiUtterance] = []
    line_of: list[int] = []  # utterance index → its line's number
    for utterance in meeting.utterances:
        text = _one_line(utterance.text)
        last = lines[-1] if lines else None
        same_speaker = last is not None and last.speaker_label == utterance.speaker_label
        if last is None or not (same_speaker and not text
                                or joins(last.speaker_label, last.text, utterance.speaker_label, text)):
            lines.append(utterance._replace(text=text))
        elif text:  # an empty utterance of the same speaker only joins the line; there is nothing to add
            lines[-1] = last._replace(text=f"{last.text} {text}".strip(),
                                      end=utterance.end if utterance.end is not None else last.end)
        line_of.append(len(lines))
    gold = [replace(item, evidence_lines=tuple(sorted({line_of[n - 1] for n in item.evidence_lines})))
            for item in meeting.gold]
    return replace(meeting, id=f"{meeting.id}~{suffix}", utterances=lines, gold=gold)


def email_lines(email: LabelledEmail) -> list[str]:
    """The e-mail body split into lines (BC3 bodies hold one annotated sentence per line)."""
    return email.body.split("\n")


# --- owners named in text ------------------------------------------------------------------


def roles_named(text: str) -> list[str]:
    """AMI role codes named in ``text``, in order of first mention, without repeats."""
    hits: list[tuple[int, str]] = []
    remaining = text
    for code, pattern in _ROLE_WORDS:
        for match in pattern.finditer(remaining):
            hits.append((match.start(), code))
        remaining = pattern.sub(lambda m: " " * len(m.group(0)), remaining)
    for match in _ROLE_ABBREVIATIONS.finditer(remaining):
        hits.append((match.start(), match.group(1)))
    ordered: list[str] = []
    for _, code in sorted(hits):
        if code not in ordered:
            ordered.append(code)
    return ordered


def ami_gold_owners(text: str, previous: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The roles a gold sentence makes responsible: those named in its subject.

    "The industrial designer will …" → ``("ID",)``; "The Industrial Designer and the User
    Interface Designer will …" → ``("ID", "UI")``; "The team will …" / "All participants …" /
    "They will …" → ``()`` (a group action). "He/She will also …" continues the previous
    item's owner (``previous``) when that was one role.
    """
    if _PRONOUN_SUBJECT.match(text):
        return previous if len(previous) == 1 else ()
    end = _SUBJECT_END.search(text)
    subject = text[: end.start()] if end else text
    return tuple(roles_named(subject))


_OWNER_LEAD = re.compile(
    r"^(?P<subject>[^.;:!?]{0,120}?)\s*\b(?:will|shall|should|must|needs?\s+to|has\s+to|"
    r"have\s+to|is\s+to|are\s+to|was|were|(?:is|are)\s+going\s+to|gonna|(?P<bare>to))\b"
    r"(?P<link>(?:\s+(?:also|then|now|need\s+to|have\s+to|be|asked|instructed|assigned|"
    r"the\s+task\s+of|to))*)\s+",
    re.IGNORECASE,
)
_GROUP_SUBJECT = re.compile(
    r"\b(?:i|we|you|he|she|they|team|teams|group|participants?|members?|everyone|everybody|"
    r"all|designers|someone|somebody)\b",
    re.IGNORECASE,
)


_OWNER_FILLER = re.compile(
    r"\b(?:the|a|an|and|or|both|two|three|all|some|of|us|them|you|i|we|he|she|they|so|then|"
    r"now|well|okay|ok|um|uh|also)\b|[,&+/'\u2019]",
    re.IGNORECASE,
)
_GROUP_WORDS = re.compile(
    r"\b(?:designers?|team|teams|group|members?|participants?|everyone|everybody)\b", re.IGNORECASE
)
# Words other than owners allowed before the verb: "So the designers are going to …" is an
# owner lead, "Um and marketing, you'll be thinking about what requirements it has to …" is not.
_MAX_OTHER_WORDS = 2


def _other_words(subject: str, names: Iterable[str]) -> list[str]:
    """The words of ``subject`` that are not owner names, role or group words, or fillers."""
    rest = subject
    for name in sorted((n for n in names if n), key=len, reverse=True):
        rest = re.sub(re.escape(name), " ", rest, flags=re.IGNORECASE)
    for _, pattern in _ROLE_WORDS:
        rest = pattern.sub(" ", rest)
    rest = _ROLE_ABBREVIATIONS.sub(" ", rest)
    rest = _GROUP_WORDS.sub(" ", rest)
    return _OWNER_FILLER.sub(" ", rest).split()


def task_text(text: str, names: Iterable[str] = ()) -> str:
    """``text`` without a leading owner phrase: what is to be done, for comparing by meaning.

    "The industrial designer will sketch three casing options." → "sketch three casing
    options."; "Maria to send the draft" → "send the draft" when ``names`` holds "Maria". The
    phrase is removed only when it names a role, a person in ``names``, a pronoun or a group
    and says little else, so "The design is to be carried out …" stays whole. Owners are
    judged separately; left in, the same role words make unrelated AMI items look alike
    (docs/quality.md, "The matcher check").
    """
    text = _one_line(text)
    match = _OWNER_LEAD.match(text)
    if not match:
        return text
    subject = match.group("subject")
    names = list(names)
    folded = subject.casefold()
    names_subject = any(n and n.casefold() in folded for n in names)
    if not (roles_named(subject) or _GROUP_SUBJECT.search(subject) or names_subject):
        return text
    # Before a bare "to" only owners may stand ("Maria to send …", not "We're not catering
    # to …"); before a modal, a couple of other words are fine ("So the designers will …").
    limit = 0 if match.group("bare") else _MAX_OTHER_WORDS
    if len(_other_words(subject, names)) > limit:
        return text
    rest = text[match.end() :].strip()
    return rest or text


# --- reading files -------------------------------------------------------------------------


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line of a JSONL file."""
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(str(path), "file", "the file does not exist.") from None
    except OSError as exc:
        raise DatasetError(str(path), "file", f"the file cannot be read: {exc.strerror}.") from None
    seen_any = False
    with handle:
        try:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    record = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise DatasetError(
                        str(path),
                        f"line {number}",
                        f"not valid JSON ({exc.msg}, column {exc.colno}).",
                    ) from None
                if not isinstance(record, dict):
                    raise DatasetError(
                        str(path),
                        f"line {number}",
                        f"expected a JSON object, found {type(record).__name__}.",
                    )
                seen_any = True
                yield number, record
        except UnicodeDecodeError as exc:
            raise DatasetError(str(path), "file", f"not UTF-8 text ({exc.reason}).") from None
    if not seen_any:
        raise DatasetError(str(path), "file", "the file holds no records.")


class _Fields:
    """Typed access to one record's fields, raising :class:`DatasetError` that names them."""

    def __init__(self, path: Path, line: int, record: Mapping[str, Any]) -> None:
        self.path, self.line, self.record = path, line, record

    def error(self, reason: str) -> DatasetError:
        return DatasetError(str(self.path), f"line {self.line}", reason)

    def text(self, name: str, default: str | None = None) -> str:
        value = self.record.get(name)
        if value is None:
            if default is not None:
                return default
            raise self.error(f"missing field {name!r}.")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            raise self.error(f"field {name!r} should be text, found {type(value).__name__}.")
        return value

    def structure(self, name: str, kind: type, *, required: bool = True) -> Any:
        """A list/dict field, also when written as a JSON string or a Python repr string."""
        value = self.record.get(name)
        if value is None:
            if required:
                raise self.error(f"missing field {name!r}.")
            return kind()
        if isinstance(value, str):
            value = self.decode(name, value)
        if not isinstance(value, kind):
            raise self.error(
                f"field {name!r} should be a {kind.__name__}, found {type(value).__name__}."
            )
        return value

    def decode(self, name: str, text: str) -> Any:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
        try:
            # literal_eval only builds literals (no calls, no names): safe on untrusted text.
            return ast.literal_eval(text.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise self.error(
                f"field {name!r} is a string that is neither JSON nor a Python literal."
            ) from None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _ami_date(text: str) -> date | None:
    """AMI ``meta.date``: ``dd-mm-yy`` or ``dd-mm-yyyy`` (recordings are from 2004–2005)."""
    for pattern in ("%d-%m-%y", "%d-%m-%Y", "%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y"):
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    return None


def _ami_utterance(
    fields: _Fields, index: int, entry: Any, letter_roles: Mapping[str, str]
) -> AmiUtterance:
    where = f"transcript[{index}]"
    if isinstance(entry, str):
        entry = fields.decode(where, entry)
    if not isinstance(entry, dict):
        raise fields.error(f"{where} should be an object, found {type(entry).__name__}.")
    text = entry.get("text")
    if not isinstance(text, str):
        raise fields.error(f"{where} has no 'text' string.")
    label = entry.get("speaker")
    letter = entry.get("speaker_letter")
    role = entry.get("role")
    if not isinstance(role, str) or role.upper() not in ROLE_NAMES:
        # Older exports carry only "PM (B)" or the letter; the meeting's meta maps letters.
        named = roles_named(label) if isinstance(label, str) else []
        role = named[0] if named else letter_roles.get(str(letter)) if letter else None
    else:
        role = role.upper()
    if not isinstance(label, str) or not label.strip():
        label = f"{role} ({letter})" if role and letter else (role or str(letter or "Unknown"))
    return AmiUtterance(
        label.strip(), role, text, _number(entry.get("start")), _number(entry.get("end"))
    )


def _ami_gold(fields: _Fields, transcript_length: int) -> list[GoldItem]:
    texts = fields.structure("gold_actions", list, required=False)
    details = fields.structure("gold_actions_detail", list, required=False)
    if "gold_actions" not in fields.record and "gold_actions_detail" not in fields.record:
        raise fields.error("missing field 'gold_actions' (and no 'gold_actions_detail').")

    evidence_by_text: dict[str, tuple[int, ...]] = {}
    detail_texts: list[str] = []
    for position, detail in enumerate(details):
        if isinstance(detail, str):
            detail = fields.decode(f"gold_actions_detail[{position}]", detail)
        if not isinstance(detail, dict) or not isinstance(detail.get("text"), str):
            raise fields.error(f"gold_actions_detail[{position}] should be an object with 'text'.")
        indexes = detail.get("evidence_utterance_idx") or []
        if isinstance(indexes, str):
            indexes = fields.decode(
                f"gold_actions_detail[{position}].evidence_utterance_idx", indexes
            )
        if not isinstance(indexes, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in indexes
        ):
            raise fields.error(
                f"gold_actions_detail[{position}].evidence_utterance_idx should be a list of integers."
            )
        bad = [i for i in indexes if not 0 <= i < transcript_length]
        if bad:
            raise fields.error(
                f"gold_actions_detail[{position}].evidence_utterance_idx {bad} is outside the "
                f"transcript of {transcript_length} utterances."
            )
        evidence_by_text[detail["text"].strip()] = tuple(sorted({i + 1 for i in indexes}))
        detail_texts.append(detail["text"])

    gold: list[GoldItem] = []
    previous: tuple[str, ...] = ()
    for position, text in enumerate(texts or detail_texts):
        if not isinstance(text, str):
            raise fields.error(
                f"gold_actions[{position}] should be text, found {type(text).__name__}."
            )
        text = _one_line(text)
        if not text or _NO_ACTIONS.match(text):
            continue
        owners = ami_gold_owners(text, previous)
        previous = owners
        gold.append(
            GoldItem(
                text=text,
                owner=owners[0] if len(owners) == 1 else None,
                evidence_lines=evidence_by_text.get(text, ()),
                owners=owners,
            )
        )
    return gold


def load_ami(path: str | Path) -> list[LabelledMeeting]:
    """Every meeting in an AMI JSONL export (``ami_meetings.jsonl``), in file order.

    A meeting whose gold is ``*NA*`` gets an empty gold list: any prediction on it is a false
    positive.
    """
    path = Path(path)
    meetings: list[LabelledMeeting] = []
    first_line: dict[str, int] = {}
    for number, record in _records(path):
        fields = _Fields(path, number, record)
        source_id = record.get("source_id")
        fallback_id = source_id.removeprefix("AMI:") if isinstance(source_id, str) else None
        meeting_id = fields.text("meeting_id", fallback_id)
        if meeting_id in first_line:
            raise fields.error(
                f"meeting_id {meeting_id!r} already appeared on line {first_line[meeting_id]}."
            )
        first_line[meeting_id] = number

        meta = fields.structure("meta", dict, required=False)
        speakers = meta.get("speakers") if isinstance(meta.get("speakers"), dict) else {}
        letter_roles = {
            str(letter): str(info["role"]).upper()
            for letter, info in speakers.items()
            if isinstance(info, dict) and str(info.get("role", "")).upper() in ROLE_NAMES
        }
        participant_roles = {
            str(info["participant"]): str(info["role"]).upper()
            for info in speakers.values()
            if isinstance(info, dict)
            and info.get("participant")
            and str(info.get("role", "")).upper() in ROLE_NAMES
        }

        transcript = fields.structure("transcript", list)
        utterances = [
            _ami_utterance(fields, index, entry, letter_roles)
            for index, entry in enumerate(transcript)
        ]
        raw_date = meta.get("date")
        meetings.append(
            LabelledMeeting(
                id=meeting_id,
                series=fields.text("series", re.sub(r"[a-z]$", "", meeting_id)),
                title=str(meta.get("title") or f"AMI meeting {meeting_id}"),
                date=_ami_date(raw_date) if isinstance(raw_date, str) else None,
                utterances=utterances,
                gold=_ami_gold(fields, len(utterances)),
                participant_roles=participant_roles,
            )
        )
    return meetings


def _sentence_lines(body_lines: list[str], sentence: str) -> tuple[int, ...]:
    """The 1-based body lines that hold ``sentence`` (whitespace-insensitive); () if none."""
    target = _one_line(sentence).lstrip("> ").casefold()
    if not target:
        return ()
    flat = [_one_line(line).casefold() for line in body_lines]
    for number, line in enumerate(flat, start=1):
        if target in line:
            return (number,)
    # A sentence wrapped over several lines: find the shortest run of lines that holds it.
    for width in range(2, 6):
        for start in range(len(flat) - width + 1):
            if target in " ".join(flat[start : start + width]):
                return tuple(range(start + 1, start + width + 1))
    return ()


def load_bc3(path: str | Path) -> list[LabelledEmail]:
    """Every e-mail in a BC3 JSONL export (``bc3_emails.jsonl``), in file order.

    Gold items are the sentences the annotators' majority marked as a request or commitment;
    a commitment is owned by the sender, a request by an addressee the data does not name.
    """
    path = Path(path)
    emails: list[LabelledEmail] = []
    first_line: dict[str, int] = {}
    for number, record in _records(path):
        fields = _Fields(path, number, record)
        email_id = fields.text("source_id", None)
        if email_id in first_line:
            raise fields.error(
                f"source_id {email_id!r} already appeared on line {first_line[email_id]}."
            )
        first_line[email_id] = number

        body = fields.text("body")
        body_lines = body.split("\n")
        name, address = parseaddr(fields.text("from"))
        if not name and not address:
            raise fields.error("field 'from' holds no sender name or address.")
        sender = name or address
        raw_date = fields.text("date", "")
        try:
            sent_at = parsedate_to_datetime(raw_date) if raw_date.strip() else None
        except (TypeError, ValueError, IndexError):
            sent_at = None

        details = fields.structure("gold_actions_detail", list, required=False)
        gold: list[GoldItem] = []
        if details:
            for position, detail in enumerate(details):
                if isinstance(detail, str):
                    detail = fields.decode(f"gold_actions_detail[{position}]", detail)
                if not isinstance(detail, dict) or not isinstance(detail.get("text"), str):
                    raise fields.error(
                        f"gold_actions_detail[{position}] should be an object with 'text'."
                    )
                kind = str(detail.get("type") or "request").lower()
                owners = (sender,) if kind == "commitment" else ()
                gold.append(
                    GoldItem(
                        text=_one_line(detail["text"]),
                        owner=owners[0] if owners else None,
                        evidence_lines=_sentence_lines(body_lines, detail["text"]),
                        owners=owners,
                        kind=kind,
                    )
                )
        else:
            for position, text in enumerate(fields.structure("gold_actions", list)):
                if not isinstance(text, str):
                    raise fields.error(
                        f"gold_actions[{position}] should be text, found {type(text).__name__}."
                    )
                gold.append(GoldItem(_one_line(text), None, _sentence_lines(body_lines, text)))

        emails.append(
            LabelledEmail(
                id=email_id,
                thread_id=fields.text("thread_id", email_id.rsplit(":", 1)[0]),
                subject=fields.text("subject", fields.text("thread_subject", "")),
                sender=sender,
                date=sent_at,
                body=body,
                gold=gold,
                sender_email=address.lower() or None,
                recipients=[a.lower() for _, a in getaddresses([fields.text("to", "")]) if a],
            )
        )
    return emails
