"""The Milvus store: generations as collections, the live one named by an alias that
publishing switches atomically. Build locks, jobs and rate limits stay in the local
index folder; only the index itself lives in Milvus."""

from __future__ import annotations

import json
import logging
from collections.abc import Hashable
from itertools import islice
from pathlib import Path
from typing import Any

from service.store import backend_base
from service.store.generation_policy import good_generations
from service.store.interface import IndexWriter
from service.store.milvus import schema
from service.store.milvus.connection import Link, StoreURL
from service.store.milvus.question_log import MilvusQuestionLog
from service.store.milvus.reader import MilvusGeneration, query_all
from service.store.milvus.writer import MilvusStaging
from service.store.records import IndexNotReady, StoreUnavailable

log = logging.getLogger(__name__)
DEFAULT_PREFIX = "plansearch"


def staged(writer: IndexWriter) -> MilvusStaging:
    return backend_base.staged(writer, MilvusStaging, "Milvus store")


class MilvusStore(backend_base.BackendBase):
    def __init__(self, index_dir: Path, url: str, token: str = "",
                 prefix: str = DEFAULT_PREFIX) -> None:
        self.index_dir = Path(index_dir)  # the build lock, jobs and rate limits
        self.link = Link(StoreURL.parse(url), token)
        self.prefix = prefix
        self.meta = f"{prefix}_meta"

    def __str__(self) -> str:
        return str(self.link.url)

    def state(self) -> dict[str, Any]:
        return self.link.state()

    def question_log(self) -> MilvusQuestionLog:
        return MilvusQuestionLog(self.link, self.prefix)

    # --- the meta collection: manifests and bad marks ----------------------------------
    def _meta_rows(self) -> dict[str, dict[str, Any]]:
        with self.link.guard("reading generations") as client:
            if not client.has_collection(self.meta):
                return {}
            client.load_collection(self.meta)
            rows = query_all(client, self.meta, 'key != ""', ["key", "body"],
                             consistency_level="Strong")
        return {row["key"]: row["body"] for row in rows}

    def _write_meta(self, name: str, body: dict[str, Any]) -> None:
        with self.link.guard("recording a generation") as client:
            if not client.has_collection(self.meta):
                schema.create_small(client, self.meta, self.link.waits_for_indexes)
            client.load_collection(self.meta)
            client.upsert(self.meta, [schema.small_row(name, "", body)])
            client.flush(self.meta)

    # --- reading ------------------------------------------------------------------------
    def signature(self) -> Hashable | None:
        """The collection the alias names: one call, and a swap changes it."""
        with self.link.guard("reading the alias") as client:
            if self.prefix not in client.list_aliases().get("aliases", []):
                return None
            return str(client.describe_alias(self.prefix)["collection_name"])

    def current(self) -> str | None:
        collection = self.signature()
        number = schema.number_of(str(collection), self.prefix) if collection else None
        return schema.generation_name(number) if number is not None else None

    def published(self) -> list[str]:
        return sorted(self._meta_rows(), key=schema.generation_number, reverse=True)

    def manifest(self, name: str) -> dict[str, Any]:
        body = self._meta_rows().get(name)
        if body is None:
            raise IndexNotReady(f"{name}: no such generation in {self}")
        manifest: dict[str, Any] = json.loads(body["manifest"])
        return manifest

    def open(self, name: str) -> MilvusGeneration:
        return MilvusGeneration(self.link, self.prefix, name, self.manifest(name))

    def problem(self, name: str, thorough: bool = False) -> str | None:
        """Why a generation can't be served, or None. An unreachable Milvus raises
        StoreUnavailable instead: that is no fault of the generation."""
        bad = self.bad(name)
        if bad is not None:
            return bad
        try:
            self.open(name).verify(thorough)
        except StoreUnavailable:
            raise
        except IndexNotReady as error:
            return str(error)
        return None

    def bad(self, name: str) -> str | None:
        body = self._meta_rows().get(name)
        return (body.get("bad") or None) if body is not None else None

    def mark_bad(self, name: str, reason: str) -> None:
        log.error("index generation %s marked bad: %s", name, reason)
        body = self._meta_rows().get(name)
        if body is not None:
            self._write_meta(name, {**body, "bad": reason})

    # --- writing ------------------------------------------------------------------------
    def begin(self, base: str | None, dimension: int) -> MilvusStaging:
        """New collections for the next generation, filled from `base` if given."""
        number = max((schema.generation_number(n) for n in self._meta_rows()), default=0) + 1
        if base is None:
            return MilvusStaging(self.link, self.prefix, number, None, dimension)
        return MilvusStaging(self.link, self.prefix, number, schema.generation_number(base),
                             dimension, self.manifest(base))

    def publish(self, writer: IndexWriter) -> str:
        """Check the new generation, record it, then switch the alias to it: the one
        step readers see. One that fails raises IndexNotReady and is never live."""
        staging = staged(writer)
        try:  # opening counts the collections too: a missing one fails it, as verifying
            MilvusGeneration(self.link, self.prefix, staging.name, staging.manifest
                             ).verify(thorough=True)
        except IndexNotReady as error:
            raise IndexNotReady(f"the new generation failed verification, so it was not "
                                f"published: {error}") from None
        self._write_meta(staging.name, {"manifest": json.dumps(staging.manifest), "bad": ""})
        self.point_to(staging.name)
        return staging.name

    def discard(self, writer: IndexWriter) -> None:
        staging = staged(writer)
        with self.link.guard(f"{staging.name}: dropping") as client:
            for name in staging.collections.values():
                client.drop_collection(name)

    def point_to(self, name: str) -> None:
        target = schema.collection(self.prefix, schema.generation_number(name), "chunks")
        with self.link.guard(f"pointing {self.prefix} at {name}") as client:
            if self.prefix in client.list_aliases().get("aliases", []):
                client.alter_alias(target, self.prefix)
            else:
                client.create_alias(target, self.prefix)

    def prune(self, fallbacks: int = 1) -> list[str]:
        """Keep the live generation and the newest `fallbacks` others that verify; drop
        the rest, bad ones included, and collections a crashed build left."""
        current = self.current()
        keep = set(islice(good_generations(self, exclude=current), fallbacks)) | {current}
        removed = []
        with self.link.guard("pruning generations") as client:
            for name in set(self._meta_rows()) - keep:
                client.delete(self.meta, ids=[name])
                removed.append(name)
            for collection in client.list_collections():
                number = schema.number_of(collection, self.prefix)
                if number is not None and schema.generation_name(number) not in keep:
                    client.drop_collection(collection)
        return sorted(removed)
