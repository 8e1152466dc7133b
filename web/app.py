"""The web application: `create_app` builds it, `serve` runs it (behind `hcjobs serve`).

Security in one place: the store is opened read-only (web.db); every parameter is validated
(web.params) and reaches SQL as a bound value (web.queries); pages autoescape and show
descriptions only sanitized (web.present); CORS is off unless origins are given; any error
answers with a short message, the traceback goes to the log only.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web import api, cache, pages
from web.db import Store, StoreUnavailable, open_readonly

log = logging.getLogger("hcjobs.web")
CORS_ENV = "HCJOBS_CORS_ORIGINS"
# database errors that mean "too slow or too busy now" (503), not a bug (500)
BUSY_WORDS = ("interrupted", "statement timeout", "database is locked", "too many clients",
              "connection refused", "could not connect")
SECURITY_HEADERS = {
    # no script may run on any page: the site has none, so injected markup cannot either
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}


class LazyStore:
    """Opens the store on first use and keeps it; retries while it is not there yet."""

    def __init__(self, db_url: str | None) -> None:
        self.db_url = db_url
        self._store: Store | None = None
        self._lock = threading.Lock()

    def opened(self) -> Store | None:
        """The store when it is open already (no I/O, no lock)."""
        return self._store

    def __call__(self) -> Store:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = open_readonly(
                        self.db_url, connections=worker_threads() + cache.RECOUNTS)
        return self._store

    def dispose(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


THREADS_ENV = "HCJOBS_WEB_THREADS"


def worker_threads() -> int:
    """How many requests run their (blocking) database work at once: $HCJOBS_WEB_THREADS,
    else two per CPU (`hcjobs serve --workers N` sets one per worker: worker_environment).

    The rest wait their turn without costing anything. AnyIO's default, 40, let 16 clients
    each hold a thread, and the threads spent some 15% of the process's CPU handing the GIL
    to one another (at 1M postings, 16 clients, two CPUs: 3.4 instead of 4.0 ms of CPU per
    listing, a quarter more requests per second). Two per CPU keeps the cores busy, the
    queries releasing the GIL. The price: that many very slow searches at once (up to
    web.db.QUERY_TIMEOUT_S) make the others queue behind them."""
    return int(os.environ.get(THREADS_ENV) or 2 * (os.cpu_count() or 1))


def worker_environment(workers: int) -> dict[str, str]:
    """What each of `workers` worker processes gets in its environment: with several, one
    query thread each (unless $HCJOBS_WEB_THREADS says otherwise).

    A listing hands the GIL back and forth once per row it reads (sqlite3 releases it
    around each step), and a worker's threads then take turns across both cores: with all
    16 clients on one worker (1M postings, typical search), 4 threads cost 5.0 ms of CPU
    per request and served 228 a second, 2 threads 3.8 ms and 281, one 2.85 ms and 351,
    first come first served, so p95 56 instead of 85 ms. With several workers a slow
    search holds up only its own worker's queue, and the others go on."""
    if workers > 1 and not os.environ.get(THREADS_ENV):
        return {THREADS_ENV: "1"}
    return {}


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response that does not set them itself.

    Plain ASGI: it only edits the response's start message. (Starlette's
    `@app.middleware("http")`, used before, runs every request through an extra task and a
    re-streamed body to add two header lines.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                        for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *((k, v) for k, v in self.headers if k not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _wants_html(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api/") or path.startswith("/feeds/")
                or path == "/openapi.json")


def _problem(request: Request, status: int, message: str, detail: Any = None,
             details: list[str] | None = None) -> Response:
    if _wants_html(request):
        titles = {404: "Page not found", 422: "Please check the search",
                  503: "Jobs are not available right now"}
        return pages.error_page(request, status, titles.get(status, "Something went wrong"),
                                message, details)
    return JSONResponse({"detail": detail if detail is not None else message,
                         "message": message}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        lines = pages.validation_messages(exc)
        errors = [{k: v for k, v in e.items() if k in ("type", "loc", "msg", "input")}
                  for e in exc.errors()]
        return _problem(request, 422, "Invalid parameter: " + "; ".join(lines),
                        detail=_jsonable(errors), details=lines)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        message = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code,
                                                                     str(exc.detail))
        response = _problem(request, exc.status_code, message)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def unavailable(request: Request, exc: Exception) -> Response:
        return _problem(request, 503, str(exc) if isinstance(exc, StoreUnavailable)
                        else "The database is busy or the search took too long; "
                             "try again or narrow the search.")

    async def crashed(request: Request, exc: Exception) -> Response:
        log.error("error serving %s", request.url.path, exc_info=exc)
        return _problem(request, 500, "Internal error: it has been logged.")

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(StoreUnavailable, unavailable)
    async def database_error(request: Request, exc: Exception) -> Response:
        text = str(getattr(exc, "orig", exc)).lower()
        if any(word in text for word in BUSY_WORDS):
            return await unavailable(request, exc)
        return await crashed(request, exc)

    app.add_exception_handler(DBAPIError, database_error)
    app.add_exception_handler(Exception, crashed)


def _jsonable(value: Any) -> Any:
    """Validation errors can carry any Python value as input: keep JSON-friendly ones."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def cors_from_env() -> list[str]:
    raw = os.environ.get(CORS_ENV, "")
    return [o.strip() for o in raw.split(",") if o.strip()]


def create_app(db_url: str | None = None, cors_origins: Sequence[str] | None = None, *,
               clock: Callable[[], datetime] | None = None,
               cache_entries: int | None = None) -> FastAPI:
    """The API and pages over the store at `db_url` (same rules as `--db`), read-only.

    `cors_origins`: origins allowed to call the API from a browser (default: none, or
    $HCJOBS_CORS_ORIGINS, comma-separated). `clock` fixes "now" for tests.
    `cache_entries`: searches whose answers are kept until the store changes (web.cache;
    default $HCJOBS_WEB_CACHE, else cache.DEFAULT_ENTRIES; 0: none).
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = worker_threads()
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="hcjobs",
        version="1.0",
        summary="Tagged healthcare coding and administration jobs: search, facets, feeds.",
        description="Read-only. Filters combine with AND; repeated values of one filter "
                    "with OR. Duplicates are never listed; closed postings only with "
                    "include_closed=true. Pages: / (browse) and /postings/{id}.",
        docs_url=None, redoc_url=None,  # their JS/CSS come from a CDN: the site runs offline
    )
    app.state.open_store = LazyStore(db_url)
    app.state.clock = clock
    entries = cache_entries if cache_entries is not None else int(
        os.environ.get(cache.ENV) or cache.DEFAULT_ENTRIES)
    app.state.cache = cache.ResponseCache(entries) if entries > 0 else None
    origins = list(cors_origins) if cors_origins is not None else cors_from_env()
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=False,
                           allow_methods=["GET", "HEAD", "OPTIONS"], allow_headers=["*"],
                           max_age=600)

    app.add_middleware(SecurityHeaders)
    _install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).resolve().parent / "static")),
              name="static")
    app.include_router(api.router)
    app.include_router(pages.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def serve(db_url: str | None = None, host: str = "127.0.0.1", port: int = 8000,
          cors_origins: Sequence[str] | None = None, *, log_level: str = "info",
          workers: int = 1) -> int:
    """Run the site with uvicorn until interrupted. Returns an exit status: 1 when the
    store is missing (with a message saying how to create it).

    `workers` > 1 runs that many processes on one port (uvicorn's supervisor): requests
    spend most of their time in Python, so one process uses one core whatever the load.
    Each worker builds the app from the environment (HCJOBS_DATABASE_URL,
    HCJOBS_CORS_ORIGINS), which is how the URL and origins reach them.
    """
    import uvicorn
    from sqlalchemy.engine import make_url

    from pipeline.db import resolve_url

    url = resolve_url(db_url)
    try:
        store = open_readonly(url)
    except StoreUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    store.close()
    shown = make_url(url).render_as_string(hide_password=True)
    print(f"Serving {shown} read-only at http://{host}:{port}/ (API: /api/postings, "
          f"OpenAPI: /openapi.json)" + (f", {workers} workers" if workers > 1 else ""),
          file=sys.stderr)
    options: dict[str, Any] = {"host": host, "port": port, "log_level": log_level,
                               "proxy_headers": True, "server_header": False}
    if workers <= 1:
        uvicorn.run(create_app(url, cors_origins), **options)
        return 0
    os.environ["HCJOBS_DATABASE_URL"] = url
    os.environ.update(worker_environment(workers))
    if cors_origins is not None:
        os.environ[CORS_ENV] = ",".join(cors_origins)
    uvicorn.run("web.app:create_app", factory=True, workers=workers, **options)
    return 0
