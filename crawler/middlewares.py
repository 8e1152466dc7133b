"""Downloader middlewares that keep crawls polite when hosts struggle.

PoliteRetryMiddleware retries like Scrapy's RetryMiddleware (same RETRY_* settings, same
`retry/...` stats) but waits before each retry: as long as `Retry-After` asks on 429 and 503
(the whole host waits, not just that request), else an exponential backoff with jitter.
CircuitBreakerMiddleware stops sending requests to a host that keeps failing, for the rest of
the run, and records why on the source's run.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.dupefilters import RFPDupeFilter
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.asyncio import sleep
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import load_object
from scrapy.utils.response import response_status_message

logger = logging.getLogger(__name__)

NOT_BEFORE = "hcjobs_not_before"
"""Request meta: monotonic time before which the request must not be sent (a retry's wait)."""
PAUSING_STATUSES = (429, 503)
"""Statuses that slow down the whole host, and whose Retry-After is honoured."""


class CircuitOpen(IgnoreRequest):
    """A request dropped because its host's circuit breaker is open."""


class RedirectLoopAwareDupeFilter(RFPDupeFilter):
    """Scrapy's duplicate filter, except for requests produced by a redirect.

    With the stock filter, a redirect back to a URL already requested (A -> B -> A) is dropped
    silently as a duplicate: the run ends "ok" with nothing and no reason. Letting redirected
    requests through makes a loop run into REDIRECT_MAX_TIMES, whose IgnoreRequest reaches the
    request's errback and is recorded on the run.
    """

    def request_seen(self, request: Request) -> bool:
        if request.meta.get("redirect_times"):
            return False
        return super().request_seen(request)


def retry_after_seconds(value: bytes | str | None, now: float | None = None) -> float | None:
    """Seconds a `Retry-After` header asks to wait: delta-seconds or an HTTP date.

    None when the header is missing or unreadable; a date in the past means 0.
    """
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_delay(attempt: int, base: float, cap: float,
                  rand: Callable[[], float] = random.random) -> float:
    """Wait before retry number `attempt` (1, 2, ...): exponential, capped, with jitter.

    "Equal jitter": half of min(cap, base * 2**(attempt-1)) for sure, the other half at
    random, so retries of many requests do not hit a host in lockstep.
    """
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    return ceiling / 2 + rand() * ceiling / 2


def _host(request: Request) -> str:
    return urlparse_cached(request).netloc


def _record(crawler: Crawler, reason: str, *, fatal: bool) -> None:
    """Note a problem on the running spider's source (board spiders), else log it."""
    spider: Any = crawler.spider
    if spider is not None and hasattr(spider, "record_error"):
        spider.record_error(reason, fatal=fatal)
    else:
        logger.warning(reason)


class PoliteRetryMiddleware:
    """Retries failed downloads after a wait; honours Retry-After; pauses rate-limiting hosts.

    Replaces `scrapy.downloadermiddlewares.retry.RetryMiddleware` (disable that one). A retry is
    sent no sooner than its wait (`hcjobs_not_before` in its meta); on 429 or 503 every request
    to that host waits as well. A Retry-After longer than `retry_after_max` is not waited for:
    the response is handed on as the failure it is.
    """

    def __init__(
        self, crawler: Crawler, *, retry_times: int, http_codes: Iterable[int],
        exceptions: tuple[type[BaseException], ...], priority_adjust: int,
        backoff_base: float, backoff_max: float, retry_after_max: float,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.crawler = crawler
        self.retry_times = retry_times
        self.http_codes = set(http_codes)
        self.exceptions = exceptions
        self.priority_adjust = priority_adjust
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self.rand = rand
        self.paused_until: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PoliteRetryMiddleware:
        settings = crawler.settings
        if not settings.getbool("RETRY_ENABLED"):
            raise NotConfigured
        exceptions = tuple(load_object(x) if isinstance(x, str) else x
                           for x in settings.getlist("RETRY_EXCEPTIONS"))
        return cls(
            crawler,
            retry_times=settings.getint("RETRY_TIMES"),
            http_codes=(int(x) for x in settings.getlist("RETRY_HTTP_CODES")),
            exceptions=exceptions,
            priority_adjust=settings.getint("RETRY_PRIORITY_ADJUST"),
            backoff_base=settings.getfloat("HCJOBS_BACKOFF_BASE", 1.0),
            backoff_max=settings.getfloat("HCJOBS_BACKOFF_MAX", 60.0),
            retry_after_max=settings.getfloat("HCJOBS_RETRY_AFTER_MAX", 300.0),
        )

    async def process_request(self, request: Request) -> None:
        """Hold a request until its own wait and its host's pause are over."""
        now = time.monotonic()
        until = max(float(request.meta.get(NOT_BEFORE, 0.0)),
                    self.paused_until.get(_host(request), 0.0))
        if until > now:
            await sleep(until - now)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if request.meta.get("dont_retry") or response.status not in self.http_codes:
            return response
        host = _host(request)
        attempt = int(request.meta.get("retry_times", 0)) + 1
        wait = None
        if response.status in PAUSING_STATUSES:
            wait = retry_after_seconds(response.headers.get(b"Retry-After"))
            if wait is not None and wait > self.retry_after_max:
                self._stats().inc_value("hcjobs/retry_after_too_long")
                logger.warning("%s asks to wait %.0f s (Retry-After) before %s; more than "
                               "HCJOBS_RETRY_AFTER_MAX=%.0f s, so no retry this run",
                               host, wait, request.url, self.retry_after_max)
                return response
            if wait is not None:
                self._stats().inc_value("hcjobs/retry_after_honoured")
        retry = self._retry(request, response_status_message(response.status), attempt, wait)
        if retry is None:
            return response
        if response.status in PAUSING_STATUSES:
            self.paused_until[host] = max(self.paused_until.get(host, 0.0),
                                          float(retry.meta[NOT_BEFORE]))
        return retry

    def process_exception(self, request: Request, exception: Exception) -> Request | None:
        if isinstance(exception, IgnoreRequest) or request.meta.get("dont_retry") or \
                not isinstance(exception, self.exceptions):
            return None
        attempt = int(request.meta.get("retry_times", 0)) + 1
        return self._retry(request, exception, attempt, None)

    def _retry(self, request: Request, reason: str | Exception, attempt: int,
               wait: float | None) -> Request | None:
        spider: Spider | None = self.crawler.spider
        assert spider is not None
        retry = get_retry_request(
            request, spider=spider, reason=reason,
            max_retry_times=request.meta.get("max_retry_times", self.retry_times),
            priority_adjust=request.meta.get("priority_adjust", self.priority_adjust))
        if retry is None:
            return None
        if wait is None:
            wait = backoff_delay(attempt, self.backoff_base, self.backoff_max, self.rand)
        retry.meta[NOT_BEFORE] = time.monotonic() + wait
        self._stats().inc_value("hcjobs/retry_wait_seconds", round(wait, 3))
        return retry

    def _stats(self) -> Any:
        return self.crawler.stats


class CircuitBreakerMiddleware:
    """Stops hitting a host after `threshold` consecutive failures, for the rest of the run.

    A failure is a request's final outcome, once retries are spent: a 5xx or 429 status, or a
    download error of the kinds that are retried (timeouts, refused or reset connections,
    DNS). Any other response resets the host's count. When the breaker trips, the source's run
    gets one error (fatal: the run did not see the whole board) and stats
    `hcjobs/circuit_open/<host>`; every request to the host after that is dropped with
    CircuitOpen, counted in `hcjobs/breaker_skipped`.

    It sits after PoliteRetryMiddleware in request order (a higher number), so a retry that
    waited out its backoff is checked again before it is sent; it therefore sees every attempt
    and counts only those that will not be retried (`retry_times` has reached the limit).
    """

    def __init__(self, crawler: Crawler, *, threshold: int, retry_times: int,
                 http_codes: Iterable[int], exceptions: tuple[type[BaseException], ...]) -> None:
        self.crawler = crawler
        self.threshold = threshold
        self.retry_times = retry_times
        self.http_codes = set(http_codes)
        self.exceptions = exceptions
        self.failures: dict[str, int] = {}
        self.open: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CircuitBreakerMiddleware:
        settings = crawler.settings
        threshold = settings.getint("HCJOBS_BREAKER_THRESHOLD", 5)
        if threshold <= 0:
            raise NotConfigured
        exceptions = tuple(load_object(x) if isinstance(x, str) else x
                           for x in settings.getlist("RETRY_EXCEPTIONS"))
        retrying = settings.getbool("RETRY_ENABLED")
        return cls(crawler, threshold=threshold,
                   retry_times=settings.getint("RETRY_TIMES") if retrying else 0,
                   http_codes=(int(x) for x in settings.getlist("RETRY_HTTP_CODES"))
                   if retrying else (), exceptions=exceptions)

    def process_request(self, request: Request) -> None:
        host = _host(request)
        if host in self.open:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("hcjobs/breaker_skipped")
            raise CircuitOpen(f"circuit breaker open for {host}: {self.open[host]}")

    def process_response(self, request: Request, response: Response) -> Response:
        host = _host(request)
        if response.status >= 500 or response.status == 429:
            if self._final(request, response.status in self.http_codes):
                self._failed(host, f"HTTP {response.status} from {request.url}")
        else:
            self.failures[host] = 0
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        if isinstance(exception, self.exceptions) and not isinstance(exception, IgnoreRequest) \
                and self._final(request, True):
            self._failed(_host(request),
                         f"{type(exception).__name__} for {request.url}: {exception}")

    def _final(self, request: Request, retryable: bool) -> bool:
        """Whether this attempt's failure ends the request (no retry will follow)."""
        if not retryable or request.meta.get("dont_retry"):
            return True
        limit = int(request.meta.get("max_retry_times", self.retry_times))
        return int(request.meta.get("retry_times", 0)) >= limit

    def _failed(self, host: str, reason: str) -> None:
        count = self.failures.get(host, 0) + 1
        self.failures[host] = count
        if count < self.threshold or host in self.open:
            return
        self.open[host] = f"{count} consecutive failures, the last: {reason}"
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"hcjobs/circuit_open/{host}")
        _record(self.crawler, f"circuit breaker open for {host} after {count} consecutive "
                f"failures (last: {reason}); no more requests to it this run", fatal=True)
