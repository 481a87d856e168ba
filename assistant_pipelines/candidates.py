"""Model answers → action item candidates, each grounded in its source or quarantined.

A candidate keeps what the model said (task, owner and due as written) next to what code made
of it: the owner resolved to a person, the due date resolved against the document's date, and
the evidence text pulled from the cited lines, never trusted from the model. A due the source
does not say is dropped (the small model invents one for most items; its whole answer stays in
``llm_cache``). A candidate that fails a rule is kept with its ``quarantine_reason``: held back
from ``action_items``, never lost.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from assistant_pipelines.dates import deadline_said, only_a_date, resolve_due_date
from assistant_pipelines.ingest.rows import short_hash
from assistant_pipelines.llm.prompts import prompt_examples
from assistant_pipelines.llm.schema import ExtractedActionItem
from assistant_pipelines.people import PersonDirectory, alias_key
from assistant_pipelines.selection import sentences, speaker_prefix

CANDIDATE_COLUMNS = [
    "candidate_id", "document_id", "week_start", "origin", "chunk_index", "item_index", "task",
    "owner_text", "owner_person_id", "due_text", "due_date", "status", "priority", "confidence",
    "evidence_lines", "evidence_text", "occurred_at", "model", "prompt_version", "input_hash",
    "quarantine_reason",
]
_FIRST_PERSON = {"i", "me", "myself", "i'll", "i will", "we", "us"}
_STOP_WORDS = """the a an and or to of for in on at by with from this that these those be is are
was were will would should could can need needs please have has had do does did make get it its
our your their them they we you i me my up out about into over next week all any some more"""
_STOP = frozenset(_STOP_WORDS.split())
_SPEAKER_LINE = re.compile(r"^([^:]{1,60}):\s")


@dataclass(frozen=True)
class DocumentContext:
    document_id: str
    kind: str
    lines: list[str]
    occurred_at: datetime  # aware
    local_date: date
    week_start: date
    author: str | None  # the e-mail's sender: "I" in an e-mail is them
    title: str = ""  # the meeting's title, the e-mail's subject, the ticket's key and title


# Scripts written without spaces between words (kana, CJK ideographs, Thai): compared by
# pairs of characters, since a "word" there would be a whole clause.
_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def _stems(text: str) -> set[str]:
    """Content words cut to 5 characters ("prepare"/"preparing" meet), in any script that
    separates words with spaces ("Präsentation", "отчёт"); character pairs elsewhere."""
    text = text.lower()
    stems = {run[i:i + 2] for run in _UNSPACED.findall(text) for i in range(max(1, len(run) - 1))}
    words = re.findall(r"[^\W_]+", _UNSPACED.sub(" ", text))
    return stems | {w[:5] for w in words if len(w) >= 3 and w not in _STOP}


def speaker_of(line: str) -> str | None:
    """The speaker a meeting line starts with ("Priya: …"); None for "Unknown" (what
    ``documents`` writes for an utterance without a speaker) or no label."""
    match = _SPEAKER_LINE.match(line)
    speaker = match.group(1).strip() if match else None
    return None if not speaker or speaker.lower() == "unknown" else speaker


def ground(item: ExtractedActionItem, doc: DocumentContext, first_line: int, last_line: int,
           shown: Collection[int] | None = None) -> tuple[list[int], str, str | None]:
    """(valid evidence lines, their text, quarantine reason or None). A task its cited lines
    do not support, but which a line the model was shown plainly says, is re-pointed at that
    line (:func:`_line_saying`): a small model sometimes cites the chunk's last line, or a
    line's position in the chunk ("3"), for the line it took the task from. ``shown``: the
    chunk's lines the model saw (all of ``first_line``..``last_line`` when None)."""
    cited = sorted(set(item.evidence_lines))
    outside = [n for n in cited if not (first_line <= n <= last_line) or n > len(doc.lines)]
    valid = [n for n in cited if n not in outside and doc.lines[n - 1].strip()]
    if valid and _stems(item.task) & _stems(_with_neighbours(valid, doc)):
        return valid, "\n".join(doc.lines[n - 1].strip() for n in valid), None
    saying = _line_saying(item.task, doc, first_line, last_line, shown)
    if saying is not None:
        return [saying], doc.lines[saying - 1].strip(), None
    if not valid:
        return [], "", f"evidence lines {cited} are not lines of the source ({first_line}-{last_line})"
    evidence = "\n".join(doc.lines[n - 1].strip() for n in valid)
    return valid, evidence, f"task is not grounded: none of its words appear in lines {valid}"


def _with_neighbours(lines: list[int], doc: DocumentContext) -> str:
    # Models cite the line that states the item; its neighbours often carry the object
    # ("Can you take it?" / "Sure"). Grounding is judged on the cited lines and one each side.
    around = {m for n in lines for m in (n - 1, n, n + 1) if 1 <= m <= len(doc.lines)}
    return " ".join(doc.lines[m - 1] for m in sorted(around))


