"""Crawl throughput at scale, printed (not a timed test).

A local board serves 10,000 postings and sleeps 50 ms before every answer, like a remote
server. It runs in its own process; every figure runs in a fresh process of its own, so peak
memory is that figure's own. The figures, each end to end into a new SQLite file:

  jsonld     career pages, one posting per page, found from a sitemap: pages/s
  api        a Greenhouse-style list API (one answer lists all 10,000): postings/s
  again      both crawled a second time: the board answers 304 to the conditional requests
  plain      the same work by bench/plain_requests.py (sequential requests + lxml), and the
             ratio of hcjobs' rate to it

    python bench/crawl_scale.py                 # everything
    python bench/crawl_scale.py jsonld api      # some figures
    python bench/crawl_scale.py --plain-pages 10000   # the baseline on all pages (~9 min)

Peak memory is the crawl process's maximum resident set size (ru_maxrss of the child), and
the peak proportional set size of the crawl process with its prepare worker and fork
server together (sampled from /proc), the memory the whole crawl needs.
Tagging is not part of any figure (it is the classify benchmark in bench/run.py).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import html
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

POSTINGS = 10_000
LATENCY = 0.05
SITE = "https://careers.riverbend-bench.example"
# The crawl settings of every figure, on top of the loopback defaults (no delay, no
# AutoThrottle, 16 requests per host in flight): more requests in flight hide the latency.
CRAWL_SETTINGS = {"CONCURRENT_REQUESTS": 64, "CONCURRENT_REQUESTS_PER_DOMAIN": 64}


def bench_employers(n: int = POSTINGS) -> tuple[dict[str, Any], dict[str, Any]]:
    """A career site (sitemap + JSON-LD pages) and a Greenhouse board, n postings each,
    copied from the demo board's titled postings with unique ids and URLs, and each with its
    own requisition number in the title and text (as real boards have: 147 identical copies
    of a posting would only measure the deduplicator's worst case)."""
    from pipeline.demo.board import load_board

    demo = load_board()
    pool = [p for e in demo["employers"] for p in e["postings"] if p.get("title")]
    postings = []
    for i in range(n):
        p = copy.deepcopy(pool[i % len(pool)])
        p["id"] = f"{p['id']}-{i}"
        p["title"] = f"{p['title']} (Req {10000 + i})"
        p["html"] = f"<p>Requisition {10000 + i}.</p>{p['html']}"
        p.pop("url", None)
        postings.append(p)
    site = {"slug": "riverbend-bench", "kind": "jsonld", "discovery": "sitemap",
            "name": "Riverbend Health", "website": SITE, "postings": postings}
    board = {"slug": "meridian-bench", "kind": "greenhouse", "name": "Meridian Revenue",
             "website": "https://careers.meridian-bench.example", "postings": postings}
    return site, board


def build_routes(n: int) -> dict[str, tuple[str, bytes]]:
    from pipeline.demo.board import greenhouse_jobs, job_page, sitemap

    site, board = bench_employers(n)
    routes: dict[str, tuple[str, bytes]] = {
        "/robots.txt": ("text/plain", b"User-agent: *\nAllow: /\n"),
        "/sites/riverbend/sitemap.xml": ("application/xml", sitemap(site).encode()),
        "/v1/boards/meridian/jobs": ("application/json",
                                     json.dumps(greenhouse_jobs(board)).encode()),
    }
    for p in site["postings"]:
        routes[f"/sites/riverbend/jobs/{html.escape(str(p['id']))}"] = \
            ("text/html; charset=utf-8", job_page(site, p).encode())
    return routes


def serve(n: int, latency: float, port_queue: Any) -> None:
    """The board: every answer after `latency` seconds, with an ETag; 304 when it matches.

    A small asyncio HTTP/1.1 server (keep-alive, GET only): one thread per connection in
    http.server tops out near the crawl's own rate on a small machine and would measure itself.
    """
    import asyncio

    routes = build_routes(n)
    etags = {path: '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'
             for path, (_, body) in routes.items()}
    reasons = {200: "OK", 304: "Not Modified", 404: "Not Found"}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1].split("?", 1)[0]
                headers = {k.strip().lower(): v.strip() for k, _, v in
                           (line.partition(":") for line in lines[1:] if line)}
                await asyncio.sleep(latency)
                route = routes.get(path)
                if route is None:
                    status, ctype, body, etag = 404, "text/plain", b"not found", ""
                else:
                    (ctype, body), etag = route, etags[path]
                    status = 304 if headers.get("if-none-match") == etag else 200
                    body = b"" if status == 304 else body
                extra = f"ETag: {etag}\r\n" if etag else ""
                writer.write(f"HTTP/1.1 {status} {reasons[status]}\r\nContent-Type: {ctype}\r\n"
                             f"{extra}Content-Length: {len(body)}\r\n\r\n".encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        port_queue.put(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class Board:
    """The board in its own process, so its threads do not compete with what is measured."""

    def __init__(self, n: int = POSTINGS, latency: float = LATENCY) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.queue = ctx.Queue()
        self.process = ctx.Process(target=serve, args=(n, latency, self.queue), daemon=True)

    def __enter__(self) -> str:
        self.process.start()
        return f"http://127.0.0.1:{self.queue.get(timeout=120)}"

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.join(10)


def entries_for(what: str, url: str) -> list[dict[str, Any]]:
    if what == "jsonld":
        return [{"name": "riverbend-bench", "kind": "jsonld", "sitemap": f"{SITE}/sitemap.xml",
                 "link_pattern": "/jobs/", "base_url": f"{url}/sites/riverbend"}]
    # 10,000 postings with their descriptions make a 24 MB answer: over the 20 MB default cap
    return [{"name": "meridian-bench", "kind": "greenhouse", "board": "meridian",
             "base_url": url, "settings": {"DOWNLOAD_MAXSIZE": 64 * 1024 * 1024}}]


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc (Linux)."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="latin-1") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def _pss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="latin-1") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class TreeMemory:
    """Peak PSS of the crawl process (`python -m crawler`, a child of this one) with its
    descendants (the prepare worker and its fork server), sampled every 0.2 s. PSS, not RSS:
    a fork shares its parent's pages, and summing RSS would count them twice."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            tree = _children()
            todo = [pid for pid in tree.get(os.getpid(), []) if _is_crawl(pid)]
            total = 0.0
            while todo:
                pid = todo.pop()
                total += _pss_mb(pid)
                todo.extend(tree.get(pid, []))
            self.peak = max(self.peak, total)

    def __enter__(self) -> TreeMemory:
        if os.path.isdir("/proc"):
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def _is_crawl(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"\0-m\0crawler\0" in fh.read()
    except OSError:
        return False


def crawl_once(what: str, url: str, db_url: str) -> dict[str, Any]:
    """One crawl; its wall time, the run's own figures and the crawl process's peak RSS."""
    from pipeline.crawl import run_crawl, run_rows
    from pipeline.db import open_store

    os.environ["HCJOBS_CRAWL_SETTINGS"] = json.dumps(CRAWL_SETTINGS)
    engine = open_store(db_url)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with TreeMemory() as tree:
        result = run_crawl(engine, db_url, entries_for(what, url), timeout=1800)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    ((_, run),) = run_rows(engine, result.run_ids)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    summary = run.stats.get("summary", {})
    return {"wall": wall, "cpu": cpu, "status": run.status, "error": run.error, "seen": run.seen,
            "new": run.new, "summary": summary, "peak_mb": peak, "tree_mb": tree.peak}


def figure(what: str, n: int) -> None:
    """Crawl `what` twice into one new SQLite file and print both passes."""
    with tempfile.TemporaryDirectory() as tmp, Board(n) as url:
        db_url = f"sqlite:///{tmp}/bench.db"
        first = crawl_once(what, url, db_url)
        again = crawl_once(what, url, db_url)
    unit = "pages" if what == "jsonld" else "postings"
    for label, r in (("first crawl", first), ("again (304s)", again)):
        s = r["summary"]
        # job pages: every request but robots.txt and the sitemap
        count = s.get("requests", 0) - 2 if what == "jsonld" else r["seen"]
        inner = s.get("duration_s") or r["wall"]
        # ru_maxrss of children is the largest so far: the second crawl's would repeat the first's
        rss = f"crawl process peak RSS {r['peak_mb']:.0f} MB; " if r is first else ""
        print(f"{what:<7} {label:<13} {count:>6} {unit} ({r['seen']} postings seen, {r['new']} "
              f"new, status {r['status']}) in {r['wall']:.1f} s = {count / r['wall']:,.0f} "
              f"{unit}/s end to end ({count / inner:,.0f}/s inside the crawl's "
              f"{inner:.1f} s); crawl process CPU {r['cpu']:.1f} s = {count / r['cpu']:,.0f} "
              f"{unit} per CPU-second; {s.get('requests', 0)} requests, responses "
              f"{s.get('responses')}; {rss}peak PSS with the prepare worker "
              f"{r['tree_mb']:.0f} MB", flush=True)
        if r["status"] != "ok":
            print(f"        error: {r['error']}")


def plain(pages: int, n: int) -> None:
    """The sequential requests + lxml baseline on `pages` pages and on the API."""
    sys.path.insert(0, str(ROOT / "bench"))
    import plain_requests

    with tempfile.TemporaryDirectory() as tmp, Board(n) as url:
        site = plain_requests.crawl_pages(f"{url}/sites/riverbend/sitemap.xml",
                                          f"{tmp}/plain.db", limit=pages, rebase=url +
                                          "/sites/riverbend", public=SITE)
        api = plain_requests.crawl_api(f"{url}/v1/boards/meridian/jobs?content=true",
                                       f"{tmp}/plain.db")
    print(f"plain   jsonld        {site['pages']:>6} pages in {site['seconds']:.1f} s = "
          f"{site['pages'] / site['seconds']:,.1f} pages/s (sequential requests + lxml; "
          f"{site['stored']} stored)", flush=True)
    print(f"plain   api           {api['postings']:>6} postings in {api['seconds']:.1f} s = "
          f"{api['postings'] / api['seconds']:,.0f} postings/s", flush=True)
    Path(tempfile.gettempdir(), "hcjobs-plain-rates.json").write_text(json.dumps(
        {"jsonld": site["pages"] / site["seconds"], "api": api["postings"] / api["seconds"]}))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("figures", nargs="*", help="jsonld, api, plain (default: all)")
    parser.add_argument("--postings", type=int, default=POSTINGS)
    parser.add_argument("--plain-pages", type=int, default=1000,
                        help="pages the sequential baseline fetches (its rate is steady, so "
                             "a sample is enough; 10000 takes ~9 minutes)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv[1:])
    args.figures = args.figures or ["jsonld", "api", "plain"]
    unknown = set(args.figures) - {"jsonld", "api", "plain"}
    if unknown:
        parser.error(f"unknown figure(s): {', '.join(sorted(unknown))}")
    if args.one:  # a child: one figure in this process
        what = args.figures[0]
        if what == "plain":
            plain(args.plain_pages, args.postings)
        else:
            figure(what, args.postings)
        return 0
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} before the run "
          "(other work on the machine slows the wall-clock figures, not the CPU ones)")
    print(f"board: {args.postings:,} postings, {LATENCY * 1000:.0f} ms per answer; crawl "
          f"settings {CRAWL_SETTINGS} (plus the loopback defaults)", flush=True)
    out: dict[str, list[str]] = {}
    for what in args.figures:
        proc = subprocess.run([sys.executable, __file__, what, "--one", "--postings",
                               str(args.postings), "--plain-pages", str(args.plain_pages)],
                              capture_output=True, text=True, cwd=ROOT)
        print(proc.stdout, end="", flush=True)
        if proc.returncode:
            print(proc.stderr[-3000:], file=sys.stderr)
        out[what] = proc.stdout.splitlines()
    rates = Path(tempfile.gettempdir(), "hcjobs-plain-rates.json")
    if "plain" in out and rates.exists():
        plain_rates = json.loads(rates.read_text())
        for what in ("jsonld", "api"):
            line = next((x for x in out.get(what, []) if "first crawl" in x), None)
            if line:
                rate = float(line.split(" = ", 1)[1].split()[0].replace(",", ""))
                print(f"ratio   {what:<13} hcjobs {rate:,.0f}/s vs plain "
                      f"{plain_rates[what]:,.1f}/s = {rate / plain_rates[what]:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
