"""An ONNX Runtime embedder, the default: the same all-MiniLM-L6-v2 vectors as
sentence-transformers, without importing torch at run time.

The packaged model is exported to ONNX once (`python -m service.embedding`, which `make
install` runs; that one step needs torch) into a cache folder, together with
sentence-transformers' own vectors for a fixed sample. Loading checks the export against
that sample and refuses it below a cosine of 0.9999, so a stale or broken export can never
serve vectors that don't match the index. Loading takes well under a second, against the
6-9 s `import sentence_transformers` costs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from service.embedding.models import ModelNotAvailable, SentenceTransformerEmbedder

log = logging.getLogger(__name__)

OPSET = 17
_export_lock = threading.Lock()
MIN_COSINE = 0.9999
REFERENCE = "reference.npy"  # sentence-transformers' vectors of REFERENCE_TEXTS
REFERENCE_TEXTS = (
    "Gloucestershire will open a network of integrated urgent care centres.",
    "The planned care programme is predicted to save between £1.9m and £4.4m a year.",
    "Waiting times for hip and knee operations fell after the new elective hub opened.",
    "A&E attendances in 2020/21 were lower than forecast.",
    "Mental health crisis teams will work around the clock.",
    "The board approved the minutes of the previous meeting.",
    "Stroke",
    "Community pharmacies, GP practices and social care will share one record.",
)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "plansearch" / "onnx"


def model_fingerprint(model_path: Path) -> str:
    """Changes whenever the weights or the config change, so a stale export is never used."""
    digest = hashlib.sha256()
    for name in ("config.json", "model.safetensors", "pytorch_model.bin"):
        path = model_path / name
        if path.exists():
            stat = path.stat()
            digest.update(f"{name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def export_onnx(model_path: Path, target: Path) -> None:
    """Export the transformer (token embeddings out; pooling stays in numpy) to ONNX."""
    import torch
    from transformers import AutoModel

    class Encoder(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            # keyword arguments: transformers 5 rejects these three passed positionally
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    model = AutoModel.from_pretrained(str(model_path)).eval()
    sample = torch.ones((2, 16), dtype=torch.int64)
    axes = {0: "batch", 1: "tokens"}
    partial = target.with_suffix(f".{os.getpid()}.partial")
    # The legacy exporter warns about itself and about traced constants; the cosine check
    # against sentence-transformers at load is what guards the result.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Encoder(model), (sample, sample, torch.zeros_like(sample)),
                          str(partial), input_names=["input_ids", "attention_mask",
                                                     "token_type_ids"],
                          output_names=["last_hidden_state"], opset_version=OPSET,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes,
                                        "token_type_ids": axes, "last_hidden_state": axes},
                          dynamo=False)
    os.replace(partial, target)  # two workers exporting at once each publish a whole file


def write_reference(model_path: Path, target: Path) -> None:
    """sentence-transformers' vectors for the fixed sample, the yardstick for the export."""
    vectors = SentenceTransformerEmbedder(str(model_path)).embed_documents(REFERENCE_TEXTS)
    partial = target.with_suffix(f".{os.getpid()}.partial.npy")
    np.save(partial, vectors)
    os.replace(partial, target)


INT8_FILE = "model-int8-s8pc.onnx"  # named by its scheme: another scheme's is never reused


