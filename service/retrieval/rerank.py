"""Optional cross-encoder reranking of the top candidates. No cross-encoder ships as a
PyPI wheel with its weights, so this runs only when PLANSEARCH_RERANKER names a local
model folder; otherwise hybrid+rerank falls back to sentence-level re-scoring."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from service.embedding.models import ModelNotAvailable
from service.retrieval.passages import Candidate


class CrossEncoderReranker:
    def __init__(self, path: str) -> None:
        folder = Path(path).expanduser()
        if not (folder.is_dir() and (folder / "config.json").exists()):
            raise ModelNotAvailable(
                f"reranker {path!r} is not a local cross-encoder folder (Hugging Face Hub "
                "downloads are disabled); unset PLANSEARCH_RERANKER or point it at a folder")
        self.path = folder
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        if self._model is None:
            from sentence_transformers import CrossEncoder

            self._model = CrossEncoder(str(self.path), device="cpu")
        return self._model

    def rerank(self, query: str, candidates: list[Candidate], generation: Any) -> list[Candidate]:
        rows = generation.chunks([c.chunk_id for c in candidates])
        present = [c for c in candidates if c.chunk_id in rows]
        with self._lock:
            scores = self.model.predict([(query, rows[c.chunk_id].text) for c in present])
        rescored = [replace(c, score=float(s)) for c, s in zip(present, scores, strict=True)]
        return sorted(rescored, key=lambda c: -c.score)
