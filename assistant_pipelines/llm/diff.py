"""Comparing what two prompt versions extracted from the same documents.

A new prompt version re-extracts every document; the old version's answers stay in
``llm_cache`` and its rows in ``document_extractions``, so both can be compared side by side.
:func:`diff_prompt_versions` matches the two versions' items per document (by wording and
owner) and reports items only one version found and items whose owner, due date, status or
priority changed. :func:`run_diff_command` is the ``assistant-pipelines diff-prompts`` command
(``--from V1 --to V2``; without them it lists the versions the warehouse holds).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from assistant_pipelines.llm.schema import ExtractionResult
from assistant_pipelines.warehouse import Warehouse

MATCH_THRESHOLD = 80  # rapidfuzz token_set_ratio of two tasks that are "the same item"
COMPARED_FIELDS = ("owner", "due", "status", "priority")


class DiffError(ValueError):
    """A version that cannot be compared: the message says why."""


@dataclass(frozen=True)
class ItemSnapshot:
    task: str
    owner: str
    due: str
    status: str
    priority: str
    evidence_lines: tuple[int, ...]

    def describe(self) -> str:
        extras = [f"owner {self.owner}" if self.owner else "no owner"]
        if self.due:
            extras.append(f"due {self.due}")
        if self.status != "open":
            extras.append(self.status)
        return f"{self.task} ({', '.join(extras)}; lines {','.join(map(str, self.evidence_lines))})"


@dataclass(frozen=True)
class ItemChange:
    old: ItemSnapshot
    new: ItemSnapshot
    fields: tuple[str, ...]  # which of COMPARED_FIELDS differ


@dataclass
class DocumentDiff:
    document_id: str
    title: str
    added: list[ItemSnapshot] = field(default_factory=list)
    removed: list[ItemSnapshot] = field(default_factory=list)
    changed: list[ItemChange] = field(default_factory=list)
    unchanged: int = 0
    old_summary: str = ""
    new_summary: str = ""

    @property
    def differs(self) -> bool:
        return bool(self.added or self.removed or self.changed)


@dataclass
class PromptDiff:
    from_version: str
    to_version: str
    documents: list[DocumentDiff]  # documents both versions answered
    only_in_from: list[str]  # document ids only the old version answered
    only_in_to: list[str]
    notes: list[str] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        return {
            "documents_compared": len(self.documents),
            "documents_changed": sum(1 for d in self.documents if d.differs),
            "items_from": sum(len(d.removed) + len(d.changed) + d.unchanged for d in self.documents),
            "items_to": sum(len(d.added) + len(d.changed) + d.unchanged for d in self.documents),
            "added": sum(len(d.added) for d in self.documents),
            "removed": sum(len(d.removed) for d in self.documents),
            "changed": sum(len(d.changed) for d in self.documents),
            "unchanged": sum(d.unchanged for d in self.documents),
        }


def list_prompt_versions(wh: Warehouse) -> list[dict[str, Any]]:
    return wh.run_file("document_extractions_versions")


def resolve_version(wh: Warehouse, text: str) -> str:
    """A full version, or any unique part of one (``3f2a9c`` for ``extract_action_items@3f2a9c…``)."""
    versions = sorted({row["prompt_version"] for row in list_prompt_versions(wh)})
    if text in versions:
        return text
    matches = [v for v in versions if text in v]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(versions) or "none yet"
    if not matches:
        raise DiffError(f"no extraction with prompt version {text!r} is in the warehouse (known: {known})")
    raise DiffError(f"{text!r} matches several prompt versions: {', '.join(matches)}")


def _snapshot(item: Any) -> ItemSnapshot:
    return ItemSnapshot(item.task, item.owner, item.due, item.status, item.priority, tuple(item.evidence_lines))


def merge_items(results: Sequence[ExtractionResult]) -> list[ItemSnapshot]:
    """One document's items over its chunks, without the duplicates overlapping chunks produce."""
    from rapidfuzz import fuzz

    kept: list[ItemSnapshot] = []
    for result in results:
        for item in map(_snapshot, result.action_items):
            if any(k.owner.lower() == item.owner.lower()
                   and (set(k.evidence_lines) & set(item.evidence_lines) or fuzz.token_set_ratio(k.task, item.task) >= 90)
                   for k in kept):
                continue
            kept.append(item)
    return kept


def match_items(old: list[ItemSnapshot], new: list[ItemSnapshot]
                ) -> tuple[list[tuple[ItemSnapshot, ItemSnapshot]], list[ItemSnapshot], list[ItemSnapshot]]:
    """(matched pairs, only in ``old``, only in ``new``): greedy, best-scoring pairs first."""
    from rapidfuzz import fuzz

    scored = []
    for i, a in enumerate(old):
        for j, b in enumerate(new):
            score = fuzz.token_set_ratio(a.task.lower(), b.task.lower())
            if set(a.evidence_lines) & set(b.evidence_lines):
                score += 10  # the same lines: very likely the same item, reworded
            if score >= MATCH_THRESHOLD:
                scored.append((score, i, j))
    pairs, used_old, used_new = [], set(), set()
    for _, i, j in sorted(scored, reverse=True):
        if i not in used_old and j not in used_new:
            pairs.append((old[i], new[j]))
            used_old.add(i)
            used_new.add(j)
    removed = [a for i, a in enumerate(old) if i not in used_old]
    added = [b for j, b in enumerate(new) if j not in used_new]
    return pairs, removed, added


