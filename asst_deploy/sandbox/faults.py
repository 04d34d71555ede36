"""Fault injection and the request log: seeded, reproducible failures in the real shapes.

Configure with a `FaultConfig` (on `Sandbox.faults`, replaceable at any time)::

    FaultConfig(seed=7, rules=[
        FaultRule(method="POST", path="/vector_stores/*", rate_500=0.1, latency_ms=20),
        FaultRule(rate_429=0.05, retry_after=2),          # everything else
    ])

The first rule whose `method` and `path` globs (fnmatch, path after /v1) match a request
applies. Per matched request the seeded generator draws exactly one number that picks at
most one fault (429, 500, 503, dropped connection, commit-then-fail, in that order of the
cumulative rates), then one more for the jitter when `jitter_ms` is set: the same seed and
the same request sequence give the same faults. Concurrent requests draw in arrival order.

Every request, faulted or not, lands in `Sandbox.log` (a `RequestLog`) with its route
template, status, fault and duration, and in per-route counters.
"""

from __future__ import annotations

import asyncio
import fnmatch
import random
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asst_deploy.sandbox.apierrors import APIError

REQUEST_ID_KEY = "asst_deploy.request_id"

# Fault kinds, as they appear in the log, in the order the cumulative draw tests them.
RATE_LIMIT = "rate_limit"
SERVER_ERROR = "server_error"
UNAVAILABLE = "unavailable"
DROP = "drop"
COMMIT_THEN_FAIL = "commit_then_fail"
KINDS = (RATE_LIMIT, SERVER_ERROR, UNAVAILABLE, DROP, COMMIT_THEN_FAIL)


@dataclass
class FaultRule:
    method: str = "*"
    path: str = "*"
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    rate_429: float = 0.0
    retry_after: int = 1
    rate_500: float = 0.0
    rate_503: float = 0.0
    rate_drop: float = 0.0
    rate_commit_then_fail: float = 0.0

    def __post_init__(self) -> None:
        rates = self.rates()
        if any(not 0.0 <= r <= 1.0 for r in rates) or sum(rates) > 1.0 + 1e-9:
            raise ValueError(f"fault rates must be probabilities summing to at most 1: {rates}")

    def rates(self) -> tuple[float, ...]:
        return (
            self.rate_429,
            self.rate_500,
            self.rate_503,
            self.rate_drop,
            self.rate_commit_then_fail,
        )

    def matches(self, method: str, path: str) -> bool:
        return fnmatch.fnmatchcase(method.upper(), self.method.upper()) and fnmatch.fnmatchcase(
            path, self.path
        )


@dataclass
class FaultConfig:
    rules: list[FaultRule] = field(default_factory=list)
    seed: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultConfig:
        """From a rules file: {"seed": 1, "rules": [{"path": "/files*", "rate_500": 0.1}]}."""
        known = {f.name for f in fields(FaultRule)}
        rules = []
        for raw in data.get("rules", []):
            extra = set(raw) - known
            if extra:
                raise ValueError(f"unknown fault rule keys: {', '.join(sorted(extra))}")
            rules.append(FaultRule(**raw))
        return cls(rules=rules, seed=int(data.get("seed", 0)))

    def decide(self, method: str, path: str) -> Decision:
        """The fate of one request; consumes the generator only when a rule matches."""
        rule = next((r for r in self.rules if r.matches(method, path)), None)
        if rule is None:
            return Decision()
        with self._lock:
            draw = self._rng.random()
            jitter = self._rng.uniform(0, rule.jitter_ms) if rule.jitter_ms else 0.0
        kind = None
        edge = 0.0
        for name, rate in zip(KINDS, rule.rates(), strict=True):
            edge += rate
            if draw < edge:
                kind = name
                break
        return Decision(kind, (rule.latency_ms + jitter) / 1000, rule.retry_after)


@dataclass(frozen=True)
class Decision:
    fault: str | None = None
    delay: float = 0.0  # seconds
    retry_after: int = 1


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    route: str | None  # the matched template, "/v1/assistants/{assistant_id}"; None if none
    query: str
    status: int | None  # None when the connection was dropped
    fault: str | None
    duration_ms: float
    request_id: str
    content_type: str
    body: bytes | None  # the response body, only when RequestLog.capture_bodies


@dataclass
class RouteStats:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)


