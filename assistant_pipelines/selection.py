"""Candidate selection before the model: which lines of a document may state an action item.

A small model shown a whole meeting lists ideas, decisions and small talk as tasks; shown the
lines where someone takes on or hands out work (and a little context), it has far less to get
wrong and far less to read. The selector is deliberately generous (recall first, measured
against human-marked evidence lines in docs/quality.md): it keeps lines with commitment,
request, assignment or deadline cues, plus their neighbours, and drops filler ("Mm-hmm.",
"Okay.") everywhere. Lines it does not keep are blanked, not removed, so line numbers stay the
document's own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Each cue is a reason a line may carry work someone is to do. Kept broad on purpose.
_CUES = [
    # first person, future: "I'll", "I will", "I'm going to", "let me", "I can take"
    r"\b(i'll|i will|i'm going to|i am going to|i'm gonna|i am gonna|i shall|let me|i can (take|do|send|check|look|have|get|write|make|put|prepare|draft|set up)|i'd be happy to|leave it with me|i'm on it|i'll take)\b",
    # requests and assignments to a person: "can you", "you'll", "you're gonna", "your job"
    r"\b(can you|could you|would you|will you|you'll|you will|you're going to|you are going to|you're gonna|you are gonna|you need to|you should|you have to|you must|your (task|job|homework|action|responsibility)|please)\b",
    # the group: "we'll need", "we need to", "someone should", "who will"
    r"\b(we'll|we will|we need to|we have to|we should|we're going to|we are going to|we're gonna|we are gonna|let's|someone (should|needs|has) to|somebody (should|needs|has) to|who('s| is) going to|who will|who can)\b",
    # a named person or role given work: "Sam will", "the designer is going to"
    r"\b[a-z][a-z]+ (will|is going to|is gonna|should|needs to|has to|can) (be )?(work|working|look|looking|send|sending|prepare|preparing|draft|drafting|check|checking|write|writing|do|doing|handle|handling|take|taking|think|thinking|design|designing|present|presenting|investigate|investigating|bring|bringing|update|updating|fix|fixing|review|reviewing|finish|finishing|follow|following)\b",
    # obligation and plans in any person: "should specify", "supposed to", "gonna be working",
    # "I'd like you to", "if you can", "don't forget"
    r"\b(will|should|shall|must|needs? to|ha(ve|s) to|got to|gotta|supposed to|going to|gonna|want you to|like you to|need you to|if you can|if you could|don't forget|do not forget|remember to|make sure)\b",
    # roles named when work is handed out ("Marketing, the user requirement specification")
    r"\b(designer|marketing|manager|engineer|developer|lead|owner|team|qa|u_?i_?d_?|i_?d_?)\b.{0,40}\b(work|design|specification|prototype|concept|presentation|functions?|report|draft|plan|research|evaluat\w*|prepare|look)\b",
    # explicit task words and deadlines
    r"\b(action item|to-?do|todo|task|assign|assigned|responsible for|in charge of|take care of|follow up|follow-up|deadline|due|homework|by (monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|tonight|the end|end of|next|eod|eow|noon)|before the next|next (meeting|time|week|standup)|until the next)\b",
    # completions of earlier work ("I finished", "is done", "I've sent")
    r"\b(i finished|i've finished|i have finished|is done|are done|i've sent|i sent|i've done|it's merged|is merged|i've fixed|i fixed)\b",
]
CUE = re.compile("|".join(f"(?:{c})" for c in _CUES), re.IGNORECASE)
# The cues without the bare obligation words ("will", "should", "gonna"), which alone match
# one line in three of a meeting; such a line is only worth a question when a person is in it.
_SPECIFIC_CUE = re.compile("|".join(f"(?:{c})" for i, c in enumerate(_CUES) if i != 4), re.IGNORECASE)
_PERSON = re.compile(r"\b(i|i'll|i'm|i've|i'd|me|my|you|you'll|you're|your|we|we'll|we're|us|let's|he|she|they)\b",
                     re.IGNORECASE)
_SPEAKER = re.compile(r"^[^:]{1,60}:\s*")
_FILLER_WORDS = {
    "mm", "mm-hmm", "hmm", "um", "uh", "uh-huh", "okay", "ok", "yeah", "yes", "no", "right", "so",
    "alright", "sure", "yep", "yup", "cool", "great", "good", "fine", "oh", "ah", "and", "but",
    "well", "mhm", "huh", "wow", "thanks", "thank", "you", "hi", "hello", "bye", "uh-oh", "the",
}
# Common English words that other Latin-script languages seldom share ("in", "is", "we", "was"
# left out: Dutch and German use them too). They are 42-50% of the words of the 40 AMI
# meetings, 28-32% of the demo's standups, ~24% of terse technical English ("Deploy the k8s
# cluster with helm, then bump the API gateway to v2"), and under 3% of German, French, Dutch
# or Spanish talk. The cues above are English: in a document where fewer than one word in
# ten is one of these, they cannot find the work, so nothing is left out for want of a cue
# (``reads_as_english``).
_ENGLISH_WORD_LIST = """the and to of a i you it that this for be have on with not but are what
can do just like think they it's don't i'm we're you're will would there about at as from or if all
my me he she one get go know yeah okay well because how when which our your out up no yes then now
by"""
_ENGLISH_WORDS = frozenset(_ENGLISH_WORD_LIST.split())
_MIN_ENGLISH_SHARE = 0.1


def _body(line: str) -> str:
    return _SPEAKER.sub("", line, count=1).strip()


def speaker_prefix(line: str) -> str:
    """The speaker label a line starts with, colon and space included ("Priya Nair: "), or ""."""
    match = _SPEAKER.match(line)
    return match.group(0) if match else ""


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentences(text: str) -> list[str]:
    """``text`` cut after each ".", "!" or "?" that a space follows; empty pieces dropped."""
    return [s for s in _SENTENCE_END.split(text) if s.strip()]


def reads_as_english(lines: Sequence[str]) -> bool:
    """Whether the cues can read ``lines``: at least one word in ten is a common English word
    (speaker labels aside). A document with no words at all counts as English."""
    words = [w for line in lines for w in re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", _body(line).lower())]
    return not words or sum(w in _ENGLISH_WORDS for w in words) >= _MIN_ENGLISH_SHARE * len(words)


def is_filler(line: str) -> bool:
    """A line that says nothing: backchannels, hesitations, one-word acknowledgements."""
    words = re.findall(r"[a-z'-]+", _body(line).lower())
    return not words or (len(words) <= 4 and all(w.strip("'-") in _FILLER_WORDS for w in words))


def has_cue(line: str) -> bool:
    return bool(CUE.search(_body(line)))


def select_lines(
    lines: Sequence[str], *, context: int = 1, min_lines_for_selection: int = 25, closing_share: float = 0.1
) -> list[str]:
    """``lines`` with every line that is neither a cue line nor within ``context`` lines of one
    (not counting filler) blanked. The closing ``closing_share`` of a long document is kept
    whole: meetings hand out their work in the wrap-up. Short documents (fewer than
    ``min_lines_for_selection`` non-filler lines: most e-mails) are kept whole, filler aside:
    there is little to save and their context matters. So are documents in another language
    than English, whose work the cues cannot find."""
    kept_indices = [i for i, line in enumerate(lines) if line.strip() and not is_filler(line)]
    if len(kept_indices) < min_lines_for_selection or not reads_as_english(lines):
        return [line if i in set(kept_indices) else "" for i, line in enumerate(lines)]
    position = {index: n for n, index in enumerate(kept_indices)}
    closing = int(len(kept_indices) * (1 - closing_share))
    keep: set[int] = set(kept_indices[closing:])
    for index in kept_indices:
        if has_cue(lines[index]):
            n = position[index]
            for m in range(max(0, n - context), min(len(kept_indices), n + context + 1)):
                keep.add(kept_indices[m])
    return [line if i in keep else "" for i, line in enumerate(lines)]


def _word_count(line: str) -> int:
    return len(re.findall(r"[a-z'-]+", _body(line).lower()))


def candidate_lines(
    lines: Sequence[str], *, min_lines: int = 25, closing_share: float = 0.1, closing_min_words: int = 6
) -> list[int] | None:
    """0-based indexes of the lines worth asking about one by one (``llm.focus``): every cue
    line (a bare obligation word only with a person in the line), and every line of six words
    or more in the closing ``closing_share`` of the document, where meetings hand out their
    work. Every non-filler line of a document in another language than English, whose work
    the English cues cannot find (more questions, none of its work left unasked). None for a
    document with fewer than ``min_lines`` non-filler lines: it goes to the model whole."""
    content = [i for i, line in enumerate(lines) if line.strip() and not is_filler(line)]
    if len(content) < min_lines:
        return None
    if not reads_as_english(lines):
        return content
    closing = {i for i in content[int(len(content) * (1 - closing_share)):]
               if _word_count(lines[i]) >= closing_min_words}
    return [i for i in content if i in closing or _worth_asking(lines[i])]


def _worth_asking(line: str) -> bool:
    body = _body(line)
    return bool(_SPECIFIC_CUE.search(body)) or (bool(CUE.search(body)) and bool(_PERSON.search(body)))


def selection_summary(original: Sequence[str], selected: Sequence[str]) -> tuple[int, int]:
    """(non-blank lines before, after): how much the selector saved."""
    return sum(1 for line in original if line.strip()), sum(1 for line in selected if line.strip())


def lines_for_model(kind: str, lines: Sequence[str]) -> list[str]:
    """What the model is shown of a document: meetings and long threads through the selector,
    everything else whole but for filler. One function, so the pipeline and ``eval`` measure
    and run the same thing."""
    if kind in {"meeting", "email"}:
        return select_lines(lines, context=1)
    return list(lines)