def _line_saying(task: str, doc: DocumentContext, first_line: int, last_line: int,
                 shown: Collection[int] | None = None) -> int | None:
    """The line of ``first_line``..``last_line`` (those in ``shown``) that says ``task``: it
    shares at least two content words with it and at least half of them, more than any other
    line does (the first of equals). None when no line does: the task is not the source's."""
    words = _stems(task)
    best, best_shared = None, 0
    for n in range(max(1, first_line), min(last_line, len(doc.lines)) + 1):
        if shown is not None and n not in shown:
            continue
        line = doc.lines[n - 1]
        said = line.split(":", 1)[1] if doc.kind == "meeting" and speaker_of(line) else line
        shared = len(words & _stems(said))
        if shared > best_shared:
            best, best_shared = n, shared
    return best if best_shared >= 2 and 2 * best_shared >= len(words) else None


_SECOND_PERSON = re.compile(r"\b(you|you'll|you're|you've|you'd|your)\b", re.IGNORECASE)
# "You know?", "thank you": spoken to nobody in particular.
_FILLER_YOU = re.compile(r"\b(you know|you see|thank you|see you|if you like|if you will|mind you)\b", re.IGNORECASE)
_SPEAKER_COMMITS = re.compile(r"\b(i'll|i will|i'm going to|i'm gonna|i am going to|let me|i can)\b", re.IGNORECASE)
_ACKNOWLEDGEMENT = re.compile(r"^(yep|yeah|yes|okay|ok|sure|alright|right|will do|got it|fine|mm-hmm|uh-huh|cool)\b",
                              re.IGNORECASE)


# A speaker introducing themselves ("I'm Nathan", "my name is Dana"), and a line that calls
# someone by name ("Nathan, I'd like you to …", "thank you very much Nathan.", "… Nathan?").
# A word of letters in any alphabet ("José", "Zoë"); whether it is written as a name is
# checked in code (:func:`_name_shaped`), since ``re`` has no class for capital letters.
_WORD = r"([^\W\d_]+)"
_INTRODUCTION = re.compile(rf"(?i:\b(?:i'm|i am|my name is|my name's|call me))\s+{_WORD}")
_CALLED = (
    re.compile(rf"^\s*(?:(?i:ok(?:ay)?|so|alright|right|and|well|um|uh)\W+)*{_WORD}\s*[,?!]"),
    re.compile(rf"(?:,|\b(?i:thanks|thank you)(?i: very much| so much)?,?)\s*{_WORD}\s*(?:[.?!]|$)"),
    re.compile(rf"\b{_WORD}\?"),
)
_BACKCHANNEL = re.compile(r"^\W*(?:mm+|mm-hmm|uh-huh|hmm|um+|uh+|yeah|yep|okay|ok|right)\W*$", re.IGNORECASE)


def _name_shaped(word: str) -> bool:
    return len(word) >= 2 and word[0].isupper() and word[1:].islower()


def names_in_meeting(doc: DocumentContext) -> dict[str, str]:
    """First names people go by in a meeting whose speakers are labelled otherwise (by role,
    "Speaker 1", "SPEAKER_00"), each with the label it belongs to. Evidence: a speaker saying
    "I'm Nathan" (3 votes), and the first other speaker to answer, within three lines and with
    more than "Mm." or "Yeah.", a line that calls someone by that name (1 vote). A name is
    kept with at least 3 votes and three times the votes of any other label. Only proper
    names count: written with a capital inside a sentence somewhere, and never in lower case
    ("Yep?" is no one; "Euros" is said in lower case nowhere, but nobody answers to it)."""
    if doc.kind != "meeting":
        return {}
    labels = [speaker_of(line) for line in doc.lines]
    said = [line.split(":", 1)[1] if label else line for line, label in zip(doc.lines, labels, strict=True)]
    text = " ".join(said)
    lower = {w for w in re.findall(_WORD, text) if w.islower()}
    # capitalised after a lower-case letter or a comma: not merely the first word of a sentence
    inside = {m.group(2) for m in re.finditer(rf"(?<=(\S)) {_WORD}", text)
              if _name_shaped(m.group(2)) and (m.group(1) == "," or m.group(1).islower())}
    label_words = {w.lower() for label in labels if label for w in re.findall(_WORD, label)}

    def proper(name: str) -> bool:
        return name in inside and name.lower() not in lower and name.lower() not in label_words

    votes: defaultdict[str, Counter[str]] = defaultdict(Counter)  # name → label → votes
    for n, (label, words) in enumerate(zip(labels, said, strict=True)):
        if not label:
            continue
        for name in (m.group(1) for m in _INTRODUCTION.finditer(words) if proper(m.group(1))):
            votes[name][label] += 3
        called = next((m.group(1) for pattern in _CALLED for m in pattern.finditer(words) if proper(m.group(1))),
                      None)
        if called is None:
            continue
        for reply, reply_words in zip(labels[n + 1:n + 4], said[n + 1:n + 4], strict=True):
            if reply and reply != label and not _BACKCHANNEL.match(reply_words):
                votes[called][reply] += 1
                break
    names = {}
    for name, by_label in votes.items():
        (label, most), *rest = by_label.most_common(2)
        if most >= 3 and most >= 3 * (rest[0][1] if rest else 0):
            names[name] = label
    return names


