"""Run sources: one crawl process for the selected sources, then tag what changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from pipeline.db import session_scope
from pipeline.models import CrawlRun, Source
from pipeline.store import mark_interrupted, start_run


@dataclass
class CrawlResult:
    """The runs one crawl produced and how the crawl process ended."""

    run_ids: list[int]
    exit_code: int
    log: str


def run_crawl(
    engine: Engine, db_url: str, entries: Sequence[dict[str, Any]], *,
    timeout: float = 3600, log_level: str = "WARNING",
) -> CrawlResult:
    """Crawl `entries` in a child process (a Twisted reactor cannot restart in this one).

    Runs are created here first, so a child that dies or times out still leaves each run
    recorded as interrupted, never as running forever.
    """
    run_ids = [start_run(engine, e) for e in entries]
    payload = [{**e, "run_id": rid} for e, rid in zip(entries, run_ids, strict=True)]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as fh:
        json.dump(payload, fh)
        entries_file = fh.name
    cmd = [sys.executable, "-m", "crawler.run", "--db", db_url, "--entries", entries_file,
           "--log-level", log_level]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "crawler.settings"}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        code, log = proc.returncode, proc.stderr
    except subprocess.TimeoutExpired as exc:
        code = -1
        log = (exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or "")
        log += f"\ncrawl process stopped after {timeout:.0f} s"
    finally:
        os.unlink(entries_file)
    reason = ("crawl process timed out" if code == -1
              else f"crawl process exited with status {code}")
    mark_interrupted(engine, run_ids, reason)
    return CrawlResult(run_ids, code, log)


def run_rows(engine: Engine, run_ids: Sequence[int]) -> list[tuple[str, CrawlRun]]:
    """(source name, run) for the given runs, in order."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(Source.name, CrawlRun).join(CrawlRun, CrawlRun.source_id == Source.id)
            .where(CrawlRun.id.in_(list(run_ids))).order_by(CrawlRun.id)
        ).all()
        return [(name, run) for name, run in rows]
