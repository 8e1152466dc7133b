"""Item pipelines: drop unusable items with a counted reason, hand the rest to the store."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.extensions.corestats import CoreStats as ScrapyCoreStats
from scrapy.utils.asyncio import is_asyncio_available

from crawler.items import JobPosting
from pipeline.crawlstate import (
    STATE_KEY,
    SUMMARY_KEY,
    VERSION,
    config_hash,
    drop_older_states,
    load_state,
    mark_seen,
)
from pipeline.db import open_store
from pipeline.lifecycle import after_run
from pipeline.prepare import prepare_items
from pipeline.store import (
    BatchCounts,
    finish_run,
    prepare_pool,
    start_run,
    store_items,
    store_prepared,
    utcnow,
)

logger = logging.getLogger(__name__)
# Batches normalized ahead of the one being written, per run: enough to keep the worker busy
# while batches are written, few enough to bound the items held in memory (a few MB each).
AHEAD = 3
# Batches a worker may have waiting before this process normalizes the next one itself:
# the worker is never left without one, and this process never waits idle for it.
QUEUED = 2
_POOL: ProcessPoolExecutor | None = None
_WRITER: ThreadPoolExecutor | None = None
"""The crawl process's writer thread (see StorePipeline._stored_in_writer), one for every
source: their batches are written one at a time."""
DB_LOCK = threading.RLock()
"""Held by the pipelines' every use of the store, in the writer thread or the event loop's:
one at a time, as when all ran on the loop. A batch's duplicate look-ups must see every
batch stored before it, of any source, and SQLite cannot turn a read into a write once
another connection has written since the read began."""
ITEM_FIELDS = tuple(f.name for f in fields(JobPosting) if f.name != "unchanged")


def _locked(write: Callable[[], BatchCounts]) -> BatchCounts:
    with DB_LOCK:
        return write()


def shutdown_workers() -> None:
    """Stop the prepare workers and the writer thread once every crawl of the process has
    ended (each spider waits for its own batches as it closes, so none is pending)."""
    global _POOL, _WRITER
    pool, writer, _POOL, _WRITER = _POOL, _WRITER, None, None
    if pool is not None:
        pool.shutdown(wait=True)
    if writer is not None:
        writer.shutdown(wait=True)


class CoreStats(ScrapyCoreStats):
    """Scrapy's core stats without its item_scraped handler: StorePipeline, the last
    pipeline, counts `item_scraped_count` instead. A signal with a handler costs an asyncio
    task and a signature inspection per item (robustApply); one without, next to nothing.
    On a 10,000-posting board that was a seventh of the crawl process's event loop."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CoreStats:
        stats = super().from_crawler(crawler)
        crawler.signals.disconnect(stats.item_scraped, signal=signals.item_scraped)
        return stats


