"""Incremental crawl state, kept in the stats of each source's last good run, and run summaries.

The crawl process is new on every run, so what a spider needs from the previous run lives in
the store: `CrawlRun.stats["state"]` of the source's most recent run that ended `ok`. Only that
run keeps it (older copies are dropped), so the history does not grow with it. Format (v1):

    {"version": 1,
     "config": "<hash of the entry keys that decide what is listed>",
     "validators": {"<request key, usually its URL>":
                    {"etag": "...", "modified": "...", "ids": ["<external id>", ...],
                     "extra": {...}}},
     "entries": {"<list entry key>": ["<fingerprint>", ["<external id>", ...], <day>]}}

`validators` make list requests conditional (If-None-Match / If-Modified-Since); on a 304 the
ids the response listed last time are marked seen. `entries` let a spider skip the detail
request of a list entry whose fingerprint has not changed; `day` is when its detail was last
fetched (days since the epoch), so details are still refreshed now and then.

When the state is loaded it is checked against the store, so a skipped request never hides a
posting the store lacks: validators whose postings are not all stored (any status) are dropped,
and so are entries whose postings are not all open (a closed one is fetched again in full).
Spiders only record postings the store keeps (titled, with an id).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update

from pipeline.db import rowcount, session_scope
from pipeline.models import CrawlRun, Posting, Source
from pipeline.store import utcnow

STATE_KEY = "state"
SUMMARY_KEY = "summary"
VERSION = 1
# Entry keys that change how a source is crawled, not what it lists.
OPERATIONAL_KEYS = {"name", "kind", "schedule", "enabled", "line", "settings", "contact",
                    "close_after", "truncation_drop", "refresh_days", "run_id"}
CHUNK = 500


def config_hash(entry: dict[str, Any]) -> str:
    """A short hash of what decides a source's listing; a changed entry starts afresh."""
    keys = {k: v for k, v in entry.items() if k not in OPERATIONAL_KEYS}
    raw = json.dumps(keys, sort_keys=True, default=str).encode()
    return hashlib.blake2b(raw, digest_size=8).hexdigest()


def empty_state(entry: dict[str, Any]) -> dict[str, Any]:
    return {"version": VERSION, "config": config_hash(entry), "validators": {}, "entries": {}}


def load_state(engine: Engine, entry: dict[str, Any]) -> dict[str, Any]:
    """The state the last good run of `entry`'s source left, pruned to its open postings.

    An empty state when there is none, when it was written by another format version, or
    when the entry has changed since (another board, other filters).
    """
    state = empty_state(entry)
    with session_scope(engine) as session:
        source_id = session.scalar(select(Source.id).where(Source.name == entry["name"]))
        if source_id is None:
            return state
        stats = session.scalar(
            select(CrawlRun.stats)
            .where(CrawlRun.source_id == source_id, CrawlRun.status == "ok")
            .order_by(CrawlRun.id.desc()).limit(1))
        saved = (stats or {}).get(STATE_KEY)
        if not isinstance(saved, dict) or saved.get("version") != VERSION \
                or saved.get("config") != state["config"]:
            return state
        stored = dict(session.execute(
            select(Posting.external_id, Posting.status).where(Posting.source_id == source_id)
        ).tuples().all())
    for key, value in (saved.get("validators") or {}).items():
        if isinstance(value, dict) and all(i in stored for i in value.get("ids") or []):
            state["validators"][key] = value
    for key, value in (saved.get("entries") or {}).items():
        if isinstance(value, list) and len(value) == 3 and value[1] and \
                all(stored.get(i) == "open" for i in value[1]):
            state["entries"][key] = value
    return state


def mark_seen(engine: Engine, run_id: int, external_ids: Sequence[str],
              now: datetime | None = None) -> int:
    """Record that a run listed these postings unchanged, without parsing them again.

    One UPDATE per chunk bumps last_seen and times_seen and clears missed_runs of the source's
    open postings with those ids, and the run's `seen` grows by the postings found, so the
    lifecycle neither closes them nor takes the run for a truncated one.
    """
    now = now or utcnow()
    ids = list(dict.fromkeys(str(i) for i in external_ids))
    found = 0
    with session_scope(engine) as session:
        run = session.get(CrawlRun, run_id)
        if run is None:
            raise LookupError(f"no crawl run {run_id}")
        for start in range(0, len(ids), CHUNK):
            result = session.execute(
                update(Posting)
                .where(Posting.source_id == run.source_id, Posting.status == "open",
                       Posting.external_id.in_(ids[start:start + CHUNK]))
                .values(last_seen=now, times_seen=Posting.times_seen + 1, missed_runs=0)
                .execution_options(synchronize_session=False))
            found += rowcount(result)
        run.seen += found
    return found


def drop_older_states(engine: Engine, run_id: int, keep: int = 5) -> int:
    """Remove the state from the source's earlier runs once `run_id` holds the newest one."""
    dropped = 0
    with session_scope(engine) as session:
        run = session.get(CrawlRun, run_id)
        if run is None or STATE_KEY not in (run.stats or {}):
            return 0
        older: Iterable[CrawlRun] = session.scalars(
            select(CrawlRun).where(CrawlRun.source_id == run.source_id, CrawlRun.id < run_id)
            .order_by(CrawlRun.id.desc()).limit(keep))
        for other in older:
            if other.stats and STATE_KEY in other.stats:
                other.stats = {k: v for k, v in other.stats.items() if k != STATE_KEY}
                dropped += 1
    return dropped


def summary_line(stats: dict[str, Any] | None) -> str:
    """One line for a run's `summary` stats (as `hcjobs runs` might print it)."""
    summary = (stats or {}).get(SUMMARY_KEY)
    if not isinstance(summary, dict):
        return ""
    statuses = " ".join(f"{code}x{n}" for code, n in sorted(summary.get("responses", {}).items()))
    parts = [f"{summary.get('requests', 0)} requests ({statuses or 'no responses'})",
             f"seen {summary.get('seen', 0)} (new {summary.get('new', 0)}, "
             f"changed {summary.get('changed', 0)}, unchanged {summary.get('unchanged', 0)})"]
    if summary.get("not_modified") or summary.get("details_skipped"):
        parts.append(f"304s {summary.get('not_modified', 0)}, "
                     f"details skipped {summary.get('details_skipped', 0)}")
    dropped = summary.get("dropped") or {}
    if dropped:
        parts.append("dropped " + ", ".join(f"{k} {v}" for k, v in sorted(dropped.items())))
    if summary.get("retries"):
        parts.append(f"retries {summary['retries']}")
    trips = summary.get("breaker_trips") or {}
    if trips:
        parts.append("breaker open: " + ", ".join(sorted(trips)))
    if summary.get("duration_s") is not None:
        parts.append(f"{summary['duration_s']:.1f} s")
    return "; ".join(parts)
