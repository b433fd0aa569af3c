"""Every evaluation set in one place: the project's own sets, each development set found
under ../shared/devsets, and their union (every set's documents in one index)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

UNION = "union"
# plans-eval-corpus.md: these shared PDFs have no usable text, so plans-eval leaves them out
UNREADABLE_SHARED_PDFS = ("scanned_linn.pdf", "encrypted_password.pdf",
                          "encrypted_ownerpw.pdf", "malformed_scan.pdf")
NOT_DOCUMENTS = ("SOURCES.md", "README.md")


@dataclass(frozen=True)
class EvaluationSet:
    """Questions, the questions nothing answers, and the folders whose documents answer them."""

    name: str
    questions: tuple[Path, ...]
    unanswerable: tuple[Path, ...]
    corpora: tuple[Path, ...]
    exclude: tuple[str, ...] = NOT_DOCUMENTS
    # unanswerable kinds that stay unanswerable here; an area missing from one set's
    # documents may be covered by another's, so the union keeps only topic-level kinds
    unanswerable_kinds: tuple[str, ...] = ("off_topic", "uncovered", "no_area")

    def workdir(self, root: Path, store: str = "", vectors: str = "") -> Path:
        """Where this corpus's index is cached: one folder per corpus, store and exclusions,
        and per kind of vectors when they differ from fp32's (`vectors`, e.g. onnx-int8)."""
        parts = [str(c.resolve()) for c in self.corpora] + [store, *sorted(self.exclude)]
        parts += [vectors] if vectors else []
        return root / ".cache" / "eval" / hashlib.sha1("|".join(parts).encode()).hexdigest()[:10]


def project_sets(root: Path) -> list[EvaluationSet]:
    """The seed set over the bundled plans, and plans-eval over them and the shared PDFs."""
    data, shared = root / "tests" / "data", root.parent / "shared"
    unanswerable = (data / "unanswerable.jsonl",)
    return [
        EvaluationSet("seed", (data / "seed-questions.jsonl",), unanswerable,
                      (root / "corpus",)),
        EvaluationSet("plans-eval", (data / "plans-eval.jsonl",), unanswerable,
                      (root / "corpus", shared / "pdfs"),
                      NOT_DOCUMENTS + UNREADABLE_SHARED_PDFS),
    ]


def devsets(folder: Path) -> list[EvaluationSet]:
    """Each folder of `folder` with a questions.jsonl, its documents in pdfs/ (or beside it)."""
    found = []
    for devset in sorted(p for p in folder.glob("*") if (p / "questions.jsonl").is_file()):
        unanswerable = devset / "unanswerable.jsonl"
        documents = devset / "pdfs" if (devset / "pdfs").is_dir() else devset
        found.append(EvaluationSet(
            devset.name, (devset / "questions.jsonl",),
            (unanswerable,) if unanswerable.is_file() else (), (documents,)))
    return found


def union_of(sets: list[EvaluationSet]) -> EvaluationSet:
    """One library of every set's documents, asked every set's questions."""
    def unique(paths: list[Path]) -> tuple[Path, ...]:
        return tuple(dict.fromkeys(paths))

    return EvaluationSet(
        UNION, unique([q for s in sets for q in s.questions]),
        unique([u for s in sets for u in s.unanswerable]),
        unique([c for s in sets for c in s.corpora]),
        tuple(dict.fromkeys(g for s in sets for g in s.exclude)),
        ("off_topic", "uncovered"))


def all_sets(root: Path) -> list[EvaluationSet]:
    """The project's sets, every development set under ../shared/devsets, then the union."""
    sets = project_sets(root) + devsets(root.parent / "shared" / "devsets")
    return sets + [union_of(sets)]
