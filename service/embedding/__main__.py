"""`python -m service.embedding [--model M]`: export the model to ONNX once and check it
against sentence-transformers (`make install` runs this, so servers never import torch)."""

import argparse
import sys

from service.embedding.models import ModelNotAvailable
from service.embedding.onnx_runtime import OnnxEmbedder

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--model", help="model name or local folder (default: all-MiniLM-L6-v2)")
args = parser.parse_args()
try:
    embedder = OnnxEmbedder(args.model)
    worst = embedder.verify(embedder.session)
except ModelNotAvailable as error:
    print(f"error: {error}", file=sys.stderr)
    sys.exit(2)
print(f"ONNX export of {embedder.name} in {embedder.cache_dir}: cosine to "
      f"sentence-transformers >= {worst:.6f} on the check sample")