def addressee(doc: DocumentContext, line_number: int, *, by_reply: bool = True,
              last_line: int | None = None, names: Mapping[str, str] | None = None) -> str | None:
    """Who a meeting line spoken to "you" is addressed to: another speaker named in it (by
    full label, or by a word only their label has: "marketing, you'll look at trends"), else
    the other speaker who answers it briefly within the next two lines ("Yep.", "Evaluation,
    okay."). Work said over several lines of one turn, up to ``last_line``, is answered after
    its last line. A first name the meeting's ``names`` (:func:`names_in_meeting`, read from
    ``doc`` when not given) give a speaker names that speaker. None if unsure."""
    last = max(line_number, last_line or line_number)
    line = doc.lines[line_number - 1]
    speaker = speaker_of(line)
    said = line.split(":", 1)[1] if ":" in line else line
    body = said.lower()
    others = sorted({s for s in (speaker_of(x) for x in doc.lines) if s and s != speaker}, key=len, reverse=True)
    named = [s for s in others if re.search(rf"\b{re.escape(s.lower())}\b", body)]
    if not named:
        words = {s: set(re.findall(r"[a-z]{5,}", s.lower())) for s in others}
        for label, own in words.items():
            unique = own - set().union(*(w for other, w in words.items() if other != label))
            if any(re.search(rf"\b{w}\b", body) for w in unique):
                named.append(label)
    if not named:
        named = _named_by_initials(said, others)
    if not named:  # "Nathan, I'd like you to …" where Nathan speaks as the Industrial Designer
        known = names if names is not None else names_in_meeting(doc)
        named = sorted({label for name, label in known.items()
                        if label != speaker and re.search(rf"\b{re.escape(name)}\b", said)})
    if len(named) == 1:
        return named[0]
    if named or not by_reply:
        return None  # several people named: a shared task, not one owner
    for following in doc.lines[last:last + 2]:
        who = speaker_of(following)
        text = following.split(":", 1)[1].strip() if ":" in following else ""
        if who and who != speaker and (_ACKNOWLEDGEMENT.match(text) or len(text.split()) <= 4):
            return who
    return None


_SPELLED_OUT = re.compile(r"\b(?:[A-Z][_.] ?){2,}")  # "U_I_D_", "P.M.": letters spoken one by one


def _named_by_initials(said: str, labels: list[str]) -> list[str]:
    """The labels of two or more words whose initials the line says, in capitals ("UID",
    "U_I_D_" for "User Interface Designer"), when no other label shares them; "PM" after a
    number is a time of day, not a person."""
    text = _SPELLED_OUT.sub(lambda m: re.sub(r"[^A-Z]", "", m.group(0)) + " ", said)
    initials: dict[str, list[str]] = {}
    for label in labels:
        words = re.findall(r"[A-Za-z]+", label)
        if len(words) >= 2:
            initials.setdefault("".join(w[0] for w in words).upper(), []).append(label)
    return [owners[0] for letters, owners in initials.items()
            if len(owners) == 1 and re.search(rf"(?<![\w-])(?<!\d )(?<!\d){letters}(?![\w-])", text)]


def stating_line(task: str, evidence_lines: list[int], doc: DocumentContext,
                 first_line: int = 1, last_line: int | None = None) -> int | None:
    """The line that states ``task``: of the cited lines and their neighbours (within the
    lines the model was shown), the one sharing the most content words with it; a cited line
    wins a tie. Models often cite the answer ("Yep.") or the line beside the one that hands
    out the work, and who the work goes to is read from the line that says it."""
    if not evidence_lines:
        return None
    last = min(last_line or len(doc.lines), len(doc.lines))
    words = _stems(task)
    cited = set(evidence_lines)

    def shared(n: int) -> int:
        line = doc.lines[n - 1]
        said = line.split(":", 1)[1] if doc.kind == "meeting" and speaker_of(line) else line
        return len(words & _stems(said))

    near = [m for m in sorted({m for n in evidence_lines for m in (n - 1, n, n + 1)})
            if first_line <= m <= last and doc.lines[m - 1].strip()]
    best = max(near, key=lambda m: (shared(m), m in cited, -m), default=None)
    return best if best is not None and shared(best) else evidence_lines[0]


