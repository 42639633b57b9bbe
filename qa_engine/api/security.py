"""Who may talk to the server, checked before any route: the Host header (against DNS rebinding), writes only
from the server's own pages (against cross-site requests to a keyless local server), and the usual security
headers on every response.

A web page the user opens elsewhere can send requests to `http://127.0.0.1:8000` (a form post needs no CORS),
and a DNS-rebinding page can even read the answers under its own host name. The first carries a foreign
`Origin`, the second a foreign `Host`: both are refused unless the settings allow them.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa_engine.api.errors import error_response
from qa_engine.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::", "[::]"})
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
# The chat page loads only its own files; Swagger UI and ReDoc (/docs, /redoc) load theirs from a CDN.
PAGE_CSP = (b"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
            b"frame-ancestors 'none'; form-action 'self'")
CDN_PAGES = ("/docs", "/redoc")


def is_loopback(host: str) -> bool:
    """Return True when binding `host` keeps the server reachable from this machine only."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(settings: Settings) -> str | None:
    """Return the warning to print when the server is reachable from other machines without an API key."""
    if settings.api_key or is_loopback(settings.host):
        return None
    return (f"warning: serving on {settings.host} without an API key: anyone who can reach this port can ask, "
            "upload and delete documents. Set QA_API_KEY, and QA_ALLOWED_HOSTS to the names clients use.")


def host_name(host: str) -> str:
    """Return the name part of a Host header (`[::1]:8000` → `::1`, `Example.com.:80` → `example.com`)."""
    host = host.strip().lower()
    if host.startswith("["):
        name = host[1 : host.find("]")] if "]" in host else host[1:]
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return name.rstrip(".")


def served_hosts(settings: Settings) -> frozenset[str]:
    """Return the host names this server answers to: `allowed_hosts` plus a specific bind address."""
    hosts = {host_name(h) if h != "*" else "*" for h in settings.allowed_hosts}
    if settings.host not in WILDCARD_BINDS:
        hosts.add(host_name(settings.host if ":" not in settings.host else f"[{settings.host.strip('[]')}]"))
    return frozenset(hosts)


class SecurityMiddleware:
    """Answers 400 for a Host it does not serve and 403 for a cross-origin write; adds security headers."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.hosts = served_hosts(settings)
        self.origins = frozenset(o.rstrip("/").lower() for o in settings.allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = with_security_headers(send, str(scope.get("path", "")))
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope.get("headers", [])}
        host = headers.get("host")
        if host is not None and not self.serves(host):
            message = f"Host {host[:100]!r} is not served here: add it to QA_ALLOWED_HOSTS"
            await error_response(400, "bad_host", message)(scope, receive, send)
            return
        if scope.get("method") not in SAFE_METHODS and self.cross_origin(headers, host):
            message = ("a write from another origin's page is refused: "
                       "add that origin to QA_ALLOWED_ORIGINS if it is yours")
            await error_response(403, "cross_origin", message)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def serves(self, host: str) -> bool:
        """Return True when the Host header names this server."""
        if "*" in self.hosts:
            return True
        name = host_name(host)
        return name in self.hosts or any(h.startswith("*.") and name.endswith(h[1:]) for h in self.hosts)

    def cross_origin(self, headers: dict[str, str], host: str | None) -> bool:
        """Return True when a browser sent this request from a page of another origin."""
        origin = headers.get("origin")
        if origin is None:  # not a browser, or an old one: Sec-Fetch-Site still tells a foreign page
            return headers.get("sec-fetch-site", "same-origin") in {"cross-site", "same-site"}
        origin = origin.strip().rstrip("/").lower()
        if origin in self.origins:
            return False
        netloc = urlsplit(origin).netloc if "://" in origin else ""
        return origin == "null" or not netloc or host is None or netloc != host.strip().lower()


def with_security_headers(send: Send, path: str) -> Send:
    """Return a send that adds the security headers (and the page CSP) to the response start."""
    extra = list(SECURITY_HEADERS)
    if not path.startswith(CDN_PAGES):
        extra.append((b"content-security-policy", PAGE_CSP))

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {name.lower() for name, _ in message.get("headers", [])}
            message = {**message, "headers": [*message.get("headers", []),
                                              *((n, v) for n, v in extra if n not in present)]}
        await send(message)

    return send_with_headers
