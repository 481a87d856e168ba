"""The command for people: wrong settings and missing pieces end in one clear sentence, not a
traceback; ``doctor`` names each problem; ``run`` processes the weeks it is asked for."""

from __future__ import annotations

import pytest

from assistant_pipelines.cli import CommandError, install_demo_inbox, main, parse_weeks


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name in ("ASSISTANT_INBOX", "ASSISTANT_WAREHOUSE_URL", "ASSISTANT_LLM", "OPENAI_BASE_URL",
                 "OPENAI_API_KEY", "ASSISTANT_SMTP_URL", "DAGSTER_HOME", "ASSISTANT_LOCAL_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ASSISTANT_HOME", str(tmp_path / "home"))
    return monkeypatch


def test_a_wrong_setting_is_one_sentence_and_exit_2(env, capsys):
    env.setenv("ASSISTANT_WAREHOUSE_URL", "mysql://root:hunter2@db/x")
    assert main(["doctor"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("assistant-pipelines: ASSISTANT_WAREHOUSE_URL") and "Traceback" not in err
    assert "hunter2" not in err


def test_doctor_reports_each_problem_and_fails(env, tmp_path, capsys):
    env.setenv("ASSISTANT_LLM", "openai")
    env.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens on port 9
    env.setenv("ASSISTANT_SMTP_URL", "smtp://bot:s3cret@127.0.0.1:9")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "✔ warehouse" in out
    assert "✘ model" in out and "cannot reach http://127.0.0.1:9/v1" in out
    assert "✘ mail" in out and "s3cret" not in out
    assert "! inbox" in out  # no inbox yet: a warning, not a failure


def test_doctor_passes_against_a_working_endpoint(env, fake_llm, capsys):
    env.setenv("ASSISTANT_LLM", "openai")
    env.setenv("OPENAI_BASE_URL", fake_llm.base_url)
    env.setenv("OPENAI_API_KEY", fake_llm.api_key)
    env.setenv("ASSISTANT_LLM_MODEL", "fake-model")
    main(["doctor"])
    out = capsys.readouterr().out
    assert "✔ model" in out and "fake-model" in out
    assert fake_llm.api_key not in out


def test_run_without_an_inbox_says_so(env, capsys):
    assert main(["run"]) == 2
    assert "inbox" in capsys.readouterr().err


def test_run_processes_the_weeks_asked_for(env, tmp_path, fake_llm, capsys):
    home = tmp_path / "home"
    install_demo_inbox(home / "inbox")
    for name, value in {"ASSISTANT_LLM": "openai", "OPENAI_BASE_URL": fake_llm.base_url,
                        "OPENAI_API_KEY": fake_llm.api_key, "ASSISTANT_LLM_MODEL": "fake-model",
                        "ASSISTANT_TIMEZONE": "Europe/Berlin", "ASSISTANT_FIRST_WEEK": "2026-10-05"}.items():
        env.setenv(name, value)
    assert main(["run", "--weeks", "2026-10-14..2026-10-20"]) == 0
    out = capsys.readouterr().out
    assert "week 2026-10-12 (1/2)" in out and "week 2026-10-19 (2/2)" in out
    assert (home / "reports" / "weekly-status-2026-10-12.html").is_file()
    assert not (home / "reports" / "weekly-status-2026-10-05.html").exists()


def test_weeks_outside_the_partitions_are_refused(env, tmp_path, fake_llm, capsys):
    install_demo_inbox(tmp_path / "home" / "inbox")
    env.setenv("ASSISTANT_FIRST_WEEK", "2026-10-05")
    assert main(["run", "--weeks", "2025-01-06"]) == 2
    assert "ASSISTANT_FIRST_WEEK" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["2026-10-20..2026-10-05", "last week", "2026-13-01"])
def test_bad_week_ranges(text):
    with pytest.raises(CommandError):
        parse_weeks(text)
