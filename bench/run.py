"""Throughput and peak memory of the two hot paths, printed (not a timed test).

    python bench/run.py            # both figures
    python bench/run.py crawl      # crawl-to-store only (crawl-demo: the demo board as is)
    python bench/run.py classify   # classify only

crawl: the real spiders crawl a demo board scaled up by copying its postings (Greenhouse
list API and JSON-LD career pages) over HTTP on localhost into a new SQLite file.
classify: the tagger over the training corpus repeated to N postings.
Each figure runs in its own process so peak memory is its own.
"""

from __future__ import annotations

import copy
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCALE = 40  # copies of every demo posting: ~2,700 postings
CLASSIFY_N = 20000


def scaled_board(scale: int) -> dict[str, Any]:
    from pipeline.demo.board import load_board

    board = load_board()
    for employer in board["employers"]:
        postings = []
        for copy_no in range(scale):
            for p in employer["postings"]:
                q = copy.deepcopy(p)
                q["id"] = f"{p['id']}-{copy_no}"
                q.pop("url", None)
                postings.append(q)
        employer["postings"] = postings
    return board


def bench_crawl(scale: int = SCALE) -> None:
    from pipeline.crawl import run_crawl
    from pipeline.db import open_store
    from pipeline.demo.board import DemoBoard, demo_sources

    board = scaled_board(scale)
    with tempfile.TemporaryDirectory() as tmp, DemoBoard(board) as server:
        url = f"sqlite:///{tmp}/bench.db"
        engine = open_store(url)
        entries = demo_sources(board, server.url)
        start = time.perf_counter()
        result = run_crawl(engine, url, entries, timeout=1800)
        elapsed = time.perf_counter() - start
        from pipeline.crawl import run_rows

        runs = run_rows(engine, result.run_ids)
    stored = sum(r.seen for _, r in runs)
    pages = len([p for p in server.requests if "/jobs/" in p and "/v1/" not in p])
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"crawl-to-store (demo board x{scale}): {stored} postings ({pages} JSON-LD pages, "
          f"{len(server.requests)} requests) in {elapsed:.1f} s = {stored / elapsed:,.0f} "
          f"postings/s (statuses: {sorted({r.status for _, r in runs})}); "
          f"crawl process peak RSS {child_peak:.0f} MB")


def bench_classify() -> None:
    from classifier.corpus import load_corpus
    from classifier.tagger import Tagger

    tagger = Tagger.load()
    corpus = load_corpus()
    postings = [{"id": i, "title": corpus[i % len(corpus)]["title"],
                 "text": corpus[i % len(corpus)]["text"]} for i in range(CLASSIFY_N)]
    start = time.perf_counter()
    for i in range(0, len(postings), 1000):
        tagger.tag(postings[i:i + 1000])
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"classify: {len(postings)} postings in {elapsed:.1f} s = "
          f"{len(postings) / elapsed:,.0f} postings/s; peak RSS {peak:.0f} MB")


def main(argv: list[str]) -> int:
    what = argv[1:] or ["crawl-demo", "crawl", "classify"]
    if len(what) > 1:  # one process per figure
        for name in what:
            subprocess.run([sys.executable, __file__, name], check=True)
        return 0
    figures = {"crawl": bench_crawl, "crawl-demo": lambda: bench_crawl(1),
               "classify": bench_classify}
    figures[what[0]]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
