"""Text to normalised vectors: the `Embedder` interface, the sentence-transformers
embedder that serves by default, and sentence boundaries."""

from service.embedding.models import (
    DEFAULT_MODEL,
    Embedder,
    ModelNotAvailable,
    SentenceTransformerEmbedder,
    resolve_model_path,
)
from service.embedding.sentences import sentence_spans

__all__ = ["DEFAULT_MODEL", "Embedder", "ModelNotAvailable", "SentenceTransformerEmbedder",
           "resolve_model_path", "sentence_spans"]
