"""The matcher check: how well the similarity score separates right pairings from wrong ones.

This module owns the numbers behind :data:`matching.DEFAULT_THRESHOLD` (docs/quality.md,
"The matcher check"). It builds pairings whose answer is known from the labelled data and
reports their score distributions and the share of each that passes a range of thresholds:

- RIGHT (AMI): each gold item's task against the utterances the annotators linked it to
  (``evidence_utterance_idx``). Those are spoken fragments (hesitations, half
  sentences), so this is a pessimistic stand-in for a well-written prediction.
- WRONG, same meeting (AMI): gold against content utterances (6+ words) of the same meeting
  more than 3 lines from any evidence line — what a model that extracts ideas and small talk
  offers the matcher, and the only kind of wrong pair the evaluation can actually form.
  Of those, the ones within :data:`matching.DEFAULT_MAX_LINES_APART` lines of the item's own
  evidence are the only ones the place rule lets through; they get a row of their own (some
  of them are the task said again, so they overstate the risk).
- WRONG, other series (AMI): gold against the evidence of another series' gold, and gold
  against another series' gold. All AMI series run the same design project, so some of these
  "wrong" pairs are the same assignment given in two series and count as false
  matches here even though they are not: the rate overstates the real risk.
- WRONG (BC3): gold sentences against the sentences of the same e-mail that no annotator
  marked as a request or commitment, and against gold of other threads.

Both sides of every pair go through :func:`datasets.task_text` first, as in the runner, so a
leading owner phrase ("The industrial designer will …") does not count towards the score.

Run: ``uv run --no-sync python -m assistant_pipelines.evaluation.calibration /work/shared/data``.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant_pipelines.evaluation.datasets import (
    LabelledEmail,
    LabelledMeeting,
    load_ami,
    load_bc3,
    task_text,
)
from assistant_pipelines.evaluation.matching import (
    ASSIGNMENT_METHOD,
    DEFAULT_MAX_LINES_APART,
    DEFAULT_THRESHOLD,
    Matcher,
)

THRESHOLDS = (0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70)
_CONTEXT = 3  # lines either side of an evidence line that still talk about the same task
_MIN_WORDS = 6


@dataclass
class PairSet:
    name: str
    right: bool
    pairs: list[tuple[str, str]]  # (gold task, other text)
    scores: np.ndarray | None = None


def _evidence_text(meeting: LabelledMeeting, lines: Sequence[int]) -> str:
    return " ".join(meeting.utterances[n - 1].text for n in lines)


def ami_pair_sets(meetings: Sequence[LabelledMeeting], seed: int = 0) -> list[PairSet]:
    rng = random.Random(seed)
    right, same, within, cross_evidence, cross_gold = [], [], [], [], []
    for meeting in meetings:
        names = list(meeting.speaker_roles())
        for item in meeting.gold:
            right.append(
                (
                    task_text(item.text),
                    task_text(_evidence_text(meeting, item.evidence_lines), names),
                )
            )
        near = {
            n + d
            for item in meeting.gold
            for n in item.evidence_lines
            for d in range(-_CONTEXT, _CONTEXT + 1)
        }
        candidates = [
            task_text(u.text, names)
            for n, u in enumerate(meeting.utterances, start=1)
            if n not in near and len(u.text.split()) >= _MIN_WORDS
        ]
        for item in meeting.gold:
            for text in rng.sample(candidates, min(40, len(candidates))):
                same.append((task_text(item.text), text))
        for item in meeting.gold:  # every one, not sampled: there are few
            for n, u in enumerate(meeting.utterances, start=1):
                if n in near or len(u.text.split()) < _MIN_WORDS or not item.evidence_lines:
                    continue
                if min(abs(n - e) for e in item.evidence_lines) <= DEFAULT_MAX_LINES_APART:
                    within.append((task_text(item.text), task_text(u.text, names)))
    for a in meetings:
        for b in meetings:
            if a.series == b.series:
                continue
            names = list(b.speaker_roles())
            for item in a.gold:
                for other in b.gold:
                    evidence = _evidence_text(b, other.evidence_lines)
                    cross_evidence.append((task_text(item.text), task_text(evidence, names)))
                    if a.id < b.id:
                        cross_gold.append((task_text(item.text), task_text(other.text)))
    return [
        PairSet("AMI right: gold vs its evidence utterances", True, right),
        PairSet("AMI wrong: gold vs other utterances, same meeting", False, same),
        PairSet(f"  of them within {DEFAULT_MAX_LINES_APART} lines of its evidence (all)", False, within),
        PairSet("AMI wrong: gold vs evidence of another series", False, cross_evidence),
        PairSet("AMI wrong: gold vs gold of another series", False, cross_gold),
    ]


def bc3_pair_sets(emails: Sequence[LabelledEmail], seed: int = 0) -> list[PairSet]:
    rng = random.Random(seed)
    same, cross = [], []
    for email in emails:
        names = list(email.speaker_roles())
        gold_lines = {n for item in email.gold for n in item.evidence_lines}
        others = [
            task_text(line.strip(), names)
            for n, line in enumerate(email.lines(), start=1)
            if n not in gold_lines and len(line.split()) >= _MIN_WORDS
        ]
        for item in email.gold:
            for text in others:
                same.append((task_text(item.text, names), text))
    gold = [
        (e.thread_id, task_text(item.text, list(e.speaker_roles())))
        for e in emails
        for item in e.gold
    ]
    for i, (thread_a, text_a) in enumerate(gold):
        for thread_b, text_b in gold[i + 1 :]:
            if thread_a != thread_b:
                cross.append((text_a, text_b))
    rng.shuffle(same)
    return [
        PairSet("BC3 wrong: gold vs unmarked sentences, same e-mail", False, same),
        PairSet("BC3 wrong: gold vs gold of another thread", False, cross),
    ]


def score_pairs(matcher: Matcher, pair_set: PairSet) -> np.ndarray:
    if not pair_set.pairs:
        return np.zeros(0, dtype=np.float32)
    left = matcher.vectors([a for a, _ in pair_set.pairs])
    right = matcher.vectors([b for _, b in pair_set.pairs])
    cosine = (left * right).sum(axis=1)
    if not matcher.lexical_weight:
        return cosine
    # Blended scores need rapidfuzz per pair; reuse the matcher's own scoring row by row.
    return np.array(
        [matcher.similarity([b], [a])[0, 0] for a, b in pair_set.pairs], dtype=np.float32
    )


def _table(pair_sets: Sequence[PairSet], thresholds: Sequence[float]) -> str:
    header = f"{'pairing':52} {'n':>6} {'p50':>6} {'p90':>6} {'p95':>6} {'p98':>6} " + " ".join(
        f"≥{t:.2f}" for t in thresholds
    )
    lines = [header, "-" * len(header)]
    for ps in pair_sets:
        s = ps.scores if ps.scores is not None else np.zeros(0)
        if s.size == 0:
            lines.append(f"{ps.name:52} {0:>6}")
            continue
        p50, p90, p95, p98 = np.percentile(s, [50, 90, 95, 98])
        shares = " ".join(f"{np.mean(s >= t) * 100:4.1f}%" for t in thresholds)
        lines.append(
            f"{ps.name:52} {s.size:>6} {p50:6.3f} {p90:6.3f} {p95:6.3f} {p98:6.3f} {shares}"
        )
    return "\n".join(lines)


def _samples(matcher: Matcher, meetings: Sequence[LabelledMeeting], seed: int, count: int) -> str:
    """Run the real matcher on pseudo-predictions (each gold item's evidence text, plus three
    random content utterances) for a few meetings and show what it paired and what it left."""
    rng = random.Random(seed)
    with_gold = [m for m in meetings if m.gold]
    out: list[str] = []
    for meeting in rng.sample(with_gold, min(count, len(with_gold))):
        near = {n + d for g in meeting.gold for n in g.evidence_lines for d in range(-3, 4)}
        noise = [
            u.text
            for n, u in enumerate(meeting.utterances, start=1)
            if n not in near and len(u.text.split()) >= _MIN_WORDS
        ]
        names = list(meeting.speaker_roles())
        predictions = [_evidence_text(meeting, g.evidence_lines) for g in meeting.gold]
        predictions += rng.sample(noise, min(3, len(noise)))
        # As the runner does: owner leads are removed from both sides before scoring.
        predictions = [task_text(p, names) for p in predictions]
        gold = [task_text(g.text, names) for g in meeting.gold]
        result = matcher.match(predictions, gold)
        out.append(f"{meeting.id}:")
        for pair in result.pairs:
            out.append(
                f"  matched   {pair.score:.3f}  gold #{pair.gold} {gold[pair.gold]!r}\n"
                f"                   pred {_clip(predictions[pair.prediction])!r}"
            )
        for j in result.unmatched_gold:
            best = int(np.argmax(result.scores[:, j])) if predictions else None
            score = float(result.scores[best, j]) if best is not None else 0.0
            out.append(
                f"  missed    {score:.3f}  gold #{j} {gold[j]!r}\n"
                f"                   best {_clip(predictions[best]) if best is not None else ''!r}"
            )
        for i in result.unmatched_predictions:
            score = float(result.scores[i].max()) if gold else 0.0
            out.append(f"  unmatched {score:.3f}  pred {_clip(predictions[i])!r}")
    return "\n".join(out)


def _clip(text: str, width: int = 110) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def run(data_dir: Path, threshold: float, lexical_weight: float, samples: int) -> str:
    matcher = Matcher(threshold=threshold, lexical_weight=lexical_weight)
    sets: list[PairSet] = []
    meetings: list[LabelledMeeting] = []
    ami = data_dir / "ami_meetings.jsonl"
    bc3 = data_dir / "bc3_emails.jsonl"
    if ami.exists():
        meetings = load_ami(ami)
        sets += ami_pair_sets(meetings)
    if bc3.exists():
        sets += bc3_pair_sets(load_bc3(bc3))
    if not sets:
        raise SystemExit(f"neither {ami} nor {bc3} exists")
    for ps in sets:
        ps.scores = score_pairs(matcher, ps)
    report = [
        "score: cosine of all-MiniLM-L6-v2 embeddings"
        + (
            f", blended {lexical_weight:.2f} with rapidfuzz token_set_ratio"
            if lexical_weight
            else ""
        )
        + f"; gold owner phrase removed (task_text); assignment: {ASSIGNMENT_METHOD}",
        "share of each pairing at or above each threshold "
        + "(RIGHT: higher is better; WRONG: the false match rate)",
        "",
        _table(sets, THRESHOLDS),
    ]
    if meetings and samples:
        report += [
            "",
            f"Sample at threshold {threshold:.2f} (pseudo-predictions):",
            _samples(matcher, meetings, 1, samples),
        ]
    return "\n".join(report)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data_dir", type=Path, help="folder with ami_meetings.jsonl / bc3_emails.jsonl"
    )
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--lexical-weight", type=float, default=0.0)
    parser.add_argument("--samples", type=int, default=4, help="meetings to show matches for")
    args = parser.parse_args(argv)
    print(run(args.data_dir, args.threshold, args.lexical_weight, args.samples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
