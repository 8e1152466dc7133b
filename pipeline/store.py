"""Writing crawled postings and crawl runs to the store."""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, cast

from sqlalchemy import Engine, Table, bindparam, case, select, update
from sqlalchemy.orm import Session

from pipeline import dedupe
from pipeline.db import bulk_insert, rowcount, session_scope, upsert
from pipeline.dedupe import Candidate, Fingerprint
from pipeline.models import CrawlRun, Posting, Source
from pipeline.prepare import Prepared, prepare_items

POSTINGS = cast(Table, Posting.__table__)


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
    """Normalize, deduplicate and upsert one batch of a run's items in one transaction.

    The same source + external id is the same posting (an update, never a new row). A new
    posting that repeats another (same canonical URL on another source, a repost under a new
    id, an aggregator's or agency's copy: see pipeline.dedupe) is stored with `duplicate_of`
    pointing at the canonical posting and the reason.
    """
    now = now or utcnow()
    return store_prepared(engine, run_id, prepare_items(items, now), now)


def store_prepared(engine: Engine, run_id: int, prepared: Sequence[Prepared],
                   now: datetime) -> BatchCounts:
    """Write a prepared batch in one transaction: the database half of store_items.

    Set-based, so a batch costs a handful of statements whatever its size: one query for
    the ids already stored, one per kind of duplicate candidate, one bulk insert (two when
    a batch repeats itself) and one bulk update. Nothing is normalized here, so SQLite's
    write lock is held only while writing.
    """
    counts = BatchCounts(seen=len(prepared))
    table = POSTINGS
    with session_scope(engine) as session:
        run = session.get(CrawlRun, run_id)
        if run is None:
            raise LookupError(f"no crawl run {run_id}")
        source_id = run.source_id
        existing = {
            row.external_id: row for row in session.execute(
                select(table.c.id, table.c.external_id, table.c.content_hash, table.c.status,
                       table.c.times_seen, table.c.simhash)
                .where(table.c.source_id == source_id,
                       table.c.external_id.in_([p.external_id for p in prepared])))
        }
        updates: list[dict[str, Any]] = []
        fresh: list[Prepared] = []
        for prep in prepared:
            row = existing.get(prep.external_id)
            if row is None:
                fresh.append(prep)
                continue
            same = row.content_hash == prep.values["content_hash"] and row.simhash is not None
            values = {k: v for k, v in prep.values.items() if not same or k in UNHASHED}
            values.update(_id=row.id, last_seen=now, times_seen=row.times_seen + 1,
                          missed_runs=0, status=row.status)
            expired = prep.valid_through is not None and prep.valid_through <= now
            if row.status == "closed" and not expired:  # listed again: reopened
                values.update(status="open", closed_at=None)
            elif row.status == "closed":
                values.pop("status")
            counts.changed += row.content_hash != prep.values["content_hash"]
            updates.append(values)
        if updates:
            _bulk_update(session, updates)
        if fresh:
            counts.new = len(fresh)
            counts.duplicates = _insert_new(session, source_id, fresh, now)
        run.seen += counts.seen
        run.new += counts.new
        run.changed += counts.changed
    return counts


def ingest_batches(
    engine: Engine, batches: Iterable[tuple[int, Sequence[dict[str, Any]]]],
    now: datetime | None = None, *, workers: int = 2, ahead: int = 4,
) -> BatchCounts:
    """Store (run id, items) batches in order, with the result store_items would give one
    batch at a time, while `workers` processes normalize the next `ahead` batches.

    Normalizing costs about twice as much CPU as writing, and one batch's writing
    overlaps the next batches' normalizing, so a re-import or a crawl that hands over many
    batches at once can use idle cores; when every worker has a batch waiting, this process
    normalizes the next one itself instead of waiting. It pays only when cores are idle:
    handing a posting to and from a worker costs CPU too (bench/ingest.py prints both ways,
    with the load average). Workers only compute, never touch the database. Returns the
    counts summed over all batches.
    """
    now = now or utcnow()
    total = BatchCounts()
    pending: deque[tuple[int, Future[list[Prepared]]]] = deque()
    with prepare_pool(workers) as pool:
        def drain(keep: int) -> None:
            while len(pending) > keep:
                run_id, future = pending.popleft()
                counts = store_prepared(engine, run_id, future.result(), now)
                for name in ("seen", "new", "changed", "duplicates"):
                    setattr(total, name, getattr(total, name) + getattr(counts, name))

        for run_id, items in batches:
            if sum(not future.done() for _, future in pending) > workers:
                # every worker has a batch waiting: normalize this one here, not idle
                future: Future[list[Prepared]] = Future()
                future.set_result(prepare_items(list(items), now))
            else:
                future = pool.submit(prepare_items, list(items), now)
            pending.append((run_id, future))
            drain(ahead)
        drain(0)
    return total


