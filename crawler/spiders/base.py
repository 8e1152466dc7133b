"""What every board spider shares: its source entry, base_url override and error recording."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import scrapy
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure


class BoardSpider(scrapy.Spider):
    """Base for one source kind.

    A spider gets its source entry as `source` (a dict from sources.toml) when run by hcjobs,
    or as `-a key=value` arguments from `scrapy crawl`. Errors are collected in `errors`
    so the run can be recorded as failed with its reasons instead of stopping other sources.
    """

    default_base_url: ClassVar[str] = ""
    required_keys: ClassVar[tuple[str, ...]] = ()
    """Every one of these keys must be present in the source entry."""
    one_of_keys: ClassVar[tuple[str, ...]] = ()
    """At least one of these keys must be present in the source entry."""
    close_after_missed: ClassVar[int] = 2
    """Consecutive successful runs that must miss a posting before it is closed."""

    def __init__(
        self, source: dict[str, Any] | None = None, run_id: int | None = None, **kwargs: Any
    ) -> None:
        if source is None:
            source = {"name": kwargs.pop("source_name", None) or self.name, "kind": self.name}
            source.update(kwargs)
            kwargs = {}
        super().__init__(**kwargs)
        self.source: dict[str, Any] = source
        self.source_name: str = str(source["name"])
        self.run_id = int(run_id) if run_id is not None else None
        self.base_url: str = str(source.get("base_url") or self.default_base_url).rstrip("/")
        self.errors: list[str] = []
        self.fatal = False

    @classmethod
    def check_config(cls, entry: dict[str, Any]) -> str | None:
        """The problem with a source entry for this kind, or None when it is usable."""
        missing = [k for k in cls.required_keys if not entry.get(k)]
        if missing:
            return f"kind '{cls.name}' needs {', '.join(repr(k) for k in missing)}"
        if cls.one_of_keys and not any(entry.get(k) for k in cls.one_of_keys):
            keys = ", ".join(repr(k) for k in cls.one_of_keys)
            return f"kind '{cls.name}' needs one of {keys}"
        return None

    def rebase(self, url: str) -> str:
        """Point a public (or relative) `url` at base_url: its scheme, host and any path prefix.

        Links inside responses (sitemap entries, detail `ref`s, feed links) name the public
        host; a mirror or a local test server must serve them. Without a configured base_url,
        or for a URL already on it, `url` is returned as is.
        """
        if not self.source.get("base_url"):
            return url
        base = urlsplit(self.base_url)
        parts = urlsplit(url)
        if parts.netloc == base.netloc:
            return url
        path = base.path.rstrip("/") + "/" + parts.path.lstrip("/")
        return urlunsplit((base.scheme, base.netloc, path, parts.query, ""))

    def count(self, key: str, by: int = 1) -> None:
        """Add to one of this run's stats (`hcjobs/...`), stored with the run."""
        if self.crawler and self.crawler.stats:
            self.crawler.stats.inc_value(key, by)

    def detail_failed(self, failure: Failure) -> None:
        """Errback for a posting's detail request: that posting is skipped, the run goes on."""
        self.errback(failure)
        self.count("hcjobs/details_failed")

    def record_error(self, reason: str, *, fatal: bool = False) -> None:
        """Note a problem with this source; `fatal` marks the whole run failed."""
        self.errors.append(reason)
        self.fatal = self.fatal or fatal
        self.logger.warning("%s: %s", self.source_name, reason)
        self.count("hcjobs/errors")

    def errback(self, failure: Failure, *, fatal: bool = False) -> None:
        """Record a failed request (HTTP error status, timeout, refused connection...)."""
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        if failure.check(HttpError):
            status = failure.value.response.status  # type: ignore[union-attr]
            reason = f"HTTP {status} from {url}"
            if status == 404 and fatal:
                reason = f"not found (HTTP 404) at {url}: does the board still exist?"
        else:
            reason = f"{failure.type.__name__ if failure.type else 'error'} for {url}: " \
                f"{failure.getErrorMessage()}"
        self.record_error(reason, fatal=fatal)

    def fatal_errback(self, failure: Failure) -> None:
        """Errback for the request a whole run depends on (a board's list, a sitemap)."""
        self.errback(failure, fatal=True)

    def load_json(self, response: Response, *, fatal: bool = True) -> Any:
        """The response body as JSON, or None with the reason recorded."""
        try:
            return json.loads(response.text)
        except (ValueError, AttributeError) as exc:
            ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
            self.record_error(
                f"invalid JSON from {response.url} (Content-Type {ctype or 'missing'}): {exc}",
                fatal=fatal,
            )
            return None

    @staticmethod
    def now() -> str:
        """Fetch time stamp stored with each item."""
        return datetime.now(UTC).isoformat()
