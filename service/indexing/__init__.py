"""Turning a corpus folder into a published index generation: sandboxed readers,
chunking, the build (plan -> read -> embed -> write), uploads into the corpus, and the
admin jobs that run builds in a `python -m service.indexing` subprocess. Writes the index
only through the store."""

from service.indexing.build import BuildReport, build_index

__all__ = ["BuildReport", "build_index"]
