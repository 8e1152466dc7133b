"""How long the counts of a search take (GET /api/facets, the browse page's filter counts),
computed cold: every dimension, each under all the other filters.

    python bench/facet_counts.py --db sqlite:///big.db
    python bench/facet_counts.py --db postgresql+psycopg://postgres@127.0.0.1/big --repeat 3

In this process, over the read-only store as the site opens it (web.db.open_readonly), so
the figures are the database's work and the Python around it, without HTTP; the site's
answer cache then keeps a search's counts until the store changes. For each search: the
best and worst of --repeat runs, the total and the closed count (so runs on different
stores can be compared), and with --statements the statements over 20 ms of the last run.
Build the store first with bench/build_store.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from web.queries import Filters  # noqa: E402

SEARCHES: list[tuple[str, Filters]] = [
    ("no filter", Filters()),
    ("coding", Filters(category=("coding",))),
    ("remote, CPC", Filters(remote=("remote",), credential=("CPC",))),
    ("coding, hybrid, CPC, in OH", Filters(category=("coding",), remote=("hybrid",),
                                           credential=("CPC",), state="OH")),
    ('q="risk adjustment"', Filters(q="risk adjustment")),
    ("coding, closed too", Filters(category=("coding",), include_closed=True)),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True, help="the store's URL")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--statements", action="store_true",
                        help="print the statements over 20 ms of each search's last run")
    args = parser.parse_args()

    from sqlalchemy import event

    from web import queries
    from web.api import dialect_of
    from web.db import open_readonly

    store = open_readonly(args.db)
    d = dialect_of(store)
    slow: list[str] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def started(conn: Any, *_: Any) -> None:
        conn.info["started"] = time.perf_counter()

    @event.listens_for(store.engine, "after_cursor_execute")
    def ended(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        took = time.perf_counter() - conn.info["started"]
        if took > 0.02:
            slow.append(f"    {took * 1000:7.0f} ms  {' '.join(statement.split())[:110]}")

    print(f"store: {store.dialect}, listings: {d.listings}, closed listings: "
          f"{d.closed_listings}")
    print(f"{'search':30} {'best ms':>8} {'worst ms':>9} {'total':>9} {'closed':>9}")
    now = datetime.now(UTC)
    for name, f in SEARCHES:
        times = []
        for _ in range(args.repeat):
            slow.clear()
            with store.session() as session:
                began = time.perf_counter()
                counts = queries.facet_counts(session, f, d, now)
                times.append(time.perf_counter() - began)
        closed = dict(counts["status"])["closed"]
        print(f"{name:30} {min(times) * 1000:8.0f} {max(times) * 1000:9.0f} "
              f"{counts['total']:9,} {closed:9,}", flush=True)
        if args.statements:
            print("\n".join(slow))
    store.close()


if __name__ == "__main__":
    main()
