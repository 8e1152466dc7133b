"""Reliability on SQLite and PostgreSQL: a store killed with SIGKILL in the middle of a
batch leaves a consistent database and the next run stores everything exactly once; readers
keep working while a run writes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from pipeline.db import make_engine, open_store, session_scope
from pipeline.models import CrawlRun, Posting
from pipeline.store import start_run, store_items

ROOT = Path(__file__).resolve().parents[1]
BATCH, BATCHES, KILLED_AT = 40, 6, 3

# A crawl's storing loop in a child process: batch after batch, each its own transaction.
# Before committing batch KILLED_AT it says "paused" and waits, holding its written rows
# uncommitted, until the parent kills it.
CHILD = textwrap.dedent("""
    import json, sys, time
    from sqlalchemy import event
    from sqlalchemy.orm import Session
    from pipeline.db import open_store
    from pipeline.store import start_run, store_items

    url, items_file, killed_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    batches = json.load(open(items_file))
    engine = open_store(url)
    run = start_run(engine, {"name": "board", "kind": "greenhouse", "board": "b"})
    current = {"batch": -1}

    @event.listens_for(Session, "before_commit")
    def hold(session):
        if current["batch"] == killed_at:
            print("paused", flush=True)
            time.sleep(600)

    for number, batch in enumerate(batches):
        current["batch"] = number
        store_items(engine, run, batch)
        print("stored", number, flush=True)
    print("done", flush=True)
""")


def items() -> list[list[dict[str, Any]]]:
    """BATCHES batches; every fifth posting is a repost (new id, same job) of the one
    before it, so deduplication has links to get right."""
    out = []
    for n in range(BATCH * BATCHES):
        base = n - 1 if n % 5 == 4 else n
        out.append({"source": "board", "external_id": f"J-{n}",
                    "title": f"Coding Specialist {base}",
                    "description_html": f"<p>Code charts for clinic {base}.</p><ul><li>Assign "
                                        f"ICD-10-CM codes</li><li>Site {base}</li></ul>",
                    "locations": [f"Town{base}, OH"], "company": "Acme Health",
                    "raw": {"n": n}})
    return [out[i:i + BATCH] for i in range(0, len(out), BATCH)]


def counts(engine: Engine) -> tuple[int, int, int]:
    """(postings, distinct external ids, postings linked as duplicates)."""
    with session_scope(engine) as session:
        total = session.scalar(select(func.count()).select_from(Posting)) or 0
        distinct = session.scalar(select(func.count(func.distinct(Posting.external_id)))) or 0
        dups = session.scalar(select(func.count()).select_from(Posting)
                              .where(Posting.duplicate_of.is_not(None))) or 0
    return total, distinct, dups


def test_sigkill_mid_batch_then_rerun(db_url: str, tmp_path: Path) -> None:
    import json

    batches = items()
    items_file = tmp_path / "items.json"
    items_file.write_text(json.dumps(batches))
    open_store(db_url).dispose()  # migrated before the child starts, as the crawl does
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, db_url, str(items_file), str(KILLED_AT)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    lines = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = child.stdout.readline().strip()
        lines.append(line)
        if line == "paused" or not line:
            break
    assert lines[-1] == "paused", (lines, child.stderr.read() if child.stderr else "")
    os.kill(child.pid, signal.SIGKILL)  # with batch KILLED_AT written but not committed
    assert child.wait(timeout=30) == -signal.SIGKILL

    engine = make_engine(db_url)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
    committed = KILLED_AT * BATCH  # whole batches only: nothing of the killed one
    total, distinct, dups = counts(engine)
    assert (total, distinct, dups) == (committed, committed, committed // 5)
    with session_scope(engine) as session:
        run = session.scalars(select(CrawlRun)).one()
        assert (run.seen, run.new) == (committed, committed)  # counters match the rows

    # the next run lists everything again: the rest is stored, nothing twice
    rerun = start_run(engine, {"name": "board", "kind": "greenhouse", "board": "b"})
    for batch in batches:
        store_items(engine, rerun, batch)
    everything = BATCH * BATCHES
    assert counts(engine) == (everything, everything, everything // 5)
    with session_scope(engine) as session:
        ids = {p.external_id: p for p in session.scalars(select(Posting))}
        for n in range(4, everything, 5):
            repost, original = ids[f"J-{n}"], ids[f"J-{n - 1}"]
            assert (repost.duplicate_of, repost.duplicate_reason) == (original.id, "repost")
        assert all(p.times_seen == (2 if int(p.external_id[2:]) < committed else 1)
                   for p in ids.values())
    engine.dispose()


def test_readers_keep_working_while_a_run_writes(db_url: str) -> None:
    """A reader (the web, a notebook) is neither blocked nor shown half a batch while a
    write transaction is open (WAL on SQLite, MVCC on PostgreSQL)."""
    engine = open_store(db_url)
    run = start_run(engine, {"name": "board", "kind": "greenhouse", "board": "b"})
    batches = items()
    store_items(engine, run, batches[0])
    writing, release = threading.Event(), threading.Event()

    def writer() -> None:
        with engine.begin() as conn:  # a run's batch, held open mid-transaction
            conn.execute(text("UPDATE postings SET title = title || ' (edited)'"))
            conn.execute(text("DELETE FROM postings WHERE external_id = 'J-0'"))
            writing.set()
            release.wait(30)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert writing.wait(30)
        reader = make_engine(db_url)
        started = time.monotonic()
        with reader.connect() as conn:
            for _ in range(20):
                assert conn.execute(text("SELECT count(*) FROM postings")).scalar() == BATCH
                edited = conn.execute(text(
                    "SELECT count(*) FROM postings WHERE title LIKE '%(edited)'")).scalar()
                assert edited == 0
                conn.rollback()
        assert time.monotonic() - started < 5  # never waited for the writer's lock
        reader.dispose()
    finally:
        release.set()
        thread.join(30)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM postings")).scalar() == BATCH - 1
    engine.dispose()
