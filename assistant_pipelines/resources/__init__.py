"""Dagster resources, one per outside system, chosen from settings when a run starts.

``resources_from_settings`` is the one place that maps the settings contract to resources;
tests build the same resources pointed at loopback servers and temporary folders.
"""

from __future__ import annotations

from dagster import EnvVar

from assistant_pipelines.resources.llm import LLMResource
from assistant_pipelines.resources.mailer import MailerResource
from assistant_pipelines.resources.team import TeamResource
from assistant_pipelines.resources.warehouse import WarehouseResource
from assistant_pipelines.settings import Settings

__all__ = ["LLMResource", "MailerResource", "TeamResource", "WarehouseResource", "llm_resource",
           "resources_from_settings"]


def resources_from_settings(settings: Settings) -> dict[str, object]:
    """The resources for these settings. Secrets are passed as ``EnvVar`` references so Dagster
    shows and stores the variable's name, never its value."""
    return {
        "warehouse": WarehouseResource(url=settings.warehouse_url),
        "llm": llm_resource(settings),
        "mailer": MailerResource(
            smtp_url=EnvVar("ASSISTANT_SMTP_URL") if settings.smtp_url else None,
            outbox_dir=str(settings.outbox),
        ),
        "team": TeamResource(
            home=str(settings.home),
            inbox=str(settings.inbox),
            timezone=settings.timezone,
        ),
    }


def llm_resource(settings: Settings, *, resolve_secrets: bool = False) -> LLMResource:
    """The ``llm`` resource for these settings. Inside Dagster the API key stays an ``EnvVar``
    (resolved at run time, never stored); code that uses the resource outside Dagster (the
    ``eval`` command) asks for the value itself with ``resolve_secrets``."""
    return LLMResource(
        backend=settings.llm_backend,
        model=settings.llm_model,
        base_url=settings.openai_base_url,
        api_key=(settings.openai_api_key if resolve_secrets else EnvVar("OPENAI_API_KEY"))
        if settings.openai_api_key else None,  # type: ignore[arg-type]
        concurrency=settings.llm_concurrency,
        response_format=settings.llm_response_format,
        local_model_path=str(settings.local_model_path) if settings.local_model_path else None,
        model_cache_dir=str(settings.model_cache),
        local_threads=settings.local_threads,
        mode=settings.llm_mode,
        budget_tokens=settings.llm_budget_tokens,
        budget_usd=settings.llm_budget_usd,
        pack_emails=settings.llm_pack,
        focus=settings.llm_focus,
        **({"focus_threshold": settings.llm_focus_threshold} if settings.llm_focus_threshold is not None else {}),
    )
