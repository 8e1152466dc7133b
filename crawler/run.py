"""Crawl process entry point: runs several sources in one Scrapy process, one run row each.

Started by `pipeline.crawl` as `python -m crawler.run`, because a Twisted reactor cannot
restart inside one process.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.utils.project import get_project_settings
from twisted.python.failure import Failure

from pipeline.db import open_store
from pipeline.sources import spider_kinds
from pipeline.store import finish_run


def crawl_settings(db_url: str, log_level: str = "WARNING") -> Any:
    """Project settings with the store's URL and the operator's contact in the User-Agent."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    settings = get_project_settings()
    settings.set("HCJOBS_DATABASE_URL", db_url)
    settings.set("LOG_LEVEL", log_level)
    contact = os.environ.get("HCJOBS_CONTACT")
    if contact:
        settings.set("USER_AGENT", f"{settings.get('USER_AGENT')} contact: {contact}")
    return settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True, help="database URL")
    parser.add_argument("--entries", required=True,
                        help="JSON file: list of source entries, each with its run_id")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    with open(args.entries, encoding="utf-8") as fh:
        entries: list[dict[str, Any]] = json.load(fh)
    engine = open_store(args.db, upgrade=False)
    process = CrawlerProcess(crawl_settings(args.db, args.log_level))
    kinds = spider_kinds()

    def failed(failure: Failure, run_id: int, name: str) -> None:
        finish_run(engine, run_id, status="failed", stats={},
                   error=f"{name}: crawl could not run: {failure.getErrorMessage()}")

    for entry in entries:
        run_id = entry.pop("run_id")
        deferred = process.crawl(kinds[entry["kind"]], source=entry, run_id=run_id)
        deferred.addErrback(failed, run_id, entry["name"])
    process.start()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
