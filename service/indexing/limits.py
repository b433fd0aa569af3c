"""The per-document chunk limit: a document too large to embed fails alone, before it
costs the build its tokenising or its embedding."""

from __future__ import annotations

from service.indexing.chunking import ChunkSettings
from service.indexing.documents import Document

# MiniLM embeds about 40 chunks/s of 128 tokens on 2 idle cores: 20,000 is ~8 minutes
DEFAULT_MAX_DOCUMENT_CHUNKS = 20_000


def chunk_limit_refusal(document: Document, settings: ChunkSettings,
                        max_chunks: int, chunks: int | None = None) -> str | None:
    """Why the document is too large to embed, or None. Without a chunk count, every
    word is at least one token, so the words alone refuse a huge file before it costs
    any tokenising."""
    if chunks is None:
        words = sum(len(page.text.split()) for page in document.pages)
        if words // settings.chunk_tokens <= max_chunks:
            return None
        found = f"at least {words // settings.chunk_tokens}"
    elif chunks <= max_chunks:
        return None
    else:
        found = str(chunks)
    return (f"too large to index: {found} chunks, more than the limit of {max_chunks} a "
            "document (PLANSEARCH_MAX_DOCUMENT_CHUNKS); split the file, or raise the limit "
            "and reindex with full=true")