def resolve_owner(owner_text: str, evidence_lines: list[int], doc: DocumentContext,
                  directory: PersonDirectory, names: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
    """(owner as written, person id). "I" means the speaker of the cited line (or the sender);
    a first name nobody on record has, but a speaker of the meeting goes by, means that speaker
    (``names``: :func:`names_in_meeting`, read from ``doc`` when not given).
    In a meeting, work a speaker hands to "you", or to one other participant by name, is not
    the speaker's: when the model names the speaker (or nobody) for such a line, the owner is
    the person addressed (:func:`addressee`). The first cited line is the one that states the
    work; the cited lines of the same turn around it ("you, work on a design," / "keep it
    general,") say whether it is spoken to "you", and the answer comes after them."""
    text = owner_text.strip()
    line = doc.lines[evidence_lines[0] - 1] if evidence_lines and evidence_lines[0] <= len(doc.lines) else ""
    speaker = speaker_of(line) if doc.kind == "meeting" else None
    if speaker and (not text or text == speaker) and not _SPEAKER_COMMITS.search(line.split(":", 1)[-1]):
        # Spoken to "you", the one who answers may be the addressee; otherwise only another
        # participant named in the turn ("Marketing, the user requirements.") is.
        first, last = _cited_turn(doc, evidence_lines[0], set(evidence_lines), speaker)
        turn = " ".join(x.split(":", 1)[-1] for x in doc.lines[first - 1:last])
        spoken_to = bool(_SECOND_PERSON.search(_FILLER_YOU.sub(" ", turn)))
        text = addressee(doc, evidence_lines[0], by_reply=spoken_to, last_line=last, names=names) or text
    if not text:
        return None, None
    if text.lower() in _FIRST_PERSON:
        text = speaker or doc.author or text
    person = directory.resolve(text)
    if person is None and doc.kind == "meeting" and re.fullmatch(r"[^\W\d_]+", text):
        # a first name the speaker labels do not show ("Nathan" in a meeting labelled by role)
        known = names if names is not None else names_in_meeting(doc)
        text = known.get(text[:1].upper() + text[1:], text)
        person = directory.resolve(text)
    return text, person


def _cited_turn(doc: DocumentContext, line_number: int, cited: set[int], speaker: str) -> tuple[int, int]:
    """The unbroken run of cited lines by ``speaker`` around ``line_number``: one piece of
    work said over several transcript lines."""
    def same(n: int) -> bool:
        return n in cited and 1 <= n <= len(doc.lines) and speaker_of(doc.lines[n - 1]) == speaker

    first = last = line_number
    while same(first - 1):
        first -= 1
    while same(last + 1):
        last += 1
    return first, last


_LINE_LABEL = re.compile(r"^(?:>>>\s*)?(?:\[\d+\]\s*)?(?:([^:]{1,60}):\s+)?")


def _without_line_label(item: ExtractedActionItem, doc: DocumentContext) -> ExtractedActionItem:
    """A small model sometimes copies a whole source line as the task, with its ``[n]``,
    ``>>>`` mark or speaker label: keep the words, not the decoration."""
    match = _LINE_LABEL.match(item.task)
    label = match.group(1) if match else None
    if not match or not match.group(0) or (label and not any(line.startswith(label + ":") for line in doc.lines)):
        return item
    task = item.task[match.end():].strip()
    return item.model_copy(update={"task": task}) if len(task) >= 3 else item


# Words said to someone before the work: up to three words of a name or role, then a comma
# or colon ("Hannah, the screenshots …", "User Interface Designer: the concept").
_ADDRESSED = re.compile(r"^([^\W\d_][\w'-]*(?: [^\W\d_][\w'-]*){0,2})\s*[,:]\s*(\S.*)$")
# A deadline said at the end of a roll call's part: "…, the screenshots by Wednesday".
_TRAILING_DUE = re.compile(r"\b(by [^,;]{2,30}|(?:today|tonight|tomorrow)(?: morning| afternoon)?|(?:this|next) week)$",
                           re.IGNORECASE)


def split_roll_call(item: ExtractedActionItem, doc: DocumentContext) -> list[ExtractedActionItem]:
    """A meeting's wrap-up read back as one item ("José, the CSV regression test; Hannah, the
    screenshots by Wednesday; Priya, the feature list tomorrow"), one item per person named:
    each part, split at ";", must start with a speaker of the meeting (full label or first
    name) and a comma or colon, else the item stays whole. A part's due is the deadline its
    own words end with ("by Wednesday", "tomorrow"), never the model's due for the whole.
    Where the model also reported a part on its own, that item is kept and the part dropped
    as its duplicate (:func:`drop_chunk_duplicates`)."""
    parts = [p.strip(" .") for p in item.task.split(";") if p.strip(" .")]
    if doc.kind != "meeting" or len(parts) < 2:
        return [item]
    speakers = {s.lower() for line in doc.lines if (s := speaker_of(line))}
    speakers |= {s.split()[0] for s in speakers}
    named = [m for part in parts if (m := _ADDRESSED.match(part)) and m.group(1).lower() in speakers]
    if len(named) < len(parts):
        return [item]
    return [item.model_copy(update={"task": m.group(2), "owner": m.group(1),
                                    "due": due.group(1) if (due := _TRAILING_DUE.search(m.group(2))) else ""})
            for m in named]


# Hesitations of speech a model copies into a task from a transcript: filler sounds, and a
# word or two said twice ("the the", "has to has to"). Left alone: "you know" ("I'll let you
# know by Friday" is work), "er" and "mm" ("take her to the ER", "a 5 mm screw").
_FILLER_SOUND = re.compile(r"(?<![\w'-])(?:uh|uhm|um|erm|hmm)(?![\w'-]),?\s*", re.IGNORECASE)
_SAID_TWICE = re.compile(r"\b(\w+(?:\s+\w+)?)(?:\s+\1\b)+", re.IGNORECASE)
_SAID_TWICE_PAUSED = re.compile(r"\b(\w+),\s+\1\b", re.IGNORECASE)  # "what, what requirements"
# Words of talk, not of the work, where speech sets them off by commas or at either end of
# the task ("check, you know, what", "please send the draft, okay, then", "… by Friday, I
# guess."). Inside a clause they can be the work: "let you know by Friday".
_TALK = r"you know|I mean|I guess|I suppose|okay|OK|right|so|well|obviously|basically|actually|like I said"
_TALK_SET_OFF = re.compile(rf"(?:^|,)\s*(?:{_TALK})\s*(?:,|$|(?=[.!?]))", re.IGNORECASE)
_TALK_OPENING = re.compile(rf"^[\s,]*(?:(?:and|now|{_TALK})\s*,\s*)*(?:so\s+(?!that|far|much|many|long)\b)?", re.IGNORECASE)
_VAGUE_TAIL = re.compile(r",?\s+(?:and stuff|and things like that|and so on|or whatever)(?=\s*[.!?]?\s*$)", re.IGNORECASE)
# A word cut off and said again ("Y you are going", "with m some users", "get s
# tickets"): a lone letter that opens the next word, or a lone lower-case letter that is
# no word ("a", "i", "o") and names nothing ("5 m", "plan b", "option c" stay).
_LONE_LETTER = re.compile(r"(?<![\w'-])([A-Za-z])\s+(?=([A-Za-z]))")
_LETTER_NAMES_AFTER = frozenset({"plan", "option", "part", "item", "step", "phase", "type", "grade", "class",
                                 "version", "section", "appendix", "vitamin", "column", "row", "size"})


def _without_cut_off_letters(text: str) -> str:
    def keep_or_drop(match: re.Match[str]) -> str:
        letter, following = match.group(1), match.group(2)
        before = text[:match.start()].split()
        named = bool(before) and (before[-1][-1:].isdigit() or before[-1].lower() in _LETTER_NAMES_AFTER)
        cut_off = letter.lower() == following.lower() or (letter.islower() and letter not in "aio")
        return "" if cut_off and not named else match.group(0)

    return _LONE_LETTER.sub(keep_or_drop, text)


# A question word said, then said again after a pronoun or a filler ("find out what we what
# the client needs", "what it actually what"): the restart is what was meant. "find out
# who knows who" and "how much how many" say two things and stay.
_RESTART = re.compile(r"\b(what|how|where|when|which|who|why)\s+(?:(?:i|we|you|it|they|he|she|the|is|are|"
                      r"do|does|actually|just)\s+){1,2}(?=\1\b)", re.IGNORECASE)


def copied_example(task: str, source: str) -> str | None:
    """The prompt example ``task`` was copied from, if any: at least two, and at least half, of
    its content words are the example's, and it shares more with the example than with
    ``source`` (its cited lines and their neighbours). Asked about "I'll send them to you by
    Wednesday", the 1.5B model answered "send the test results by Thursday", the system
    prompt's example; the one shared word "send" grounds it, so grounding alone let it through."""
    words = _stems(task)
    from_source = len(words & _stems(source))
    for example in prompt_examples():
        from_example = len(words & _stems(example))
        if from_example >= 2 and from_example * 2 >= len(words) and from_example > from_source:
            return example
    return None


def _letters_spaced(text: str) -> bool:
    """Whether every letter of ``text`` is of a script that separates words with spaces
    (Latin, Greek, Cyrillic), so counting words means something: "資料を送る" is one run of
    letters and a whole task."""
    return all(unicodedata.name(c, "").startswith(("LATIN", "GREEK", "CYRILLIC")) for c in text if c.isalpha())


def single_word(task: str) -> bool:
    """A task of one word and nothing else ("Presentations", "Keith", "Cheers,"): what the
    model makes of a heading, a name or a sign-off, never work someone can do. Only in
    scripts that space words (:func:`_letters_spaced`)."""
    return any(c.isalpha() for c in task) and _letters_spaced(task) and len(re.findall(r"[^\W_]+", task)) == 1


# What a signature or a contact line holds: an e-mail address, a link, a phone number (a
# run of 9+ digits, or 7+ after "+" or "("; a date such as 2026-10-16 has 8).
_ADDRESS_OR_LINK = re.compile(r"(?:mailto:)?[\w.+-]+@[\w-]+(?:\.[\w-]+)+|(?:https?://|www\.)\S+", re.IGNORECASE)
_NUMBER_RUN = re.compile(r"[+(]?\d[\d\s().-]{5,}\d")


def _phone_number(match: re.Match[str]) -> str:
    digits = sum(c.isdigit() for c in match.group(0))
    return " " if digits >= 9 or (match.group(0)[0] in "+(" and digits >= 7) else match.group(0)


def contact_detail(task: str) -> bool:
    """A task that is only an e-mail address, a link or a phone number, with at most a label
    ("g.oliver@example.org", "tel: +1 555 010 0199", "<https://example.org/wiki>"): what the
    model makes of a signature line the mail split did not recognise, never work someone
    can do. "Send the deck to ana@example.org" says what to do and stays."""
    rest = _NUMBER_RUN.sub(_phone_number, _ADDRESS_OR_LINK.sub(" ", task))
    # words are counted only in scripts that space them: "ana@example.org に送る" is work
    return rest != task and _letters_spaced(rest) and len(re.findall(r"[^\W\d_]{2,}", rest)) <= 1


def schedule_entry(task: str) -> bool:
    """A milestone and its date, as a plan e-mail lists them ("Code freeze: Friday 16
    October", "Release: Wednesday 28 October"): a date on a schedule, not work someone is to
    do. The demo's embedded model made each one an item owned by the plan's reader, overdue
    once the date passed. "Go/no-go: Tuesday 27 October (I'll send the invite)" says more than
    a date, and "Load-test numbers: José" hands out work: both stay. A date alone ("Friday 16
    October", what is left when the milestone was read as a line's label) is no work either."""
    match = re.match(r"^\s*([^:]{2,60}):\s+(\S.*?)\s*[.!]?\s*$", task)
    return only_a_date(match.group(2) if match else task)


def tidy_spoken_task(task: str) -> str:
    """``task`` without the hesitations of speech ("put the minutes of this uh this meeting"
    → "put the minutes of this meeting"); unchanged when nothing would be left."""
    tidy = _FILLER_SOUND.sub("", task)
    tidy = _SAID_TWICE.sub(r"\1", tidy)
    tidy = _without_cut_off_letters(_RESTART.sub("", tidy))
    tidy = _TALK_OPENING.sub("", _TALK_SET_OFF.sub(",", _VAGUE_TAIL.sub("", tidy)))
    # again: taking out "you know" can leave a word said twice ("what, you know, what")
    tidy = _SAID_TWICE.sub(r"\1", _SAID_TWICE_PAUSED.sub(r"\1", tidy))
    tidy = re.sub(r"\s+([,.!?])", r"\1", re.sub(r"\s{2,}", " ", tidy))
    tidy = re.sub(r",+(?=[,.!?])", "", tidy).strip(" ,")  # "fulfil, hmm." → "fulfil."
    return tidy if len(tidy) >= 3 else task


def without_vocative(task: str, owner: str | None, names: Mapping[str, str] | None = None) -> str:
    """``task`` without a leading address to its own owner ("Hannah, the screenshots for Zoë
    by Wednesday." owned by Hannah Brooks → "the screenshots for Zoë by Wednesday."; a role's
    "Marketing, the user requirements." owned by Marketing Expert; "Nathan, …" owned by the
    Industrial Designer whom ``names`` (:func:`names_in_meeting`) says Nathan is): words said
    to the owner, not the work. An address to anyone else stays: it says something about the
    task."""
    match = _ADDRESSED.match(task.strip())
    if not owner or not match or len(match.group(2)) < 3:
        return task
    address = (names or {}).get(match.group(1), match.group(1))
    return match.group(2) if set(alias_key(address).split()) <= set(alias_key(owner).split()) else task


# The promise or request a speaker wraps work in ("Sure, I'll …", "can you …?", "let's …"), when
# the model copied the sentence instead of writing the work as an instruction (row 46). "let me
# know" is a request to the speaker, not the speaker's promise, so it stays.
_WRAPPED_WORK = re.compile(
    r"^(?:(?:sure|okay|ok|yes|yeah|great|good|fine|alright|right)\s*[,.!]\s*)?(?:(?:and|so|then)\s+)?"
    r"(?:i'll|i will|i'm going to|i am going to|i'm gonna|i shall|i can|i need to|i have to|let me(?!\s+know\b)"
    r"|we'll|we will|we're going to|we are going to|we need to|we have to|we should|let's"
    r"|(?:can|could|would|will) you(?:\s+please)?|please|you'll|you will|you're going to|you are going to"
    r"|you're gonna|you need to|you have to|you should|you must)\s+(?=\w)",
    re.IGNORECASE)
# ", promise" only after a comma: "keep my promise" is the work
_POLITE_END = re.compile(r"(?:,\s*promise|,?\s*(?:please|thanks|thank you))?\s*[.?!]*\s*$", re.IGNORECASE)


def as_instruction(task: str) -> str:
    """``task`` as the work itself when the model copied the sentence that promised or asked
    for it: "I'll set up staging by Tuesday." → "set up staging by Tuesday", "can you take the
    migration script?" → "take the migration script". The prompt asks for an instruction (row
    41); the small model often copies a short line whole. Unchanged when no such opening is
    there or fewer than two words would be left."""
    match = _WRAPPED_WORK.match(task.strip())
    if match is None:
        return task
    work = task.strip()[match.end():]
    if match.group(0).rstrip().lower().endswith(("you", "please")):  # a question ends the request
        work = work.split("?", 1)[0]  # "review it? I'd like to send it on Tuesday." → "review it"
    work = _POLITE_END.sub("", work)
    return work if len(work.split()) >= 2 else task


# Work still to come, said in the sentence that states a task: a promise, a plan or a request.
_STILL_TO_COME = re.compile(r"\b(?:i'll|we'll|(?:i|we|it|they|he|she) will|(?:am|are|is) going to|gonna|"
                            r"can you|could you|would you|please)\b", re.IGNORECASE)


def said_as_still_to_come(task: str, evidence: str) -> bool:
    """Whether the sentence of ``evidence`` that shares the most content words with ``task``
    says the work is still to come ("I ran a first pass on Friday. I'll send the numbers by
    Thursday."). The model marked such items done, and a done item leaves every open list at
    once: the status must come from a sentence that says the work is finished."""
    said = [s for line in evidence.splitlines() for s in sentences(line[len(speaker_prefix(line)):])]
    words = _stems(task)
    best = max(said, key=lambda s: len(words & _stems(s)), default="")
    return bool(words & _stems(best)) and bool(_STILL_TO_COME.search(best))


def _deadline_source(lines: list[int], doc: DocumentContext) -> str:
    """Where an item's deadline must be said. In a meeting: its cited lines and two lines each
    side ("Can you take it?" / "Sure." / "By Friday, please."); a deadline said further away is
    other work's. In an e-mail or a ticket: anywhere in it, its subject or title included (a
    "Deadline:" line, "Timesheets due Thursday")."""
    if doc.kind != "meeting":
        return "\n".join([doc.title, *doc.lines])
    around = {m for n in lines for m in range(n - 2, n + 3) if 1 <= m <= len(doc.lines)}
    return "\n".join(doc.lines[m - 1] for m in sorted(around))


def build_candidates(
    items: list[ExtractedActionItem],
    doc: DocumentContext,
    *,
    chunk_index: int,
    first_line: int,
    last_line: int,
    directory: PersonDirectory,
    model: str,
    prompt_version: str,
    input_hash: str,
    shown_lines: Collection[int] | None = None,
    focus_scores: Mapping[int, float | None] | None = None,
) -> list[dict[str, Any]]:
    """One candidate row per item the model returned for one chunk (``first_line``..
    ``last_line``, of which it was shown ``shown_lines``): evidence grounded in the source,
    owner and due date resolved, quarantined with a reason when the rules reject it.
    ``focus_scores``: in a focused document, the lines the focus judge kept (each asked about
    in its own passage) with its P(yes). An item whose evidence holds none of them was taken
    from a passage's context, which the judge did not keep, and is quarantined; the others'
    confidence is at most the judge's P(yes) for their line (the small model says 1.0 to
    nearly everything, docs/quality.md)."""
    rows = []
    names = names_in_meeting(doc) if items else {}  # read once per answer: it reads the whole meeting
    # a roll call's parts go last, so work also reported on its own keeps that item (and its due)
    split = [split_roll_call(_without_line_label(i, doc), doc) for i in items]
    reported = [parts[0] for parts in split if len(parts) == 1] + [p for parts in split if len(parts) > 1 for p in parts]
    for index, item in enumerate(reported):
        if doc.kind == "meeting":
            item = item.model_copy(update={"task": tidy_spoken_task(item.task)})
        lines, evidence, reason = ground(item, doc, first_line, last_line, shown_lines)
        stated = stating_line(item.task, lines, doc, first_line, last_line)
        if stated is not None and stated not in lines:  # the evidence shows the line that says it
            lines = sorted([*lines, stated])
            evidence = "\n".join(doc.lines[n - 1].strip() for n in lines)
        if reason is None and (example := copied_example(item.task, _with_neighbours(lines, doc))):
            reason = f"copied from the prompt's example {example!r}, not from the source"
        if reason is None and single_word(item.task):
            reason = f"the task {item.task.strip()!r} is a single word: it names no work to do"
        if reason is None and schedule_entry(item.task):
            reason = f"the task {item.task.strip()!r} is a date on a schedule, not work someone is to do"
        if reason is None and contact_detail(item.task):
            reason = f"the task {item.task.strip()!r} is a contact detail (address, link or number), not work"
        confidence = float(item.confidence)
        if focus_scores:
            kept = [n for n in lines if n in focus_scores]
            judged = [p for n in kept if (p := focus_scores[n]) is not None]
            if judged:
                confidence = min(confidence, max(judged))
            if reason is None and not kept:
                reason = (f"taken from context line(s) {lines}, which the focus pass did not keep: a focused "
                          "passage asks only about its marked line")
        owner_text, owner_id = resolve_owner(item.owner, [n for n in [stated] if n] + lines, doc, directory, names)
        task = as_instruction(without_vocative(item.task, owner_text, names))
        status = "open" if item.status == "done" and said_as_still_to_come(item.task, evidence) else item.status
        due_text = item.due.strip() if item.due and deadline_said(item.due, _deadline_source(lines, doc),
                                                                  doc.local_date) else None
        due = resolve_due_date(due_text, doc.local_date) if due_text else None
        if reason is None and due is not None and due < doc.local_date:
            reason = f"due date {due} ('{due_text}') is before the document's date {doc.local_date}"
        rows.append({
            "candidate_id": short_hash(doc.document_id, input_hash, prompt_version, model, str(index), length=32),
            "document_id": doc.document_id,
            "week_start": doc.week_start,
            "origin": "llm",
            "chunk_index": chunk_index,
            "item_index": index,
            "task": task,
            "owner_text": owner_text,
            "owner_person_id": owner_id,
            "due_text": due_text,
            "due_date": due,
            "status": status,
            "priority": item.priority,
            "confidence": confidence,
            "evidence_lines": "[" + ",".join(str(n) for n in lines) + "]",
            "evidence_text": evidence or None,
            "occurred_at": doc.occurred_at,
            "model": model,
            "prompt_version": prompt_version,
            "input_hash": input_hash,
            "quarantine_reason": reason,
        })
    return rows


def due_counts(outcomes: Iterable[Any], rows: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """(items the model gave a due in ``outcomes``' answers, accepted model candidates of
    ``rows`` that keep one): how much of what the model said about deadlines the source bears
    out. Told not to invent dates, the embedded model still gives nearly every item one."""
    given = sum(1 for o in outcomes if o.result for i in o.result.action_items if i.due.strip())
    said = sum(1 for r in rows if r["origin"] == "llm" and r["due_text"] and r["quarantine_reason"] is None)
    return given, said


def drop_chunk_duplicates(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Overlapping chunks may report one item twice: keep the first accepted sighting of an
    (owner, task) pair within a document. Two rows are one item when their wording is nearly
    identical, or when they cite a common line and share most of their content words (one
    line may state two different tasks: "I'll send the deck and book the room"). Quarantined
    rows are kept, except word-for-word repeats within one model answer (a small model may
    return one item eight times over): those add nothing but noise."""
    from rapidfuzz import fuzz

    def said(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(row[c] for c in ("document_id", "input_hash", "chunk_index", "task", "owner_text",
                                      "due_text", "evidence_lines", "quarantine_reason"))

    kept: list[dict[str, Any]] = []
    answered: set[tuple[Any, ...]] = set()
    for row in rows:
        if said(row) in answered:
            continue
        answered.add(said(row))
        duplicate = row["quarantine_reason"] is None and any(
            k["document_id"] == row["document_id"]
            and k["owner_person_id"] == row["owner_person_id"]
            and k["quarantine_reason"] is None
            and (fuzz.token_set_ratio(k["task"], row["task"]) >= 90
                 or (_lines(k) & _lines(row) and _same_words(k["task"], row["task"])))
            for k in kept
        )
        if not duplicate:
            kept.append(row)
    return kept


def _lines(row: dict[str, Any]) -> set[int]:
    return set(json.loads(row["evidence_lines"] or "[]"))


def _same_words(a: str, b: str) -> bool:
    """More than half of the shorter task's content words appear in the other."""
    first, second = _stems(a), _stems(b)
    shorter = min(len(first), len(second))
    return shorter > 0 and len(first & second) * 2 > shorter


def ticket_candidates(ticket: dict[str, Any], directory: PersonDirectory, week: date,
                      window_start: datetime, window_end: datetime) -> list[dict[str, Any]]:
    """A ticket is an action item by itself: it opens when created and finishes when closed.
    One candidate for each of those moments that falls in the week (and, for a ticket open
    again after a close, one for the reopening at its last update). Pull requests (which
    GitHub's issues API returns too) are work under review, not work to be done: none.
    The finishing status is the ticket's own: "closed" (GitHub, or Jira closed) or "done"."""
    if "pull-request" in json.loads(ticket.get("labels") or "[]"):
        return []
    owner_id = directory.resolve(ticket["assignee_email"]) or directory.resolve(ticket["assignee"])
    base = {
        "document_id": ticket["document_id"], "week_start": week, "origin": "ticket", "chunk_index": 0,
        "task": ticket["title"][:200], "owner_text": ticket["assignee"], "owner_person_id": owner_id,
        "due_text": ticket["due_date"].isoformat() if ticket["due_date"] else None,
        "due_date": ticket["due_date"], "priority": None, "confidence": 1.0, "evidence_lines": "[1]",
        "evidence_text": f"{ticket['ticket_key']}: {ticket['title']}", "model": "ticket",
        "prompt_version": f"ticket:{ticket['tracker']}", "input_hash": ticket["file_sha256"],
        "quarantine_reason": None,
    }
    moments = []
    created = ticket["created_at"] or ticket["occurred_at"]
    if window_start <= created < window_end:
        moments.append((0, created, "open"))
    closed, updated = ticket["closed_at"], ticket["updated_at"]
    if closed is not None and ticket["state"] in {"done", "closed"}:
        if window_start <= closed < window_end:
            moments.append((1, closed, ticket["state"]))
    elif closed is not None and updated is not None and updated > closed:
        # Open again after a close (trackers that keep the old closing date): it was closed,
        # then reopened no later than its last update.
        if window_start <= closed < window_end:
            moments.append((1, closed, "closed"))
        if window_start <= updated < window_end:
            moments.append((2, updated, "open"))
    elif closed is None and ticket["state"] == "done" and updated and window_start <= updated < window_end:
        moments.append((1, updated, "done"))  # Jira "Done" without a resolution date
    return [
        {**base, "candidate_id": short_hash(ticket["document_id"], str(index), status, length=32),
         "item_index": index, "status": status, "occurred_at": moment}
        for index, moment, status in moments
    ]
