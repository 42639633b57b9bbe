"""Prometheus metrics, one registry per app so several apps can live in one process (tests, bench). Under
`serve --workers N` every worker writes its values to files in a shared folder (prometheus_client's
multiprocess mode, `PROMETHEUS_MULTIPROC_DIR`), and /metrics, whichever worker answers it, sums them all."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Every label value comes from a fixed set: a client choosing the method name or the path must not be able to
# grow /metrics (one series per distinct value, before authentication).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
STATUSES = frozenset({200, 201, 204, 304, 400, 401, 403, 404, 405, 409, 413, 415, 422, 500, 503, 504})


@dataclass
class Metrics:
    """The counters and histograms the service exports at /metrics."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        ProcessCollector(registry=r)
        self.requests = Counter(
            "qa_http_requests", "HTTP requests by route", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "qa_http_request_duration_seconds", "HTTP request latency by route", ["method", "route"],
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self.asks = Counter("qa_ask", "Questions answered, by outcome", ["endpoint", "found"], registry=r)
        self.searches = Counter("qa_search", "Searches run", registry=r)
        self.engine_latency = Histogram(
            "qa_engine_call_duration_seconds", "Engine call latency (in the threadpool)", ["op"],
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self.uploads = Counter("qa_documents_uploaded", "Documents uploaded, by outcome", ["ok"], registry=r)

    def render(self) -> tuple[bytes, str]:
        """Return (exposition text, content type) for the /metrics endpoint: every worker's values summed when
        several share a metrics folder (per-process CPU and memory are then left out)."""
        if os.environ.get(MULTIPROCESS_DIR_ENV):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # unannotated upstream
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Counts requests and times them per route template (never per raw path, to bound label cardinality)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()
        observed = False

        async def send_with_status(message: Message) -> None:
            nonlocal status, observed
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                # counted before the client can read the end of the response: a client that then asks
                # /metrics (of any worker) finds its request counted
                observed = True
                self._observe(scope, status, time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            if not observed:  # no complete response: an error, or a client that went away
                self._observe(scope, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        """Record one finished request."""
        route = route_label(scope)
        method = method_label(scope)
        self.metrics.requests.labels(method, route, status_label(status)).inc()
        self.metrics.latency.labels(method, route).observe(seconds)


def method_label(scope: Scope) -> str:
    """Return the request method, or `other` for anything but the standard ones."""
    method = scope.get("method")
    return method if method in METHODS else "other"


def status_label(status: int) -> str:
    """Return the status code, or its class (`5xx`) for a code outside the ones this service answers with."""
    return str(status) if status in STATUSES else f"{status // 100}xx"


def route_label(scope: Scope) -> str:
    """Return the matched route's path template, e.g. `/v1/documents/{doc_id}`, or `unmatched`."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    raw = str(scope.get("path", ""))
    return "/static" if raw.startswith("/static/") else "unmatched"