def prepare_pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes for prepare_items.

    Forked when this process runs no other thread (an import, a bench): the cheapest start.
    Otherwise (the crawl process runs Twisted's and the resolver's threads) they come from a
    fork server, since a fork of a threaded process can inherit a lock another thread held
    and hang; the server imports the store once and each worker is a fork of it.
    """
    methods = mp.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork"))
    if "forkserver" not in methods:
        return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"))
    context = mp.get_context("forkserver")
    context.set_forkserver_preload(["pipeline.prepare"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


# What a re-sighting with the same content hash still updates: values the hash does not
# cover, and the newest raw payload. Text, HTML, places and fingerprint stay as stored (a
# row stored before fingerprints existed is rewritten whole, which fills them in).
UNHASHED = {"url", "canonical_url", "employment_type", "posted_at", "posted_raw",
            "valid_through", "salary_min", "salary_max", "salary_currency", "salary_period",
            "salary_annual_min", "salary_annual_max", "hints", "raw"}


def _bulk_update(session: Session, rows: list[dict[str, Any]]) -> None:
    """One executemany UPDATE per set of columns (a closed, expired posting keeps its
    status). Identity, first_seen and lineage are never in `rows`, so never rewritten."""
    table = POSTINGS
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    for group in groups.values():  # SET takes the columns named by the rows' keys
        session.execute(update(table).where(table.c.id == bindparam("_id")), group)


def _insert_new(session: Session, source_id: int, fresh: list[Prepared], now: datetime) -> int:
    """Insert new postings, each linked to the posting it repeats; returns how many repeat.

    Candidates come from three indexed look-ups (see _candidates) and from earlier postings
    of this batch. A posting repeating another of the same batch is inserted after it, in a
    second statement, once its id is known.
    """
    table = POSTINGS
    olds = _candidates(session, source_id, fresh)
    by_url: dict[str, list[Candidate]] = {}
    by_block: dict[int | None, list[Candidate]] = {}
    by_text: dict[int | None, list[Candidate]] = {}

    def index(cand: Candidate) -> None:
        fp = cand.fingerprint
        if cand.canonical_url:
            by_url.setdefault(cand.canonical_url, []).append(cand)
        if fp.block_key is not None:
            by_block.setdefault(fp.block_key, []).append(cand)
        if fp.text_key is not None:
            by_text.setdefault(fp.text_key, []).append(cand)

    for old in olds:
        index(old)
    links: list[tuple[int | None, str | None]] = []  # (root, reason); a root < 0 is in-batch
    for number, prep in enumerate(fresh):
        cand = prep.candidate
        cand.source_id, cand.id = source_id, -(number + 1)
        fp = cand.fingerprint
        pool = {id(c): c for c in (by_url.get(cand.canonical_url or "", [])
                                   + by_block.get(fp.block_key, [])
                                   + by_text.get(fp.text_key, []))}
        best = dedupe.best_match(cand, pool.values())
        if best is None:
            links.append((None, None))
        else:
            old, reason = best
            cand.root = old.root if old.root is not None else old.id
            links.append((cand.root, reason))
        index(cand)
    base = {"source_id": source_id, "first_seen": now, "last_seen": now, "times_seen": 1,
            "missed_runs": 0, "status": "open", "closed_at": None}
    first = [i for i, (root, _) in enumerate(links) if root is None or root > 0]
    second = [i for i, (root, _) in enumerate(links) if root is not None and root < 0]
    real: dict[int, int] = {}
    for batch in (first, second):
        if not batch:
            continue
        rows = []
        for i in batch:
            target, why = links[i]
            rows.append({**fresh[i].values, **base, "external_id": fresh[i].external_id,
                         "duplicate_of": real[target] if target is not None and target < 0
                         else target, "duplicate_reason": why})
        bulk_insert(session, table, rows)
        if batch is first and second:  # the second statement needs the first one's ids
            ids = {ext: pid for ext, pid in session.execute(
                select(table.c.external_id, table.c.id)
                .where(table.c.source_id == source_id,
                       table.c.external_id.in_([fresh[i].external_id for i in batch])))}
            real.update({-(i + 1): ids[fresh[i].external_id] for i in batch})
    roots = sorted({root for root, _ in links if root is not None and root > 0})
    if roots:  # a repost of a closed posting takes its place as the canonical one
        closed = session.scalars(select(table.c.id).where(table.c.id.in_(roots),
                                                          table.c.status == "closed")).all()
        if closed:
            promote_open_duplicates(session, closed)
    return sum(root is not None for root, _ in links)


def _candidates(session: Session, source_id: int, fresh: list[Prepared]) -> list[Candidate]:
    """Stored postings that new ones may repeat, found through indexed keys: the same
    canonical URL on another source; the same title and place (block_key); the same text in
    the same place on another source (text_key: a retitled copy). Texts are read only for
    the few pairs whose decision needs them."""
    table = POSTINGS
    prints = [p.candidate.fingerprint for p in fresh]
    urls = sorted({p.candidate.canonical_url for p in fresh if p.candidate.canonical_url})
    blocks = sorted({k for k in (f.block_key for f in prints) if k is not None})
    texts = sorted({k for k in (f.text_key for f in prints) if k is not None})
    since = min(p.candidate.first_seen for p in fresh) - dedupe.WINDOW
    columns = (table.c.id, table.c.duplicate_of, table.c.source_id, table.c.external_id,
               table.c.canonical_url, table.c.simhash, table.c.title_key, table.c.location_key,
               table.c.employer_key, table.c.posted_at, table.c.first_seen, table.c.last_seen,
               table.c.status)
    queries = []
    if urls:
        queries.append(select(*columns).where(table.c.canonical_url.in_(urls),
                                              table.c.source_id != source_id))
    if blocks:
        queries.append(select(*columns).where(table.c.block_key.in_(blocks),
                                              table.c.last_seen >= since))
    if texts:
        queries.append(select(*columns).where(table.c.text_key.in_(texts),
                                              table.c.source_id != source_id,
                                              table.c.last_seen >= since))
    found: dict[int, Candidate] = {}
    for query in queries:
        for row in session.execute(query):
            if row.id in found or row.simhash is None:
                continue
            start = min(row.posted_at, row.first_seen) if row.posted_at else row.first_seen
            found[row.id] = Candidate(
                source_id=row.source_id, external_id=row.external_id,
                canonical_url=row.canonical_url,
                fingerprint=Fingerprint(row.simhash, row.title_key or "", row.location_key or "",
                                        row.employer_key or ""),
                first_seen=start, last_seen=row.last_seen, id=row.id, root=row.duplicate_of,
                status=row.status, load_text=partial(_text_of, session, row.id))
    return sorted(found.values(), key=lambda c: c.id or 0)


def _text_of(session: Session, posting_id: int) -> str:
    return session.scalar(select(POSTINGS.c.text).where(POSTINGS.c.id == posting_id)) or ""


def promote_open_duplicates(session: Session, roots: Iterable[int] | None = None) -> int:
    """Make an open duplicate the canonical posting of a group whose canonical closed.

    A job reposted under a new id, or still listed by an agency after the employer took it
    down, must stay visible: exports and the site show canonical postings only. An open
    repost on the canonical posting's own board takes over, else the oldest open duplicate;
    the closed one and the rest of the group point at it, each keeping its reason (the old
    canonical takes the reason of the one that replaced it).
    Only `roots` are looked at when given. Returns how many groups changed.
    """
    table = cast(Table, Posting.__table__)
    member, root = table.alias("m"), table.alias("r")
    query = (select(root.c.id, member.c.id, member.c.duplicate_reason)
             .join(member, member.c.duplicate_of == root.c.id)
             .where(root.c.status == "closed", member.c.status == "open")
             .order_by(root.c.id, case((member.c.source_id == root.c.source_id, 0), else_=1),
                       member.c.id))
    if roots is not None:
        ids = sorted(set(roots))
        if not ids:
            return 0
        query = query.where(root.c.id.in_(ids))
    heirs: dict[int, tuple[int, str | None]] = {}
    for old_root, heir, reason in session.execute(query):
        heirs.setdefault(old_root, (heir, reason))
    for old_root, (heir, reason) in heirs.items():
        session.execute(update(table).where(table.c.duplicate_of == old_root,
                                            table.c.id != heir).values(duplicate_of=heir))
        session.execute(update(table).where(table.c.id == old_root)
                        .values(duplicate_of=heir, duplicate_reason=reason))
        session.execute(update(table).where(table.c.id == heir)
                        .values(duplicate_of=None, duplicate_reason=None))
    return len(heirs)
