"""How Scrapy words its per-item log records in hcjobs crawls.

Scrapy logs every dropped item as a WARNING carrying the whole item (its description and
raw payload) in the message: kilobytes a minute for one posting a board lists without a
title. A drop is routine and already counted in the run's stats (`drop/<reason>`, shown by
`hcjobs runs`), so here it is one short INFO line: source, external id, reason.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.logformatter import LogFormatter, LogFormatterResult
from twisted.python.failure import Failure

REASON_MAX = 200


def drop_reason(exception: BaseException) -> str:
    """The reason of a drop: what follows "dropped: " in ValidatePipeline's message
    ("<source>: posting '<id>' dropped: missing_title"), else the whole message."""
    text = " ".join(str(exception).split()) or type(exception).__name__
    return text.rpartition(" dropped: ")[2][:REASON_MAX]


class HcjobsLogFormatter(LogFormatter):
    """Scrapy's log formatter, but a dropped item is logged in one line without its repr,
    and a scraped item is not logged at all unless the crawl logs at DEBUG.

    Scrapy builds a DEBUG record with the whole item for every item scraped and lets the
    handler throw it away: some 25 microseconds of the crawl process per posting.
    """

    def __init__(self, log_level: int | str = logging.DEBUG) -> None:
        level = logging.getLevelName(log_level) if isinstance(log_level, str) else log_level
        self.log_items = not isinstance(level, int) or level <= logging.DEBUG

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HcjobsLogFormatter:
        return cls(crawler.settings.get("LOG_LEVEL", logging.DEBUG))

    # None is what Scrapy's scraper takes for "no record" (its annotation does not say so)
    def scraped(self, item: Any, response: Response | Failure | None,  # type: ignore[override]
                spider: Spider) -> LogFormatterResult | None:
        return super().scraped(item, response, spider) if self.log_items else None

    def dropped(self, item: Any, exception: BaseException,
                response: Response | Failure | None, spider: Spider) -> LogFormatterResult:
        # a DropItem raised with an explicit log_level keeps it
        level = getattr(exception, "log_level", None) or logging.INFO
        return {
            "level": getattr(logging, level) if isinstance(level, str) else level,
            "msg": "%(source)s: dropped posting %(external_id)r: %(reason)s",
            "args": {
                "source": getattr(item, "source", None) or getattr(spider, "source_name", None)
                or spider.name,
                "external_id": getattr(item, "external_id", None),
                "reason": drop_reason(exception),
            },
        }


class WithoutTraceback(logging.Filter):
    """Keeps a record's message and drops its traceback.

    Scrapy's robots.txt middleware logs a robots.txt it could not fetch (a host down, a
    connection refused) with the whole Twisted traceback: some 60 lines per source and run,
    for a failure the run records anyway. The one-line message says all an operator needs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True


def quiet_tracebacks() -> None:
    """Install WithoutTraceback on the Scrapy loggers known to log routine network failures
    with tracebacks (called once by the crawl process)."""
    logging.getLogger("scrapy.downloadermiddlewares.robotstxt").addFilter(WithoutTraceback())
