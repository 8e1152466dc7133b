"""A fixture server for spider tests: canned responses per route on 127.0.0.1, every request kept.

Routes map a path (optionally with its query string, optionally with a method) to a response
`(status, content_type, body)` (optionally with a fourth item, a dict of extra headers), to a
`Fault` (a slow, truncated or reset answer), or to a callable that builds either from the
recorded request, so paging (skip/offset in the query, an offset in a POST body) can be served
from fixture files. Lookup tries, most specific first: (method, path?query), path?query,
(method, path), path. Query strings are compared as sorted parameters, so their order in a URL
does not matter. `robots` replaces the default robots.txt (which allows everything).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

FIXTURES = Path(__file__).resolve().parent / "fixtures"

Reply = tuple[int, str, bytes] | tuple[int, str, bytes, dict[str, str]]


@dataclass
class Fault:
    """A misbehaving answer.

    slow: wait `delay` seconds, then send `reply`. truncated: promise the whole body
    (Content-Length) but send only `cut` bytes of it and close. reset: send the headers and
    `cut` bytes, then reset the connection (TCP RST).
    """

    kind: str
    reply: Reply = (200, "application/json", b"{}")
    delay: float = 0.0
    cut: int = 20


@dataclass
class Seen:
    """One request the board received."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    """Header names lower-cased; a repeated header keeps its last value."""
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)
    """The query string's parameters (last value wins)."""
    at: float = 0.0
    """When it arrived (time.monotonic())."""

    def json(self) -> Any:
        """The request body parsed as JSON (a Workday list POST, for instance)."""
        return json.loads(self.body or b"null")


Answer = Reply | Fault
Route = Answer | Callable[[Seen], Answer]


def fixture(*parts: str) -> bytes:
    """The bytes of a file under tests/fixtures."""
    return FIXTURES.joinpath(*parts).read_bytes()


def json_reply(body: Any, status: int = 200) -> Reply:
    """A JSON response from a Python value."""
    return status, "application/json; charset=utf-8", json.dumps(body).encode()


def file_reply(*parts: str, content_type: str = "application/json; charset=utf-8",
               status: int = 200) -> Reply:
    """A response whose body is a fixture file."""
    return status, content_type, fixture(*parts)


def sequence(*answers: Answer) -> Callable[[Seen], Answer]:
    """A route answering with each of `answers` in turn, then the last one for ever."""
    remaining = list(answers)
    lock = threading.Lock()

    def answer(request: Seen) -> Answer:
        with lock:
            return remaining.pop(0) if len(remaining) > 1 else remaining[0]

    return answer


def conditional(reply: Reply, etag: str | None = None,
                last_modified: str | None = None) -> Callable[[Seen], Answer]:
    """A route with validators: 304 when the request's If-None-Match / If-Modified-Since
    match, else `reply` carrying the ETag / Last-Modified headers."""
    def answer(request: Seen) -> Answer:
        if (etag and request.headers.get("if-none-match") == etag) or \
                (last_modified and request.headers.get("if-modified-since") == last_modified):
            return 304, reply[1], b""
        headers = dict(reply[3]) if len(reply) > 3 else {}  # type: ignore[misc]
        if etag:
            headers["ETag"] = etag
        if last_modified:
            headers["Last-Modified"] = last_modified
        return reply[0], reply[1], reply[2], headers

    return answer


def _canonical(target: str) -> str:
    """A path with its query parameters sorted, so routes match whatever the order."""
    parts = urlsplit(target)
    if not parts.query:
        return parts.path
    return f"{parts.path}?{urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))}"


class _QuietServer(ThreadingHTTPServer):
    """A threading server that does not print tracebacks of connections the faults broke.

    Its listen backlog is large: with socketserver's default of 5, bursts of new connections
    overflow it and the client waits a whole SYN retransmission (1 s) for each one dropped.
    """

    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class RouteBoard:
    """Serves `routes` on a free port of 127.0.0.1; `url` is its base URL once started."""

    def __init__(self, routes: dict[Any, Route] | None = None, robots: str | None = None) -> None:
        self.routes: dict[Any, Route] = {}
        for key, route in (routes or {}).items():
            self.add(key, route)
        self.robots = robots if robots is not None else "User-agent: *\nAllow: /\n"
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def add(self, key: str | tuple[str, str], route: Route) -> None:
        """Serve `route` at a path (with or without query) or a (method, path) pair."""
        if isinstance(key, tuple):
            method, target = key
            self.routes[(method.upper(), _canonical(target))] = route
        else:
            self.routes[_canonical(key)] = route

    @property
    def url(self) -> str:
        assert self._server is not None, "board not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def netloc(self) -> str:
        return self.url.split("://", 1)[1]

    def seen(self, path_prefix: str = "/", method: str | None = None) -> list[Seen]:
        """Requests under `path_prefix` (robots.txt left out), in the order received."""
        with self._lock:
            return [r for r in self.requests
                    if r.path.startswith(path_prefix) and r.path != "/robots.txt"
                    and (method is None or r.method == method.upper())]

    def respond(self, request: Seen) -> Answer:
        """The reply for one request: the most specific route, robots.txt, else 404."""
        full = _canonical(f"{request.path}?{request.query}" if request.query else request.path)
        for key in ((request.method, full), full, (request.method, request.path), request.path):
            route = self.routes.get(key)
            if route is not None:
                return route(request) if callable(route) else route
        if request.path == "/robots.txt":
            return 200, "text/plain", self.robots.encode()
        return 404, "application/json", b'{"error": "not found"}'

    def start(self) -> str:
        board = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms ACK wait)

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Seen(
                    method=self.command, path=parts.path, query=parts.query,
                    headers={k.lower(): v for k, v in self.headers.items()}, body=body,
                    params=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    at=time.monotonic())
                with board._lock:
                    board.requests.append(request)
                answer = board.respond(request)
                if isinstance(answer, Fault):
                    self._fault(answer)
                    return
                self._reply(answer)

            def _reply(self, reply: Reply, cut: int | None = None) -> None:
                status, ctype, payload = reply[0], reply[1], reply[2]
                extra: dict[str, str] = reply[3] if len(reply) > 3 else {}  # type: ignore[misc]
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload if cut is None else payload[:cut])

            def _fault(self, fault: Fault) -> None:
                if fault.kind == "slow":
                    time.sleep(fault.delay)
                    try:
                        self._reply(fault.reply)
                    except OSError:  # the client gave up waiting
                        self.close_connection = True
                    return
                self._reply(fault.reply, cut=fault.cut)
                self.wfile.flush()
                self.close_connection = True
                if fault.kind == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                    self.connection.close()
                elif fault.kind != "truncated":
                    raise ValueError(f"unknown fault {fault.kind!r}")

            do_GET = do_POST = _handle  # http.server dispatches on these names

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> RouteBoard:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
