"""Posting lifecycle on SQLite and PostgreSQL: closing after missed runs, reopening, expiry,
and the truncation guard that keeps a cut-short crawl from closing everything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from pipeline.db import session_scope
from pipeline.lifecycle import after_run, expire_postings
from pipeline.models import CrawlRun, Posting
from pipeline.store import finish_run, start_run, store_items

T0 = datetime(2026, 10, 1, 6, 0, tzinfo=UTC)
GREENHOUSE = {"name": "board", "kind": "greenhouse", "board": "b"}


def item(ext: str, valid_through: str | None = None) -> dict[str, Any]:
    return {"source": "board", "external_id": ext, "title": f"Coder {ext}",
            "description_html": f"<p>Job {ext}</p>", "locations": ["Dayton, OH"],
            "valid_through_raw": valid_through, "raw": {"id": ext}}


def crawl(engine: Engine, entry: dict[str, Any], ids: list[str], day: int,
          status: str = "ok", **extra: Any) -> int:
    """One run `day` days after T0 that lists `ids`, then the lifecycle step."""
    now = T0 + timedelta(days=day)
    run = start_run(engine, entry, now=now)
    if ids:
        store_items(engine, run, [item(i, **extra) for i in ids], now=now)
    finish_run(engine, run, status=status, error=None, stats={}, now=now)
    after_run(engine, run, now=now)
    return run


def states(engine: Engine) -> dict[str, tuple[str, int]]:
    with session_scope(engine) as session:
        return {p.external_id: (p.status, p.missed_runs) for p in session.scalars(select(Posting))}


def test_closed_after_two_missed_api_runs_and_reopened(engine: Engine) -> None:
    crawl(engine, GREENHOUSE, ["a", "b"], 0)
    crawl(engine, GREENHOUSE, ["a"], 1)
    assert states(engine) == {"a": ("open", 0), "b": ("open", 1)}
    run = crawl(engine, GREENHOUSE, ["a"], 2)
    assert states(engine) == {"a": ("open", 0), "b": ("closed", 2)}
    with session_scope(engine) as session:
        closed = session.scalars(select(Posting).where(Posting.external_id == "b")).one()
        assert closed.closed_at == T0 + timedelta(days=2)
        assert session.get(CrawlRun, run).closed == 1  # type: ignore[union-attr]
    crawl(engine, GREENHOUSE, ["a", "b"], 3)
    assert states(engine) == {"a": ("open", 0), "b": ("open", 0)}
    with session_scope(engine) as session:
        reopened = session.scalars(select(Posting).where(Posting.external_id == "b")).one()
        assert reopened.closed_at is None and reopened.times_seen == 2


def test_page_scrapes_wait_four_runs_and_entries_can_override(engine: Engine) -> None:
    pages = {"name": "site", "kind": "jsonld", "urls": ["https://x.example/j/1"]}
    crawl(engine, pages, ["a", "b"], 0)
    for day in (1, 2, 3):
        crawl(engine, pages, ["a"], day)
    assert states(engine)["b"] == ("open", 3)
    crawl(engine, pages, ["a"], 4)
    assert states(engine)["b"] == ("closed", 4)

    quick = {**GREENHOUSE, "name": "quick", "close_after": 1}
    crawl(engine, quick, ["q1", "q2"], 5)
    crawl(engine, quick, ["q1"], 6)
    assert states(engine)["q2"] == ("closed", 1)


def test_failed_run_closes_nothing(engine: Engine) -> None:
    crawl(engine, GREENHOUSE, ["a", "b"], 0)
    for day in (1, 2, 3):
        crawl(engine, GREENHOUSE, [], day, status="failed")
    assert states(engine) == {"a": ("open", 0), "b": ("open", 0)}


def test_truncated_run_closes_nothing_and_is_flagged(engine: Engine) -> None:
    ids = [str(i) for i in range(10)]
    for day in range(3):
        crawl(engine, GREENHOUSE, ids, day)
    run = crawl(engine, GREENHOUSE, ids[:6], 3)  # 40% fewer than the median of 10
    assert all(state == ("open", 0) for state in states(engine).values())
    with session_scope(engine) as session:
        stored = session.get(CrawlRun, run)
        assert stored is not None and stored.truncated and stored.closed == 0
        assert "truncated" in (stored.error or "")
        assert stored.stats["lifecycle"]["median_seen"] == 10
    # 20% fewer is an ordinary day: postings missing from it start counting
    crawl(engine, GREENHOUSE, ids[:8], 4)
    assert states(engine)["9"] == ("open", 1)


def test_no_guard_without_history(engine: Engine) -> None:
    crawl(engine, GREENHOUSE, [str(i) for i in range(10)], 0)
    crawl(engine, GREENHOUSE, ["0"], 1)
    crawl(engine, GREENHOUSE, ["0"], 2)
    assert sum(s == "closed" for s, _ in states(engine).values()) == 9


def test_valid_through_expires(engine: Engine) -> None:
    crawl(engine, GREENHOUSE, ["a"], 0, valid_through="2026-10-03")
    crawl(engine, GREENHOUSE, ["b"], 1)
    assert states(engine)["a"] == ("open", 1)
    assert expire_postings(engine, now=T0 + timedelta(days=3)) == 1
    assert states(engine)["a"][0] == "closed"
    # listed again with the same past closing date: stays closed
    crawl(engine, GREENHOUSE, ["a", "b"], 4, valid_through="2026-10-03")
    assert states(engine)["a"][0] == "closed"