class ValidatePipeline:
    """Drops items the store cannot use, counting each under `drop/<reason>`."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        return cls(crawler)

    def process_item(self, item: JobPosting) -> JobPosting:
        reason = None
        if not str(item.external_id or "").strip():
            reason = "missing_id"
        elif not item.unchanged and not (item.title or "").strip():
            reason = "missing_title"
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


def run_summary(stats: dict[str, Any], counts: dict[str, int]) -> dict[str, Any]:
    """The figures an operator reads first, from Scrapy's stats and the store's counts.

    requests and responses by status (robots.txt included), postings seen / new / changed /
    unchanged, 304s and skipped details, items dropped by reason, retries, errors, duration,
    and the hosts whose circuit breaker tripped.
    """
    prefix = "downloader/response_status_count/"
    responses = {k[len(prefix):]: v for k, v in stats.items() if k.startswith(prefix)}
    exceptions = {k.rsplit("/", 1)[-1].rsplit(".", 1)[-1]: v for k, v in stats.items()
                  if k.startswith("downloader/exception_type_count/")}
    duration = stats.get("elapsed_time_seconds")
    if duration is None and isinstance(stats.get("start_time"), datetime):
        duration = (datetime.now(UTC) - stats["start_time"]).total_seconds()
    return {
        "requests": int(stats.get("downloader/request_count", 0)),
        "responses": responses,
        "exceptions": exceptions,
        "bytes": int(stats.get("downloader/response_bytes", 0)),
        **counts,
        "not_modified": int(stats.get("hcjobs/not_modified", 0)),
        "details_skipped": int(stats.get("hcjobs/details_skipped", 0)),
        "details_failed": int(stats.get("hcjobs/details_failed", 0)),
        "dropped": {k[len("drop/"):]: v for k, v in stats.items() if k.startswith("drop/")},
        "retries": int(stats.get("retry/count", 0)),
        "retry_wait_s": round(float(stats.get("hcjobs/retry_wait_seconds", 0.0)), 2),
        "robots_forbidden": int(stats.get("robotstxt/forbidden", 0)),
        "breaker_trips": {k[len("hcjobs/circuit_open/"):]: v for k, v in stats.items()
                          if k.startswith("hcjobs/circuit_open/")},
        "breaker_skipped": int(stats.get("hcjobs/breaker_skipped", 0)),
        "errors": int(stats.get("hcjobs/errors", 0)),
        "duration_s": round(float(duration), 3) if duration is not None else None,
    }


class StorePipeline:
    """Hands items to the store in batches and records the run's outcome when the spider closes.

    Each batch is one transaction, so a crash mid-run leaves every stored batch intact and
    nothing half-written. Unchanged items (listed again, not fetched again) are only marked
    seen. The source's incremental state is read from its last good run when the spider
    opens and written with this run when it ends ok.
    """

    def __init__(self, crawler: Crawler, db_url: str | None, batch_size: int,
                 workers: int = 0) -> None:
        self.crawler = crawler
        self.db_url = db_url
        self.batch_size = batch_size
        self.threaded = is_asyncio_available()
        """Whether batches go to the writer thread and the workers (an asyncio loop runs)."""
        self.workers = workers if self.threaded else 0
        self.batches = 0
        self.scraped = 0  # items not yet added to item_scraped_count (see _count_scraped)
        self.pending: deque[asyncio.Task[None]] = deque()
        self.in_workers: list[asyncio.Future[Any]] = []
        self.buffer: list[dict[str, Any]] = []
        self.unchanged: list[str] = []
        self.engine: Any = None
        self.run_id: int | None = None
        self.store_error: str | None = None
        self.counts = {"seen": 0, "new": 0, "changed": 0, "unchanged": 0,
                       "unchanged_missing": 0}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        db_url = crawler.settings.get("HCJOBS_DATABASE_URL") or os.environ.get(
            "HCJOBS_DATABASE_URL")
        workers = crawler.settings.get("HCJOBS_PREPARE_WORKERS")
        pipe = cls(crawler, db_url, crawler.settings.getint("HCJOBS_BATCH_SIZE", 500),
                   int(workers) if workers is not None else
                   (1 if (os.cpu_count() or 1) > 1 else 0))
        crawler.signals.connect(pipe.spider_closed, signal=signals.spider_closed)
        return pipe

    def open_spider(self) -> None:
        with DB_LOCK:
            self._open_spider()

    def _open_spider(self) -> None:
        spider: Any = self.crawler.spider
        self.engine = open_store(self.db_url, upgrade=getattr(spider, "run_id", None) is None)
        self.run_id = getattr(spider, "run_id", None)
        source = getattr(spider, "source", {"name": spider.name, "kind": spider.name})
        if self.run_id is None:  # plain `scrapy crawl`: record the run ourselves
            self.run_id = start_run(self.engine, source)
            spider.run_id = self.run_id
        if hasattr(spider, "restore_state"):
            try:
                spider.restore_state(load_state(self.engine, source))
            except Exception as exc:  # no state only means a full crawl
                logger.warning("%s: previous crawl state unreadable, crawling in full: %s",
                               source.get("name"), exc)

    async def process_item(self, item: JobPosting) -> JobPosting:
        self.scraped += 1
        if item.unchanged:
            self.unchanged.append(item.external_id)
            if len(self.unchanged) >= self.batch_size * 5:
                self.flush_unchanged()
            return item
        # a shallow copy: dataclasses.asdict would deep-copy every raw payload again
        self.buffer.append({f: getattr(item, f) for f in ITEM_FIELDS})
        if len(self.buffer) >= self.batch_size:
            await self.flush()
        return item

    async def flush(self) -> None:
        """Store the buffered items; a store failure is recorded, never raised into Scrapy.

        Batches are written in order, one at a time, in the writer thread (see
        _stored_in_writer), at most AHEAD in flight while Scrapy goes on fetching and
        parsing. The first batch of a run is normalized here (its source may have no more);
        from the second on (a large source), in a worker process. When the workers already
        have QUEUED batches waiting, this process normalizes the next one itself: a large
        one-response board is parsed faster than one worker normalizes.
        """
        if not self.buffer or self.store_error or self.run_id is None:
            self.buffer.clear()
            return
        batch, self.buffer = self.buffer, []
        self.batches += 1
        self._count_scraped()
        run_id = self.run_id
        if not self.threaded:  # no asyncio loop to await a thread with: written now
            self._stored(lambda: store_items(self.engine, run_id, batch))
            return
        global _POOL
        now = utcnow()
        in_worker = False
        if self.batches == 1 or not self.workers:
            if self.workers and _POOL is None and len(batch) >= self.batch_size:
                try:  # a full first batch: more will follow; the worker starts meanwhile
                    self._start_pool()
                except Exception as exc:
                    self._without_workers(exc)
            prepared = self._prepared_here(batch, now)
        elif sum(not f.done() for f in self.in_workers) >= self.workers + QUEUED:
            # the workers have batches waiting behind the ones they normalize: this process
            # normalizes this one rather than wait idle (written in order all the same)
            prepared = self._prepared_here(batch, now)
            if self.crawler.stats is not None:
                self.crawler.stats.inc_value("hcjobs/batches_prepared_inline")
        else:
            try:
                if _POOL is None:
                    self._start_pool()
                assert _POOL is not None
                prepared = asyncio.wrap_future(_POOL.submit(prepare_items, batch, now))
                in_worker = True
            except Exception as exc:  # a broken pool (its worker died): no batch is lost
                self._without_workers(exc)
                prepared = self._prepared_here(batch, now)
            else:
                self.in_workers = [f for f in self.in_workers if not f.done()] + [prepared]
                if self.crawler.stats is not None:
                    self.crawler.stats.inc_value("hcjobs/batches_prepared_in_workers")
        previous = self.pending[-1] if self.pending else None
        self.pending.append(asyncio.ensure_future(
            self._write(previous, prepared, batch, now, in_worker)))
        while len(self.pending) > AHEAD:
            await self.pending.popleft()

    @staticmethod
    def _prepared_here(batch: list[dict[str, Any]], now: datetime) -> asyncio.Future[Any]:
        """The batch normalized in this process, as a done future (an error kept in it)."""
        prepared = asyncio.get_running_loop().create_future()
        try:
            prepared.set_result(prepare_items(batch, now))
        except Exception as exc:
            prepared.set_exception(exc)
        return prepared

    async def _write(self, previous: asyncio.Task[None] | None, prepared: asyncio.Future[Any],
                     batch: list[dict[str, Any]], now: datetime, in_worker: bool) -> None:
        """Write one normalized batch, after the batch handed over before it; if the worker
        died on it, the batch is normalized here instead."""
        if previous is not None:
            await asyncio.wait([previous])
        run_id = self.run_id
        assert run_id is not None
        try:
            ready = await prepared
        except Exception as exc:
            if not in_worker:  # normalizing failed here: the run's store error
                self._failed(exc)
                return
            self._without_workers(exc)
            await self._stored_in_writer(lambda: store_items(self.engine, run_id, batch, now))
            return
        await self._stored_in_writer(lambda: store_prepared(self.engine, run_id, ready, now))

    def _start_pool(self) -> None:
        """One pool for every source of this crawl process, its worker started now: it
        imports the normalizer while the first batch is stored here."""
        global _POOL
        _POOL = prepare_pool(self.workers)
        _POOL.submit(os.getpid)  # a pool starts its processes on the first task

    def _without_workers(self, exc: Exception) -> None:
        """Go on in this process: the pool is dropped, and its next user starts a new one."""
        global _POOL
        logger.warning("prepare worker failed (%s: %s): normalizing in the crawl process",
                       type(exc).__name__, exc)
        broken, _POOL, self.workers = _POOL, None, 0
        if broken is not None:
            broken.shutdown(wait=False, cancel_futures=True)

    def _stored(self, write: Callable[[], BatchCounts]) -> None:
        """Run one batch's write and count it; after a failure, nothing more is written."""
        if self.store_error:
            return
        try:
            counts = _locked(write)
        except Exception as exc:  # the run must end recorded, whatever the database said
            self._failed(exc)
            return
        self._count(counts)

    async def _stored_in_writer(self, write: Callable[[], BatchCounts]) -> None:
        """_stored(), with the write run in the crawl process's writer thread while Scrapy
        goes on here: the database driver lets go of the GIL while the database works (SQLite
        inserting rows, indexing their words and updating the listings; PostgreSQL answering),
        so that work overlaps the parsing of the next items on the other core. One thread for
        every source: batches are written one at a time, a source's in the order handed over."""
        if self.store_error:
            return
        global _WRITER
        if _WRITER is None:
            _WRITER = ThreadPoolExecutor(1, thread_name_prefix="hcjobs-store")
        try:
            counts = await asyncio.get_running_loop().run_in_executor(_WRITER, _locked, write)
        except Exception as exc:  # the run must end recorded, whatever the database said
            self._failed(exc)
            return
        self._count(counts)

    def _count(self, counts: BatchCounts) -> None:
        for key in ("seen", "new", "changed"):
            self.counts[key] += int(getattr(counts, key, 0))

    def _failed(self, exc: Exception) -> None:
        self.store_error = f"store failed: {type(exc).__name__}: {exc}"
        logger.error(self.store_error)

    def flush_unchanged(self) -> None:
        """Mark the buffered unchanged postings seen, in one statement per chunk."""
        if not self.unchanged or self.store_error or self.run_id is None:
            self.unchanged.clear()
            return
        ids, self.unchanged = self.unchanged, []
        try:
            with DB_LOCK:
                found = mark_seen(self.engine, self.run_id, ids)
        except Exception as exc:
            self._failed(exc)
            return
        self.counts["seen"] += found
        self.counts["unchanged"] += found
        self.counts["unchanged_missing"] += len(set(ids)) - found

    def _count_scraped(self) -> None:
        """Add the items seen since the last call to `item_scraped_count` (for CoreStats
        above): once per batch, as a stats call goes through StatsCollector's
        __getattribute__ and costs more than the count itself."""
        if self.scraped and self.crawler.stats is not None:
            self.crawler.stats.inc_value("item_scraped_count", self.scraped)
        self.scraped = 0

    async def close_spider(self) -> None:
        self._count_scraped()
        await self.flush()
        while self.pending:
            await self.pending.popleft()
        self.flush_unchanged()

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Record the run's status, errors, Scrapy stats, summary and incremental state."""
        if self.run_id is None:
            return
        with DB_LOCK:
            self._record_run(self.run_id, spider, reason)
        if self.engine is not None:
            self.engine.dispose()  # this source's connections close now, not at exit

    def _record_run(self, run_id: int, spider: Spider, reason: str) -> None:
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
        raw_stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        stats[SUMMARY_KEY] = run_summary(raw_stats, dict(self.counts))
        state = getattr(spider, "state", None)
        source = getattr(spider, "source", None)
        if status == "ok" and isinstance(state, dict) and isinstance(source, dict):
            stats[STATE_KEY] = {"version": VERSION, "config": config_hash(source), **state}
        dropped = sum(v for k, v in stats.items() if k.startswith("drop/") and isinstance(v, int))
        finish_run(self.engine, run_id, status=status,
                   error="; ".join(errors[:5]) or None, stats=stats, dropped=dropped)
        if status == "ok":
            after_run(self.engine, run_id)
            drop_older_states(self.engine, run_id)
