"""Writing crawled postings and crawl runs to the store."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from pipeline.db import rowcount, session_scope, upsert
from pipeline.models import CrawlRun, Posting, Source
from pipeline.normalize import normalize


def utcnow() -> datetime:
    """Current time in UTC, or the clock set by HCJOBS_NOW (ISO 8601).

    One place for the clock, so a whole crawl (parent and crawl process) can run "as of" a
    past date: the demo history replays months this way.
    """
    fixed = os.environ.get("HCJOBS_NOW")
    if fixed:
        value = datetime.fromisoformat(fixed)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.now(UTC)


@dataclass
class BatchCounts:
    """What one batch of items did to the store."""

    seen: int = 0
    new: int = 0
    changed: int = 0
    duplicates: int = 0


def ensure_source(session: Session, entry: dict[str, Any]) -> int:
    """The id of the source row for a sources-file entry, created or refreshed from it."""
    config = {k: v for k, v in entry.items() if k not in ("name", "kind", "enabled", "line")}
    upsert(
        session,
        Source.__table__,
        [{"name": entry["name"], "kind": entry["kind"], "config": config,
          "enabled": bool(entry.get("enabled", True)), "created_at": utcnow()}],
        conflict=["name"],
        update=["kind", "config", "enabled"],
    )
    return session.execute(select(Source.id).where(Source.name == entry["name"])).scalar_one()


def start_run(engine: Engine, entry: dict[str, Any], now: datetime | None = None) -> int:
    """Record that a crawl of `entry` starts; returns the run id."""
    with session_scope(engine) as session:
        source_id = ensure_source(session, entry)
        run = CrawlRun(source_id=source_id, started_at=now or utcnow(), status="running",
                       stats={})
        session.add(run)
        session.flush()
        return run.id


def finish_run(
    engine: Engine, run_id: int, *, status: str, error: str | None, stats: dict[str, Any],
    dropped: int = 0, now: datetime | None = None,
) -> None:
    """Close a run with its outcome; counts of seen/new/changed were added per batch."""
    with session_scope(engine) as session:
        run = session.get(CrawlRun, run_id)
        if run is None:
            raise LookupError(f"no crawl run {run_id}")
        run.status = status
        run.error = error
        run.stats = stats
        run.dropped = dropped
        run.finished_at = now or utcnow()


def mark_interrupted(engine: Engine, run_ids: Iterable[int], reason: str) -> int:
    """Runs still 'running' after their crawl process ended are recorded as interrupted."""
    ids = list(run_ids)
    if not ids:
        return 0
    with session_scope(engine) as session:
        result = session.execute(
            update(CrawlRun)
            .where(CrawlRun.id.in_(ids), CrawlRun.status == "running")
            .values(status="interrupted", error=reason, finished_at=utcnow())
        )
        return rowcount(result)


def store_items(
    engine: Engine, run_id: int, items: Sequence[dict[str, Any]], now: datetime | None = None
) -> BatchCounts:
    """Normalize and upsert one batch of a run's items in one transaction.

    The same source + external id is the same posting (an update, never a new row); a new
    posting whose canonical URL another source already has is stored as its duplicate.
    """
    now = now or utcnow()
    counts = BatchCounts()
    with session_scope(engine) as session:
        run = session.get(CrawlRun, run_id)
        if run is None:
            raise LookupError(f"no crawl run {run_id}")
        source_id = run.source_id
        by_id: dict[str, dict[str, Any]] = {}
        for item in items:  # the last copy of an id within a batch wins
            by_id[str(item["external_id"])] = item
        existing = {
            p.external_id: p
            for p in session.scalars(
                select(Posting).where(Posting.source_id == source_id,
                                      Posting.external_id.in_(list(by_id)))
            )
        }
        for external_id, item in by_id.items():
            norm = normalize(item, now)
            counts.seen += 1
            values = _posting_values(norm, item)
            posting = existing.get(external_id)
            if posting is None:
                posting = Posting(source_id=source_id, external_id=external_id, first_seen=now,
                                  last_seen=now, times_seen=1, status="open", **values)
                _link_duplicate(session, posting, source_id)
                counts.duplicates += posting.duplicate_of is not None
                session.add(posting)
                session.flush()
                counts.new += 1
                continue
            posting.last_seen = now
            posting.times_seen += 1
            posting.missed_runs = 0
            expired = norm.valid_through is not None and norm.valid_through <= now
            if posting.status == "closed" and not expired:  # listed again: reopened
                posting.status, posting.closed_at = "open", None
            if posting.content_hash != norm.content_hash:
                counts.changed += 1
                for key, value in values.items():
                    setattr(posting, key, value)
            else:  # keep the newest raw payload even when the content is the same
                posting.raw = values["raw"]
        run.seen += counts.seen
        run.new += counts.new
        run.changed += counts.changed
    return counts


def _posting_values(norm: Any, item: dict[str, Any]) -> dict[str, Any]:
    salary = norm.salary
    return {
        "url": item.get("url"),
        "canonical_url": norm.canonical_url,
        "title": norm.title,
        "company": norm.company,
        "location": norm.location,
        "state": norm.state,
        "country": norm.country,
        "employment_type": norm.employment_type,
        "posted_at": norm.posted_at,
        "posted_raw": item.get("posted_raw"),
        "valid_through": norm.valid_through,
        "salary_min": salary.get("min"),
        "salary_max": salary.get("max"),
        "salary_currency": salary.get("currency"),
        "salary_period": salary.get("period"),
        "html": norm.html,
        "text": norm.text,
        "hints": item.get("hints") or {},
        "raw": item.get("raw") or {},
        "content_hash": norm.content_hash,
    }


def _link_duplicate(session: Session, posting: Posting, source_id: int) -> None:
    """Point a new posting at the canonical posting another source holds at the same URL."""
    if not posting.canonical_url:
        return
    original = session.scalars(
        select(Posting.id)
        .where(Posting.canonical_url == posting.canonical_url,
               Posting.source_id != source_id,
               Posting.duplicate_of.is_(None))
        .order_by(Posting.id)
        .limit(1)
    ).first()
    if original is not None:
        posting.duplicate_of = original
        posting.duplicate_reason = "same_url"
