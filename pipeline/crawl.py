"""Run sources: one crawl process for the selected sources, then tag what changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from pipeline.db import session_scope
from pipeline.models import CrawlRun, Source
from pipeline.store import mark_interrupted, start_run

_ACTIVE: set[subprocess.Popen[str]] = set()
_ACTIVE_LOCK = threading.Lock()
GRACE_SECONDS = 30.0


def _stop(proc: subprocess.Popen[str], grace: float = GRACE_SECONDS) -> str:
    """SIGTERM a crawl process (Scrapy closes its spiders, which records each run as
    interrupted), then kill it if it has not ended after `grace` seconds. Returns its log."""
    proc.terminate()
    try:
        _, log = proc.communicate(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, log = proc.communicate()
    return log or ""


def stop_active_crawls(grace: float = GRACE_SECONDS) -> int:
    """Stop every crawl process this process started (used on scheduler shutdown)."""
    with _ACTIVE_LOCK:
        procs = list(_ACTIVE)
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
    return len(procs)


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
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=env)
    with _ACTIVE_LOCK:
        _ACTIVE.add(proc)
    try:
        try:
            _, log = proc.communicate(timeout=timeout)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            log = _stop(proc) + f"\ncrawl process stopped after {timeout:.0f} s"
            code = -1
    finally:
        with _ACTIVE_LOCK:
            _ACTIVE.discard(proc)
        os.unlink(entries_file)
    reason = ("crawl process timed out" if code == -1
              else f"crawl process ended with status {code}")
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
