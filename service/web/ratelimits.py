"""Rate-limit plumbing for an intranet service: one count across gunicorn's worker
processes (a SQLite counter file, registered with `limits` as the `sqlite://` storage),
X-Forwarded-For honoured only from trusted proxies, and the client identity a limit is
counted against (an API key when one is sent, else the client address)."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

from service.store.ratelimits import SqliteStorage  # noqa: F401 (registers sqlite://)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
def parse_networks(text: str) -> tuple[Network, ...]:
    """'10.0.0.1, 10.0.1.0/24, ::1' -> networks; 'none' or '' -> none; a bad entry names
    itself."""
    networks = []
    if text.strip().lower() == "none":  # an empty environment variable means the default
        return ()
    for entry in (part.strip() for part in text.split(",")):
        if entry:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
    return tuple(networks)


def address_in(address: str | None, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in networks)


class TrustedProxyFix:
    """werkzeug's ProxyFix, applied only when the peer is one of our proxies: anyone else
    could write any X-Forwarded-For and get a fresh rate-limit budget each time."""

    def __init__(self, app: Callable[..., Any], proxies: tuple[Network, ...]) -> None:
        self.app, self.proxies = app, proxies
        # the address our proxy appended (the last one), and the scheme and host it was
        # reached by: session cookies are Secure and sign-in callbacks https behind TLS
        self.fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=1)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if address_in(environ.get("REMOTE_ADDR"), self.proxies):
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)


def key_identity(token: str) -> str:
    """A rate-limit key for an API key that doesn't store the key itself."""
    return "key:" + hashlib.sha256(token.encode()).hexdigest()[:24]
