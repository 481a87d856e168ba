"""``assistant-pipelines doctor``: one line per part of the set-up, each with a clear verdict.

Every check catches its own failure and says what to do in one sentence; none prints a
traceback or a secret.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from assistant_pipelines.settings import Settings, redact_url


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | fail
    message: str


def check_inbox(settings: Settings) -> Check:
    if not settings.inbox.is_dir():
        return Check("inbox", "warn", f"{settings.inbox} does not exist yet: create it with transcripts/, mail/ "
                                      "and tickets/ folders (the demo makes its own)")
    counts = {f: sum(1 for p in (settings.inbox / f).rglob("*") if p.is_file()) if (settings.inbox / f).is_dir() else 0
              for f in ("transcripts", "mail", "tickets")}
    summary = ", ".join(f"{n} in {f}/" for f, n in counts.items())
    return Check("inbox", "ok" if any(counts.values()) else "warn", f"{settings.inbox}: {summary}")


def check_warehouse(settings: Settings) -> Check:
    from assistant_pipelines.warehouse import WarehouseError, open_warehouse

    try:
        with open_warehouse(settings.warehouse_url, lock_timeout_s=5) as wh:
            wh.ensure_schema()
            documents = wh.scalar("SELECT COUNT(*) FROM documents")
            note = ""
            if wh.dialect == "postgres":
                has_vector = wh.scalar("SELECT COUNT(*) FROM pg_available_extensions WHERE name = 'vector'")
                note = "; pgvector available" if has_vector else "; pgvector NOT available on this server"
    except WarehouseError as exc:
        return Check("warehouse", "fail", str(exc))
    except Exception as exc:  # noqa: BLE001 - any driver error becomes one line
        return Check("warehouse", "fail", f"{redact_url(settings.warehouse_url)}: {type(exc).__name__}: "
                                          f"{str(exc).splitlines()[0] if str(exc) else ''}")
    return Check("warehouse", "ok", f"{redact_url(settings.warehouse_url)}: schema ready, {documents} documents{note}")


def check_model(settings: Settings, deep: bool) -> Check:
    if settings.llm_backend == "openai":
        return _check_endpoint(settings)
    from assistant_pipelines.llm.local_model import (
        EMBEDDED_MODEL_FILE,
        ModelUnavailable,
        embedded_model_parts,
        resolve_local_model,
    )

    try:
        import llama_cpp  # noqa: F401
    except ImportError as exc:
        return Check("model", "fail", f"llama-cpp-python cannot be imported ({exc}): run `uv sync --frozen`")
    try:
        if settings.local_model_path is not None:
            path = resolve_local_model(settings.local_model_path, settings.model_cache)
            with path.open("rb") as handle:
                if handle.read(4) != b"GGUF":
                    return Check("model", "fail", f"{path} is not a GGUF model file")
            where = str(path)
        elif deep or (settings.model_cache / EMBEDDED_MODEL_FILE).is_file():
            where = str(resolve_local_model(None, settings.model_cache))
        else:
            embedded_model_parts()
            where = "embedded model installed (assembled on first use, ~1 GB)"
    except ModelUnavailable as exc:
        return Check("model", "fail", str(exc))
    if deep:
        return _ask_model(settings, where)
    return Check("model", "ok", f"local: {where}")


def _ask_model(settings: Settings, where: str) -> Check:
    from assistant_pipelines.resources import resources_from_settings

    llm = resources_from_settings(settings)["llm"]
    try:
        backend = llm.get_backend()  # type: ignore[attr-defined]
        schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
        answer = backend.complete([{"role": "user", "content": 'Reply with {"ok": true}.'}], schema, 16)
    except Exception as exc:  # noqa: BLE001 - doctor reports, never crashes
        return Check("model", "fail", f"{where}: {exc}")
    return Check("model", "ok", f"{where}: answered {answer.text.strip()[:40]!r} in {answer.latency_s:.1f} s")


def _check_endpoint(settings: Settings) -> Check:
    import openai

    where = settings.openai_base_url or "https://api.openai.com/v1"
    if not settings.openai_api_key and not settings.openai_base_url:
        return Check("model", "fail", "ASSISTANT_LLM=openai needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local server)")
    client = openai.OpenAI(base_url=settings.openai_base_url, api_key=settings.openai_api_key or "not-needed",
                           timeout=10, max_retries=0)
    try:
        models = [m.id for m in client.models.list()]
    except openai.AuthenticationError:
        return Check("model", "fail", f"{where} refused the API key in OPENAI_API_KEY")
    except openai.APIConnectionError:
        return Check("model", "fail", f"cannot reach {where}: is the server running and OPENAI_BASE_URL right?")
    except openai.APIError as exc:
        return Check("model", "warn", f"{where} answered but not to GET /models ({type(exc).__name__}); "
                                      "extraction may still work")
    if models and settings.llm_model not in models:
        return Check("model", "fail", f"{where} does not serve {settings.llm_model!r} (it has: "
                                      f"{', '.join(sorted(models)[:8])}): set ASSISTANT_LLM_MODEL")
    return Check("model", "ok", f"{settings.llm_model} at {where}")


def check_mail(settings: Settings) -> Check:
    if not settings.smtp_url:
        return Check("mail", "ok", f"no ASSISTANT_SMTP_URL: digests are written to {settings.outbox}")
    parts = urlsplit(settings.smtp_url)
    secure = parts.scheme == "smtps"
    try:
        cls = smtplib.SMTP_SSL if secure else smtplib.SMTP
        kwargs = {"context": ssl.create_default_context()} if secure else {}
        with cls(parts.hostname or "localhost", parts.port or (465 if secure else 25), timeout=10, **kwargs) as client:
            client.ehlo()
            if not secure and client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
    except smtplib.SMTPAuthenticationError:
        return Check("mail", "fail", f"{redact_url(settings.smtp_url)} refused the user name or password")
    except (smtplib.SMTPException, OSError) as exc:
        return Check("mail", "fail", f"cannot talk to {redact_url(settings.smtp_url)}: {exc}")
    return Check("mail", "ok", f"{redact_url(settings.smtp_url)} accepts connections")


def check_dagster_home(settings: Settings) -> Check:
    try:
        settings.dagster_home.mkdir(parents=True, exist_ok=True)
        probe = settings.dagster_home / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return Check("dagster", "fail", f"DAGSTER_HOME {settings.dagster_home} is not writable: {exc.strerror}")
    return Check("dagster", "ok", f"instance in {settings.dagster_home}")


def run_checks(settings: Settings, *, deep: bool = False) -> Iterator[Check]:
    checks: list[Callable[[], Check]] = [
        lambda: check_inbox(settings),
        lambda: check_warehouse(settings),
        lambda: check_model(settings, deep),
        lambda: check_mail(settings),
        lambda: check_dagster_home(settings),
    ]
    for check in checks:
        yield check()
