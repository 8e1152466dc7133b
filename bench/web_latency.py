"""Latency (p50/p95) and throughput of GET /api/postings for typical filter combinations.

    python bench/web_latency.py --db sqlite:///bench-store.db          # an existing store
    python bench/web_latency.py --db sqlite:///big.db --postings 1000000  # build it first
    python bench/web_latency.py --db ... --indexes                       # add the proposed
                                                                        # indexes, then measure

The site runs as it does in production: `uvicorn` in its own process over the read-only
store; this process sends real HTTP requests. For each search: `--requests` sequential
requests give p50/p95 (after two warm-ups), then `--concurrency` clients for `--seconds`
give requests/s. A store that does not exist yet is built with bench/build_store.py
(synthetic postings from the demo board, tags and credentials, daily stats).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEARCHES: list[tuple[str, dict[str, Any]]] = [
    ("newest, no filter", {}),
    ("remote coding", {"category": "coding", "remote": "remote"}),
    ("remote coding, CPC required", {"category": "coding", "remote": "remote",
                                     "credential": "CPC", "requirement": "required"}),
    ("CCS required, open to OH", {"credential": "CCS", "requirement": "required",
                                  "open_to": "OH"}),
    ("admin, MHA preferred, 7d, $80k+", {"category": "administration", "credential": "MHA",
                                         "requirement": "preferred", "posted_since": "7d",
                                         "salary_min": 80000}),
    ("coding by salary", {"category": "coding", "sort": "salary"}),
    ("in OH, onsite or hybrid", {"state": "OH", "remote": ["onsite", "hybrid"]}),
    ('q="risk adjustment"', {"q": "risk adjustment"}),
    ("remote coding, page 2", {"category": "coding", "remote": "remote", "_page": 2}),
    ("include closed", {"include_closed": "true"}),
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def ensure_store(url: str, postings: int | None) -> None:
    """Build the store with bench/build_store.py when asked to and it has no postings."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    try:
        count = 0
        if inspect(engine).has_table("postings"):
            with engine.connect() as conn:
                count = int(conn.execute(text("SELECT count(*) FROM postings")).scalar() or 0)
    finally:
        engine.dispose()
    if count:
        print(f"store: {url} ({count:,} postings)")
        return
    if not postings:
        raise SystemExit(f"{url} has no postings: pass --postings N to build it")
    sys.path.insert(0, str(ROOT / "bench"))
    import build_store  # bench/build_store.py

    build_store.build(url, postings, sources=400, stats_days=30)


def add_indexes(url: str) -> None:
    """Apply the indexes the web proposes (full-text and sort), as the migration would."""
    from sqlalchemy import create_engine, text

    from web.queries import SORT_INDEX_DDL
    from web.search import PG_FTS_DDL, SQLITE_FTS_DDL

    engine = create_engine(url)
    started = time.perf_counter()
    fts = PG_FTS_DDL if engine.dialect.name == "postgresql" else SQLITE_FTS_DDL
    with engine.begin() as conn:
        for statement in (*SORT_INDEX_DDL, *fts):
            conn.execute(text(statement))
        conn.execute(text("ANALYZE"))
    engine.dispose()
    print(f"indexes added in {time.perf_counter() - started:.0f} s")


def start_site(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HCJOBS_DATABASE_URL": url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "web.app:create_app", "--host",
         "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env)
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the site did not start")


def run(base: str, params: dict[str, Any], requests: int, seconds: float,
        concurrency: int) -> dict[str, Any]:
    import httpx

    params = dict(params)
    pages = int(params.pop("_page", 1))
    with httpx.Client(base_url=base, timeout=120) as client:
        for _ in range(pages - 1):  # walk to the page asked for; measure that page
            cursor = client.get("/api/postings", params=params).json()["next_cursor"]
            params["cursor"] = cursor
        errors = 0
        for _ in range(2):
            client.get("/api/postings", params=params)
        latencies = []
        items = 0
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get("/api/postings", params=params)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                errors += 1
            else:
                items = len(response.json()["items"])
    done = [0]
    failed = [0]
    stop = time.perf_counter() + seconds

    def worker() -> None:
        with httpx.Client(base_url=base, timeout=120) as c:
            while time.perf_counter() < stop:
                ok = c.get("/api/postings", params=params).status_code == 200
                done[0] += 1
                failed[0] += 0 if ok else 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {"p50": statistics.median(latencies), "p95": percentile(latencies, 0.95),
            "rps": done[0] / elapsed, "errors": errors + failed[0], "items": items}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite:///bench-store.db", help="the store's URL")
    parser.add_argument("--postings", type=int, default=None,
                        help="build a store of this many postings when --db has none")
    parser.add_argument("--indexes", action="store_true",
                        help="add the proposed full-text and sort indexes first (writes!)")
    parser.add_argument("--requests", type=int, default=30, help="sequential requests each")
    parser.add_argument("--seconds", type=float, default=5.0, help="throughput run, each")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)

    from pipeline.db import resolve_url

    url = resolve_url(args.db)
    ensure_store(url, args.postings)
    if args.indexes:
        add_indexes(url)
    proc = start_site(url, args.port)
    try:
        base = f"http://127.0.0.1:{args.port}"
        print(f"GET /api/postings, {args.requests} sequential requests (p50/p95) and "
              f"{args.concurrency} clients for {args.seconds:g} s (req/s); one uvicorn worker")
        print(f"{'search':<34} {'items':>5} {'p50 ms':>9} {'p95 ms':>9} {'req/s':>8} "
              f"{'errors':>6}")
        for name, params in SEARCHES:
            r = run(base, params, args.requests, args.seconds, args.concurrency)
            print(f"{name:<34} {r['items']:>5} {r['p50']:>9.1f} {r['p95']:>9.1f} "
                  f"{r['rps']:>8.1f} {r['errors']:>6}", flush=True)
    finally:
        proc.terminate()
        proc.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
