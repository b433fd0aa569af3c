"""The Milvus backend of the store interface: Milvus Lite (a local folder), a
standalone server or a cluster, through the same pymilvus calls. `MilvusStore` is its
public face; `schema` documents the collections."""

from service.store.milvus.store import MilvusStore

__all__ = ["MilvusStore"]
