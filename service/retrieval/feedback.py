"""Pseudo-relevance feedback on the dense side (Rocchio): the question's vector moved
towards the best sentences of its first few fused candidates, then searched again.
A paraphrase ("chemists" for "community pharmacies") often finds the right document
first but not the passage; the document's own wording then pulls the passage in."""

from __future__ import annotations

import numpy as np

from service.store.records import SentenceVectors


def expanded_vector(vector: np.ndarray, ids: list[int], stored: SentenceVectors,
                    weight: float) -> np.ndarray | None:
    """The unit vector of `vector` + weight x the mean of each chunk's sentence closest
    to it; None when none of the chunks has stored sentences."""
    closest = []
    for chunk in ids:
        found = stored.get(chunk)
        if found is None or not len(found[1]):
            continue
        sentences = found[1]
        closest.append(sentences[int(np.argmax(sentences @ vector))])
    if not closest:
        return None
    moved = vector + weight * np.mean(closest, axis=0)
    return (moved / (np.linalg.norm(moved) or 1.0)).astype(vector.dtype)
