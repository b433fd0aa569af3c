"""The one access model (issue #23): which mode the server runs in and what each
endpoint needs. Every Flask endpoint is in ACCESS; the before_request hook in
`service.web.signin` enforces it and refuses an endpoint that is missing (fail closed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.web.versions import v1_endpoints

OPEN, KEYS, SSO = "open", "keys", "sso"
MODES = (OPEN, KEYS, SSO)
PUBLIC, READ, ADMIN = "public", "read", "admin"

# "read": anything that returns document content or metadata (titles, areas, text, files).
# "admin": the admin bearer token, in every mode; it is never a read key, though it also
# opens the read endpoints.
ACCESS: dict[str, str] = {
    "static": PUBLIC,  # the page's own CSS, scripts and pdf.js: no document content
    "api.health": PUBLIC,  # counts and the generation's name, never a title
    "api.openapi": PUBLIC,
    "signin.sign_in": PUBLIC,
    "signin.sign_in_form": PUBLIC,
    "signin.sign_out": PUBLIC,
    "sso.start": PUBLIC,
    "sso.callback": PUBLIC,
    "admin.admin_page": PUBLIC,  # a static shell: everything it shows needs the admin token
    "web.index": READ,  # lists every title and area
    "library.library_page": READ,  # every title, area and date
    "web.reading_view": READ,
    "web.document_file": READ,
    "web.pdf_page_view": READ,
    "api.search": READ,
    "api.chat": READ,
    "api.documents": READ,
    "api.document": READ,
    "api.compare": READ,
    "api.search_csv": READ,
    "api.feedback": READ,  # stores feedback; never returns any
    "api.documents_feed": READ,  # titles and areas, as /api/documents
    "admin_api.upload": ADMIN,
    "admin_api.delete_document": ADMIN,
    "admin_api.reindex": ADMIN,
    "admin_api.jobs": ADMIN,
    "admin_api.job": ADMIN,
    "admin_api.cancel_job": ADMIN,
    "admin_api.insights": ADMIN,  # what staff asked: never for read keys
    "admin_api.insights_csv": ADMIN,
}
ACCESS.update(v1_endpoints(ACCESS))  # /api/v1/... needs exactly what /api/... needs


def split_list(text: Any) -> list[str]:
    """'a, b,,c' -> ['a', 'b', 'c']."""
    return [part.strip() for part in str(text or "").split(",") if part.strip()]


def access_mode(config: Mapping[str, Any]) -> str:
    """The configured mode, or a ValueError naming what is missing for it to work."""
    mode = str(config.get("ACCESS") or "").strip().lower()
    keys = split_list(config.get("API_KEYS"))
    if not mode:
        mode = KEYS if keys else OPEN
    if mode not in MODES:
        raise ValueError(f"PLANSEARCH_ACCESS={mode!r} must be one of: {', '.join(MODES)}")
    if mode == KEYS and not keys:
        raise ValueError("PLANSEARCH_ACCESS=keys needs PLANSEARCH_API_KEYS: nobody could "
                         "sign in")
    if mode == SSO:
        missing = [f"PLANSEARCH_{name}" for name in ("SSO_ISSUER", "SSO_CLIENT_ID",
                                                      "SSO_CLIENT_SECRET")
                   if not str(config.get(name) or "").strip()]
        if missing:
            raise ValueError(f"PLANSEARCH_ACCESS=sso needs {', '.join(missing)}")
        if not split_list(config.get("SSO_DOMAINS")) and not split_list(config.get("SSO_GROUPS")):
            raise ValueError("PLANSEARCH_ACCESS=sso needs PLANSEARCH_SSO_DOMAINS or "
                             "PLANSEARCH_SSO_GROUPS: who may read?")
    return mode
