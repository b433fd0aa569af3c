"""The Atom feed of newly indexed documents (`GET /api/documents/feed.atom`), newest
first, optionally only one area's or one kind's: what a feed reader, or an email alert
built on one, follows to hear when a new plan lands."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from urllib.parse import urlencode
from xml.etree import ElementTree

from service.store import DocumentRecord
from service.web.errors import ApiError
from service.web.renames import OLD, kind_name

ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50  # entries: the newest documents
MAX_FILTER = 200  # characters in an area or type filter
FILTERS = ("area", "type")
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def feed_filters(args: Mapping[str, str]) -> dict[str, str]:
    """The area and kind asked for (`kind` on /api/v1, `type` unversioned), keyed area
    and type; a 400 names anything else."""
    names = {name: kind_name() if name == OLD else name for name in FILTERS}
    unknown = sorted(set(args) - set(names.values()))
    if unknown:
        raise ApiError(400, f"unknown parameter {unknown[0]!r}; the feed takes area and "
                            f"{kind_name()}", "invalid_parameter")
    chosen = {key: args[name].strip() for key, name in names.items()
              if args.get(name, "").strip()}
    for key, value in chosen.items():
        if len(value) > MAX_FILTER:
            raise ApiError(400, f"{names[key]} must be at most {MAX_FILTER} characters",
                           "invalid_parameter")
    return chosen


def matches(document: DocumentRecord, filters: Mapping[str, str]) -> bool:
    given = {"area": document.area, "type": document.doc_type}
    return all((given[name] or "").casefold() == value.casefold()
               for name, value in filters.items())


def rfc3339(stamp: str | None) -> str | None:
    """An ISO date or time as Atom's date-time, in UTC; None when it is neither."""
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def atom_feed(documents: Iterable[DocumentRecord], filters: Mapping[str, str],
              root_url: str) -> bytes:
    """The feed document, as UTF-8 bytes. `root_url` ends in a slash."""
    chosen = sorted((d for d in documents if matches(d, filters)),
                    key=lambda d: d.indexed_at, reverse=True)[:FEED_SIZE]
    query = f"?{urlencode(filters)}" if filters else ""
    self_url = f"{root_url}api/documents/feed.atom{query}"
    feed = ElementTree.Element("feed", xmlns=ATOM)
    text(feed, "id", self_url)
    text(feed, "title", "Plansearch: newly indexed documents" + "".join(
        f", {name} {value}" for name, value in filters.items()))
    text(feed, "updated", rfc3339(chosen[0].indexed_at) if chosen else
         datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    ElementTree.SubElement(feed, "author").append(element("name", "Plansearch"))
    ElementTree.SubElement(feed, "link", rel="self", href=self_url,
                           type="application/atom+xml")
    ElementTree.SubElement(feed, "link", rel="alternate", href=root_url, type="text/html")
    for document in chosen:
        feed.append(entry(document, root_url))
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(
        feed, encoding="unicode").encode()


def entry(document: DocumentRecord, root_url: str) -> ElementTree.Element:
    page = f"{root_url}documents/{document.id}"
    item = ElementTree.Element("entry")
    text(item, "id", f"{page}#sha256-{document.sha256}")  # a new version is a new entry
    text(item, "title", document.title)
    text(item, "updated", rfc3339(document.indexed_at) or "1970-01-01T00:00:00Z")
    published = rfc3339(document.published)
    if published:
        text(item, "published", published)
    ElementTree.SubElement(item, "link", rel="alternate", href=page, type="text/html")
    if document.source_url and document.source_url.lower().startswith(("http://", "https://")):
        ElementTree.SubElement(item, "link", rel="related", href=document.source_url)
    if document.publisher:
        ElementTree.SubElement(item, "author").append(element("name", document.publisher))
    for scheme, term in (("area", document.area), ("type", document.doc_type)):
        if term:
            ElementTree.SubElement(item, "category", term=term, label=term,
                                   scheme=f"{root_url}api/documents/feed.atom#{scheme}")
    facts = [document.area, document.publisher, document.doc_type,
             f"{document.pages} page{'s' if document.pages != 1 else ''}", document.path]
    text(item, "summary", " · ".join(fact for fact in facts if fact))
    return item


def element(tag: str, value: str) -> ElementTree.Element:
    node = ElementTree.Element(tag)
    node.text = NOT_XML.sub("", value)  # a PDF's title may hold a form feed
    return node


def text(parent: ElementTree.Element, tag: str, value: str | None) -> None:
    if value is not None:
        parent.append(element(tag, value))
