"""Posting lifecycle after each run: close what a source stopped listing, expire what passed
its closing date, and refuse to close anything on the word of a truncated run."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update

from pipeline.db import rowcount, session_scope
from pipeline.models import CrawlRun, Posting, Source
from pipeline.store import promote_open_duplicates, utcnow

DEFAULT_CLOSE_AFTER = 2
TRUNCATION_DROP = 0.30
MEDIAN_RUNS = 5
MIN_HISTORY = 3


@dataclass
class RunOutcome:
    """What the lifecycle step did after one run."""

    truncated: bool = False
    median_seen: float | None = None
    missed: int = 0
    closed: int = 0
    expired: int = 0


def close_after(entry: dict[str, Any]) -> int:
    """Consecutive missed runs that close a posting: the entry's `close_after`, else the
    kind's default (API boards list everything each time; page scrapes miss pages more)."""
    if entry.get("close_after"):
        return int(entry["close_after"])
    from pipeline.sources import spider_kinds

    spider = spider_kinds().get(str(entry.get("kind")))
    return int(getattr(spider, "close_after_missed", DEFAULT_CLOSE_AFTER))


def after_run(engine: Engine, run_id: int, now: datetime | None = None) -> RunOutcome:
    """Apply a finished run to its source's postings, in one transaction.

    Only a run that ended ok counts: a failed or interrupted run never closes anything. A run
    that saw more than `truncation_drop` (default 30%) fewer postings than the median of the
    source's recent good runs is flagged truncated and closes nothing either.
    """
    now = now or utcnow()
    outcome = RunOutcome()
    with session_scope(engine) as session:
        run = session.get(CrawlRun, run_id)
        if run is None:
            raise LookupError(f"no crawl run {run_id}")
        source = session.get(Source, run.source_id)
        assert source is not None
        entry = {"name": source.name, "kind": source.kind, **source.config}
        if run.status != "ok":
            return outcome
        history = list(session.scalars(
            select(CrawlRun.seen)
            .where(CrawlRun.source_id == run.source_id, CrawlRun.id != run.id,
                   CrawlRun.status == "ok", CrawlRun.truncated.is_(False))
            .order_by(CrawlRun.id.desc()).limit(MEDIAN_RUNS)))
        drop = float(entry.get("truncation_drop", TRUNCATION_DROP))
        if len(history) >= MIN_HISTORY:
            outcome.median_seen = float(statistics.median(history))
            if run.seen < (1 - drop) * outcome.median_seen:
                outcome.truncated = True
        if not outcome.truncated:
            unseen = (Posting.source_id == run.source_id, Posting.status == "open",
                      Posting.last_seen < run.started_at)
            outcome.missed = rowcount(session.execute(
                update(Posting).where(*unseen).values(missed_runs=Posting.missed_runs + 1)))
            outcome.closed = rowcount(session.execute(
                update(Posting).where(*unseen, Posting.missed_runs >= close_after(entry))
                .values(status="closed", closed_at=now)))
        outcome.expired = _expire(session, now, run.source_id)
        if outcome.closed or outcome.expired:  # a live duplicate takes over a closed original
            promote_open_duplicates(session)
        run.truncated = outcome.truncated
        run.closed = outcome.closed + outcome.expired
        stats = dict(run.stats or {})
        stats["lifecycle"] = {"truncated": outcome.truncated, "median_seen": outcome.median_seen,
                              "missed": outcome.missed, "closed": outcome.closed,
                              "expired": outcome.expired}
        if outcome.truncated:
            note = (f"truncated: saw {run.seen} postings, recent median "
                    f"{outcome.median_seen:g}; nothing closed")
            stats["errors"] = [*stats.get("errors", []), note]
            run.error = f"{run.error}; {note}" if run.error else note
        run.stats = stats
    return outcome


def _expire(session: Any, now: datetime, source_id: int | None = None) -> int:
    query = update(Posting).where(Posting.status == "open", Posting.valid_through.is_not(None),
                                  Posting.valid_through <= now)
    if source_id is not None:
        query = query.where(Posting.source_id == source_id)
    return rowcount(session.execute(query.values(status="closed", closed_at=now)))


def expire_postings(engine: Engine, now: datetime | None = None) -> int:
    """Close every open posting whose validThrough has passed (whatever its source did)."""
    with session_scope(engine) as session:
        return _expire(session, now or utcnow())
