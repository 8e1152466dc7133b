"""The answer cache of GET /api/postings and of the facet counts (web.cache): an answer is
reused only while the store is unchanged, so what a crawl (or any other commit) writes is
listed and counted on the very next request; on SQLite and PostgreSQL, over stores built
by the real pipeline."""

from __future__ import annotations

import shutil
import threading
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import Engine

from pipeline.demo.board import load_board
from pipeline.models import Posting

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient
    from test_web_api import build_store, make_client

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with")
FIRST = ("meridian-revenue", "riverbend-health")  # crawled first; the rest by a later run
SEARCHES: list[dict[str, Any]] = [{"limit": 100}, {"category": "coding", "limit": 100},
                                  {"remote": "remote", "sort": "salary", "limit": 100}]


def part_of_board() -> dict[str, Any]:
    board = load_board()
    return {**board, "employers": [e for e in board["employers"] if e["slug"] in FIRST]}


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store of either kind (PostgreSQL: a new database, dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'jobs.db'}"
        return
    admin: Engine = request.getfixturevalue("pg_admin")
    name = f"hcjobs_cache_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


COUNTED: list[dict[str, Any]] = [{}, {"category": "coding"}, {"remote": "remote"}]
ASKED = len(SEARCHES) + len(COUNTED)


def answers(client: TestClient) -> list[Any]:
    """The first page of each search, then the counts of each of COUNTED."""
    return [client.get("/api/postings", params=p).json() for p in SEARCHES] + [
        client.get("/api/facets", params=p).json() for p in COUNTED]


def test_new_data_is_listed_right_after_a_run(store_url: str) -> None:
    build_store(store_url, part_of_board())
    with make_client(store_url, cache_entries=64) as cached:
        cache = cached.app.state.cache  # type: ignore[attr-defined]
        before = answers(cached)
        assert answers(cached) == before
        assert cache.hits == ASKED  # the second round came from the cache
        build_store(store_url)  # a crawl of the whole board, then tagging: new postings
        after = answers(cached)
        with make_client(store_url) as uncached:
            assert after == answers(uncached)
        assert len(after[0]["items"]) > len(before[0]["items"])
        assert after[len(SEARCHES)]["total"] > before[len(SEARCHES)]["total"]
        assert cache.hits == ASKED  # every answer after the run was computed anew
        # any single commit counts, not only a crawl's end: a posting closed by hand
        gone = after[0]["items"][0]["id"]
        engine = create_engine(store_url)
        with engine.begin() as conn:
            conn.execute(update(Posting).where(Posting.id == gone).values(status="closed"))
        engine.dispose()
        closed = answers(cached)
        assert gone not in [item["id"] for item in closed[0]["items"]]
        assert closed[len(SEARCHES)]["total"] == after[len(SEARCHES)]["total"] - 1


def test_answers_are_keyed_on_the_whole_query(tmp_path: Path) -> None:
    """Another filter, page, size or sort is another answer; a repeated value is the same
    search validated alike (and a cached answer is byte for byte the computed one)."""
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    build_store(url, part_of_board())
    with make_client(url, cache_entries=64) as cached, make_client(url) as uncached:
        first = cached.get("/api/postings", params={"limit": 2}).json()
        queries: list[dict[str, Any]] = [
            {"limit": 2}, {"limit": 3}, {"limit": 2, "sort": "salary"},
            {"limit": 2, "cursor": first["next_cursor"]}, {"limit": 2, "category": "coding"},
            {"limit": 2, "remote": ["remote", "hybrid"]}, {"limit": 2, "q": "coder"}]
        for params in queries + queries:
            got = cached.get("/api/postings", params=params)
            assert got.content == uncached.get("/api/postings", params=params).content, params
        # every query of the second round, and the first page asked before the first
        assert cached.app.state.cache.hits == len(queries) + 1  # type: ignore[attr-defined]


def test_counts_are_counted_by_one_request_at_a_time(tmp_path: Path) -> None:
    """While one request counts a search anew, the others are served its last counts
    (while at most STALE_COUNTS_S old; older, they wait for the new ones); with no count
    in progress the next request counts the store as it is now."""
    from web.api import counts_key
    from web.cache import STALE_COUNTS_S
    from web.params import FilterParams

    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    build_store(url, part_of_board())
    with make_client(url, cache_entries=64) as cached, make_client(url) as uncached:
        cache = cached.app.state.cache  # type: ignore[attr-defined]
        before = cached.get("/api/facets").json()
        build_store(url)  # a crawl of the whole board: more postings to count
        now = uncached.get("/api/facets").json()
        assert now["total"] > before["total"]
        counting = cache.counting(counts_key(FilterParams()))
        counting.acquire()  # as another request counting this search would
        try:
            assert cached.get("/api/facets").json() == before
            assert cached.get("/").status_code == 200  # the page shows those counts too
            assert cache.stale == 2
            started = cache.clock()
            cache.clock = lambda: started + STALE_COUNTS_S + 1  # too old to serve now
            got: dict[str, Any] = {}
            waiting = threading.Thread(
                target=lambda: got.update(cached.get("/api/facets").json()))
            waiting.start()
            waiting.join(1.0)
            assert waiting.is_alive() and not got  # waits for the count in progress
        finally:
            counting.release()
        waiting.join(60)
        assert got == now and cache.stale == 2
        assert cached.get("/api/facets").json() == now  # counted once, then cached


def test_no_cache_when_turned_off(tmp_path_factory: pytest.TempPathFactory,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from test_web_api import demo_store

    from web.app import create_app

    url = demo_store(tmp_path_factory)
    monkeypatch.setenv("HCJOBS_WEB_CACHE", "0")
    assert create_app(url).state.cache is None
    monkeypatch.setenv("HCJOBS_WEB_CACHE", "5")
    assert create_app(url).state.cache.entries == 5
    shutil.rmtree(Path(url.removeprefix("sqlite:///")).parent, ignore_errors=True)
