"""Plansearch: question-answering search over NHS health-and-care plans."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The Flask app factory (imported lazily so the core never pulls in Flask)."""
    from service.web.app import create_app as factory

    return factory(config)