class RequestLog:
    """What the server answered, for tests and benchmarks (thread-safe).

    Keeps the last `max_entries` requests; the per-route counters cover every request
    since the last `clear()`. Route keys read "METHOD /v1/template".
    """

    def __init__(self, *, capture_bodies: bool = False, max_entries: int = 100_000) -> None:
        self.capture_bodies = capture_bodies
        self._entries: deque[LoggedRequest] = deque(maxlen=max_entries)
        self._routes: dict[str, RouteStats] = {}
        self._total = 0
        self._lock = threading.Lock()

    def record(self, entry: LoggedRequest) -> None:
        key = f"{entry.method} {entry.route or entry.path}"
        with self._lock:
            self._entries.append(entry)
            self._total += 1
            stats = self._routes.setdefault(key, RouteStats())
            stats.requests += 1
            if entry.status is not None:
                stats.statuses[entry.status] += 1
            if entry.fault is not None:
                stats.faults[entry.fault] += 1

    @property
    def total(self) -> int:
        """Requests recorded since the last clear (a position for `since`)."""
        return self._total

    def entries(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._entries)

    def since(self, position: int) -> list[LoggedRequest]:
        """Entries recorded after `total` was `position` (those still kept)."""
        with self._lock:
            new = self._total - position
            return list(self._entries)[-new:] if new > 0 else []

    def routes(self) -> dict[str, RouteStats]:
        with self._lock:
            return {
                k: RouteStats(v.requests, Counter(v.statuses), Counter(v.faults))
                for k, v in self._routes.items()
            }

    def faults(self) -> Counter[str]:
        with self._lock:
            return Counter(e.fault for e in self._entries if e.fault is not None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._routes.clear()
            self._total = 0


def fault_error(kind: str, request_id: str, retry_after: int = 1) -> APIError:
    """The body and headers the real service sends for a rate limit or a server failure."""
    if kind == RATE_LIMIT:
        return APIError(
            429,
            f"Rate limit reached for requests. Please try again in {retry_after}s. Visit "
            "https://platform.openai.com/account/rate-limits to learn more.",
            type="requests",
            code="rate_limit_exceeded",
            headers={
                "retry-after": str(retry_after),
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": f"{retry_after}s",
            },
        )
    if kind == UNAVAILABLE:
        return APIError(503, "The server is overloaded or not ready yet.", type="server_error")
    return APIError(
        500,
        "The server had an error processing your request. Sorry about that! You can retry "
        "your request, or contact us through our help center at help.openai.com if you keep "
        f"seeing this error. (Please include the request ID {request_id} in your email.)",
        type="server_error",
    )


async def send_error(error: APIError, scope: Scope, receive: Receive, send: Send) -> None:
    await JSONResponse(error.body(), status_code=error.status, headers=error.headers)(
        scope, receive, send
    )


def _route_of(scope: Scope) -> str | None:
    """The route template a request matches, also when a fault kept it from the router."""
    app = scope.get("app")
    return _match(app.router.routes, scope) if app is not None else None


def _match(routes: list[BaseRoute], scope: Scope) -> str | None:
    for route in routes:
        found, child = route.matches(scope)
        if found is not Match.FULL:
            continue
        if isinstance(route, Mount):
            return _match(route.routes, {**scope, **child})
        path = getattr(route, "path", None)
        return str(scope.get("root_path", "")) + path if isinstance(path, str) else None
    return None


class Faulted(Protocol):
    """What of the sandbox (asst_deploy.sandbox.app.Sandbox) the fault injector reads."""

    faults: FaultConfig
    log: RequestLog


class FaultMiddleware:
    """Applies `Sandbox.faults` and records every request in `Sandbox.log`."""

    def __init__(self, app: ASGIApp, sandbox: Faulted) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method, path = scope["method"], scope["path"]
        decision = self.sandbox.faults.decide(method, path.removeprefix("/v1"))
        kind = decision.fault
        log = self.sandbox.log
        seen: dict[str, Any] = {"status": None, "type": "", "body": [], "logged": False}
        request_id = scope.get(REQUEST_ID_KEY, "")

        def finish() -> None:
            # Logged before the last byte leaves, so a client that got its answer always
            # finds the request in the log.
            if seen["logged"]:
                return
            seen["logged"] = True
            log.record(
                LoggedRequest(
                    method=method,
                    path=path,
                    route=_route_of(scope),
                    query=scope.get("query_string", b"").decode("latin-1"),
                    status=None if kind == DROP else seen["status"],
                    fault=kind,
                    duration_ms=(time.perf_counter() - started) * 1000,
                    request_id=request_id,
                    content_type=seen["type"],
                    body=b"".join(seen["body"]) if log.capture_bodies else None,
                )
            )

        async def observe(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                headers = dict(message.get("headers", []))
                seen["type"] = headers.get(b"content-type", b"").decode("latin-1")
            elif message["type"] == "http.response.body":
                if log.capture_bodies:
                    seen["body"].append(message.get("body", b""))
                if not message.get("more_body", False):
                    finish()
            await send(message)

        async def discard(message: Message) -> None:
            return None

        if decision.delay:
            await asyncio.sleep(decision.delay)
        try:
            if kind == DROP:
                finish()
                # ASGI cannot close a socket unanswered: announce a body, send none, and
                # return; the server then closes the connection mid-response.
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [(b"content-length", b"1")],
                    }
                )
            elif kind == COMMIT_THEN_FAIL:
                await self.app(scope, receive, discard)
                await send_error(fault_error(SERVER_ERROR, request_id), scope, receive, observe)
            elif kind is not None:
                error = fault_error(kind, request_id, decision.retry_after)
                await send_error(error, scope, receive, observe)
            else:
                await self.app(scope, receive, observe)
        except Exception:
            seen["status"] = seen["status"] or 500  # the outer layer answers the real 500
            raise
        finally:
            finish()
