"""Tagging runs that overlap (the scheduler ends several sources' runs at once)."""

from __future__ import annotations

import multiprocessing as mp
from typing import Any

from sqlalchemy import Engine, func, select

from classifier.tagger import Tagger
from pipeline.db import open_store, session_scope
from pipeline.demo.board import load_board
from pipeline.models import FacetTag, Posting, Tag
from pipeline.store import start_run, store_items
from pipeline.tagging import tag_pending


def _tag_when_released(url: str, barrier: Any, out: Any) -> None:
    """Load the model, wait for the other process, then tag: both start the same moment."""
    engine = open_store(url, upgrade=False)
    tagger = Tagger.load()
    barrier.wait(timeout=60)
    try:
        out.put(("ok", tag_pending(engine, tagger)))
    except Exception as exc:
        out.put(("error", f"{type(exc).__name__}: {exc}"))


def test_concurrent_taggers_tag_each_posting_once(engine: Engine, db_url: str) -> None:
    board = load_board()
    run_id = start_run(engine, {"name": "demo", "kind": "greenhouse", "board": "demo"})
    items = [{"source": "demo", "external_id": f"{e['slug']}-{p['id']}", "title": p["title"],
              "company": e["name"], "locations": [p.get("location") or ""],
              "description_html": p.get("html") or "", "hints": {}, "raw": {"id": p["id"]}}
             for e in board["employers"] for p in e["postings"] if p.get("title")]
    store_items(engine, run_id, items)
    Tagger.load()  # trained once into the test cache, before the processes race for it

    context = mp.get_context("spawn")
    barrier, out = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_tag_when_released, args=(db_url, barrier, out))
               for _ in range(2)]
    for w in workers:
        w.start()
    results = [out.get(timeout=180) for _ in workers]
    for w in workers:
        w.join(30)
    assert all(status == "ok" for status, _ in results), results
    # every posting tagged by one process or the other; none twice, none left pending
    assert sum(n for _, n in results) >= len(items)
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Tag)) == len(items)
        assert session.scalar(select(func.count(func.distinct(Tag.posting_id)))) == len(items)
        assert session.scalar(select(func.count()).select_from(Posting)) == len(items)
        assert session.scalar(select(func.count()).select_from(FacetTag)) > 0
    assert tag_pending(engine, Tagger.load()) == 0
