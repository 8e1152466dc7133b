"""Scrapy settings for hcjobs crawls: polite by default, bounded in time and size.

Where a setting can be changed, lowest priority first:
1. this module;
2. `HCJOBS_CRAWL_SETTINGS`, a JSON object in the environment of the crawl process
   (`{"DOWNLOAD_TIMEOUT": 5}`), applied by the crawl process (crawler.run) to every source
   of the crawl;
3. for a source on a loopback host (127.0.0.1, localhost, ::1: tests, the demo board, the
   benchmark, a local mirror), `HCJOBS_LOCAL_SETTINGS` below;
4. the source entry's own `settings` table in sources.toml (`settings = {DOWNLOAD_DELAY = 2}`).
Plain `scrapy crawl` takes `-s NAME=VALUE` as usual.
"""

import os

from scrapy.settings import default_settings as _scrapy

BOT_NAME = "hcjobs"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# ---- politeness --------------------------------------------------------------------------------
# Identify ourselves. The operator's contact (an e-mail or URL) is appended as
# "(+...; contact: ...)": from the source entry's `contact` (usually set once in the
# sources file's [defaults] table), else from HCJOBS_CONTACT.
USER_AGENT = "hcjobs/0.1 (+https://github.com/hcjobs/hcjobs)"
HCJOBS_CONTACT = os.environ.get("HCJOBS_CONTACT") or None
ROBOTSTXT_OBEY = True

# Per host: at most 4 requests in flight, at least DOWNLOAD_DELAY seconds apart, and AutoThrottle
# slows down further when the host answers slowly.
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.25
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
# Sources of one crawl that talk to the same (non-loopback) host run one after another, so the
# per-host limits above hold for the whole crawl process, not only for each source.
HCJOBS_SOURCES_PER_HOST = 1
# Loopback hosts are our own servers: no delay, no AutoThrottle, more requests in flight.
# Everything else (robots.txt, retries, Retry-After, the circuit breaker) stays on.
HCJOBS_LOCAL_SETTINGS = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
}

# ---- bounds ------------------------------------------------------------------------------------
DOWNLOAD_TIMEOUT = 20
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024
REDIRECT_MAX_TIMES = 5
# A redirect loop ends in "max redirections reached" (recorded on the run) instead of being
# dropped silently as a duplicate request.
DUPEFILTER_CLASS = "crawler.middlewares.RedirectLoopAwareDupeFilter"

# ---- retries -----------------------------------------------------------------------------------
# crawler.middlewares.PoliteRetryMiddleware replaces Scrapy's RetryMiddleware: it reads the same
# RETRY_* settings, waits as long as Retry-After asks on 429/503 (up to HCJOBS_RETRY_AFTER_MAX
# seconds; a longer wait gives up), and otherwise backs off exponentially with jitter:
# about HCJOBS_BACKOFF_BASE * 2**(attempt-1) seconds, never more than HCJOBS_BACKOFF_MAX.
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
HCJOBS_BACKOFF_BASE = 1.0
HCJOBS_BACKOFF_MAX = 60.0
HCJOBS_RETRY_AFTER_MAX = 300.0
# After this many consecutive failures of one host (5xx or 429 after retries, timeouts,
# connection errors) the rest of the run sends it nothing more; 0 disables the breaker.
HCJOBS_BREAKER_THRESHOLD = 5

DOWNLOADER_MIDDLEWARES = {
    # Every middleware method costs a coroutine per request; these do nothing for hcjobs
    # (no allowed_domains, no HTTP auth), so they are left out.
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware": None,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.PoliteRetryMiddleware": 550,
    "crawler.middlewares.CircuitBreakerMiddleware": 560,
}

# The Referer middleware stays (Scrapy's redirect middlewares warn on every crawl without
# it), with a policy that never sends one: no board needs it.
REFERRER_POLICY = "no-referrer"
SPIDER_MIDDLEWARES = {  # likewise: no crawl depth limit
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
}

# ---- incremental crawling ----------------------------------------------------------------------
# A posting whose list entry is unchanged since the last good run is not fetched again (only
# marked seen), unless its detail was fetched this many days ago or more.
HCJOBS_REFRESH_DAYS = 7

# One-response boards (Greenhouse, Ashby, Remotive, RemoteOK) answering this many bytes or
# more are checked whole, then parsed one posting at a time (a 10,000-posting board answers
# about 24 MB): memory stays flat however large the board.
HCJOBS_STREAM_JSON_BYTES = 4 * 1024 * 1024

# Items of one response go through the item pipelines one at a time: ours are synchronous, and
# Scrapy's default (100) starts 100 asyncio tasks per response, which costs more than a
# page's whole parse at thousands of pages.
CONCURRENT_ITEMS = 1

COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19 starts, for every crawler, an HTTP server on localhost that runs Python code sent
# to it (for its MCP server), and writes its token to a file in the user's profile. A
# scheduled crawl wants no such door; it also costs each crawl process aiohttp's import.
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "WARNING"
# A dropped item (no id, no title) is one INFO line (source, external id, reason), not a
# WARNING with the whole item printed: drops are counted in the run's stats (drop/<reason>).
LOG_FORMATTER = "crawler.logformatter.HcjobsLogFormatter"

# Scrapy's core stats, less the per-item signal handler (see crawler.pipelines.CoreStats).
EXTENSIONS = {
    "scrapy.extensions.corestats.CoreStats": None,
    "crawler.pipelines.CoreStats": 0,
}
# Components turned off above (telnet, remote control, cookies) are also taken out of Scrapy's
# base lists: Scrapy imports every component a list names, even one set to None, to compare
# them by class, and these three bring Twisted's telnet server, aiohttp and tldextract, some
# 0.15 s of every crawl process's start. Scrapy's other and future components stay.
_NOT_LOADED = {"scrapy.extensions.telnet.TelnetConsole",
               "scrapy.extensions.remote_control.RemoteControl",
               "scrapy.downloadermiddlewares.cookies.CookiesMiddleware"}
EXTENSIONS_BASE = {k: v for k, v in _scrapy.EXTENSIONS_BASE.items() if k not in _NOT_LOADED}
DOWNLOADER_MIDDLEWARES_BASE = {k: v for k, v in _scrapy.DOWNLOADER_MIDDLEWARES_BASE.items()
                               if k not in _NOT_LOADED}

ITEM_PIPELINES = {
    "crawler.pipelines.ValidatePipeline": 100,
    "crawler.pipelines.StorePipeline": 800,
}
# Items are handed to the store in batches of this size, each written in one transaction.
# (500 rather than 200: on SQLite each statement flushes the full-text index's pending words
# and each commit may checkpoint the WAL. With the writer thread of crawler.pipelines, a
# 10,000-posting board went 15% faster end to end.)
HCJOBS_BATCH_SIZE = 500
# The store: overridden by HCJOBS_DATABASE_URL or the `hcjobs --db` option.
HCJOBS_DATABASE_URL = None

FEED_EXPORT_ENCODING = "utf-8"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
