"""Item pipelines: drop unusable items with a counted reason, hand the rest to the store."""

from __future__ import annotations

import logging
import os
from dataclasses import asdict
from datetime import datetime
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.items import JobPosting
from pipeline.db import open_store
from pipeline.lifecycle import after_run
from pipeline.store import finish_run, start_run, store_items

logger = logging.getLogger(__name__)


class ValidatePipeline:
    """Drops items the store cannot use, counting each under `drop/<reason>`."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        return cls(crawler)

    def process_item(self, item: JobPosting) -> JobPosting:
        reason = None
        if not (item.title or "").strip():
            reason = "missing_title"
        elif not str(item.external_id or "").strip():
            reason = "missing_id"
        if reason:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value(f"drop/{reason}")
            raise DropItem(f"{item.source}: posting {item.external_id!r} dropped: {reason}")
        return item


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


class StorePipeline:
    """Hands items to the store in batches and records the run's outcome when the spider closes.

    Each batch is one transaction, so a crash mid-run leaves every stored batch intact and
    nothing half-written.
    """

    def __init__(self, crawler: Crawler, db_url: str | None, batch_size: int) -> None:
        self.crawler = crawler
        self.db_url = db_url
        self.batch_size = batch_size
        self.buffer: list[dict[str, Any]] = []
        self.engine: Any = None
        self.run_id: int | None = None
        self.store_error: str | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        db_url = crawler.settings.get("HCJOBS_DATABASE_URL") or os.environ.get(
            "HCJOBS_DATABASE_URL")
        pipe = cls(crawler, db_url, crawler.settings.getint("HCJOBS_BATCH_SIZE", 200))
        crawler.signals.connect(pipe.spider_closed, signal=signals.spider_closed)
        return pipe

    def open_spider(self) -> None:
        spider: Any = self.crawler.spider
        self.engine = open_store(self.db_url, upgrade=getattr(spider, "run_id", None) is None)
        self.run_id = getattr(spider, "run_id", None)
        if self.run_id is None:  # plain `scrapy crawl`: record the run ourselves
            source = getattr(spider, "source", {"name": spider.name, "kind": spider.name})
            self.run_id = start_run(self.engine, source)
            spider.run_id = self.run_id

    def process_item(self, item: JobPosting) -> JobPosting:
        self.buffer.append(asdict(item))
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def flush(self) -> None:
        """Store the buffered items; a store failure is recorded, never raised into Scrapy."""
        if not self.buffer or self.store_error or self.run_id is None:
            self.buffer.clear()
            return
        batch, self.buffer = self.buffer, []
        try:
            store_items(self.engine, self.run_id, batch)
        except Exception as exc:  # the run must end recorded, whatever the database said
            self.store_error = f"store failed: {type(exc).__name__}: {exc}"
            logger.error(self.store_error)

    def close_spider(self) -> None:
        self.flush()

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Record the run's status, errors and Scrapy stats."""
        if self.run_id is None:
            return
        stats = _jsonable(self.crawler.stats.get_stats() if self.crawler.stats else {})
        errors: list[str] = list(getattr(spider, "errors", []))
        if self.store_error:
            errors.append(self.store_error)
        if reason not in ("finished",):
            status = "interrupted"
            errors.append(f"crawl ended early: {reason}")
        elif getattr(spider, "fatal", False) or self.store_error:
            status = "failed"
        else:
            status = "ok"
        stats["errors"] = errors
        dropped = sum(v for k, v in stats.items() if k.startswith("drop/") and isinstance(v, int))
        finish_run(self.engine, self.run_id, status=status,
                   error="; ".join(errors[:5]) or None, stats=stats, dropped=dropped)
        if status == "ok":
            after_run(self.engine, self.run_id)
