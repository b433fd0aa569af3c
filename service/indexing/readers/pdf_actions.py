"""Active content in a PDF: JavaScript and launch actions, wherever a viewer would run
them (issue 23). The file is still indexed; the build report and the document's record
say what it carries, so an operator can see which uploads try to run code.

The check reads only the object graph pdfminer has already parsed (no content
streams), visits each object at most once and stops after MAX_OBJECTS, so a file made
to be expensive costs a bounded walk. It runs inside the parsing sandbox with the rest
of the PDF reader."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pdfminer.pdfexceptions import PDFException
from pdfminer.pdftypes import PDFObjRef, resolve1
from pdfminer.psexceptions import PSException

# what each action type is called in the record and the build report
ACTION_KINDS = {"JavaScript": "javascript", "Launch": "launch"}
KIND_NAMES = {"javascript": "JavaScript", "launch": "a launch action"}
MAX_OBJECTS = 20_000  # dictionaries and arrays visited in one file, all places together
MAX_FIELD_DEPTH = 32  # form fields nest through /Kids; a cycle or a deep tree stops here
# a damaged or hostile object graph surfaces as these while it is resolved
DAMAGED = (PSException, PDFException, TypeError, ValueError, KeyError, AttributeError)


def name_of(value: Any) -> str | None:
    """A PDF name (pdfminer's PSLiteral) as text."""
    value = resolve1(value)
    name = getattr(value, "name", value)
    if isinstance(name, bytes):
        return name.decode("latin-1")
    return name if isinstance(name, str) else None


class ActionScan:
    """One file's walk: the kinds found, where each was first found, and a budget."""

    def __init__(self, max_objects: int = MAX_OBJECTS) -> None:
        self.found: dict[str, str] = {}  # kind -> the place it was first found
        self.left = max_objects
        self.seen: set[int] = set()  # object ids already visited: no cycles, no repeats

    def visit(self, value: Any) -> Any | None:
        """The value resolved, or None when it was seen before or the budget is spent."""
        if self.left <= 0:
            return None
        if isinstance(value, PDFObjRef):
            if value.objid in self.seen:
                return None
            self.seen.add(value.objid)
        self.left -= 1
        return resolve1(value)

    def actions(self, value: Any, place: str) -> None:
        """An action, or an array of them, with every /Next action after it."""
        pending = [value]
        while pending:
            action = self.visit(pending.pop())
            if isinstance(action, list):
                pending.extend(action)
            elif isinstance(action, dict):
                kind = ACTION_KINDS.get(name_of(action.get("S")) or "")
                if kind is not None:
                    self.found.setdefault(kind, place)
                if "Next" in action:
                    pending.append(action["Next"])

    def triggers(self, value: Any, place: str) -> None:
        """An additional-actions (/AA) dictionary: one action per trigger event."""
        triggers = self.visit(value)
        if isinstance(triggers, dict):
            for action in triggers.values():
                self.actions(action, place)

    def annotated(self, owner: Any, place: str) -> None:
        """An annotation's or form field's own action and additional actions."""
        if isinstance(owner, dict):
            if "A" in owner:
                self.actions(owner["A"], place)
            if "AA" in owner:
                self.triggers(owner["AA"], place)


def scan_catalog(scan: ActionScan, catalog: dict[str, Any]) -> None:
    names = scan.visit(catalog.get("Names"))
    if isinstance(names, dict) and "JavaScript" in names:
        scan.found.setdefault("javascript", "document-level scripts (/Names)")
    opening = scan.visit(catalog.get("OpenAction"))
    if isinstance(opening, dict):  # an array is a destination to show, not an action
        scan.actions(opening, "the action run on opening (/OpenAction)")
    if "AA" in catalog:
        scan.triggers(catalog["AA"], "the document's additional actions (/AA)")
    form = scan.visit(catalog.get("AcroForm"))
    if isinstance(form, dict):
        scan_fields(scan, form.get("Fields"))


def scan_fields(scan: ActionScan, fields: Any) -> None:
    pending: list[tuple[Any, int]] = [(fields, 0)]
    while pending:
        value, depth = pending.pop()
        item = scan.visit(value)
        if isinstance(item, list) and depth < MAX_FIELD_DEPTH:
            pending.extend((kid, depth + 1) for kid in item)
        elif isinstance(item, dict):
            scan.annotated(item, "a form field")
            if "Kids" in item and depth < MAX_FIELD_DEPTH:
                pending.append((item["Kids"], depth + 1))


def scan_pages(scan: ActionScan, pages: Iterable[tuple[int, dict[str, Any]]]) -> None:
    for number, attrs in pages:
        if "AA" in attrs:
            scan.triggers(attrs["AA"], f"page {number}'s additional actions (/AA)")
        annotations = scan.visit(attrs.get("Annots"))
        if isinstance(annotations, list):
            for annotation in annotations:
                scan.annotated(scan.visit(annotation), f"an annotation on page {number}")


def active_content(pdf: Any, max_objects: int = MAX_OBJECTS) -> dict[str, str]:
    """Kinds of active content in an open pdfplumber PDF ('javascript', 'launch'), each
    with the first place it was found; empty for a file that runs nothing."""
    scan = ActionScan(max_objects)
    try:
        scan_catalog(scan, pdf.doc.catalog)
        scan_pages(scan, page_attributes(pdf))
    except DAMAGED:
        pass  # a damaged object graph: what was found before it still counts
    return dict(sorted(scan.found.items()))


def page_attributes(pdf: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, page in enumerate(pdf.pages, start=1):
        yield number, page.page_obj.attrs


def active_content_warning(found: dict[str, str]) -> str:
    """The document's warning: what it carries and where, and that it was indexed."""
    parts = [f"{KIND_NAMES[kind]} in {place}" for kind, place in found.items()]
    return ("active content: the PDF carries " + "; ".join(parts) + ". Its text is indexed; "
            "the file is only offered as a download and the page view runs no scripts")
