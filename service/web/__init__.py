"""The thin HTTP layer: the app factory, the JSON API (`api`), the admin endpoints
(`admin`), the HTML pages (`pages`), one error shape (`errors`) and the OpenAPI spec.
It calls down into retrieval (questions) and indexing (uploads), never the reverse."""

from service.web.app import create_app

__all__ = ["create_app"]
