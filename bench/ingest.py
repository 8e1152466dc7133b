"""Ingest throughput: normalize + deduplicate + store of 10,000 postings, 30% of them
duplicates, into SQLite and PostgreSQL. Printed (not a timed test).

    python bench/ingest.py                  # both backends
    python bench/ingest.py sqlite           # one
    HCJOBS_BENCH_PG_URL=postgresql+psycopg://user@host/postgres python bench/ingest.py

Postings are the demo board's descriptions under 7,000 distinct (title, place) pairs on 14
employer boards; the 3,000 duplicates are reposts under new ids (same board), agency and
aggregator copies (another board, own header and footer) and links to the employer's URL
with tracking parameters. Items go in batches of 200, as the crawler hands them over: once
through `store_items` batch after batch in one process, once through `ingest_batches`,
which normalizes the next batches in worker processes (HCJOBS_BENCH_WORKERS, default 2)
while the current one is written. Target: at least 3,000 postings/s on SQLite.

Each line also gives the CPU seconds spent (this process and its workers) and the load
average when it started: on a shared machine, wall-clock figures say as much about the
neighbours as about the code.
"""

from __future__ import annotations

import os
import random
import resource
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N = 10_000
DUPLICATE_SHARE = 0.30
BATCH = 200
PG_ADMIN = os.environ.get("HCJOBS_BENCH_PG_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
T0 = datetime(2026, 9, 1, 6, 0, tzinfo=UTC)

# the same departments, states and towns as the web benchmark's store
from build_store import DEPARTMENTS, STATES, TOWNS  # noqa: E402

CITIES = [f"{town}, {state}" for state in STATES for town in TOWNS]
AGENCIES = ["Apex Clinical Staffing", "MedCode Talent Partners", "HIM Connect Recruiting"]
AGGREGATORS = ["healthjobshub", "codingcareers", "careerpath"]


def make_items(seed: int = 7) -> list[tuple[str, dict[str, Any]]]:
    """(source name, crawled item) for N postings, DUPLICATE_SHARE of them duplicates."""
    from pipeline.demo.board import load_board, pay_paragraph

    rng = random.Random(seed)
    board = load_board()
    bases = [(e, p) for e in board["employers"] for p in e["postings"] if p.get("title")]
    originals: list[tuple[str, dict[str, Any]]] = []
    used: set[tuple[str, str, str]] = set()
    n_orig = int(N * (1 - DUPLICATE_SHARE))
    while len(originals) < n_orig:
        employer, p = rng.choice(bases)
        title = f"{p['title']} - {rng.choice(DEPARTMENTS)}"
        city = rng.choice(CITIES)
        if (employer["slug"], title, city) in used:
            continue
        used.add((employer["slug"], title, city))
        ext = f"{p['id']}-{len(originals)}"
        originals.append((employer["slug"], {
            "source": employer["slug"], "external_id": ext, "title": title,
            "company": employer["name"], "locations": [city],
            "url": f"{employer['website']}/jobs/{ext}",
            "description_html": p["html"] + pay_paragraph(p.get("salary"))
            + f"<p>Requisition {ext}. This role supports our {city} team.</p>",
            "posted_raw": (T0 + timedelta(days=rng.randrange(0, 20))).isoformat(),
            "employment_type": p.get("employment_type"), "salary": p.get("salary"),
            "raw": {"id": ext, "title": title, "location": city}, "hints": {},
        }))
    duplicates: list[tuple[str, dict[str, Any]]] = []
    for number in range(N - n_orig):
        source, orig = rng.choice(originals)
        kind = number % 3
        copy = dict(orig, external_id=f"{orig['external_id']}-d{number}",
                    raw={"copy_of": orig["external_id"]})
        if kind == 0:  # repost under a new id on the same board
            duplicates.append((source, copy))
        elif kind == 1:  # an agency's copy
            agency = rng.choice(AGENCIES)
            copy.update(source=agency, company=agency, url=None, description_html=(
                f"<p>{agency} is recruiting for a respected client in "
                f"{orig['locations'][0]}.</p>{orig['description_html']}<p>Apply with "
                f"{agency} today: weekly pay and a dedicated recruiter.</p>"))
            duplicates.append((agency, copy))
        else:  # an aggregator links the employer's page
            board_name = rng.choice(AGGREGATORS)
            copy.update(source=board_name,
                        url=f"{orig['url']}?utm_source={board_name}&utm_medium=feed")
            duplicates.append((board_name, copy))
    items = originals + duplicates
    rng.shuffle(items)
    return items


def ingest(url: str, items: list[tuple[str, dict[str, Any]]],
           workers: int = 0) -> tuple[float, float, int, int]:
    """Store `items` in batches of BATCH per source: (wall seconds, CPU seconds of this
    process and its workers, postings stored, postings linked as duplicates).

    workers=0: `store_items` batch after batch, in this process (what the crawler does);
    otherwise `ingest_batches`, normalizing ahead in that many worker processes.
    """
    from sqlalchemy import func, select

    from pipeline.db import open_store, session_scope
    from pipeline.models import Posting
    from pipeline.store import ingest_batches, start_run, store_items

    engine = open_store(url)
    by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for source, item in items:
        by_source[source].append(item)
    runs = {s: start_run(engine, {"name": s, "kind": "greenhouse", "board": s}, now=T0)
            for s in by_source}
    batches = []
    for source, rows in by_source.items():
        batches += [(runs[source], rows[i:i + BATCH]) for i in range(0, len(rows), BATCH)]
    random.Random(1).shuffle(batches)  # sources interleave, as parallel crawls do
    now = T0 + timedelta(days=21)
    start, cpu = time.perf_counter(), _cpu()
    if workers:
        ingest_batches(engine, batches, now=now, workers=workers)
    else:
        for run_id, batch in batches:
            store_items(engine, run_id, batch, now=now)
    elapsed, cpu = time.perf_counter() - start, _cpu() - cpu
    with session_scope(engine) as session:
        stored = session.scalar(select(func.count()).select_from(Posting)) or 0
        dups = session.scalar(select(func.count()).select_from(Posting)
                              .where(Posting.duplicate_of.is_not(None))) or 0
    engine.dispose()
    return elapsed, cpu, stored, dups


def _cpu() -> float:
    """CPU seconds used by this process and its finished children (the workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def report(name: str, url: str, items: list[tuple[str, dict[str, Any]]],
           workers: int) -> None:
    load = os.getloadavg()[0]
    elapsed, cpu, stored, dups = ingest(url, items, workers)
    how = f"ingest_batches, {workers} worker processes" if workers else \
        "store_items, one process"
    print(f"ingest {name} ({how}): {len(items):,} postings ({int(N * DUPLICATE_SHARE):,} "
          f"planted duplicates) in {elapsed:.2f} s = {len(items) / elapsed:,.0f} postings/s; "
          f"{cpu:.2f} CPU-s = {len(items) / cpu:,.0f} postings per CPU-second; stored "
          f"{stored:,}, linked as duplicates {dups:,}; load average {load:.1f} on "
          f"{os.cpu_count()} CPUs")


def main(argv: list[str]) -> int:
    from sqlalchemy import create_engine, text

    what = argv[1:] or ["sqlite", "postgresql"]
    items = make_items()
    workers = int(os.environ.get("HCJOBS_BENCH_WORKERS", str(min(2, os.cpu_count() or 1))))
    if "sqlite" in what:
        for n in (0, workers):
            with tempfile.TemporaryDirectory() as tmp:
                report("SQLite", f"sqlite:///{tmp}/ingest.db", items, n)
    if "postgresql" in what:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        for n in (0, workers):
            name = f"hcjobs_bench_{uuid.uuid4().hex[:8]}"
            try:
                with admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
            except Exception as exc:  # no server here: say so, keep the SQLite figure
                print(f"ingest PostgreSQL: skipped ({type(exc).__name__}: {exc})")
                return 0
            try:
                report("PostgreSQL", PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", items, n)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
