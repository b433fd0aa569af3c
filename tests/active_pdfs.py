"""PDFs that carry active content (issue 23): JavaScript and launch actions in the places
a viewer looks for them, written as raw bytes so the tests control every object. Each
helper writes a file and returns its path; the text is ordinary, so the file indexes."""

from __future__ import annotations

from pathlib import Path

ALERT = b"<< /S /JavaScript /JS (app.alert\\('plansearch-active-content'\\);) >>"
LAUNCH = b"<< /S /Launch /F (calc.exe) >>"
PARAGRAPHS = [
    "The community diagnostic centre in Westbury will open seven days a week from April.",
    "Patients waiting for a scan will be offered an appointment within six weeks of referral.",
    "The centre is run by the acute trust with the three primary care networks of the town.",
]


def write_raw_pdf(path: Path, objects: list[bytes]) -> Path:
    """A PDF of these objects, numbered from 1 (the first is the catalog), with its xref."""
    body, offsets = b"%PDF-1.4\n", []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + content + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    path.write_bytes(body)
    return path


def _content_stream() -> bytes:
    lines = [b"BT /F1 11 Tf 56 780 Td 14 TL"]
    for paragraph in PARAGRAPHS:
        lines.append(b"(%s) Tj T*" % paragraph.encode("latin-1"))
    lines.append(b"ET")
    text = b"\n".join(lines)
    return b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream"


def write_pdf(path: Path, catalog_extra: bytes = b"", page_extra: bytes = b"",
              extra_objects: tuple[bytes, ...] = ()) -> Path:
    """A one-page text PDF; `catalog_extra` and `page_extra` go inside those dictionaries,
    and `extra_objects` are numbered from 6 on."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> " + page_extra + b" >>",
        _content_stream(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        *extra_objects,
    ]
    return write_raw_pdf(path, objects)


def make_open_action_js_pdf(path: Path) -> Path:
    """The issue's file: an OpenAction that runs `app.alert` when the PDF is opened."""
    return write_pdf(path, catalog_extra=b"/OpenAction " + ALERT)


def make_named_js_pdf(path: Path) -> Path:
    """Document-level JavaScript in the /Names tree, run by viewers on open."""
    return write_pdf(path, catalog_extra=b"/Names << /JavaScript 6 0 R >>",
                     extra_objects=(b"<< /Names [(opener) " + ALERT + b"] >>",))


def make_launch_link_pdf(path: Path) -> Path:
    """A link annotation whose action launches a program, reached through an indirect
    /Next after a harmless URI action."""
    return write_pdf(path, page_extra=b"/Annots [6 0 R]", extra_objects=(
        b"<< /Type /Annot /Subtype /Link /Rect [56 700 300 720] "
        b"/A << /S /URI /URI (https://www.england.nhs.uk/) /Next 7 0 R >> >>",
        LAUNCH,
    ))


def make_page_aa_js_pdf(path: Path) -> Path:
    """A page's additional action (on open) that runs JavaScript."""
    return write_pdf(path, page_extra=b"/AA << /O " + ALERT + b" >>")


def make_plain_pdf(path: Path) -> Path:
    """The same text with no actions at all."""
    return write_pdf(path)