def _answers(wh: Warehouse, version: str, model: str | None, notes: list[str]
             ) -> dict[str, tuple[str, list[ExtractionResult]]]:
    rows = wh.run_file("document_extractions_answers", {"prompt_version": version})
    models: dict[str, int] = {}
    for row in rows:
        models[row["model"]] = models.get(row["model"], 0) + 1
    if model is None and len(models) > 1:
        model = max(models, key=lambda m: models[m])
        notes.append(f"{version} was run with several models ({', '.join(sorted(models))}); comparing {model}")
    out: dict[str, tuple[str, list[ExtractionResult]]] = {}
    for row in rows:
        if model is not None and row["model"] != model:
            continue
        try:
            result = ExtractionResult.model_validate_json(row["response_json"])
        except ValidationError:
            notes.append(f"an answer of {version} for {row['document_id']} no longer validates; left out")
            continue
        title = row["title"] or row["document_id"]
        out.setdefault(row["document_id"], (title, []))[1].append(result)
    return out


def diff_prompt_versions(wh: Warehouse, from_version: str, to_version: str, *, model: str | None = None) -> PromptDiff:
    """Compare two prompt versions over the documents both have answers for."""
    old_version, new_version = resolve_version(wh, from_version), resolve_version(wh, to_version)
    notes: list[str] = []
    old, new = _answers(wh, old_version, model, notes), _answers(wh, new_version, model, notes)
    documents = []
    for document_id in sorted(set(old) & set(new)):
        title, old_results = old[document_id]
        _, new_results = new[document_id]
        pairs, removed, added = match_items(merge_items(old_results), merge_items(new_results))
        diff = DocumentDiff(document_id, title, added=added, removed=removed,
                            old_summary=" ".join(r.summary for r in old_results if r.summary),
                            new_summary=" ".join(r.summary for r in new_results if r.summary))
        for a, b in pairs:
            changed = tuple(f for f in COMPARED_FIELDS if getattr(a, f).lower() != getattr(b, f).lower())
            if changed:
                diff.changed.append(ItemChange(a, b, changed))
            else:
                diff.unchanged += 1
        documents.append(diff)
    return PromptDiff(old_version, new_version, documents, sorted(set(old) - set(new)), sorted(set(new) - set(old)),
                      notes)


def render_diff(diff: PromptDiff, *, limit: int = 20) -> str:
    """The diff as text for a terminal: totals, then the documents that changed."""
    totals = diff.totals()
    lines = [
        f"prompt versions: {diff.from_version} → {diff.to_version}",
        (f"documents compared: {totals['documents_compared']} ({totals['documents_changed']} changed); "
         f"only in {diff.from_version}: {len(diff.only_in_from)}, only in {diff.to_version}: {len(diff.only_in_to)}"),
        (f"items: {totals['items_from']} → {totals['items_to']}  (+{totals['added']} added, -{totals['removed']} "
         f"removed, ~{totals['changed']} changed, {totals['unchanged']} unchanged)"),
        *(f"note: {note}" for note in diff.notes),
    ]
    shown = [d for d in diff.documents if d.differs]
    for doc in shown[:limit]:
        lines += ["", f"== {doc.title} [{doc.document_id}]"]
        lines += [f"  - {item.describe()}" for item in doc.removed]
        lines += [f"  + {item.describe()}" for item in doc.added]
        for change in doc.changed:
            what = ", ".join(f"{f}: {getattr(change.old, f) or '∅'!s} → {getattr(change.new, f) or '∅'!s}"
                             for f in change.fields)
            lines.append(f"  ~ {change.new.task} ({what})")
    if len(shown) > limit:
        lines += ["", f"… and {len(shown) - limit} more changed documents (--limit to show more)"]
    return "\n".join(lines)


def render_versions(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no extractions in the warehouse yet"
    lines = [f"{'prompt version':<36} {'model':<24} {'docs':>6} {'ok':>6} {'not ok':>7}  last extracted"]
    for row in rows:
        lines.append(f"{row['prompt_version']:<36} {row['model'][:24]:<24} {row['documents']:>6} "
                     f"{row['chunks_ok']:>6} {row['chunks_not_ok']:>7}  {row['last_extracted']:%Y-%m-%d %H:%M}")
    return "\n".join(lines)


def add_diff_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``diff-prompts``: ``--from V1 --to V2 [--model M] [--limit N]``."""
    parser.add_argument("--from", dest="from_version", help="the old prompt version (or a unique part of it)")
    parser.add_argument("--to", dest="to_version", help="the new prompt version (or a unique part of it)")
    parser.add_argument("--model", default=None, help="compare this model's answers (default: the most used)")
    parser.add_argument("--limit", type=int, default=20, help="changed documents to show (default 20)")


def run_diff_command(args: argparse.Namespace, settings: Any) -> int:
    """``assistant-pipelines diff-prompts``: 0 when the diff (or the version list) was printed,
    2 when a version is unknown or ambiguous or the warehouse cannot be opened."""
    from assistant_pipelines.warehouse import WarehouseError, open_warehouse

    try:
        with open_warehouse(settings.warehouse_url, read_only=False) as wh:
            wh.ensure_schema()
            if not getattr(args, "from_version", None) or not getattr(args, "to_version", None):
                print(render_versions(list_prompt_versions(wh)))
                if getattr(args, "from_version", None) or getattr(args, "to_version", None):
                    print("give both --from and --to to compare two versions", file=sys.stderr)
                    return 2
                return 0
            diff = diff_prompt_versions(wh, args.from_version, args.to_version, model=getattr(args, "model", None))
    except (DiffError, WarehouseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(render_diff(diff, limit=getattr(args, "limit", 20) or 20))
    return 0
