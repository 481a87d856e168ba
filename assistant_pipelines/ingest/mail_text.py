"""Plain-text handling for e-mail bodies: what the author wrote versus what they quoted or signed.

Owns :func:`split_quoted_and_signature` (new text / quoted history / signature), the RFC 3676
``format=flowed`` un-wrapping and the clean-up every body goes through before it is stored.
Works on ``str`` only: decoding bytes and MIME are ``mail.py``'s business.

The splitter is line based and conservative: a line is only taken out of the new text when it
is quoted (``>``), or belongs to a recognisable reply header (an attribution line that is
followed by quoted lines, an Outlook ``From:/Sent:/To:`` block, a forward marker), or to a
signature (after ``-- `` or a mobile "Sent from my …" footer). A line that merely contains
"wrote" is content.
"""

from __future__ import annotations

import re

# Characters that are never text: C0 controls except tab/newline, DEL, C1 controls (what
# latin-1 makes of windows-1252 bytes), lone surrogates (left by surrogateescape decoding; they
# cannot be stored as UTF-8) and the byte-order mark.
_NON_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufeff]")


def clean_text(text: str) -> str:
    """Normalise line ends to ``\\n`` and drop characters that are not text (NUL, controls,
    lone surrogates), so every body can be stored in DuckDB and Postgres alike."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _NON_TEXT.sub("", text)


def unflow(text: str, *, delsp: bool = False) -> str:
    """Undo RFC 3676 ``format=flowed`` soft line breaks (a line ending in a space continues on
    the next line of the same quote depth), keeping ``>`` quote markers and ``-- `` intact."""
    out: list[str] = []
    paragraph: str | None = None
    paragraph_depth = 0

    def emit(depth: int, content: str) -> None:
        out.append((">" * depth + " " + content) if depth else content)

    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        content = content.removeprefix(" ")  # space-stuffing (RFC 3676 §4.4)
        is_signature_delimiter = content == "-- "
        if paragraph is not None and depth == paragraph_depth and not is_signature_delimiter:
            paragraph += content
        else:
            if paragraph is not None:  # a flowed line whose continuation changed depth
                emit(paragraph_depth, paragraph)
            paragraph, paragraph_depth = content, depth
        if paragraph.endswith(" ") and not is_signature_delimiter:
            if delsp:
                paragraph = paragraph[:-1]
        else:
            emit(depth, paragraph)
            paragraph = None
    if paragraph is not None:
        emit(paragraph_depth, paragraph)
    return "\n".join(out)


# --- recognisers -------------------------------------------------------------------------------

_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_QUOTE_LINE = re.compile(r"^[ \t]*>")

# Reply attributions, matched against one line or two joined lines (clients wrap long ones).
# They only count when quoted lines follow, so "I wrote: the plan is ready" stays content.
_ATTRIBUTION = re.compile(
    r"""^(?:
        On\s.+\s(?:wrote|writes)\s?:                         # On Mon, 3 Mar 2025, Ann <a@x> wrote:
      | (?:.*@.*|[^\s]+(?:\s[^\s]+){0,4})\s(?:wrote|writes)\s?:   # Ann <a@x> wrote: / Ann Smith wrote:
      | Quoting\s.+\s?:                                     # Horde / IMP
      | Am\s.+\sschrieb\s.+:  | .+\sschrieb\sam\s.+:  | .{1,80}\sschrieb\s?:   # German
      | Le\s.+\sa\sécrit\s?:  | .{1,80}\sa\sécrit\s?:                          # French
      | El\s.+\sescribió\s?:  | .{1,80}\sescribió\s?:                          # Spanish
      | Op\s.+\sschreef\s.+:  | Il\s.+\sha\sscritto\s?:  | Em\s.+\sescreveu\s?:  # Dutch, Italian, Portuguese
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# A two-line attribution must look like a wrapped one (a lead word or an address), so a line
# of content above "Bob wrote:" is not swallowed with it.
_WRAPPED_ATTRIBUTION = re.compile(r"^(?:On|Am|Le|El|Op|Il|Em)\s|@", re.IGNORECASE)

# Markers after which everything is an older message (top-posting, forwards).
_HISTORY_MARKER = re.compile(
    r"""^(?:
        -{2,}\s*(?:Original\sMessage|Ursprüngliche\sNachricht|Message\sd'origine|Mensaje\soriginal
                 |Messaggio\soriginale|Oorspronkelijk\sbericht|Mensagem\soriginal
                 |Forwarded\smessage|Weitergeleitete\sNachricht|Message\stransféré
                 |Mensaje\sreenviado|Messaggio\sinoltrato)\s*-{2,}
      | (?:Begin\sforwarded\smessage|Anfang\sder\sweitergeleiteten\sNachricht
           |Début\sdu\smessage\sréexpédié)\s?:
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# Outlook writes the quoted message's headers as a block: From / Sent / To / Cc / Subject,
# localised. A block needs a From-like line followed by at least two more header lines.
_HEADER_FROM = re.compile(r"^\**(?:From|Von|De|Da|Van|Från|Fra)\**\s?:\s*\S", re.IGNORECASE)
_HEADER_OTHER = re.compile(
    r"^\**(?:Sent|Date|To|Cc|Subject|Reply-To|Gesendet|Datum|An|Betreff|Envoyé|À|A|Objet|"
    r"Enviado(?:\sel)?|Fecha|Para|Asunto|Inviato|Oggetto|Verzonden|Aan|Onderwerp)\**\s?:",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(r"^(?:_{10,}|-{10,}|\*\s\*\s\*)$")

_SIGNATURE_DELIMITER = re.compile(r"^--[ \t]?$")
_MOBILE_FOOTER = re.compile(
    r"""^(?:
        Sent\sfrom\smy\s.{1,60}
      | Sent\s(?:from|with|via)\s(?:Mail|Outlook|Yahoo\sMail|AOL\sMail|Gmail|Proton\s?Mail|BlackBerry)\b.{0,60}
      | Get\s\[?Outlook\sfor\s(?:iOS|Android)\]?.{0,80}
      | Von\smeinem\s.{1,40}\sgesendet\.?
      | Envoyé\sde\smon\s.{1,40}
      | Enviado\sdesde\smi\s.{1,40}
      | Inviato\sda(?:l\smio)?\s.{1,40}
      | Verzonden\svanaf\smijn\s.{1,40}
    )$""",
    re.IGNORECASE | re.VERBOSE,
)


# Every recogniser above needs one of these; text without any is all new text. (Plain
# substring tests: one regex with these alternatives costs more than the whole split.)
_MARKS = (">", ":", "--", "__", "* *")
_FOOTER_WORDS = ("sent ", "outlook", "meinem", "envoy", "enviado", "inviato", "verzonden")


def _may_hold_quote_or_signature(text: str) -> bool:
    if any(mark in text for mark in _MARKS):
        return True
    lowered = text.lower()
    return any(word in lowered for word in _FOOTER_WORDS)


def _norm(line: str) -> str:
    """A line as the recognisers see it: whitespace (incl. no-break spaces) collapsed, the
    emphasis stars and underscores that HTML conversion leaves around labels removed."""
    return _SPACES.sub(" ", line).strip().strip("*_").strip()


def _is_quote(line: str) -> bool:
    return bool(_QUOTE_LINE.match(line))


def _next_nonblank(lines: list[str], start: int) -> int | None:
    for i in range(start, len(lines)):
        if lines[i].strip():
            return i
    return None


def _attribution_length(lines: list[str], i: int) -> int:
    """How many lines (1 or 2) starting at ``i`` form an attribution that introduces quoted
    lines; 0 when they do not."""
    # Every attribution ends with a colon: skip the regexes for lines that cannot be one.
    if ":" not in lines[i] and (i + 1 >= len(lines) or ":" not in lines[i + 1]):
        return 0
    for length in (1, 2):
        if i + length > len(lines) or any(_is_quote(x) for x in lines[i : i + length]):
            return 0
        candidate = _norm(" ".join(lines[i : i + length]))
        if length == 2 and not _WRAPPED_ATTRIBUTION.search(candidate):
            return 0
        if len(candidate) <= 300 and _ATTRIBUTION.match(candidate):
            following = _next_nonblank(lines, i + length)
            if following is not None and _is_quote(lines[following]):
                return length
            return 0
    return 0


def _is_header_block(lines: list[str], i: int) -> bool:
    if not _HEADER_FROM.match(_norm(lines[i])):
        return False
    others = 0
    for line in lines[i + 1 : i + 8]:
        if not line.strip():
            continue
        if not _HEADER_OTHER.match(_norm(line)):
            break
        others += 1
    return others >= 2


def _history_start(lines: list[str]) -> int | None:
    """Index of the first unquoted line where the older messages begin (an "Original
    Message" / forward marker, or an Outlook header block, with the separator line above it)."""
    for i, line in enumerate(lines):
        stripped = line.strip()
        # Every marker, separator and header line has a colon or starts with - _ *.
        if not stripped or ":" not in stripped and stripped[0] not in "-_*" or _is_quote(line):
            continue
        normalized = _norm(line)
        if _HISTORY_MARKER.match(normalized):
            return i
        if _SEPARATOR.match(line.strip()):
            following = _next_nonblank(lines, i + 1)
            if following is not None and _is_header_block(lines, following):
                return i
        if _is_header_block(lines, i):
            return i
    return None


# --- the splitter ------------------------------------------------------------------------------

_NEW, _QUOTED, _SIGNATURE = "new", "quoted", "signature"


def _classify(lines: list[str]) -> list[str]:
    """Give every line above the history a class; blank lines take the class of the line above
    them (or below, at the start)."""
    classes: list[str | None] = [None] * len(lines)
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if _is_quote(line):
            classes[i] = _QUOTED
            i += 1
            continue
        length = _attribution_length(lines, i)
        if length:
            for k in range(i, i + length):
                classes[k] = _QUOTED
            i += length
            continue
        classes[i] = _NEW
        i += 1

    # Signature: from the first "-- " delimiter in new text up to the next quoted line.
    in_signature = False
    for i, line in enumerate(lines):
        if classes[i] == _QUOTED:
            in_signature = False
        elif classes[i] == _NEW and not in_signature and _SIGNATURE_DELIMITER.match(line):
            in_signature = True
        if in_signature and classes[i] == _NEW:
            classes[i] = _SIGNATURE

    # Mobile footers: the last non-blank new lines of a run of new text, on a line of their own.
    run_last: list[int] = []
    for i in range(len(lines) + 1):
        if i == len(lines) or classes[i] in (_QUOTED, _SIGNATURE):
            for k in reversed(run_last):
                if not _MOBILE_FOOTER.match(_norm(lines[k])):
                    break
                classes[k] = _SIGNATURE
            run_last = []
        elif classes[i] == _NEW:
            run_last.append(i)

    resolved: list[str] = []
    previous: str | None = None
    for cls in classes:
        if cls is not None:
            previous = cls
        resolved.append(cls or previous or "")
    first = next((c for c in resolved if c), _NEW)
    return [c or first for c in resolved]


def _join_runs(lines: list[str], classes: list[str], wanted: str) -> str:
    runs: list[list[str]] = []
    previous = None
    for line, cls in zip(lines, classes, strict=True):
        if cls == wanted:
            if previous != wanted:
                runs.append([])
            runs[-1].append(line)
        previous = cls
    texts = [_trim_blank_lines(run) for run in runs]
    return "\n\n".join(t for t in texts if t)


def _trim_blank_lines(lines: list[str]) -> str:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return "\n".join(lines[start:end])


def _split_lines(lines: list[str]) -> tuple[list[str], list[str], list[str]]:
    """``lines`` as (the lines above the older messages, their classes, the older messages)."""
    cut = _history_start(lines)
    head, history = (lines, []) if cut is None else (lines[:cut], lines[cut:])
    return head, _classify(head), history


def authored_lines(lines: list[str]) -> list[bool]:
    """For each of a body's ``lines``, whether its author wrote it: what
    :func:`split_quoted_and_signature` keeps as new text, line by line, so a caller that
    numbers lines (the evaluation's gold sentences) can blank the rest and keep its numbers."""
    cleaned = [clean_text(line.replace("\r", "")) for line in lines]
    if not _may_hold_quote_or_signature("\n".join(cleaned)):
        return [True] * len(lines)
    _, classes, history = _split_lines(cleaned)
    return [cls == _NEW for cls in classes] + [False] * len(history)


def split_quoted_and_signature(text: str) -> tuple[str, str, str]:
    """Split a plain-text body into ``(new_text, quoted_text, signature)``.

    ``new_text`` keeps what the author wrote, including replies interleaved between quoted
    passages (bottom-posting); ``quoted_text`` gets ``>`` lines, their attribution lines and any
    older history below an "Original Message"/forward marker or Outlook header block;
    ``signature`` gets everything after a ``-- `` delimiter (up to the next quote) and mobile
    footers such as "Sent from my iPhone".
    """
    text = clean_text(text)
    if not _may_hold_quote_or_signature(text):  # nothing quote- or signature-like: all of it is new
        return _trim_blank_lines(text.split("\n")), "", ""
    lines = text.split("\n")
    head, classes, history = _split_lines(lines)
    new_text = _join_runs(head, classes, _NEW)
    quoted = _join_runs(head, classes, _QUOTED)
    quoted_text = "\n\n".join(t for t in (quoted, _trim_blank_lines(history)) if t)
    signature = _join_runs(head, classes, _SIGNATURE)
    return new_text, quoted_text, signature
