"""Benchmark data made from real text: perturbed copies of the corpus's paragraphs
(shuffled sentences, other numbers, other place names) and vectors clustered like real
embeddings. Random strings would make keyword search and chunking unrealistically cheap."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from service.areas import Gazetteer
from service.embedding.sentences import sentence_spans

NUMBER = re.compile(r"\d+")
TOPICS = ("urgent care", "planned care", "mental health", "primary care", "workforce",
          "digital", "finance", "estates", "prevention", "cancer", "maternity", "children")


def source_paragraphs(corpus_dirs: Sequence[Path], cache: Path | None = None) -> list[str]:
    """Paragraphs (15+ words) of every readable document in the folders, read with the
    project's own readers. PDF parsing is slow, so the result is cached in `cache`."""
    from service.indexing.documents import ReadError
    from service.indexing.sandbox import read_document_safely

    files = sorted(p for d in corpus_dirs if d.is_dir() for p in d.rglob("*") if p.is_file())
    key = hashlib.sha1("|".join(f"{p}:{p.stat().st_size}" for p in files).encode()).hexdigest()
    if cache is not None and (cache / f"paragraphs-{key[:12]}.json").exists():
        return list(json.loads((cache / f"paragraphs-{key[:12]}.json").read_text()))
    paragraphs: list[str] = []
    for path in files:
        try:
            document = read_document_safely(path, path.name)
        except ReadError:
            continue
        for page in document.pages:
            paragraphs += [b.text for b in page.blocks
                           if b.heading_level is None and len(b.text.split()) >= 15]
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        (cache / f"paragraphs-{key[:12]}.json").write_text(json.dumps(paragraphs))
    return paragraphs


class Perturber:
    """Rewrites real paragraphs into new, plausible ones."""

    def __init__(self, paragraphs: Sequence[str], seed: int = 0) -> None:
        self.paragraphs = list(paragraphs)
        self.rng = random.Random(seed)
        self.places = Gazetteer.load().areas
        self.place_pattern = re.compile("|".join(re.escape(p) for p in
                                                 sorted(self.places, key=len, reverse=True)))

    def paragraph(self) -> str:
        text = self.rng.choice(self.paragraphs)
        spans = sentence_spans(text)
        sentences = [text[s:e] for s, e in spans] or [text]
        if len(sentences) > 1 and self.rng.random() < 0.7:
            self.rng.shuffle(sentences)
        text = " ".join(sentences)
        text = NUMBER.sub(lambda m: str(self.rng.randint(10 ** (len(m.group()) - 1),
                                                         10 ** len(m.group()) - 1)), text)
        return self.place_pattern.sub(lambda m: self.rng.choice(self.places), text)

    def document(self, pages: int = 30, words_per_page: int = 380) -> tuple[str, str, str]:
        """(title, area, text) of a plan with form-feed pages and a heading per page."""
        area = self.rng.choice(self.places)
        title = f"{area} {self.rng.choice(TOPICS)} plan {self.rng.randint(2016, 2030)}"
        body = []
        for number in range(1, pages + 1):
            lines = [f"## {number} {self.rng.choice(TOPICS).capitalize()}", ""]
            words = 0
            while words < words_per_page:
                paragraph = self.paragraph()
                lines += [paragraph, ""]
                words += len(paragraph.split())
            body.append("\n".join(lines))
        front = f"---\ntitle: {title}\narea: {area}\n---\n"
        return title, area, front + "\f".join(body)

    def chunk_texts(self, count: int, words: int = 110) -> list[str]:
        """Chunk-sized texts (~150 model tokens) for keyword indexes at scale: windows
        of `words` words over a stream of perturbed paragraphs."""
        if not hasattr(self, "_stream"):
            self._stream: list[str] = []
            for _ in range(4000):
                self._stream += self.paragraph().split()
        texts = []
        for _ in range(count):
            start = self.rng.randrange(len(self._stream) - words)
            texts.append(" ".join(self._stream[start:start + words]))
        return texts


def write_corpus(folder: Path, documents: int, perturber: Perturber, pages: int = 30) -> None:
    """`documents` perturbed plans as Markdown files (front matter, \\f pages)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(documents):
        _, _, text = perturber.document(pages)
        (folder / f"plan-{i:05d}.md").write_text(text, encoding="utf-8")


def clustered_vectors(count: int, anchors: np.ndarray, seed: int = 0, centres: int = 4096,
                      spread: float = 0.35) -> np.ndarray:
    """Unit vectors around `centres` cluster centres, which themselves scatter around real
    embeddings (`anchors`): clustered and anisotropic like real MiniLM vectors, unlike
    uniform random ones (the pathological worst case for any ANN index)."""
    rng = np.random.default_rng(seed)
    dimension = anchors.shape[1]
    centre_vectors = anchors[rng.integers(0, len(anchors), centres)]
    centre_vectors = centre_vectors + 0.5 * rng.standard_normal((centres, dimension)) \
        / np.sqrt(dimension)
    centre_vectors /= np.linalg.norm(centre_vectors, axis=1, keepdims=True)
    out = np.empty((count, dimension), dtype=np.float32)
    step = 100_000
    for start in range(0, count, step):
        n = min(step, count - start)
        block = centre_vectors[rng.integers(0, centres, n)] + \
            spread * rng.standard_normal((n, dimension)) / np.sqrt(dimension)
        out[start:start + n] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


class SyntheticEmbedder:
    """Stands in for the model when building large base indexes: the real model's name,
    dimension and tokenizer, but vectors drawn near real embeddings instead of encoded
    (encoding 100k chunks would take over an hour here). Never used for a measured add."""

    def __init__(self, real: object, anchors: np.ndarray) -> None:
        self.real = real
        self.name = real.name  # type: ignore[attr-defined]
        self.anchors = anchors
        self.calls = 0

    @property
    def dimension(self) -> int:
        return int(self.anchors.shape[1])

    @property
    def max_seq_length(self) -> int:
        return int(self.real.max_seq_length)  # type: ignore[attr-defined]

    def count_tokens(self, text: str) -> int:
        return int(self.real.count_tokens(text))  # type: ignore[attr-defined]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return clustered_vectors(len(texts), self.anchors, seed=self.calls, centres=256)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    def embed_with_sentences(self, texts: Sequence[str], spans: Sequence[Sequence[object]]
                             ) -> tuple[np.ndarray, list[np.ndarray]]:
        """So that synthetic indexes carry sentence vectors as real ones do."""
        vectors = self.embed_documents(texts)
        return vectors, [sentence_vectors(v, len(s), self.calls * 7919 + i)
                         for i, (v, s) in enumerate(zip(vectors, spans, strict=True))]


def sentence_vectors(passage: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Unit vectors scattered around a passage vector, one per sentence."""
    noise = np.random.default_rng(seed).standard_normal((count, passage.shape[0]))
    vectors = passage + 0.6 * noise / np.sqrt(passage.shape[0])
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