def quantize_onnx(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of the MatMul weights (activations quantised per call),
    signed with a scale per output channel. On 300 real chunks: 1.5x fp32's rate with a
    mean cosine of 0.991 to fp32 (min 0.834). It costs ranking quality (plans-eval MRR
    -0.020, the union -0.010), so it is an opt-in; leaving the feed-forward output
    projections in fp32 ran only 1.2x and still lost 0.010 (BENCHMARKS.md, issue 27)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    partial = target.with_suffix(f".{os.getpid()}.partial")
    logging.disable(logging.INFO)  # it logs a line per tensor on the root logger
    try:
        quantize_dynamic(str(source), str(partial), weight_type=QuantType.QInt8,
                         per_channel=True, op_types_to_quantize=["MatMul"])
    finally:
        logging.disable(logging.NOTSET)
    os.replace(partial, target)


class OnnxEmbedder(SentenceTransformerEmbedder):
    """all-MiniLM-L6-v2 through onnxruntime; tokenising and counting as the parent class.

    `quantized=True` uses an int8 export: faster, with vectors slightly off fp32 (see
    BENCHMARKS.md); the name stays the model's, so either variant can query an index the
    other built.
    """

    def __init__(self, name: str | None = None, batch_size: int = 32, threads: int | None = None,
                 quantized: bool = False, cache_dir: Path | None = None) -> None:
        super().__init__(name, batch_size=batch_size, threads=threads)
        self.quantized = quantized
        self.cache_dir = (cache_dir or default_cache_dir()) / model_fingerprint(self.path)

    @property
    def backend(self) -> str:
        return "onnx-int8" if self.quantized else "onnx-fp32"

    @property
    def vectors(self) -> str:
        """What its vectors are, where they differ from fp32's: the int8 scheme's file."""
        return INT8_FILE.removesuffix(".onnx") if self.quantized else ""

    def onnx_file(self) -> Path:
        """The exported model, exporting (and quantising) it on first use."""
        fp32 = self.cache_dir / "model.onnx"
        wanted = self.cache_dir / INT8_FILE if self.quantized else fp32
        reference = self.cache_dir / REFERENCE
        if wanted.exists() and reference.exists():
            return wanted
        with _export_lock:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            if not fp32.exists():
                # needs torch: `make install` does this once, so servers never have to
                log.warning("exporting %s to ONNX in %s (once; imports torch)", self.name,
                            self.cache_dir)
                export_onnx(self.path, fp32)
            if not reference.exists():
                write_reference(self.path, reference)
            if self.quantized and not wanted.exists():
                quantize_onnx(fp32, wanted)
        return wanted

    def verify(self, session: Any) -> float:
        """The export's smallest cosine to sentence-transformers on the fixed sample;
        refuses an fp32 export below MIN_COSINE. (int8 is an explicit, lossy opt-in.)"""
        expected = np.load(self.cache_dir / REFERENCE)
        got = self._run(REFERENCE_TEXTS, None, session)[0]
        worst = float(np.min(np.sum(expected * got, axis=1)))
        if not self.quantized and worst < MIN_COSINE:
            raise ModelNotAvailable(
                f"the ONNX export in {self.cache_dir} does not match sentence-transformers "
                f"(cosine {worst:.5f} < {MIN_COSINE}); delete that folder and run `make "
                "install` to export it again, or set PLANSEARCH_EMBEDDER=sentence-transformers")
        return worst

    @cached_property
    def session(self) -> Any:
        session = self._open_session()
        self.verify(session)
        return session

    def _open_session(self) -> Any:
        """The session, from the graph ONNX Runtime already optimised when there is one:
        optimising at every start took 0.8 s (1.4 s on a busy box) of a worker's start-up.
        The first session saves its optimised graph (atomically: workers may race)."""
        import onnxruntime as ort

        model = self.onnx_file()
        optimised = model.with_suffix(".optimised.onnx")
        options = ort.SessionOptions()
        options.inter_op_num_threads = 1
        if self.threads:
            options.intra_op_num_threads = self.threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle pool threads sleep instead of spinning: a build parses PDFs beside the
        # encoder on the same cores, and spinning threads took the parser's CPU (build
        # encoding ran at half its rate alone; BENCHMARKS.md, issue 27).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if optimised.exists():
            try:
                return ort.InferenceSession(str(optimised), options,
                                            providers=["CPUExecutionProvider"])
            except Exception as error:  # noqa: BLE001 - any damage: optimise afresh
                log.warning("ignoring the optimised ONNX graph %s (%s)", optimised, error)
        # saved at the extended level: the "all" level adds layout changes tied to this
        # CPU, which the session above re-applies cheaply anyway (0.4 s instead of 0.8 s)
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        partial = optimised.with_suffix(f".{os.getpid()}.tmp")
        options.optimized_model_filepath = str(partial)
        session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        try:
            os.replace(partial, optimised)
        except OSError as error:  # a read-only cache: start-up just stays slower
            log.warning("could not keep the optimised ONNX graph (%s)", error)
        return session

    @cached_property
    def model(self) -> Any:  # the parent's contract: loading happens on first use
        return self.session

    @cached_property
    def _truncating_tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        tokenizer.enable_truncation(self.max_seq_length)
        tokenizer.no_padding()
        return tokenizer

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._run(texts, None)[0]

    def embed_with_sentences(self, texts: Sequence[str],
                             spans: Sequence[Sequence[tuple[int, int]]]
                             ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors plus sentence vectors pooled from the same token vectors, as
        the sentence-transformers embedder gives them."""
        vectors, sentences = self._run(texts, spans)
        return vectors, sentences or []

    def _run(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]] | None,
             session: Any = None) -> tuple[np.ndarray, list[np.ndarray] | None]:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), ([] if spans else None)
        from service.embedding.models import pool_spans

        encodings = self._truncating_tokenizer.encode_batch(list(texts))
        # longest first and batched by similar length, as sentence-transformers does,
        # so little time goes on padding
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        sentences: list[np.ndarray] = [np.zeros(0)] * len(texts)
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            hidden, lengths = self._hidden([encodings[i].ids for i in batch],
                                           session or self.session)
            for row, i in enumerate(batch):
                tokens = hidden[row, :lengths[row]]
                out[i] = tokens.mean(axis=0)
                if spans is not None:
                    sentences[i] = pool_spans(tokens, encodings[i].offsets, spans[i])
        out /= np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None)
        return out, (sentences if spans is not None else None)

    def _hidden(self, rows: list[list[int]], session: Any) -> tuple[np.ndarray, list[int]]:
        """Token vectors of a padded batch, and each row's real length."""
        width = max(len(row) for row in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, :len(row)] = row
            mask[i, :len(row)] = 1
        hidden = session.run(None, {"input_ids": ids, "attention_mask": mask,
                                         "token_type_ids": np.zeros_like(ids)})[0]
        return hidden, [len(row) for row in rows]
