"""A fixture server for spider tests: canned responses per route on 127.0.0.1, every request kept.

Routes map a path (optionally with its query string, optionally with a method) to a response
`(status, content_type, body)` or to a callable that builds one from the recorded request, so
paging (skip/offset in the query, an offset in a POST body) can be served from fixture files.
Lookup tries, most specific first: (method, path?query), path?query, (method, path), path.
Query strings are compared as sorted parameters, so their order in a URL does not matter.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

FIXTURES = Path(__file__).resolve().parent / "fixtures"

Reply = tuple[int, str, bytes]


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

    def json(self) -> Any:
        """The request body parsed as JSON (a Workday list POST, for instance)."""
        return json.loads(self.body or b"null")


Route = Reply | Callable[[Seen], Reply]


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


def _canonical(target: str) -> str:
    """A path with its query parameters sorted, so routes match whatever the order."""
    parts = urlsplit(target)
    if not parts.query:
        return parts.path
    return f"{parts.path}?{urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))}"


class RouteBoard:
    """Serves `routes` on a free port of 127.0.0.1; `url` is its base URL once started."""

    def __init__(self, routes: dict[Any, Route] | None = None) -> None:
        self.routes: dict[Any, Route] = {}
        for key, route in (routes or {}).items():
            self.add(key, route)
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

    def respond(self, request: Seen) -> Reply:
        """The reply for one request: the most specific route, robots.txt, else 404."""
        full = _canonical(f"{request.path}?{request.query}" if request.query else request.path)
        for key in ((request.method, full), full, (request.method, request.path), request.path):
            route = self.routes.get(key)
            if route is not None:
                return route(request) if callable(route) else route
        if request.path == "/robots.txt":
            return 200, "text/plain", b"User-agent: *\nAllow: /\n"
        return 404, "application/json", b'{"error": "not found"}'

    def start(self) -> str:
        board = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Seen(
                    method=self.command, path=parts.path, query=parts.query,
                    headers={k.lower(): v for k, v in self.headers.items()}, body=body,
                    params=dict(parse_qsl(parts.query, keep_blank_values=True)))
                with board._lock:
                    board.requests.append(request)
                status, ctype, payload = board.respond(request)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _handle  # http.server dispatches on these names

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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
