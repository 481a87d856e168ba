"""The settings contract (DESIGN.md §2): environment variables in, one typed object out.

Read when a run or a command starts, never at import time, so tests and the CLI can point the
same code at other folders, warehouses and endpoints.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from assistant_pipelines.llm.backends import RESPONSE_FORMATS

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"


class SettingsError(ValueError):
    """A setting that cannot work: the message is one sentence naming the variable."""


@dataclass(frozen=True)
class Settings:
    home: Path
    inbox: Path
    warehouse_url: str
    llm_backend: str  # "local" | "openai"
    openai_base_url: str | None
    openai_api_key: str | None
    llm_model: str
    llm_concurrency: int
    local_model_path: Path | None  # None → the packaged embedded model
    smtp_url: str | None
    timezone: str
    dagster_home: Path
    first_week: str | None  # "YYYY-MM-DD": first weekly partition (a Monday); None → default
    llm_mode: str = "sync"  # "sync" | "batch" (OpenAI Batch API)
    llm_budget_tokens: int | None = None  # per run; None → no limit
    llm_budget_usd: float | None = None
    llm_pack: bool = False  # pack several short e-mails into one request
    local_threads: int | None = None  # llama.cpp threads; None → one per core
    llm_focus: str = "auto"  # "auto" (local backend only) | "on" | "off": the judge pass (llm/focus.py)
    llm_focus_threshold: float | None = None  # P(yes) a judged line needs; None → FocusSettings' default
    llm_response_format: str = "auto"  # openai backend's request dialect: "auto" | "json_schema" | "json_object"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def outbox(self) -> Path:
        return self.home / "outbox"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def model_cache(self) -> Path:
        return self.home / "models"

    def redacted(self) -> dict[str, str]:
        """The settings as a person may see them: secrets masked, never printed or logged."""
        return {
            "ASSISTANT_HOME": str(self.home),
            "ASSISTANT_INBOX": str(self.inbox),
            "ASSISTANT_WAREHOUSE_URL": redact_url(self.warehouse_url),
            "ASSISTANT_LLM": self.llm_backend,
            "OPENAI_BASE_URL": redact_url(self.openai_base_url) if self.openai_base_url else "(OpenAI's default)",
            "OPENAI_API_KEY": "(set)" if self.openai_api_key else "(unset)",
            "ASSISTANT_LLM_MODEL": self.llm_model,
            "ASSISTANT_LLM_CONCURRENCY": str(self.llm_concurrency),
            "ASSISTANT_LOCAL_MODEL": str(self.local_model_path or "(packaged Qwen2.5-Coder-1.5B)"),
            "ASSISTANT_SMTP_URL": redact_url(self.smtp_url) if self.smtp_url else "(unset: outbox)",
            "ASSISTANT_TIMEZONE": self.timezone,
            "ASSISTANT_FIRST_WEEK": self.first_week or "(default)",
            "ASSISTANT_LLM_MODE": self.llm_mode,
            "ASSISTANT_LLM_BUDGET_TOKENS": str(self.llm_budget_tokens or "(no limit)"),
            "ASSISTANT_LLM_BUDGET_USD": str(self.llm_budget_usd or "(no limit)"),
            "ASSISTANT_LLM_PACK": "on" if self.llm_pack else "off",
            "ASSISTANT_LLM_FOCUS": self.llm_focus,
            "ASSISTANT_LLM_FOCUS_THRESHOLD": str(self.llm_focus_threshold or "(default)"),
            "ASSISTANT_LOCAL_THREADS": str(self.local_threads or "(one per core)"),
            "ASSISTANT_LLM_RESPONSE_FORMAT": self.llm_response_format,
            "DAGSTER_HOME": str(self.dagster_home),
        }


def redact_url(url: str) -> str:
    """``scheme://user:secret@host`` → ``scheme://user:***@host``, and ``password=…`` (or
    ``sslpassword``, ``token``, ``api_key``) query values masked. Also masks the secret of
    strings too malformed to parse as a URL (``user:secret@host`` without a scheme, a password
    holding ``/``), because they end up in error messages."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # e.g. an unclosed "[" in the host: fall back to the pattern below
        password = None
    if password is not None:
        netloc = parts.netloc.replace(f":{password}@", ":***@", 1)
        url = parts._replace(netloc=netloc).geturl()
    else:
        # "user:secret@host" with no (or an unparsable) scheme: mask up to the last "@".
        url = re.sub(r"^((?:[A-Za-z][A-Za-z0-9+.\-]*:)?//)?([^:@/?#\s]*):((?!//)[^?#\s]*)@",
                     lambda m: f"{m[1] or ''}{m[2]}:***@", url, count=1)
    return re.sub(r"(?i)([?&](?:ssl)?(?:password|passwd|pwd|token|api_key|apikey|secret)=)[^&#]*",
                  r"\1***", url)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``env`` (default ``os.environ``), validating every value."""
    env = os.environ if env is None else env

    def get(name: str) -> str | None:
        value = env.get(name)
        return value.strip() if value and value.strip() else None

    home = Path(get("ASSISTANT_HOME") or "./var").expanduser().resolve()
    inbox = Path(get("ASSISTANT_INBOX") or home / "inbox").expanduser().resolve()
    warehouse_url = get("ASSISTANT_WAREHOUSE_URL") or f"duckdb:///{home / 'warehouse.duckdb'}"
    check_warehouse_url(warehouse_url)

    backend = (get("ASSISTANT_LLM") or "local").lower()
    if backend not in {"local", "openai"}:
        raise SettingsError(f"ASSISTANT_LLM must be 'local' or 'openai', not {backend!r}.")

    concurrency_text = get("ASSISTANT_LLM_CONCURRENCY") or "8"
    try:
        concurrency = int(concurrency_text)
    except ValueError:
        concurrency = 0
    if not 1 <= concurrency <= 256:
        raise SettingsError(
            f"ASSISTANT_LLM_CONCURRENCY must be a whole number from 1 to 256, not {concurrency_text!r}."
        )

    local_model = get("ASSISTANT_LOCAL_MODEL")
    local_model_path = Path(local_model).expanduser().resolve() if local_model else None

    smtp_url = get("ASSISTANT_SMTP_URL")
    if smtp_url:
        check_smtp_url(smtp_url)

    openai_base_url = get("OPENAI_BASE_URL")
    if openai_base_url and (_scheme(openai_base_url) not in {"http", "https"}
                            or not urlsplit(openai_base_url).netloc):
        raise SettingsError(
            f"OPENAI_BASE_URL must be an http:// or https:// URL, not {redact_url(openai_base_url)!r}."
        )
    openai_api_key = get("OPENAI_API_KEY")
    if backend == "openai" and not openai_base_url and not openai_api_key:
        raise SettingsError(
            "OPENAI_API_KEY must be set when ASSISTANT_LLM is 'openai' and OPENAI_BASE_URL is unset "
            "(OpenAI's own endpoint needs a key)."
        )

    timezone = get("ASSISTANT_TIMEZONE") or "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a folder: IsADirectoryError
        raise SettingsError(
            f"ASSISTANT_TIMEZONE {timezone!r} is not a known time zone (try e.g. 'Europe/Berlin')."
        ) from None

    first_week = get("ASSISTANT_FIRST_WEEK")
    if first_week:
        from datetime import date

        try:
            date.fromisoformat(first_week)
        except ValueError:
            raise SettingsError(
                f"ASSISTANT_FIRST_WEEK must be a date like 2026-01-05, not {first_week!r}."
            ) from None

    mode = (get("ASSISTANT_LLM_MODE") or "sync").lower()
    if mode not in {"sync", "batch"}:
        raise SettingsError(f"ASSISTANT_LLM_MODE must be 'sync' or 'batch', not {mode!r}.")
    if mode == "batch" and backend != "openai":
        raise SettingsError("ASSISTANT_LLM_MODE=batch needs ASSISTANT_LLM=openai: the local model has no Batch API.")
    budget_tokens = _positive(get("ASSISTANT_LLM_BUDGET_TOKENS"), "ASSISTANT_LLM_BUDGET_TOKENS", int)
    budget_usd = _positive(get("ASSISTANT_LLM_BUDGET_USD"), "ASSISTANT_LLM_BUDGET_USD", float)
    local_threads = _positive(get("ASSISTANT_LOCAL_THREADS"), "ASSISTANT_LOCAL_THREADS", int)
    pack_text = (get("ASSISTANT_LLM_PACK") or "off").lower()
    if pack_text not in {"on", "off", "true", "false", "1", "0", "yes", "no"}:
        raise SettingsError(f"ASSISTANT_LLM_PACK must be 'on' or 'off', not {pack_text!r}.")
    focus = (get("ASSISTANT_LLM_FOCUS") or "auto").lower()
    if focus not in {"auto", "on", "off"}:
        raise SettingsError(f"ASSISTANT_LLM_FOCUS must be 'auto', 'on' or 'off', not {focus!r}.")
    focus_threshold = _positive(get("ASSISTANT_LLM_FOCUS_THRESHOLD"), "ASSISTANT_LLM_FOCUS_THRESHOLD", float)
    if focus_threshold is not None and focus_threshold > 1:
        raise SettingsError(f"ASSISTANT_LLM_FOCUS_THRESHOLD is a probability (0 to 1), not {focus_threshold}.")
    response_format = (get("ASSISTANT_LLM_RESPONSE_FORMAT") or "auto").lower()
    if response_format not in RESPONSE_FORMATS:
        raise SettingsError(f"ASSISTANT_LLM_RESPONSE_FORMAT must be one of {', '.join(RESPONSE_FORMATS)}, "
                            f"not {response_format!r}.")

    return Settings(
        home=home,
        inbox=inbox,
        warehouse_url=warehouse_url,
        llm_backend=backend,
        openai_base_url=openai_base_url,
        openai_api_key=openai_api_key,
        llm_model=get("ASSISTANT_LLM_MODEL") or DEFAULT_OPENAI_MODEL,
        llm_concurrency=concurrency,
        local_model_path=local_model_path,
        smtp_url=smtp_url,
        timezone=timezone,
        dagster_home=Path(get("DAGSTER_HOME") or home / "dagster").expanduser().resolve(),
        first_week=first_week,
        llm_mode=mode,
        llm_budget_tokens=budget_tokens,  # type: ignore[arg-type]
        llm_budget_usd=budget_usd,  # type: ignore[arg-type]
        llm_pack=pack_text in {"on", "true", "1", "yes"},
        local_threads=local_threads,  # type: ignore[arg-type]
        llm_focus=focus,
        llm_focus_threshold=focus_threshold,
        llm_response_format=response_format,
    )


def _positive(text: str | None, name: str, kind: type) -> int | float | None:
    if text is None:
        return None
    try:
        value = kind(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise SettingsError(f"{name} must be a positive {'whole ' if kind is int else ''}number, not {text!r}.")
    return value


def _scheme(url: str) -> str:
    try:
        return urlsplit(url).scheme
    except ValueError:  # unparsable (an unclosed "[" in the host): no scheme we accept
        return ""


def check_warehouse_url(url: str) -> None:
    scheme = _scheme(url)
    if scheme == "duckdb":
        if not url.startswith("duckdb:///") and url != "duckdb://:memory:":
            raise SettingsError(
                f"ASSISTANT_WAREHOUSE_URL {redact_url(url)!r} must be duckdb:///path/to/file.duckdb."
            )
        return
    if scheme in {"postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"}:
        return
    raise SettingsError(
        "ASSISTANT_WAREHOUSE_URL must start with duckdb:/// or postgresql://, "
        f"not {redact_url(url)!r}."
    )


def check_smtp_url(url: str) -> None:
    """``smtp://[user:pass@]host[:port]`` or ``smtps://…``, with a host and a numeric port."""
    problem = None
    if _scheme(url) not in {"smtp", "smtps"}:
        problem = "must look like smtp://user:pass@host:port or smtps://…"
    elif not urlsplit(url).hostname:
        problem = "must name a host (smtp://user:pass@host:port)"
    else:
        try:
            _ = urlsplit(url).port  # parsing the port is the check
        except ValueError:
            problem = "has a port that is not a number from 0 to 65535"
    if problem:
        raise SettingsError(f"ASSISTANT_SMTP_URL {problem}, not {redact_url(url)!r}.")
