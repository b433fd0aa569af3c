"""The Milvus store's question log: one collection, `<prefix>_questions`, of small JSON
records (see schema.create_small) beside the generations' collections, so publishing
and pruning never touch it."""

from __future__ import annotations

import threading
from typing import Any

from pymilvus import MilvusException

from service.store.milvus import schema
from service.store.milvus.connection import Link
from service.store.milvus.reader import query_all
from service.store.question_log import LoggedEntry, QuestionLogUnavailable
from service.store.records import IndexNotReady

_creating = threading.Lock()


class MilvusQuestionLog:
    def __init__(self, link: Link, prefix: str) -> None:
        self.link = link
        self.collection = f"{prefix}_questions"

    def _rows(self, client: Any) -> list[dict[str, Any]]:
        client.load_collection(self.collection)
        return query_all(client, self.collection, 'key != ""', ["key", "body"],
                         consistency_level="Strong")

    def add(self, entry: LoggedEntry) -> None:
        try:
            with self.link.guard("recording a question") as client:
                self._ensure(client)
                client.insert(self.collection, [schema.small_row(
                    entry.id, entry.kind, entry.to_dict(), schema.clip(entry.question))])
        except IndexNotReady as error:  # unreachable, or a failed call
            raise QuestionLogUnavailable(f"the question log cannot be written: {error}"
                                         ) from error

    def _ensure(self, client: Any) -> None:
        """The collection, created by the first writer; another thread or process may be
        creating it at the same moment."""
        if not client.has_collection(self.collection):
            with _creating:
                try:
                    if not client.has_collection(self.collection):
                        schema.create_small(client, self.collection,
                                            self.link.waits_for_indexes)
                except MilvusException:
                    if not client.has_collection(self.collection):
                        raise
        client.load_collection(self.collection)

    def entries(self, since: str) -> list[LoggedEntry]:
        try:
            with self.link.guard("reading the question log") as client:
                if not client.has_collection(self.collection):
                    return []
                rows = self._rows(client)
        except IndexNotReady as error:  # unreachable, or a failed call
            raise QuestionLogUnavailable(f"the question log cannot be read: {error}"
                                         ) from error
        found = [LoggedEntry.from_dict(row["body"]) for row in rows
                 if row["body"]["at"] >= since]
        return sorted(found, key=lambda entry: (entry.at, entry.id))

    def purge(self, before: str) -> int:
        try:
            with self.link.guard("purging the question log") as client:
                if not client.has_collection(self.collection):
                    return 0
                old = [row["key"] for row in self._rows(client) if row["body"]["at"] < before]
                if old:
                    client.delete(self.collection, ids=old)
        except IndexNotReady as error:  # unreachable, or a failed call
            raise QuestionLogUnavailable(f"the question log cannot be purged: {error}"
                                         ) from error
        return len(old)
