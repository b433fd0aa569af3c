"""Lines that web pages leave behind when saved as text: share buttons, ad labels,
breadcrumb trails and empty date stamps. They carry no content and would otherwise
become headings or one-line chunks."""

from __future__ import annotations

import re

WIDGET_LINES = re.compile(
    r"^(?:pin it|hide ad|advertisement|share|share this(?: page| article| story)?|"
    r"share on (?:facebook|twitter|x|linkedin|whatsapp)|tweet|email|print|"
    r"print this page|like|follow us|back to top|skip to (?:main )?content|"
    r"facebook|twitter|linkedin|whatsapp|(?:posted )?on\s*\.|by\s*\.|"
    r"(?:share|tweet|email|print|facebook|twitter|linkedin|whatsapp)"
    r"(?:\s*[|/•·]\s*(?:share|tweet|email|print|facebook|twitter|linkedin|whatsapp))+)$",
    re.IGNORECASE)
# "Home > Case Study > Working with ...", "You are here: Home / News"
BREADCRUMB = re.compile(r"^(?:you are here:?\s*)?home\s*[>»›/|]\s*\S", re.IGNORECASE)


def is_boilerplate(line: str) -> bool:
    """True for a whole line that is page furniture rather than content."""
    text = " ".join(line.split())
    return bool(text) and (WIDGET_LINES.match(text) is not None
                           or BREADCRUMB.match(text) is not None)
