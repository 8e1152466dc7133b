"""Crawl process entry point: runs several sources in one Scrapy process, one run row each.

Started by `pipeline.crawl` as `python -m crawler` (see crawler/__main__.py), because a
Twisted reactor cannot restart inside one process. Sources on different hosts crawl side by
side; sources on the same remote host (every Greenhouse board is on
boards-api.greenhouse.io) take turns, HCJOBS_SOURCES_PER_HOST at a time, so per-host limits
hold for the whole process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from collections.abc import Callable
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import default_settings
from scrapy.utils.project import get_project_settings
from twisted.internet.defer import Deferred, DeferredList, DeferredSemaphore
from twisted.internet.error import ReactorNotRunning
from twisted.python.failure import Failure

from crawler.logformatter import quiet_tracebacks
from crawler.pipelines import DB_LOCK, shutdown_workers
from crawler.spiders.base import is_loopback
from pipeline.db import open_store
from pipeline.logs import setup_logging
from pipeline.sources import spider_kinds
from pipeline.store import finish_run

SETTINGS_ENV = "HCJOBS_CRAWL_SETTINGS"


def crawl_settings(db_url: str, log_level: str = "WARNING") -> Any:
    """Project settings with the store's URL, the operator's contact and the overrides of
    HCJOBS_CRAWL_SETTINGS (a JSON object of setting names and values)."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    settings = get_project_settings()
    settings.set("HCJOBS_DATABASE_URL", db_url)
    settings.set("LOG_LEVEL", log_level)
    contact = os.environ.get("HCJOBS_CONTACT")
    if contact:
        settings.set("HCJOBS_CONTACT", contact)
    overrides = os.environ.get(SETTINGS_ENV, "").strip()
    if overrides:
        try:
            values = json.loads(overrides)
        except ValueError as exc:
            raise SystemExit(f"{SETTINGS_ENV} is not a JSON object: {exc}") from exc
        if not isinstance(values, dict):
            raise SystemExit(f"{SETTINGS_ENV} must be a JSON object of settings")
        settings.setdict(values, priority="project")
    return settings


def host_key(entry: dict[str, Any], kinds: dict[str, Any]) -> str | None:
    """The remote host whose per-host limit a source counts against; None for loopback
    hosts and unknown kinds, which are not held back."""
    spider = kinds.get(str(entry.get("kind")))
    if spider is None:
        return None
    host = spider.host_of(entry)
    return None if not host or is_loopback(host) else host


def schedule(entries: list[dict[str, Any]], kinds: dict[str, Any], per_host: int,
             start: Callable[[dict[str, Any]], Deferred[Any]]) -> list[Deferred[Any]]:
    """Start every entry's crawl through `start`, at most `per_host` at a time per host."""
    locks: dict[str, DeferredSemaphore] = {}
    started: list[Deferred[Any]] = []
    for entry in entries:
        host = host_key(entry, kinds)
        if host is None:
            started.append(start(entry))
            continue
        lock = locks.setdefault(host, DeferredSemaphore(max(per_host, 1)))
        started.append(lock.run(start, entry))
    return started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True, help="database URL")
    parser.add_argument("--entries", required=True,
                        help="JSON file: list of source entries, each with its run_id")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    with open(args.entries, encoding="utf-8") as fh:
        entries: list[dict[str, Any]] = json.load(fh)
    if not entries:
        return 0
    engine = open_store(args.db, upgrade=False)
    settings = crawl_settings(args.db, args.log_level)
    # Scrapy routes its records (and Twisted's) to Python logging; the handler is ours, so
    # they come out as text or JSON lines like the parent's ($HCJOBS_LOG_FORMAT).
    if hasattr(default_settings, "LOG_INSTALL_ROOT_HANDLER"):  # the parameter is deprecated
        settings.set("LOG_INSTALL_ROOT_HANDLER", False)
        process = CrawlerProcess(settings)
    else:
        process = CrawlerProcess(settings, install_root_handler=False)
    try:
        setup_logging(level=settings.get("LOG_LEVEL"))
    except ValueError as exc:
        raise SystemExit(str(exc)) from exc
    quiet_tracebacks()
    kinds = spider_kinds()

    def failed(failure: Failure, run_id: int, name: str) -> None:
        with DB_LOCK:  # other sources' batches may be being written
            finish_run(engine, run_id, status="failed", stats={},
                       error=f"{name}: crawl could not run: {failure.getErrorMessage()}")

    def start(entry: dict[str, Any]) -> Deferred[Any]:
        run_id = entry.pop("run_id")
        deferred = process.crawl(kinds[entry["kind"]], source=entry, run_id=run_id)
        deferred.addErrback(failed, run_id, entry["name"])
        return deferred

    def stop(_: Any) -> None:
        from twisted.internet import reactor as installed

        reactor: Any = installed
        if not reactor.running:  # every crawl ended before the reactor started
            reactor.callWhenRunning(reactor.stop)
            return
        with contextlib.suppress(ReactorNotRunning):  # a SIGTERM made Scrapy stop it already
            reactor.stop()

    crawls = schedule(entries, kinds, settings.getint("HCJOBS_SOURCES_PER_HOST", 1), start)
    DeferredList(crawls, consumeErrors=True).addBoth(stop)
    process.start(stop_after_crawl=False)
    shutdown_workers()
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
