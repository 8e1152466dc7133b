"""End to end: the real spiders crawl the demo board over real HTTP into a real database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from classifier.tagger import Tagger
from pipeline.crawl import run_crawl, run_rows
from pipeline.db import open_store, session_scope
from pipeline.demo.board import DemoBoard, demo_sources, load_board
from pipeline.models import Posting, Source, Tag
from pipeline.tagging import tag_pending


def _by_ext(engine: Engine) -> dict[str, Posting]:
    with session_scope(engine) as session:
        return {p.external_id: p for p in session.scalars(select(Posting))}


def _nasty(board: DemoBoard, what: str) -> dict[str, Any]:
    """The demo posting marked with a given nasty case."""
    for employer in board.board["employers"]:
        for posting in employer["postings"]:
            if what in posting.get("nasty", "") or posting.get(what):
                return posting
    raise LookupError(what)


def test_demo_board_crawl_stores_clean_postings(board: DemoBoard, sqlite_url: str) -> None:
    engine = open_store(sqlite_url)
    entries = demo_sources(board.board, board.url)
    result = run_crawl(engine, sqlite_url, entries, timeout=120)
    assert result.exit_code == 0, result.log

    runs = dict(run_rows(engine, result.run_ids))
    assert set(runs) == {e["name"] for e in entries}
    assert {r.status for r in runs.values()} == {"ok"}, {n: r.error for n, r in runs.items()}
    served = sum(len(e["postings"]) for e in board.board["employers"])
    untitled = [p for e in board.board["employers"] for p in e["postings"] if not p.get("title")]
    assert len(untitled) == 1
    assert sum(r.seen for r in runs.values()) == served - 1
    # counted once per stored item (by StorePipeline: Scrapy's CoreStats handler is off)
    assert all(r.stats.get("item_scraped_count", 0) == r.seen for r in runs.values())
    assert all(r.stats.get("elapsed_time_seconds") for r in runs.values())
    dropped = {n: r for n, r in runs.items() if r.dropped}
    assert len(dropped) == 1
    (run,) = dropped.values()
    assert run.stats["drop/missing_title"] == 1

    postings = _by_ext(engine)
    assert len(postings) == served - 1
    # the agency's repost of the hospital's job collapses onto the hospital's posting
    dups = [p for p in postings.values() if p.duplicate_of is not None]
    assert len(dups) == 1 and dups[0].duplicate_reason == "same_url"
    original = next(p for p in postings.values() if p.id == dups[0].duplicate_of)
    assert original.canonical_url == dups[0].canonical_url
    # hostile HTML is stored sanitized; its text keeps no script
    hostile = postings[str(_nasty(board, "hostile")["id"])]
    assert hostile.html and "<script" not in hostile.html and "onerror" not in hostile.html
    assert "javascript:" not in hostile.html and "alert(1)" not in hostile.text
    # escaping and mojibake are undone
    twice = postings[str(_nasty(board, "escape_twice")["id"])]
    assert "&lt;" not in twice.text and "<p>" not in twice.text and twice.html.startswith("<")
    moji = postings[str(_nasty(board, "mojibake")["id"])]
    assert "â€" not in moji.text and "\u2019" in moji.text
    swapped = postings[str(_nasty(board, "swapped")["id"])]
    assert swapped.salary_min is not None and swapped.salary_max is not None
    assert swapped.salary_min < swapped.salary_max
    # structured fields made it through: dates, places, remote hints, raw payloads
    assert all(p.posted_at is not None for p in postings.values())
    assert all(p.raw for p in postings.values())
    assert sum(1 for p in postings.values() if p.state) > served / 2
    assert any(p.hints.get("jobLocationType") == "TELECOMMUTE" for p in postings.values())
    assert any(p.hints.get("workplaceType") for p in postings.values())

    tagger = Tagger.load()
    assert tag_pending(engine, tagger) == served - 1
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Tag)) == served - 1

    # a second crawl of the same board updates rows, adds none, and needs no re-tagging
    again = run_crawl(engine, sqlite_url, entries, timeout=120)
    runs2 = dict(run_rows(engine, again.run_ids))
    assert sum(r.new for r in runs2.values()) == 0
    assert sum(r.changed for r in runs2.values()) == 0
    assert all(p.times_seen == 2 for p in _by_ext(engine).values())
    assert tag_pending(engine, tagger) == 0


BROKEN = {
    "/v1/boards/err500/": "500",
    "/v1/boards/junk/": "garbage",
    "/v1/boards/cut/": "truncated",
    "/sites/downsite/": "500",
}


def test_broken_sources_fail_alone(tmp_path: Path) -> None:
    data = load_board()
    healthy = next(e for e in data["employers"] if e["kind"] == "greenhouse")
    board = {"employers": [healthy]}
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    engine = open_store(url)
    with DemoBoard(board, faults=BROKEN) as server:
        entries = demo_sources(board, server.url) + [
            {"name": "gone", "kind": "greenhouse", "board": "no-such-board",
             "base_url": server.url},
            {"name": "err500", "kind": "greenhouse", "board": "err500", "base_url": server.url},
            {"name": "junk", "kind": "greenhouse", "board": "junk", "base_url": server.url},
            {"name": "cut", "kind": "greenhouse", "board": "cut", "base_url": server.url},
            {"name": "downsite", "kind": "jsonld",
             "sitemap": "https://careers.down.example/sitemap.xml",
             "base_url": f"{server.url}/sites/downsite"},
        ]
        result = run_crawl(engine, url, entries, timeout=120)
    runs = dict(run_rows(engine, result.run_ids))
    assert runs[healthy["slug"]].status == "ok"
    assert runs[healthy["slug"]].seen == len([p for p in healthy["postings"] if p.get("title")])
    expected = {"gone": "404", "err500": "HTTP 500", "junk": "invalid JSON",
                "cut": "cut", "downsite": "HTTP 500"}
    for name, reason in expected.items():
        assert runs[name].status == "failed", (name, runs[name].error)
        assert runs[name].error
        assert reason in runs[name].error or name == "cut", (name, runs[name].error)
        assert runs[name].stats["errors"], name
        assert runs[name].seen == 0
    with session_scope(engine) as session:
        names = session.execute(select(Source.name, func.count(Posting.id))
                                .join(Posting, Posting.source_id == Source.id)
                                .group_by(Source.name)).all()
        assert dict(names) == {healthy["slug"]: runs[healthy["slug"]].seen}


def test_demo_crawl_on_postgresql(board: DemoBoard, pg_url: str) -> None:
    engine = open_store(pg_url)
    entries = demo_sources(board.board, board.url)
    result = run_crawl(engine, pg_url, entries, timeout=120)
    runs = dict(run_rows(engine, result.run_ids))
    assert {r.status for r in runs.values()} == {"ok"}, {n: r.error for n, r in runs.items()}
    served = sum(len(e["postings"]) for e in board.board["employers"])
    assert len(_by_ext(engine)) == served - 1
    assert tag_pending(engine, Tagger.load()) == served - 1


@pytest.mark.parametrize("kind", ["greenhouse", "jsonld"])
def test_scrapy_list_shows_kind(kind: str) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", "scrapy", "list"], cwd=root,
                         capture_output=True, text=True, check=True).stdout.split()
    assert kind in out


def test_plain_scrapy_crawl_stores_a_run(board: DemoBoard, tmp_path: Path) -> None:
    """`scrapy crawl KIND -a ...` works without hcjobs around it and records its own run."""
    import os
    import subprocess
    import sys

    db = f"sqlite:///{tmp_path / 'jobs.db'}"
    root = Path(__file__).resolve().parents[1]
    employer = next(e for e in board.board["employers"] if e["kind"] == "greenhouse")
    subprocess.run([sys.executable, "-m", "scrapy", "crawl", "greenhouse",
                    "-a", f"board={employer['slug']}", "-a", f"base_url={board.url}",
                    "-a", "source_name=manual"], cwd=root, check=True, capture_output=True,
                   env={**os.environ, "HCJOBS_DATABASE_URL": db}, timeout=120)
    engine = open_store(db)
    with session_scope(engine) as session:
        source = session.scalars(select(Source)).one()
        assert (source.name, source.kind) == ("manual", "greenhouse")
        assert source.config["board"] == employer["slug"]
        assert session.scalar(select(func.count()).select_from(Posting)) == \
            len([p for p in employer["postings"] if p.get("title")])
    (_, run), = run_rows(engine, [1])
    assert run.status == "ok" and run.seen > 0


def test_worker_normalized_batches_store_the_same(board: DemoBoard, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches normalized in a worker process (a large source's second batch on) are
    stored exactly as batches stored inline: same rows, same duplicates, same counts."""
    import json

    entries = demo_sources(board.board, board.url)
    stored: dict[str, Any] = {}
    for mode, settings in (("inline", {"HCJOBS_PREPARE_WORKERS": 0}),
                           ("workers", {"HCJOBS_PREPARE_WORKERS": 1, "HCJOBS_BATCH_SIZE": 2})):
        monkeypatch.setenv("HCJOBS_CRAWL_SETTINGS", json.dumps(settings))
        url = f"sqlite:///{tmp_path / mode}.db"
        engine = open_store(url)
        result = run_crawl(engine, url, entries, timeout=120)
        assert result.exit_code == 0, result.log
        runs = dict(run_rows(engine, result.run_ids))
        assert {r.status for r in runs.values()} == {"ok"}, result.log
        offloaded = sum(r.stats.get("hcjobs/batches_prepared_in_workers", 0)
                        for r in runs.values())
        assert (offloaded > 10) == (mode == "workers"), offloaded
        for run in runs.values():  # every batch but the first: to a worker, or inline when
            # the worker had one waiting already
            handed = run.stats.get("hcjobs/batches_prepared_in_workers", 0) + \
                run.stats.get("hcjobs/batches_prepared_inline", 0)
            batches = -(-run.stats.get("item_scraped_count", 0) // 2)
            assert handed == (max(batches - 1, 0) if mode == "workers" else 0), run.stats
        postings = _by_ext(engine)
        by_id = {p.id: p.external_id for p in postings.values()}
        stored[mode] = (
            {n: (r.seen, r.new) for n, r in runs.items()},
            {ext: (p.title, p.text, p.html, p.content_hash, p.simhash, p.salary_annual_max)
             for ext, p in postings.items()},
            # which of two copies is canonical depends on which source stored first
            {(frozenset((ext, by_id[p.duplicate_of])), p.duplicate_reason)
             for ext, p in postings.items() if p.duplicate_of})
        engine.dispose()
    assert stored["workers"][0] == stored["inline"][0]
    assert stored["workers"][1] == stored["inline"][1]
    assert stored["workers"][2] == stored["inline"][2]
    assert stored["workers"][2]  # the agency's repost


@pytest.mark.parametrize("when", ["broken before", "breaks while queued"])
def test_a_dead_prepare_worker_loses_no_batch(when: str, sqlite_url: str) -> None:
    """The prepare worker dies (the OOM killer, a crash): the batches handed to it and the
    ones after are normalized in the crawl process instead, and every posting is stored."""
    import asyncio
    import multiprocessing as mp
    import os
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from scrapy.utils.test import get_crawler

    from crawler import pipelines
    from crawler.items import JobPosting
    from pipeline.store import start_run

    engine = open_store(sqlite_url)
    pool = ProcessPoolExecutor(1, mp_context=mp.get_context("fork"))
    dying = pool.submit(os._exit, 1)
    if when == "broken before":
        with pytest.raises(BrokenProcessPool):
            dying.result(timeout=30)
    crawler = get_crawler()
    run_id = start_run(engine, {"name": "s", "kind": "greenhouse"})
    old_pool, pipelines._POOL = pipelines._POOL, pool
    items = [JobPosting(source="s", external_id=f"p{i}", title=f"Medical Coder {i}",
                        company="Lakeshore Health", locations=["Dayton, OH"],
                        description_html=f"<p>Code outpatient charts, clinic {i}.</p>",
                        raw={"id": i}) for i in range(11)]

    async def feed() -> pipelines.StorePipeline:
        pipe = pipelines.StorePipeline(crawler, sqlite_url, batch_size=2, workers=1)
        assert pipe.workers == 1  # an asyncio loop runs: batches go to the pool
        pipe.engine, pipe.run_id = engine, run_id
        for item in items:
            await pipe.process_item(item)
        await pipe.close_spider()
        return pipe

    try:
        pipe = asyncio.run(feed())
    finally:
        pipelines._POOL = old_pool
        pool.shutdown(wait=False)
    assert pipe.store_error is None
    assert pipe.counts["seen"] == pipe.counts["new"] == len(items)
    assert set(_by_ext(engine)) == {item.external_id for item in items}


def test_a_write_failing_in_the_writer_thread_is_recorded_and_stops_writing(
        sqlite_url: str) -> None:
    """Batches are written in the crawl process's writer thread: a write that fails there
    (here the table is gone) is the run's store error, no later batch is attempted, and the
    batches written before stay whole."""
    import asyncio
    import threading

    from scrapy.utils.test import get_crawler

    from crawler import pipelines
    from crawler.items import JobPosting
    from pipeline.store import start_run

    engine = open_store(sqlite_url)
    run_id = start_run(engine, {"name": "s", "kind": "greenhouse"})
    items = [JobPosting(source="s", external_id=f"p{i}", title=f"Medical Coder {i}",
                        company="Lakeshore Health", locations=["Dayton, OH"],
                        description_html=f"<p>Code outpatient charts, clinic {i}.</p>",
                        raw={"id": i}) for i in range(9)]
    writes: list[str] = []

    async def feed() -> pipelines.StorePipeline:
        pipe = pipelines.StorePipeline(get_crawler(), sqlite_url, batch_size=2, workers=1)
        pipe.engine, pipe.run_id = engine, run_id
        for number, item in enumerate(items):
            await pipe.process_item(item)
            if number == 3:  # two batches handed over and written
                while pipe.pending:
                    await pipe.pending.popleft()
                writes.extend(t.name for t in threading.enumerate()
                              if t.name.startswith("hcjobs-store"))
                with engine.begin() as conn:
                    conn.exec_driver_sql("ALTER TABLE postings RENAME TO postings_gone")
        await pipe.close_spider()
        return pipe

    try:
        pipe = asyncio.run(feed())
    finally:
        pool, pipelines._POOL = pipelines._POOL, None
        if pool is not None:
            pool.shutdown()
    assert writes, "no writer thread ran"
    assert pipe.store_error is not None and "postings" in pipe.store_error, pipe.store_error
    assert pipe.store_error.startswith("store failed: OperationalError")
    assert pipe.counts["seen"] == pipe.counts["new"] == 4  # the two batches before
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE postings_gone RENAME TO postings")
    assert set(_by_ext(engine)) == {f"p{i}" for i in range(4)}


def test_prepare_workers_leave_the_crawl_process_imports_behind(tmp_path: Path) -> None:
    """A prepare worker of a process started as `python -m crawler` imports the normalizer
    only: not Scrapy, Twisted or SQLAlchemy (multiprocessing re-imports a parent's main
    module in each worker unless it is a package's __main__), some 60 MB less per worker."""
    import os
    import subprocess
    import sys
    import textwrap

    root = Path(__file__).resolve().parents[1]
    package = tmp_path / "probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "probe.py").write_text(textwrap.dedent("""
        import sys

        def heavy_modules():
            return sorted(m for m in ("scrapy", "twisted", "sqlalchemy", "crawler.run")
                          if m in sys.modules)
    """))
    # the crawl process's situation: its main module is a package's __main__ that imports
    # crawler.run, and other threads run (so the pool forks from a fork server)
    (package / "__main__.py").write_text(textwrap.dedent("""
        import threading

        import crawler.run  # noqa: F401
        from pipeline.store import prepare_pool
        from probe.probe import heavy_modules

        threading.Thread(target=threading.Event().wait, args=(5,), daemon=True).start()
        with prepare_pool(1) as pool:
            print(pool.submit(heavy_modules).result(timeout=60))
    """))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(root)])}
    out = subprocess.run([sys.executable, "-m", "probe"], env=env, capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout
    assert (root / "crawler" / "__main__.py").is_file()


def test_the_crawl_process_loads_no_remote_control_telnet_or_cookies() -> None:
    """Scrapy's RemoteControl (an HTTP server running Python code sent to it), its telnet
    console and cookie jar stay off, and their modules unimported (0.15 s of each crawl
    process's start), while the components hcjobs relies on stay listed."""
    import subprocess
    import sys
    import textwrap

    root = Path(__file__).resolve().parents[1]
    probe = textwrap.dedent("""
        import json, sys
        from scrapy.utils.conf import build_component_list
        from crawler.run import crawl_settings

        settings = crawl_settings("sqlite://")
        names = [path for key in ("EXTENSIONS", "DOWNLOADER_MIDDLEWARES")
                 for path in build_component_list(settings.getwithbase(key))]
        print(json.dumps({
            "remote_control": settings.getbool("REMOTE_CONTROL_ENABLED"),
            "loaded": sorted(m for m in ("aiohttp", "tldextract", "twisted.conch")
                             if m in sys.modules),
            "names": names}))
    """)
    out = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True,
                         text=True, timeout=120, check=True)
    found = json.loads(out.stdout)
    assert found["remote_control"] is False
    assert found["loaded"] == []
    assert not [n for n in found["names"] if n.rsplit(".", 1)[1] in
                ("RemoteControl", "TelnetConsole", "CookiesMiddleware")]
    for kept in ("scrapy.extensions.throttle.AutoThrottle",
                 "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware",
                 "crawler.middlewares.CircuitBreakerMiddleware", "crawler.pipelines.CoreStats"):
        assert kept in found["names"]
