"""Latency (p50/p95) and throughput of GET /api/postings for typical filter combinations.

    python bench/web_latency.py --db sqlite:///bench-store.db          # an existing store
    python bench/web_latency.py --db sqlite:///big.db --postings 1000000  # build it first
    python bench/web_latency.py --db ... --indexes                       # add the web's
                                                                        # indexes, then measure

The site runs as it does in production: `uvicorn` (`--workers`, set as `hcjobs serve`
sets them) in its own process over the read-only store; this process sends real HTTP/1.1
requests on keep-alive connections, from asyncio clients that cost it ~0.1-0.3 ms per
request (see _load). For each search: `--requests`
sequential requests give the latency of one request alone (p50/p95, after two warm-ups),
then `--concurrency` clients (16, as issue #7 asks), started evenly over `--ramp` seconds,
send requests back to back for `--seconds`: the latency each of those requests saw
(p50/p95, queueing included) and the requests/s, and the site's CPU time per request over
those (its process and workers, from /proc: on a shared machine a steadier figure than
latency; PostgreSQL's own CPU is not in it). A connection stays with the worker that
accepted it, so each line also prints how the connections split across the workers:
clients that connect in the same instant (`--ramp 0`) often all land on one worker, which
then serves alone. The machine's load average is printed with each line: the figures mean
little without it.

The site's answer cache (web.cache) is off unless `--cache`: the figures are then every
request's full cost (cold). With `--cache` the same query repeats (warm: all but the first
served from the cache); add `--vary` for a random page size on each request, and a random
state and credential where the search has them, so fewer answers repeat.

A store that does not exist yet is built with bench/build_store.py (synthetic postings from
the demo board, tags, credentials, facets, daily stats).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

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
    # the typical search: category + remote + credential + state
    ("coding, hybrid, CPC, in OH", {"category": "coding", "remote": "hybrid",
                                    "credential": "CPC", "state": "OH"}),
    ('typical with q="audit"', {"category": "coding", "remote": "hybrid", "credential": "CPC",
                                "state": "OH", "q": "audit"}),
    ("coding, risk adjustment facet", {"category": "coding", "facet": "risk adjustment"}),
    ('remote coding, q="audit"', {"category": "coding", "remote": "remote", "q": "audit"}),
    ('q="risk adjustment" by salary', {"q": "risk adjustment", "sort": "salary"}),
    ("typical, closed too, by salary", {"category": "coding", "remote": "hybrid",
                                        "credential": "CPC", "state": "OH",
                                        "include_closed": "true", "sort": "salary"}),
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
    """Apply the indexes the web relies on (full-text, sort and first-page), as the
    migrations would: for a store built before them."""
    from sqlalchemy import create_engine, text

    from web.queries import SORT_INDEX_DDL, WEB_INDEX_DDL
    from web.search import PG_FTS_DDL, SQLITE_FTS_DDL

    engine = create_engine(url)
    started = time.perf_counter()
    postgres = engine.dialect.name == "postgresql"
    fts = PG_FTS_DDL if postgres else SQLITE_FTS_DDL
    with engine.begin() as conn:
        for statement in (*SORT_INDEX_DDL, *WEB_INDEX_DDL[engine.dialect.name], *fts):
            conn.execute(text(statement))
        conn.execute(text("ANALYZE"))
    engine.dispose()
    print(f"indexes added in {time.perf_counter() - started:.0f} s")


def start_site(url: str, port: int, workers: int = 1, cache: bool = False
               ) -> subprocess.Popen[bytes]:
    from web.app import worker_environment

    # the workers' settings `hcjobs serve --workers N` gives them
    env = {**os.environ, "HCJOBS_DATABASE_URL": url, **worker_environment(workers)}
    if not cache:
        env["HCJOBS_WEB_CACHE"] = "0"
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "web.app:create_app", "--host",
         "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
         "--workers", str(workers)],
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


STATES = ["OH", "MI", "IN", "KY", "PA", "TN", "GA", "FL", "TX", "CO", "WA", "NC", "VA", "IL",
          "WI", "MN", "MO", "AZ", "NY", "NJ"]
CREDENTIALS = ["CPC", "CCS", "RN", "CRC", "COC", "CIC", "RHIT", "RHIA", "MHA", "MBA"]


def varied(params: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """`params` with a random page size, and a random state and credential where it has
    them (--vary)."""
    out = dict(params)
    for name, values in (("state", STATES), ("open_to", STATES), ("credential", CREDENTIALS)):
        if name in out:
            out[name] = rng.choice(values)
    out.setdefault("limit", rng.randint(15, 25))
    return out


def server_cpu(pid: int) -> float:
    """CPU seconds used so far by process `pid` and its children (uvicorn's workers)."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        pending.extend(int(child) for child in children)
    return total


def _workers(pid: int) -> list[int]:
    """The site's processes: uvicorn's worker processes (spawned: not its resource
    tracker), or the one process itself."""
    workers = []
    try:
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                workers.append(int(child))
    except OSError:
        pass
    return workers or [pid]


def connections_per_worker(pid: int, port: int) -> list[int]:
    """How many of the clients' connections each worker holds, most first (Linux /proc;
    [] elsewhere). A connection stays with the worker that accepted it, and clients that
    connect at once land unevenly (13/3, even 16/0): the busier worker's queue then sets
    the latencies, so the split is printed with them."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])  # ESTABLISHED, on the site's side
    counts = []
    for worker in _workers(pid):
        try:
            fds = os.listdir(f"/proc/{worker}/fd")
        except OSError:
            continue
        held = 0
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{worker}/fd/{fd}")
            except OSError:
                continue
            held += target.startswith("socket:[") and target[8:-1] in inodes
        counts.append(held)
    return sorted(counts, reverse=True)


async def _load(host: str, port: int, path: Callable[[], str], concurrency: int,
                seconds: float | None, requests: int | None, ramp: float = 0.0
                ) -> tuple[list[float], int]:
    """`concurrency` clients on keep-alive connections, each sending its next request as soon
    as the last answer is read, for `seconds` (or `requests` in all): each request's latency
    in ms, and how many answers were not 200. The clients start evenly over `ramp` seconds
    (0: all at once).

    Plain HTTP/1.1 over asyncio streams in one thread: a client costs this process a tenth of
    a millisecond per request, where httpx in 16 threads cost ~2 ms and its threads waited
    for the GIL, which added their wait to the latency measured."""
    latencies: list[float] = []
    failed = 0
    left = [requests if requests is not None else -1]
    stop = time.perf_counter() + (seconds if seconds is not None else 1e9)

    async def client() -> None:
        nonlocal failed
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < stop and left[0] != 0:
                left[0] -= 1
                request = (f"GET {path()} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                           f"Accept: application/json\r\n\r\n").encode()
                sent = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status_line, _, headers = head.decode("latin-1").partition("\r\n")
                length = None
                for line in headers.split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                    elif name.strip().lower() == "transfer-encoding":
                        raise SystemExit(f"unexpected transfer-encoding {value.strip()}")
                if length is None:
                    raise SystemExit(f"no content-length in the answer: {status_line}")
                await reader.readexactly(length)
                latencies.append((time.perf_counter() - sent) * 1000)
                failed += status_line.split()[1] != "200"
        finally:
            writer.close()

    async def starting(index: int) -> None:
        await asyncio.sleep(ramp * index / concurrency)
        await client()

    await asyncio.gather(*(starting(i) for i in range(concurrency)))
    return latencies, failed


def run(base: str, params: dict[str, Any], requests: int, seconds: float,
        concurrency: int, pid: int, vary: bool = False, ramp: float = 0.0) -> dict[str, Any]:
    import httpx

    params = dict(params)
    pages = int(params.pop("_page", 1))
    rng = random.Random(7)
    with httpx.Client(base_url=base, timeout=120) as walk:
        for _ in range(pages - 1):  # walk to the page asked for; measure that page
            params["cursor"] = walk.get("/api/postings", params=params).json()["next_cursor"]
        items = len(walk.get("/api/postings", params=params).json()["items"])

    def path() -> str:
        asked = varied(params, rng) if vary and pages == 1 else params
        return "/api/postings?" + urlencode(asked, doseq=True)

    split = urlsplit(base)
    host, port = split.hostname or "127.0.0.1", split.port or 80
    asyncio.run(_load(host, port, path, 1, None, 2))  # warm-up
    latencies, errors = asyncio.run(_load(host, port, path, 1, None, requests))
    load = os.getloadavg()[0]
    cpu = server_cpu(pid)
    client = time.process_time()
    started = time.perf_counter()
    split: list[list[int]] = []
    sampler = threading.Timer(ramp + min(1.0, seconds / 2), lambda: split.append(
        connections_per_worker(pid, port)))
    sampler.start()
    loaded, failed = asyncio.run(_load(host, port, path, concurrency, seconds, None, ramp))
    sampler.cancel()
    elapsed = time.perf_counter() - started
    cpu = server_cpu(pid) - cpu
    client = time.process_time() - client
    return {"p50": statistics.median(latencies), "p95": percentile(latencies, 0.95),
            "c_p50": statistics.median(loaded) if loaded else math.nan,
            "c_p95": percentile(loaded, 0.95) if loaded else math.nan,
            "rps": len(loaded) / elapsed, "errors": errors + failed, "items": items,
            "cpu": cpu / len(loaded) * 1000 if loaded else math.nan,
            "client": client / len(loaded) * 1000 if loaded else math.nan,
            "load": max(load, os.getloadavg()[0]),
            "split": "/".join(map(str, split[0])) if split and split[0] else "?"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite:///bench-store.db", help="the store's URL")
    parser.add_argument("--postings", type=int, default=None,
                        help="build a store of this many postings when --db has none")
    parser.add_argument("--indexes", action="store_true",
                        help="add the proposed full-text and sort indexes first (writes!)")
    parser.add_argument("--requests", type=int, default=30, help="sequential requests each")
    parser.add_argument("--seconds", type=float, default=5.0, help="throughput run, each")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--ramp", type=float, default=0.5,
                        help="seconds over which the clients start, evenly (0: all in the "
                             "same instant, when one worker may accept every connection)")
    parser.add_argument("--only", action="append", default=[],
                        help="only the searches whose name has this (repeat for more)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=1,
                        help="uvicorn worker processes (`hcjobs serve` runs one)")
    parser.add_argument("--cache", action="store_true",
                        help="turn the site's answer cache on (default: off, every request "
                             "computed)")
    parser.add_argument("--vary", action="store_true",
                        help="a random state, credential and page size on each request")
    args = parser.parse_args(argv)

    from sqlalchemy.engine import make_url

    from pipeline.db import resolve_url

    url = resolve_url(args.db)
    ensure_store(url, args.postings)
    if args.indexes:
        add_indexes(url)
    proc = start_site(url, args.port, args.workers, args.cache)
    try:
        base = f"http://127.0.0.1:{args.port}"
        mode = ("cache on, " + ("varied queries" if args.vary else "same query (warm)")
                if args.cache else "cache off (cold)" + (", varied queries" if args.vary
                                                          else ""))
        print(f"GET /api/postings on {make_url(url).get_backend_name()}, {args.workers} uvicorn "
              f"worker(s), {mode}, "
              f"{os.cpu_count()} CPUs: alone = {args.requests} sequential requests; "
              f"x{args.concurrency} = {args.concurrency} clients for {args.seconds:g} s; "
              f"cpu = server CPU ms per request under x{args.concurrency}, client = this "
              f"process's (the clients share the machine's CPUs with the site); "
              f"load = 1-minute load average during the run")
        print(f"{'search':<34} {'items':>5} {'alone p50':>9} {'p95':>7} "
              f"{f'x{args.concurrency} p50':>9} {'p95':>7} {'req/s':>7} {'cpu':>6} "
              f"{'client':>6} {'errors':>6} {'load':>5} {'split':>6}")
        for name, params in SEARCHES:
            if args.only and not any(part in name for part in args.only):
                continue
            r = run(base, params, args.requests, args.seconds, args.concurrency, proc.pid,
                    args.vary, args.ramp)
            print(f"{name:<34} {r['items']:>5} {r['p50']:>9.1f} {r['p95']:>7.1f} "
                  f"{r['c_p50']:>9.1f} {r['c_p95']:>7.1f} {r['rps']:>7.1f} {r['cpu']:>6.2f} "
                  f"{r['client']:>6.2f} {r['errors']:>6} {r['load']:>5.2f} {r['split']:>6}",
                  flush=True)
    finally:
        proc.terminate()
        proc.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
