"""Answering a question from the index: candidates (dense and keyword), fusion, passages
with their attribution, chat follow-ups and the extractive answer, and the `LiveIndex`
that follows the published generation. Reads the index only through the store."""

from service.retrieval.live import LiveIndex
from service.retrieval.options import DEFAULT_MODE, MODES, Filters, InvalidQuery, SearchOptions
from service.retrieval.results import DocumentRef, Hit, SearchResult
from service.retrieval.search import Searcher

__all__ = ["DEFAULT_MODE", "MODES", "DocumentRef", "Filters", "Hit", "InvalidQuery",
           "LiveIndex", "SearchOptions", "SearchResult", "Searcher"]
