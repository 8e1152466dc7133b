"""What every board spider shares: its source entry, base_url override, per-source settings,
error recording, incremental crawling (conditional requests, unchanged list entries) and paging."""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import ijson
import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from scrapy.settings import BaseSettings
from scrapy.settings import default_settings as scrapy_defaults
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.items import JobPosting
from crawler.middlewares import CircuitOpen

STATE_KEY_META = "hcjobs_key"
"""Request meta: the key under which a conditional request's validators are kept."""
MAX_LISTED_ERRORS = 100
SETTING_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


def is_loopback(host: str) -> bool:
    """Whether `host` (a netloc, port allowed) is this machine: 127.x, ::1 or localhost."""
    name = urlsplit(f"//{host}").hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def user_agent(base: str, contact: str | None) -> str:
    """`base` with the operator's contact inside its comment: "bot/1 (+url; contact: x)"."""
    if not contact or contact in base:
        return base
    if base.endswith(")"):
        return f"{base[:-1]}; contact: {contact})"
    return f"{base} (contact: {contact})"


def fingerprint(value: Any, ignore: Iterable[str] = ()) -> str:
    """A short, stable hash of a JSON value (a dict without the `ignore` keys)."""
    if isinstance(value, dict) and ignore:
        skip = set(ignore)
        value = {k: v for k, v in value.items() if k not in skip}
    raw = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.blake2b(raw, digest_size=8).hexdigest()


def known_setting(name: str) -> bool:
    """A Scrapy setting or one of hcjobs' own (HCJOBS_...): catches typos in `settings`."""
    return name.startswith("HCJOBS_") or hasattr(scrapy_defaults, name)


