"""`hcjobs sources check`: does each source answer, and how many postings does it list?

For every entry the spider of its kind builds its first request (exactly what a crawl would
send first); that one request is made with the standard library, with a short timeout, after
checking the host's robots.txt, and the kind's `count_listed` reads the answer. Nothing is
stored. Without a network every entry fails with the reason (name resolution, refused
connection) instead of the command failing.
"""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from protego import Protego

MAX_BYTES = 20 * 1024 * 1024


@dataclass
class CheckResult:
    """What checking one source found."""

    name: str
    kind: str
    ok: bool
    postings: int | None
    """Postings the source lists now (None when it could not tell)."""
    reason: str
    """Why it failed, or a note on the count ("first page only")."""
    url: str = ""
    status: int | None = None
    seconds: float = 0.0


class _Robots:
    """robots.txt per host, fetched once per check run (thread-safe)."""

    def __init__(self, timeout: float, agent: str) -> None:
        self.timeout = timeout
        self.agent = agent
        self.parsers: dict[str, Protego | None] = {}
        self.locks: dict[str, threading.Lock] = {}
        self.lock = threading.Lock()

    def allowed(self, url: str) -> bool:
        """Whether robots.txt lets us fetch `url` (a missing or unreadable file allows it).

        A connection-level failure raises, as the page itself would fail the same way.
        """
        parts = urlsplit(url)
        host = f"{parts.scheme}://{parts.netloc}"
        with self.lock:
            lock = self.locks.setdefault(host, threading.Lock())
        with lock:
            if host not in self.parsers:
                self.parsers[host] = self._fetch(f"{host}/robots.txt")
        parser = self.parsers[host]
        return parser is None or bool(parser.can_fetch(url, self.agent))

    def _fetch(self, url: str) -> Protego | None:
        request = urllib.request.Request(url, headers={"User-Agent": self.agent})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                body = reply.read(MAX_BYTES)
        except urllib.error.HTTPError:
            return None  # no robots.txt (404) or a server error: Scrapy allows, so do we
        return Protego.parse(body.decode("utf-8", errors="replace"))


def first_request(entry: dict[str, Any]) -> tuple[Any, list[str]]:
    """The first request the kind's spider would send for `entry`, and its notes when none."""
    from pipeline.sources import spider_kinds

    spider = spider_kinds()[entry["kind"]](source=dict(entry))

    async def first() -> Any:
        async for request in spider.start():
            return request
        return None

    return asyncio.run(first()), list(spider.errors)


def _failure(exc: BaseException, url: str) -> str:
    """A short reason for a request that got no HTTP answer."""
    host = urlsplit(url).netloc
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        inner = exc.reason
        return f"cannot connect to {host}: {inner}" if not isinstance(inner, TimeoutError) \
            else f"no answer from {host}: timed out"
    if isinstance(exc, TimeoutError):
        return f"no answer from {host}: timed out"
    return f"{type(exc).__name__} from {host}: {exc}"


def check_source(entry: dict[str, Any], *, timeout: float = 10.0, agent: str | None = None,
                 robots: _Robots | None = None) -> CheckResult:
    """Make `entry`'s first request and count the postings its answer lists."""
    from pipeline.sources import spider_kinds

    started = time.monotonic()
    name, kind = str(entry["name"]), str(entry["kind"])

    def result(ok: bool, postings: int | None, reason: str, url: str = "",
               status: int | None = None) -> CheckResult:
        return CheckResult(name, kind, ok, postings, reason, url, status,
                           round(time.monotonic() - started, 2))

    try:
        request, notes = first_request(entry)
    except Exception as exc:  # a broken entry is a finding, not a crash of the command
        return result(False, None, f"cannot build the first request: {exc}")
    if request is None:
        return result(False, None, "; ".join(notes) or "the spider sends no request")
    agent = agent or agent_for(entry)
    headers = request.headers.to_unicode_dict()
    headers.setdefault("User-Agent", agent)
    headers.pop("Host", None)  # urllib sets it from the URL
    robots = robots or _Robots(timeout, agent)
    try:
        if not robots.allowed(request.url):
            return result(False, None, "forbidden by robots.txt", request.url)
        outgoing = urllib.request.Request(request.url, data=request.body or None,
                                          headers=dict(headers), method=request.method)
        with urllib.request.urlopen(outgoing, timeout=timeout) as reply:
            status, body = reply.status, reply.read(MAX_BYTES)
    except urllib.error.HTTPError as exc:
        reason = f"HTTP {exc.code}"
        if exc.code == 404:
            reason += ": does the board still exist?"
        return result(False, None, reason, request.url, exc.code)
    except Exception as exc:  # no network, DNS, refused, reset, timeout
        return result(False, None, _failure(exc, request.url), request.url)
    try:
        count, note = spider_kinds()[kind].count_listed(body, entry)
    except Exception as exc:  # an answer, but not what the kind expects
        return result(False, None, f"unexpected answer: {type(exc).__name__}: {exc}",
                      request.url, status)
    return result(True, count, note, request.url, status)


def check_sources(entries: Sequence[dict[str, Any]], *, timeout: float = 10.0,
                  workers: int = 8) -> list[CheckResult]:
    """Check every entry (a few at a time), results in the entries' order."""
    robots = _Robots(timeout, agent_for({}))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(check_source, e, timeout=timeout, agent=agent_for(e),
                               robots=robots) for e in entries]
        return [f.result() for f in futures]


def agent_for(entry: dict[str, Any]) -> str:
    """The User-Agent a crawl of `entry` sends: hcjobs' own, with the operator's contact."""
    from crawler import settings
    from crawler.spiders.base import user_agent

    return user_agent(settings.USER_AGENT, entry.get("contact") or settings.HCJOBS_CONTACT)
