"""Run sources: one crawl process for the selected sources, then tag what changed."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from pipeline.db import session_scope
from pipeline.models import CrawlRun, Source
from pipeline.store import mark_interrupted, start_run

log = logging.getLogger("hcjobs.crawl")
_ACTIVE: set[subprocess.Popen[str]] = set()
_ACTIVE_LOCK = threading.Lock()
GRACE_SECONDS = 30.0


def _stop(proc: subprocess.Popen[str], grace: float = GRACE_SECONDS) -> None:
    """SIGTERM a crawl process (Scrapy closes its spiders, which records each run as
    interrupted), then kill it if it has not ended after `grace` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class _LogReader(threading.Thread):
    """Reads a crawl process's stderr as it comes: kept for CrawlResult.log and, with
    `echo`, passed on to this process's stderr line by line (the child already formats its
    records as text or JSON lines, see pipeline.logs), so a scheduler's log has its crawls'."""

    def __init__(self, stream: IO[str], echo: bool) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.echo = echo
        self.lines: list[str] = []

    def run(self) -> None:
        for line in self.stream:
            self.lines.append(line)
            if self.echo:
                sys.stderr.write(line)  # looked up each time: a live display may redirect it
                sys.stderr.flush()

    def text(self) -> str:
        self.join()
        return "".join(self.lines)


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


Progress = Callable[[list[tuple[str, CrawlRun]]], None]
"""Called with (source name, run) of every run while a crawl goes on, and once at its end."""


def run_crawl(
    engine: Engine, db_url: str, entries: Sequence[dict[str, Any]], *,
    timeout: float = 3600, log_level: str = "WARNING", echo_log: bool = False,
    progress: Progress | None = None, poll: float = 1.0,
) -> CrawlResult:
    """Crawl `entries` in a child process (a Twisted reactor cannot restart in this one).

    Runs are created here first, so a child that dies, times out or is interrupted still
    leaves each run recorded as interrupted, never as running forever. `progress` sees the
    runs' rows every `poll` seconds: the child adds to seen / new / changed per stored batch,
    so the database is where progress is read, with no channel to the child to keep up.
    """
    run_ids = [start_run(engine, e) for e in entries]
    payload = [{**e, "run_id": rid} for e, rid in zip(entries, run_ids, strict=True)]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as fh:
        json.dump(payload, fh)
        entries_file = fh.name
    cmd = [sys.executable, "-m", "crawler", "--db", db_url, "--entries", entries_file,
           "--log-level", log_level]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "crawler.settings"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            errors="replace", env=env)
    assert proc.stderr is not None
    reader = _LogReader(proc.stderr, echo_log)
    reader.start()
    with _ACTIVE_LOCK:
        _ACTIVE.add(proc)
    code: int | None = None
    try:
        code = _wait(proc, timeout, poll, (lambda: progress(run_rows(engine, run_ids)))
                     if progress else None)
    except KeyboardInterrupt:  # Ctrl-C reached the child too: let it record its runs
        try:
            proc.wait(timeout=GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            _stop(proc)
        raise
    except BaseException:
        _stop(proc)
        raise
    finally:
        with _ACTIVE_LOCK:
            _ACTIVE.discard(proc)
        os.unlink(entries_file)
        reason = ("crawl interrupted" if code is None else "crawl process timed out"
                  if code == -1 else f"crawl process ended with status {code}")
        mark_interrupted(engine, run_ids, reason)
    output = reader.text()
    if code == -1:
        output += f"\ncrawl process stopped after {timeout:.0f} s"
    if progress:
        progress(run_rows(engine, run_ids))
    return CrawlResult(run_ids, code, output)


def _wait(proc: subprocess.Popen[str], timeout: float, poll: float,
          tick: Callable[[], None] | None) -> int:
    """The child's exit status, or -1 after stopping it at `timeout`; `tick` runs every
    `poll` seconds meanwhile (a failed tick, such as a locked database, is skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            _stop(proc)
            return -1
        try:
            return proc.wait(timeout=min(left, poll) if tick else left)
        except subprocess.TimeoutExpired:
            if tick:
                try:
                    tick()
                except SQLAlchemyError as exc:
                    log.debug("progress not read this time: %s", exc)


def run_rows(engine: Engine, run_ids: Sequence[int]) -> list[tuple[str, CrawlRun]]:
    """(source name, run) for the given runs, in order."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(Source.name, CrawlRun).join(CrawlRun, CrawlRun.source_id == Source.id)
            .where(CrawlRun.id.in_(list(run_ids))).order_by(CrawlRun.id)
        ).all()
        return [(name, run) for name, run in rows]