class BoardSpider(scrapy.Spider):
    """Base for one source kind.

    A spider gets its source entry as `source` (a dict from sources.toml) when run by hcjobs,
    or as `-a key=value` arguments from `scrapy crawl`. Errors are collected in `errors`
    so the run can be recorded as failed with its reasons instead of stopping other sources.

    Incremental crawling: the store pipeline hands the previous good run's state to
    `restore_state` before the first request; the spider builds the next one in `state` (see
    pipeline/crawlstate.py for the format). `conditional` + `not_modified` + `remember` make
    list requests conditional; `known_entry` + `remember_entry` skip unchanged details.
    """

    default_base_url: ClassVar[str] = ""
    required_keys: ClassVar[tuple[str, ...]] = ()
    """Every one of these keys must be present in the source entry."""
    one_of_keys: ClassVar[tuple[str, ...]] = ()
    """At least one of these keys must be present in the source entry."""
    close_after_missed: ClassVar[int] = 2
    """Consecutive successful runs that must miss a posting before it is closed."""
    url_keys: ClassVar[tuple[str, ...]] = ()
    """Entry keys holding public URLs, for finding the host of a source without base_url."""
    page_window: ClassVar[int] = 4
    """List pages in flight at once when the page count is known (see `next_pages`)."""

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
        self.refresh_days = int(source.get("refresh_days") or 7)
        self.previous: dict[str, Any] = {"validators": {}, "entries": {}}
        self.state: dict[str, Any] = {"validators": {}, "entries": {}}
        self.listed: set[str] = set()
        self.paging_stopped = False

    # ---- configuration ------------------------------------------------------------------------

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> BoardSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, BoardSpider)
        spider.configure(crawler.settings)
        return spider

    def configure(self, settings: BaseSettings) -> None:
        """Apply this source's settings before the crawler freezes them.

        Loopback sources get HCJOBS_LOCAL_SETTINGS, then the entry's own `settings` table
        wins; the User-Agent gets the operator's contact (the entry's `contact`, else
        HCJOBS_CONTACT).
        """
        if is_loopback(self.host_of(self.source)):
            settings.setdict(dict(settings.getdict("HCJOBS_LOCAL_SETTINGS")), priority="spider")
        settings.setdict(dict(self.source.get("settings") or {}), priority="spider")
        contact = self.source.get("contact") or settings.get("HCJOBS_CONTACT")
        agent = user_agent(str(settings.get("USER_AGENT")), contact)
        settings.set("USER_AGENT", agent, priority=max(settings.getpriority("USER_AGENT") or 0,
                                                       30))
        if not contact:
            self.logger.info("%s: no operator contact in the User-Agent; set `contact` in the "
                             "sources file's [defaults] or HCJOBS_CONTACT", self.source_name)
        self.refresh_days = int(self.source.get("refresh_days")
                                or settings.getint("HCJOBS_REFRESH_DAYS", 7))
        self.stream_json_bytes = settings.getint("HCJOBS_STREAM_JSON_BYTES",
                                                 self.stream_json_bytes)

    @classmethod
    def check_config(cls, entry: dict[str, Any]) -> str | None:
        """The problem with a source entry for this kind, or None when it is usable."""
        missing = [k for k in cls.required_keys if not entry.get(k)]
        if missing:
            return f"kind '{cls.name}' needs {', '.join(repr(k) for k in missing)}"
        if cls.one_of_keys and not any(entry.get(k) for k in cls.one_of_keys):
            keys = ", ".join(repr(k) for k in cls.one_of_keys)
            return f"kind '{cls.name}' needs one of {keys}"
        settings = entry.get("settings")
        if settings is not None:
            if not isinstance(settings, dict):
                return "'settings' must be a table of Scrapy settings"
            bad = [k for k in settings if not SETTING_NAME.match(str(k)) or not known_setting(k)]
            if bad:
                return f"unknown setting(s) in 'settings': {', '.join(map(repr, bad))}"
        if entry.get("contact") is not None and not isinstance(entry["contact"], str):
            return "'contact' must be a string (an e-mail address or URL)"
        return None

    @classmethod
    def host_of(cls, entry: dict[str, Any]) -> str:
        """The host (netloc) a source's requests go to, for per-host limits; "" if unknown."""
        candidates = [entry.get("base_url"), *(entry.get(k) for k in cls.url_keys),
                      cls.default_base_url]
        for value in candidates:
            if isinstance(value, list):
                value = value[0] if value else None
            if isinstance(value, str) and value.strip():
                text = value.strip()
                return urlsplit(text if "://" in text else f"https://{text}").netloc.lower()
        return ""

    @classmethod
    def count_listed(cls, body: bytes, entry: dict[str, Any]) -> tuple[int | None, str]:
        """How many postings the answer to this kind's first request lists, and a note
        ("first page only"...); (None, why) when it cannot tell. Used by `hcjobs sources
        check`; the body is the raw response (any JSON/XML error propagates)."""
        return None, "no count for this kind"

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

    # ---- errors and stats ---------------------------------------------------------------------

    def count(self, key: str, by: int = 1) -> None:
        """Add to one of this run's stats (`hcjobs/...`), stored with the run."""
        crawler = getattr(self, "crawler", None)
        if crawler is not None and crawler.stats:
            crawler.stats.inc_value(key, by)

    def detail_failed(self, failure: Failure) -> None:
        """Errback for a posting's detail request: that posting is skipped, the run goes on."""
        self.errback(failure)
        self.count("hcjobs/details_failed")

    def record_error(self, reason: str, *, fatal: bool = False) -> None:
        """Note a problem with this source; `fatal` marks the whole run failed.

        The first MAX_LISTED_ERRORS reasons are kept; later ones are only counted.
        """
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(reason)
        else:
            self.count("hcjobs/errors_not_listed")
        self.fatal = self.fatal or fatal
        self.logger.warning("%s: %s", self.source_name, reason)
        self.count("hcjobs/errors")

    def errback(self, failure: Failure, *, fatal: bool = False) -> None:
        """Record a failed request (HTTP error status, timeout, refused connection...)."""
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        if failure.check(CircuitOpen):
            return  # the breaker recorded its reason once; dropped requests are only counted
        if failure.check(HttpError):
            response = failure.value.response  # type: ignore[union-attr]
            status = response.status
            reason = f"HTTP {status} from {url}"
            if status == 404 and fatal:
                reason = f"not found (HTTP 404) at {url}: does the board still exist?"
            retry_after = response.headers.get(b"Retry-After")
            if status in (429, 503) and retry_after:
                reason += f" (Retry-After: {retry_after.decode('latin-1')})"
        elif failure.check(IgnoreRequest):
            message = failure.getErrorMessage()
            if "robots.txt" in message:
                reason = f"forbidden by robots.txt: {url}"
            elif "redirect" in message:
                reason = f"redirect loop or too many redirects at {url}"
            else:
                reason = f"request dropped ({message or 'IgnoreRequest'}): {url}"
        else:
            name = failure.type.__name__ if failure.type else "error"
            message = failure.getErrorMessage()
            if "max size" in message:
                message = f"response over the size cap (DOWNLOAD_MAXSIZE): {message}"
            reason = f"{name} for {url}: {message}"
        self.record_error(reason, fatal=fatal)

    def fatal_errback(self, failure: Failure) -> None:
        """Errback for the request a whole run depends on (a board's list, a sitemap)."""
        self.errback(failure, fatal=True)

    def load_json(self, response: Response, *, fatal: bool = True) -> Any:
        """The response body as JSON, or None with the reason recorded.

        The bytes are read as UTF-8 (JSON's encoding) whatever the Content-Type says, so a
        JSON body served as text/plain or octet-stream still parses; HTML does not.
        """
        try:
            return json.loads(response.body)
        except UnicodeDecodeError:
            try:
                return json.loads(response.text)
            except (ValueError, AttributeError) as exc:
                problem: Exception = exc
        except ValueError as exc:
            problem = exc
        ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        size = len(response.body)
        self.record_error(
            f"invalid JSON from {response.url} (Content-Type {ctype or 'missing'}, "
            f"{size} bytes): {problem}", fatal=fatal)
        return None

    def is_text(self, response: Response, *, fatal: bool = False) -> bool:
        """Whether a response is text (HTML, XML); a binary body is recorded as a problem."""
        if isinstance(response, TextResponse):
            return True
        ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        self.record_error(f"not a text page at {response.url} (Content-Type "
                          f"{ctype or 'missing'})", fatal=fatal)
        return False

    @staticmethod
    def now() -> str:
        """Fetch time stamp stored with each item."""
        return datetime.now(UTC).isoformat()

    @staticmethod
    def today() -> int:
        """Days since the epoch on the store's clock (HCJOBS_NOW when replaying history)."""
        fixed = os.environ.get("HCJOBS_NOW")
        if fixed:
            when = datetime.fromisoformat(fixed)
            when = when.replace(tzinfo=UTC) if when.tzinfo is None else when
        else:
            when = datetime.now(UTC)
        return int(when.timestamp() // 86400)

    # ---- incremental crawling -----------------------------------------------------------------

    def restore_state(self, state: dict[str, Any]) -> None:
        """Adopt what the last good run of this source left (before the first request)."""
        self.previous = {"validators": dict(state.get("validators") or {}),
                         "entries": dict(state.get("entries") or {})}

    jobs_key: ClassVar[str | None] = "jobs"
    """For one-response boards: the key of the job list (None: the body is the list)."""

    def parse_job_list(self, response: Response,
                       to_item: Callable[[dict[str, Any], str], JobPosting],
                       ) -> Iterator[JobPosting]:
        """The parse of boards that list every posting with its content in one JSON
        response (Greenhouse, Ashby, Remotive, RemoteOK): 304, bad JSON, a missing list and
        postings without an id handled once, here; `wanted` and `to_item` are the kind's."""
        if response.status == 304:  # the board has not changed since the last run
            yield from self.not_modified(response)
            return
        jobs = self.job_list(response)
        if jobs is None:
            return
        fetched = self.now()
        ids = []
        for job in jobs:
            if not isinstance(job, dict) or job.get("id") in (None, ""):
                if not self.is_notice(job):
                    self.record_error(f"posting without id in {response.url}")
                continue
            if not self.wanted(job):
                continue
            item = to_item(job, fetched)
            if self.storable(item):
                ids.append(item.external_id)
            yield item
        self.remember(response, ids)

    stream_json_bytes = 4 * 1024 * 1024
    """Bodies this large are parsed one posting at a time (HCJOBS_STREAM_JSON_BYTES)."""

    def job_list(self, response: Response) -> Iterator[Any] | None:
        """The postings of a one-response board, one at a time; None (recorded) when the body
        is not JSON or holds no list of jobs.

        A large body (a 10,000-posting board answers 24 MB) is checked whole first, then
        parsed one posting at a time: never every posting in memory at once, and nothing
        handed to the store from an answer that turns out truncated or malformed. Smaller
        bodies, and any body that fails the check, are parsed whole, which also words the
        error.
        """
        body = response.body
        if len(body) >= self.stream_json_bytes and _json_has_list(body, self.jobs_key):
            prefix = f"{self.jobs_key}.item" if self.jobs_key else "item"
            return iter(ijson.items(io.BytesIO(body), prefix, use_float=True))
        data = self.load_json(response)
        if data is None:
            return None
        if self.jobs_key is None:
            jobs = data if isinstance(data, list) else None
        else:
            jobs = data.get(self.jobs_key) if isinstance(data, dict) else None
        if not isinstance(jobs, list):
            what = f"'{self.jobs_key}' list" if self.jobs_key else "JSON array of jobs"
            self.record_error(f"no {what} in {response.url}", fatal=True)
            return None
        return _drain(jobs)

    def is_notice(self, job: Any) -> bool:
        """An entry of the list that is not a posting at all (RemoteOK's legal notice)."""
        return False

    def wanted(self, job: dict[str, Any]) -> bool:
        """Whether a listed posting is kept (hook: unlisted postings, tag filters)."""
        return True

    @staticmethod
    def storable(item: JobPosting) -> bool:
        """Whether the store will keep `item` (ValidatePipeline's rule): only those go into
        the state, so that a posting missing from the store always means a full fetch."""
        return bool(str(item.external_id or "").strip()) and bool((item.title or "").strip())

    def unchanged(self, external_id: str) -> JobPosting:
        """The item for a posting listed again, unchanged: the store only marks it seen."""
        return JobPosting(source=self.source_name, external_id=str(external_id), unchanged=True)

    def conditional(self, request: Request, key: str | None = None) -> Request:
        """`request` made conditional on the validators the previous run got for it.

        The callback then also receives a 304: it should start with
        `if response.status == 304: yield from self.not_modified(response); return`.
        """
        key = key or request.url
        previous = self.previous["validators"].get(key) or {}
        if previous.get("etag"):
            request.headers[b"If-None-Match"] = previous["etag"]
        if previous.get("modified"):
            request.headers[b"If-Modified-Since"] = previous["modified"]
        request.meta[STATE_KEY_META] = key
        allowed = list(request.meta.get("handle_httpstatus_list") or [])
        request.meta["handle_httpstatus_list"] = [*allowed, 304]
        return request

    def not_modified(self, response: Response) -> list[JobPosting]:
        """Items for a 304: every posting the same response listed last time, unchanged."""
        key = response.meta.get(STATE_KEY_META, response.url)
        previous = self.previous["validators"].get(key)
        if previous is None:
            self.record_error(f"HTTP 304 from {response.url} to a request that was not "
                              "conditional", fatal=True)
            return []
        self.state["validators"][key] = previous
        self.count("hcjobs/not_modified")
        return [self.unchanged(i) for i in previous.get("ids") or []]

    def previous_extra(self, response: Response) -> dict[str, Any]:
        """What `remember(..., extra=)` kept with this response's validators last time."""
        key = response.meta.get(STATE_KEY_META, response.url)
        return dict((self.previous["validators"].get(key) or {}).get("extra") or {})

    def remember(self, response: Response, ids: Iterable[str],
                 extra: dict[str, Any] | None = None) -> None:
        """Keep a conditional response's validators and the postings it listed, if it had any."""
        key = response.meta.get(STATE_KEY_META)
        if key is None:
            return
        etag = response.headers.get(b"ETag")
        modified = response.headers.get(b"Last-Modified")
        if not etag and not modified:
            return
        value: dict[str, Any] = {"ids": [str(i) for i in ids]}
        if etag:
            value["etag"] = etag.decode("latin-1")
        if modified:
            value["modified"] = modified.decode("latin-1")
        if extra:
            value["extra"] = extra
        self.state["validators"][key] = value

    def known_entry(self, key: str, print_: str) -> list[str] | None:
        """The postings an unchanged list entry stood for last run, or None to fetch its detail.

        None as well when the detail is `refresh_days` old or more, so details that change
        without their list entry changing are still picked up in time.
        """
        previous = self.previous["entries"].get(key)
        if not previous or previous[0] != print_ or not previous[1]:
            return None
        if self.today() - int(previous[2]) >= self.refresh_days:
            self.count("hcjobs/details_refreshed")
            return None
        self.state["entries"][key] = previous
        self.count("hcjobs/details_skipped")
        return list(previous[1])

    def remember_entry(self, key: str, print_: str, ids: Iterable[str]) -> None:
        """Keep a list entry's fingerprint with the postings its detail gave, for the next run."""
        self.state["entries"][key] = [print_, [str(i) for i in ids], self.today()]

    # ---- paging -------------------------------------------------------------------------------

    def page_is_fresh(self, keys: Iterable[str]) -> bool:
        """Whether a list page brings a posting not listed before in this run.

        An empty page, or one that only repeats earlier pages (a server ignoring the offset),
        stops the paging: `paging_stopped` is set and counted.
        """
        new = [k for k in keys if k not in self.listed]
        self.listed.update(new)
        if not new and not self.paging_stopped:
            self.paging_stopped = True
            self.count("hcjobs/paging_stopped")
        return bool(new)

    def next_pages(self, page: int, pages: int, fresh: bool) -> range:
        """List pages (0-based) to request once page `page` of `pages` has arrived.

        A sliding window keeps `page_window` pages in flight: the first page opens pages
        1..window-1, and each later page asks for the one window-1 ahead of it. Nothing more
        once a page was empty or repeated. Each page is requested exactly once.
        """
        window = max(int(self.source.get("page_window") or self.page_window), 1)
        if not fresh or self.paging_stopped:
            return range(0)
        if window == 1:
            return range(page + 1, min(page + 2, pages))
        if page == 0:
            return range(1, min(window, pages))
        ahead = page + window - 1
        return range(ahead, min(ahead + 1, pages))


def _json_has_list(body: bytes, key: str | None) -> bool:
    """Whether `body` is valid JSON whose top level (key None) or top-level `key` is an
    array, in one pass that builds no objects."""
    found = False
    try:
        for prefix, event, _value in ijson.parse(io.BytesIO(body), use_float=True):
            if not found and event == "start_array":
                found = prefix == (key or "")
    except (ijson.JSONError, ValueError):
        return False
    return found


def _drain(items: list[Any]) -> Iterator[Any]:
    """The items of a list, each taken off it as it goes, so each can be freed once used."""
    items.reverse()
    while items:
        yield items.pop()
