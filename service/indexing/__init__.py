"""Turning a corpus folder into a published index generation: sandboxed readers,
chunking, the build (plan -> read -> embed -> write), uploads into the corpus, and the
admin jobs that run builds in a `python -m service.indexing` subprocess. Documents also
arrive by themselves: the watched corpus folder (`watch`), the sources list fetched by
`make sync` (`sources`, `fetching`, `sync`), and the build webhook says what landed
(`webhook`). Writes the index only through the store."""

from service.indexing.build import BuildReport, build_index

__all__ = ["BuildReport", "build_index"]
