"""The quality numbers of an evaluation run and the judgements they are counted from.

This module owns what counts as a right owner (:func:`owner_matches`), what counts as a
grounded prediction (:func:`is_grounded`) and the arithmetic of the per-source summary
(:func:`summarise`): precision, recall and F1 micro-averaged over items, owner accuracy over
matched pairs whose gold names an owner, grounding rate, time per document and failures.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant_pipelines.evaluation.datasets import roles_named

if TYPE_CHECKING:
    from assistant_pipelines.evaluation.runner import DocumentOutcome

# Owner strings that name nobody in particular: a group action or no owner at all.
_NOBODY = {
    "",
    "-",
    "none",
    "null",
    "n/a",
    "na",
    "unknown",
    "unassigned",
    "nobody",
    "tbd",
    "tba",
    "everyone",
    "everybody",
    "all",
    "team",
    "the team",
    "group",
    "the group",
    "we",
    "us",
    "all participants",
    "participants",
    "team members",
    "the team members",
}
_SEPARATORS = re.compile(r"\s*(?:,|;|/|&|\+|\band\b)\s*", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STOPWORDS = frozenset(
    """a an the and or but if then than so to of in on at by for with from into onto about as
    is are was were be been being am do does did done have has had having will would shall
    should can could may might must it its this that these those there here i me my we us our
    you your he him his she her they them their what which who whom whose when where why how
    all any each every some no not only also just up down out over again further once very
    too more most other such own same both few let lets get got make made go going gonna
    need needs needed please yes yeah okay ok um uh mm hmm""".split()  # noqa: SIM905
)


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


def resolve_owner(owner: str | None, speaker_roles: Mapping[str, str]) -> frozenset[str]:
    """The people or roles an owner string names, in the canonical form gold owners use.

    Each part of "A and B" / "A, B" is resolved by, in order: an exact (case-insensitive)
    speaker name, label or address in ``speaker_roles``; AMI role words ("the industrial
    designer" → ``ID``); a unique speaker whose name contains all the part's words ("Libby" →
    "Libby Miller"); else the part itself, lower-cased. Group words ("the team", "everyone")
    and "unassigned" name nobody: an empty set.
    """
    if owner is None or _key(owner) in _NOBODY:
        return frozenset()
    known = {_key(k): v for k, v in speaker_roles.items() if k and k.strip()}
    whole = _key(owner)
    if whole in known:
        return frozenset({known[whole]})
    resolved: set[str] = set()
    for part in _SEPARATORS.split(owner):
        part_key = _key(part).removeprefix("the ").strip()
        if part_key in _NOBODY:
            continue
        if part_key in known:
            resolved.add(known[part_key])
            continue
        roles = roles_named(part)
        if roles:
            resolved.update(roles)
            continue
        words = set(_WORD.findall(part_key))
        partial = {v for k, v in known.items() if words and words <= set(_WORD.findall(k))}
        if len(partial) == 1:
            resolved.update(partial)
        else:
            resolved.add(part_key)
    return frozenset(resolved)


def owner_matches(
    predicted_owner: str | None, gold_owner: str | None, speaker_roles: Mapping[str, str]
) -> bool:
    """Whether the predicted owner is the gold owner, after resolving both to roles/people.

    Right when the prediction names someone and everyone it names is among the gold owners:
    "Industrial Designer" is right for gold "ID" and for gold "ID and UI" (a shared task),
    "ID and UI" is wrong for gold "ID". When the gold names nobody (a group action), only a
    prediction that names nobody is right.
    """
    gold = resolve_owner(gold_owner, speaker_roles)
    predicted = resolve_owner(predicted_owner, speaker_roles)
    if not gold:
        return not predicted
    return bool(predicted) and predicted <= gold


def content_words(text: str) -> set[str]:
    """Lower-cased words of 3+ letters that are not function words, cut to a 5-letter stem
    so "prepare"/"preparing" and "designs"/"design" meet."""
    return {w[:5] for w in _WORD.findall(text.casefold()) if len(w) >= 3 and w not in _STOPWORDS}


def is_grounded(
    task: str, evidence_lines: Sequence[int], lines: Sequence[str], speakers: Iterable[str] = ()
) -> bool:
    """A prediction is grounded when it cites lines, every cited line exists, and the cited
    lines share at least one content word with the task.

    ``speakers`` are line prefixes ("Project Manager") removed before comparing, so a task
    does not count as grounded only because it says "design" on a line of the designer's.
    """
    if not evidence_lines or not all(
        isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= len(lines)
        for n in evidence_lines
    ):
        return False
    prefixes = sorted({f"{s}:" for s in speakers if s}, key=len, reverse=True)
    cited: set[str] = set()
    for n in evidence_lines:
        line = lines[n - 1]
        for prefix in prefixes:
            if line.startswith(prefix):
                line = line[len(prefix) :]
                break
        cited |= content_words(line)
    return bool(content_words(task) & cited)


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass
class SourceMetrics:
    """One row of the quality table. Ratios are None where their denominator is zero."""

    source: str
    documents: int
    gold: int
    predicted: int
    matched: int
    owner_checked: int  # matched pairs whose gold names an owner
    owner_right: int
    grounded: int
    seconds_total: float
    failed: list[tuple[str, str]] = field(default_factory=list)  # (document id, reason)
    alike_but_apart: int = 0  # unmatched predictions alike in meaning to a gold item far from it

    @property
    def precision(self) -> float | None:
        return _ratio(self.matched, self.predicted)

    @property
    def recall(self) -> float | None:
        return _ratio(self.matched, self.gold)

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)

    @property
    def owner_accuracy(self) -> float | None:
        return _ratio(self.owner_right, self.owner_checked)

    @property
    def grounding_rate(self) -> float | None:
        return _ratio(self.grounded, self.predicted)

    @property
    def seconds_per_document(self) -> float | None:
        return self.seconds_total / self.documents if self.documents else None

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "documents": self.documents,
            "gold": self.gold,
            "predicted": self.predicted,
            "matched": self.matched,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "owner_checked": self.owner_checked,
            "owner_right": self.owner_right,
            "owner_accuracy": self.owner_accuracy,
            "grounded": self.grounded,
            "grounding_rate": self.grounding_rate,
            "seconds_total": self.seconds_total,
            "seconds_per_document": self.seconds_per_document,
            "failed": [{"document": d, "reason": r} for d, r in self.failed],
            "alike_but_apart": self.alike_but_apart,
        }


def summarise(outcomes: Sequence[DocumentOutcome], total: bool = True) -> list[SourceMetrics]:
    """One :class:`SourceMetrics` per source in first-seen order, plus an ``all`` row when
    there is more than one source and ``total`` is set. Counts are micro: items, not
    per-document averages, so long meetings weigh more than short e-mails."""
    rows: dict[str, SourceMetrics] = {}
    for outcome in outcomes:
        for name in (outcome.source, "all") if total else (outcome.source,):
            row = rows.setdefault(name, SourceMetrics(name, 0, 0, 0, 0, 0, 0, 0, 0.0))
            row.documents += 1
            row.gold += len(outcome.gold)
            row.predicted += len(outcome.predictions)
            row.matched += len(outcome.pairs)
            row.owner_checked += sum(1 for j in outcome.owner_right if j is not None)
            row.owner_right += sum(1 for j in outcome.owner_right if j)
            row.grounded += sum(outcome.grounded)
            row.alike_but_apart += len(outcome.match.alike_but_apart) if outcome.match else 0
            row.seconds_total += outcome.seconds
            if outcome.error is not None:
                row.failed.append((outcome.document_id, outcome.error))
    result = [r for name, r in rows.items() if name != "all"]
    if total and len(result) > 1:
        result.append(rows["all"])
    return result
