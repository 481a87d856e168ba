"""The settings contract (DESIGN.md §2): defaults, validation (one sentence naming the variable)
and secrets kept out of ``redacted()`` and of every error message."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant_pipelines.settings import (
    DEFAULT_OPENAI_MODEL,
    SettingsError,
    load_settings,
    redact_url,
)

SECRET = "hunter2-S3cret"


def settings_for(tmp_path: Path, **env: str):
    return load_settings({"ASSISTANT_HOME": str(tmp_path), **env})


def test_defaults_follow_the_contract(tmp_path: Path) -> None:
    s = load_settings({"ASSISTANT_HOME": str(tmp_path)})
    assert s.home == tmp_path.resolve()
    assert s.inbox == tmp_path.resolve() / "inbox"
    assert s.warehouse_url == f"duckdb:///{tmp_path.resolve() / 'warehouse.duckdb'}"
    assert s.llm_backend == "local"
    assert s.openai_base_url is None and s.openai_api_key is None
    assert s.llm_model == DEFAULT_OPENAI_MODEL
    assert s.llm_concurrency == 8
    assert s.local_model_path is None
    assert s.smtp_url is None
    assert s.timezone == "UTC" and s.tz.key == "UTC"
    assert s.dagster_home == tmp_path.resolve() / "dagster"
    assert s.first_week is None
    assert s.outbox == s.home / "outbox"
    assert s.reports_dir == s.home / "reports"
    assert s.model_cache == s.home / "models"


def test_home_defaults_to_var_in_the_working_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings({}).home == tmp_path.resolve() / "var"


def test_blank_values_count_as_unset_and_values_are_trimmed(tmp_path: Path) -> None:
    s = settings_for(tmp_path, ASSISTANT_LLM="  OpenAI ", OPENAI_BASE_URL=" http://127.0.0.1:9/v1 ",
                     ASSISTANT_TIMEZONE="   ", ASSISTANT_SMTP_URL="", ASSISTANT_LLM_CONCURRENCY=" 3 ")
    assert s.llm_backend == "openai"
    assert s.openai_base_url == "http://127.0.0.1:9/v1"
    assert s.timezone == "UTC"
    assert s.smtp_url is None
    assert s.llm_concurrency == 3


def test_every_setting_is_read(tmp_path: Path) -> None:
    s = settings_for(
        tmp_path,
        ASSISTANT_INBOX=str(tmp_path / "in"),
        ASSISTANT_WAREHOUSE_URL="postgresql+psycopg2://u:p@db.example:5432/assistant",
        ASSISTANT_LLM="openai", OPENAI_API_KEY=SECRET, ASSISTANT_LLM_MODEL="my-model",
        ASSISTANT_LLM_CONCURRENCY="256", ASSISTANT_LOCAL_MODEL=str(tmp_path / "m.gguf"),
        ASSISTANT_SMTP_URL="smtps://bot:pw@mail.example:465", ASSISTANT_TIMEZONE="Europe/Berlin",
        DAGSTER_HOME=str(tmp_path / "dh"), ASSISTANT_FIRST_WEEK="2026-01-05",
    )
    assert s.inbox == tmp_path / "in"
    assert s.warehouse_url.startswith("postgresql+psycopg2://")
    assert (s.llm_backend, s.openai_api_key, s.llm_model, s.llm_concurrency) == ("openai", SECRET, "my-model", 256)
    assert s.local_model_path == tmp_path / "m.gguf"
    assert s.smtp_url == "smtps://bot:pw@mail.example:465"
    assert s.tz.key == "Europe/Berlin"
    assert s.dagster_home == tmp_path / "dh"
    assert s.first_week == "2026-01-05"


def _one_sentence_naming(message: str, variable: str) -> None:
    assert variable in message, message
    assert message.endswith("."), message
    assert "\n" not in message
    body = message.replace("e.g.", "eg").replace("…", "").replace("(", "").replace(")", "")
    # One sentence: no full stop before the end except inside quoted values.
    unquoted = body.split("'")[::2]
    assert sum(part.count(". ") for part in unquoted) == 0, message


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ASSISTANT_WAREHOUSE_URL", "mysql://root@localhost/db"),
        ("ASSISTANT_WAREHOUSE_URL", "duckdb://relative.duckdb"),
        ("ASSISTANT_WAREHOUSE_URL", "just-a-path.duckdb"),
        ("ASSISTANT_LLM", "gpt"),
        ("ASSISTANT_LLM_CONCURRENCY", "0"),
        ("ASSISTANT_LLM_CONCURRENCY", "257"),
        ("ASSISTANT_LLM_CONCURRENCY", "eight"),
        ("ASSISTANT_LLM_CONCURRENCY", "2.5"),
        ("ASSISTANT_SMTP_URL", "http://mail.example"),
        ("ASSISTANT_SMTP_URL", "smtp://"),
        ("ASSISTANT_SMTP_URL", "smtp://mail.example:twentyfive"),
        ("ASSISTANT_TIMEZONE", "Mars/Olympus_Mons"),
        ("ASSISTANT_TIMEZONE", "Europe"),  # a folder of the tz database, not a zone
        ("ASSISTANT_TIMEZONE", "../../etc/passwd"),
        ("ASSISTANT_FIRST_WEEK", "next monday"),
        ("ASSISTANT_FIRST_WEEK", "2026-02-30"),
        ("OPENAI_BASE_URL", "localhost:8080/v1"),
        ("OPENAI_BASE_URL", "ftp://models.example/v1"),
    ],
)
def test_each_invalid_value_is_one_clear_sentence_naming_the_variable(tmp_path, variable, value) -> None:
    with pytest.raises(SettingsError) as raised:
        settings_for(tmp_path, **{variable: value})
    _one_sentence_naming(str(raised.value), variable)


def test_openai_without_a_key_or_an_endpoint_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as raised:
        settings_for(tmp_path, ASSISTANT_LLM="openai")
    _one_sentence_naming(str(raised.value), "OPENAI_API_KEY")
    # A local OpenAI-compatible server needs no key; OpenAI's own endpoint does.
    assert settings_for(tmp_path, ASSISTANT_LLM="openai", OPENAI_BASE_URL="http://127.0.0.1:8080/v1")
    assert settings_for(tmp_path, ASSISTANT_LLM="openai", OPENAI_API_KEY=SECRET)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ASSISTANT_SMTP_URL", f"http://bot:{SECRET}@mail.example"),
        ("ASSISTANT_SMTP_URL", f"bot:{SECRET}@mail.example:587"),  # the scheme forgotten
        ("ASSISTANT_SMTP_URL", f"smtp://bot:{SECRET}@mail.example:abc"),
        ("ASSISTANT_SMTP_URL", f"smtp://bot:{SECRET}@"),
        ("ASSISTANT_WAREHOUSE_URL", f"mysql://root:{SECRET}@db/x"),
        ("ASSISTANT_WAREHOUSE_URL", f"duckdb://root:{SECRET}@db/x"),
        ("ASSISTANT_WAREHOUSE_URL", f"mysql://db/x?user=root&password={SECRET}"),
        ("OPENAI_BASE_URL", f"ftp://key:{SECRET}@models.example/v1"),
    ],
)
def test_error_messages_never_contain_the_secret(tmp_path, variable, value) -> None:
    with pytest.raises(SettingsError) as raised:
        settings_for(tmp_path, **{variable: value})
    assert SECRET not in str(raised.value)
    assert variable in str(raised.value)


def test_redacted_shows_every_setting_and_no_secret(tmp_path: Path) -> None:
    s = settings_for(
        tmp_path,
        ASSISTANT_WAREHOUSE_URL=f"postgresql://app:{SECRET}@db.example/assistant?sslmode=require",
        ASSISTANT_LLM="openai", OPENAI_API_KEY=SECRET,
        OPENAI_BASE_URL=f"https://proxy:{SECRET}@llm.example/v1",
        ASSISTANT_SMTP_URL=f"smtps://bot%40example.com:{SECRET}@mail.example:465",
    )
    shown = s.redacted()
    assert SECRET not in repr(shown)
    assert set(shown) == {
        "ASSISTANT_HOME", "ASSISTANT_INBOX", "ASSISTANT_WAREHOUSE_URL", "ASSISTANT_LLM", "OPENAI_BASE_URL",
        "OPENAI_API_KEY", "ASSISTANT_LLM_MODEL", "ASSISTANT_LLM_CONCURRENCY", "ASSISTANT_LOCAL_MODEL",
        "ASSISTANT_SMTP_URL", "ASSISTANT_TIMEZONE", "ASSISTANT_FIRST_WEEK", "DAGSTER_HOME",
        "ASSISTANT_LLM_MODE", "ASSISTANT_LLM_BUDGET_TOKENS", "ASSISTANT_LLM_BUDGET_USD", "ASSISTANT_LLM_PACK",
        "ASSISTANT_LOCAL_THREADS", "ASSISTANT_LLM_FOCUS", "ASSISTANT_LLM_FOCUS_THRESHOLD",
        "ASSISTANT_LLM_RESPONSE_FORMAT",
    }
    assert shown["OPENAI_API_KEY"] == "(set)"
    assert shown["ASSISTANT_WAREHOUSE_URL"] == "postgresql://app:***@db.example/assistant?sslmode=require"
    assert shown["ASSISTANT_SMTP_URL"] == "smtps://bot%40example.com:***@mail.example:465"
    assert shown["OPENAI_BASE_URL"] == "https://proxy:***@llm.example/v1"
    unset = load_settings({"ASSISTANT_HOME": str(tmp_path)}).redacted()
    assert unset["OPENAI_API_KEY"] == "(unset)"
    assert unset["ASSISTANT_SMTP_URL"] == "(unset: outbox)"


@pytest.mark.parametrize(("variable", "value"), [
    ("ASSISTANT_LLM_MODE", "nightly"), ("ASSISTANT_LLM_BUDGET_TOKENS", "-5"), ("ASSISTANT_LLM_BUDGET_USD", "lots"),
    ("ASSISTANT_LLM_PACK", "maybe"), ("ASSISTANT_LOCAL_THREADS", "0"), ("ASSISTANT_LLM_FOCUS", "sometimes"),
    ("ASSISTANT_LLM_FOCUS_THRESHOLD", "1.5"), ("ASSISTANT_LLM_FOCUS_THRESHOLD", "high"),
    ("ASSISTANT_LLM_RESPONSE_FORMAT", "xml"),
])
def test_extraction_settings_are_validated(tmp_path: Path, variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        settings_for(tmp_path, **{variable: value})


@pytest.mark.parametrize(("backend", "focus", "on"), [
    ("local", None, True), ("openai", None, False), ("openai", "on", True), ("local", "off", False),
])
def test_focus_pass_is_on_for_the_local_model_unless_configured(tmp_path: Path, backend: str, focus: str | None,
                                                                on: bool) -> None:
    from assistant_pipelines.resources import llm_resource

    env = {"ASSISTANT_LLM": backend, **({"OPENAI_API_KEY": "k"} if backend == "openai" else {}),
           **({"ASSISTANT_LLM_FOCUS": focus} if focus else {})}
    settings = settings_for(tmp_path, **env)
    assert (llm_resource(settings).focus_settings() is not None) == on
    if on:
        assert llm_resource(settings).focus_settings().threshold == 0.8  # type: ignore[union-attr]
        tuned = settings_for(tmp_path, **env, ASSISTANT_LLM_FOCUS_THRESHOLD="0.9")
        assert llm_resource(tuned).focus_settings().threshold == 0.9  # type: ignore[union-attr]


@pytest.mark.parametrize(("value", "expected"), [(None, "auto"), ("JSON_OBJECT", "json_object"),
                                                 ("json_schema", "json_schema")])
def test_response_format_reaches_the_openai_backend(tmp_path: Path, value: str | None, expected: str) -> None:
    from assistant_pipelines.resources import llm_resource

    env = {"ASSISTANT_LLM": "openai", "OPENAI_API_KEY": "k",
           **({"ASSISTANT_LLM_RESPONSE_FORMAT": value} if value else {})}
    backend = llm_resource(settings_for(tmp_path, **env), resolve_secrets=True).get_backend()
    assert backend.response_format == expected  # type: ignore[attr-defined]


def test_batch_mode_needs_the_openai_backend(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="ASSISTANT_LLM_MODE=batch"):
        settings_for(tmp_path, ASSISTANT_LLM_MODE="batch")
    settings = settings_for(tmp_path, ASSISTANT_LLM="openai", OPENAI_API_KEY="k", ASSISTANT_LLM_MODE="batch",
                            ASSISTANT_LLM_BUDGET_USD="2.5", ASSISTANT_LLM_PACK="on")
    assert (settings.llm_mode, settings.llm_budget_usd, settings.llm_pack) == ("batch", 2.5, True)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("smtp://u:p@ss@host:25", "smtp://u:***@host:25"),  # '@' inside the password
        ("smtp://u:pa/ss@host:25", "smtp://u:***@host:25"),  # '/' inside the password
        ("u:pw@host:587", "u:***@host:587"),  # no scheme at all
        ("postgresql://h/db?user=u&password=pw&sslmode=require",
         "postgresql://h/db?user=u&password=***&sslmode=require"),
        ("smtp://alice@host:25", "smtp://alice@host:25"),  # no password: nothing to hide
        ("duckdb:///var/warehouse.duckdb", "duckdb:///var/warehouse.duckdb"),
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_loading_reads_nothing_at_import_time(tmp_path: Path, monkeypatch) -> None:
    """Settings come from the environment when asked, so tests and the CLI can re-point them."""
    monkeypatch.setenv("ASSISTANT_HOME", str(tmp_path / "one"))
    first = load_settings()
    monkeypatch.setenv("ASSISTANT_HOME", str(tmp_path / "two"))
    assert load_settings().home != first.home


def test_env_example_lists_every_setting(tmp_path: Path) -> None:
    """``.env.example`` is where a new user learns the settings: every variable that
    ``load_settings`` reads appears in it (set or commented out)."""
    listed = (Path(__file__).parent.parent / ".env.example").read_text()
    missing = [name for name in load_settings({"ASSISTANT_HOME": str(tmp_path)}).redacted()
               if f"{name}=" not in listed]
    assert not missing, f".env.example does not list {missing}"
