"""Smoke test of the extraction benchmark's section 6 (the code after the model) on a toy
AMI-format file: every case gives its row, and a missing data file skips the section with the
reason. No timing assertions: timings on a shared machine are noise."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.extraction import main, rules_rows


def _toy_meeting(meeting_id: str) -> dict:
    said = [("A", "I will sketch three casing options for the remote."),
            ("B", "Nathan, I'd like you to collect the prices of rival remotes."),
            ("A", "Mm-hmm."), ("B", "Thank you very much Nathan.")] * 10
    return {"source_id": f"AMI:{meeting_id}", "meeting_id": meeting_id, "series": meeting_id[:-1],
            "meeting_in_series": meeting_id[-1],
            "meta": {"type": "scenario", "date": "07-03-05",
                     "speakers": {"A": {"role": "ID", "participant": "XA"}, "B": {"role": "PM", "participant": "XB"}}},
            "transcript": [{"speaker": f"{s}", "speaker_letter": s, "role": {"A": "ID", "B": "PM"}[s], "text": text,
                            "start": float(i), "end": i + 0.9, "da_type": "Inform"} for i, (s, text) in enumerate(said)],
            "gold_actions": ["*NA*"], "gold_decisions": [], "gold_problems": [], "gold_abstract": [],
            "has_summlinks": True}


def test_every_case_gives_a_row(tmp_path: Path) -> None:
    (tmp_path / "ami_meetings.jsonl").write_text(json.dumps(_toy_meeting("QZ2001a")) + "\n")
    rows, note = rules_rows(tmp_path, lambda message: None)
    assert note == "simulated answers, no model"
    assert [r["case"].split(",")[0] for r in rows] == ["AMI"] * 4 + ["e-mail of 300 lines of figures"]
    assert [r["items"] for r in rows] == [4, 4, 4, 4, 20]  # every 10th of 40 lines; 20 asks in the e-mail
    assert all(r["seconds"] > 0 for r in rows)


def test_without_the_data_the_section_says_why(tmp_path: Path, capsys) -> None:
    assert rules_rows(tmp_path, lambda message: None) == ([], f"no {tmp_path / 'ami_meetings.jsonl'}: section skipped")
    assert main(["--skip", "throughput,overhead,local", "--data", str(tmp_path)]) == 0
    assert "section skipped" in capsys.readouterr().out
