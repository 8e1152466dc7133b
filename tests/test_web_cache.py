"""The answer cache of GET /api/postings and of the facet counts (web.cache): an answer is
reused only while the store is unchanged, so what a crawl (or any other commit) writes is
listed and counted on the very next request; on SQLite and PostgreSQL, over stores built
by the real pipeline."""

from __future__ import annotations

import shutil
import threading
import time
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


def counts_settled(cache: Any) -> None:
    """Wait for the counts of COUNTED being counted anew in the background."""
    from web.api import counts_key
    from web.params import FilterParams

    for search in COUNTED:
        params = FilterParams.model_validate({k: [v] for k, v in search.items()})
        with cache.counting(counts_key(params)) as counting, counting:
            pass


def test_new_data_is_listed_right_after_a_run(store_url: str) -> None:
    """Lists show a change on the very next request; counts right after they are counted
    anew (in the background, the last counts served meanwhile)."""
    build_store(store_url, part_of_board())
    with make_client(store_url, cache_entries=64) as cached:
        cache = cached.app.state.cache  # type: ignore[attr-defined]
        before = answers(cached)
        assert answers(cached) == before
        assert cache.hits == ASKED  # the second round came from the cache
        build_store(store_url)  # a crawl of the whole board, then tagging: new postings
        after = answers(cached)
        with make_client(store_url) as uncached:
            fresh = answers(uncached)
        assert after[:len(SEARCHES)] == fresh[:len(SEARCHES)]
        assert after[len(SEARCHES):] == before[len(SEARCHES):] and cache.stale == len(COUNTED)
        assert cache.hits == ASKED  # every list after the run was computed anew
        counts_settled(cache)
        assert answers(cached) == fresh
        assert len(fresh[0]["items"]) > len(before[0]["items"])
        assert fresh[len(SEARCHES)]["total"] > before[len(SEARCHES)]["total"]
        # any single commit counts, not only a crawl's end: a posting closed by hand
        gone = fresh[0]["items"][0]["id"]
        engine = create_engine(store_url)
        with engine.begin() as conn:
            conn.execute(update(Posting).where(Posting.id == gone).values(status="closed"))
        engine.dispose()
        assert gone not in [item["id"] for item in answers(cached)[0]["items"]]
        counts_settled(cache)
        assert answers(cached)[len(SEARCHES)]["total"] == fresh[len(SEARCHES)]["total"] - 1


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


def test_counts_are_counted_anew_once_at_a_time(tmp_path: Path) -> None:
    """After a change, the last counts are served at once (the browse page too) while one
    background count runs; counts older than STALE_COUNTS_S are not served: callers wait
    for the count in progress."""
    from web.api import counts_key
    from web.cache import STALE_COUNTS_S
    from web.params import FilterParams

    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    build_store(url, part_of_board())
    with make_client(url, cache_entries=64) as cached, make_client(url) as uncached, \
            cached.app.state.cache.counting(  # type: ignore[attr-defined]
                counts_key(FilterParams())) as counting:
        cache = cached.app.state.cache  # type: ignore[attr-defined]
        before = cached.get("/api/facets").json()
        build_store(url)  # a crawl of the whole board: more postings to count
        now = uncached.get("/api/facets").json()
        assert now["total"] > before["total"]
        assert cached.get("/api/facets").json() == before and cache.stale == 1
        assert cached.get("/").status_code == 200  # the last or the new counts
        with counting:  # the one background count
            pass
        stale = cache.stale
        assert cached.get("/api/facets").json() == now and cache.stale == stale

        engine = create_engine(url)  # another change, while a count is in progress
        with engine.begin() as conn:
            conn.execute(update(Posting).where(Posting.status == "open").values(
                status="closed"))
        engine.dispose()
        closed = uncached.get("/api/facets").json()
        assert closed["total"] == 0 < now["total"]
        counting.acquire()  # as the count in progress would
        try:
            assert cached.get("/api/facets").json() == now  # still young enough
            started = cache.clock()
            cache.clock = lambda: started + STALE_COUNTS_S + 1  # now too old to serve
            got: dict[str, Any] = {}
            waiting = threading.Thread(
                target=lambda: got.update(cached.get("/api/facets").json()))
            waiting.start()
            waiting.join(1.0)
            assert waiting.is_alive() and not got  # waits for the count in progress
        finally:
            counting.release()
        waiting.join(60)
        assert got == closed


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


class HeldCount:
    """A count that says when it starts, runs until released, then raises `error`; it
    records each run (True: in the background)."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.started, self.release = threading.Event(), threading.Event()
        self.runs: list[bool] = []

    def __call__(self, apart: bool) -> Any:
        self.runs.append(apart)
        self.started.set()
        self.release.wait(10)
        raise self.error


def asking(cache: Any, key: str, version: int, count: Any, callers: int
           ) -> tuple[list[threading.Thread], list[BaseException]]:
    """`callers` threads asking `cache` for the counts of `key`, started; what they raise
    is collected."""
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            cache.counted(key, version, count)
        except BaseException as exc:  # collected for the assertions
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(callers)]
    for thread in threads:
        thread.start()
    return threads, errors


def test_a_failed_count_fails_its_waiters_instead_of_running_again() -> None:
    """Callers waiting for a count that fails get CountsUnavailable at once; each does not
    run the count again in turn (a search past the query timeout would hold the last
    caller for as many timeouts as callers)."""
    from web.cache import CountsUnavailable, ResponseCache

    cache = ResponseCache(8)
    failing = HeldCount(TimeoutError("too long"))
    first, errors = asking(cache, "k", 1, failing, 1)
    assert failing.started.wait(10)
    waiters, waited = asking(cache, "k", 1, failing, 3)
    time.sleep(0.2)  # the waiters reach the lock before the count fails
    failing.release.set()
    for thread in (*first, *waiters):
        thread.join(10)
    errors += waited
    assert failing.runs == [False]  # counted once, by the first caller, on its connection
    assert [type(e) for e in errors].count(TimeoutError) == 1
    assert [type(e) for e in errors].count(CountsUnavailable) == 3
    with cache.counting("k") as lock:
        assert not lock.locked()
    assert cache.counted("k", 1, lambda apart: {"total": 1}) == {"total": 1}  # tried again


def test_counting_locks_are_released_and_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    """No lock stays held when a background thread cannot start, and a key's lock is
    forgotten once nobody holds it (however many searches were counted)."""
    from web.cache import ResponseCache

    cache = ResponseCache(8)
    assert cache.counted("k", 1, lambda apart: "one") == "one"
    monkeypatch.setattr(threading.Thread, "start", lambda self: (_ for _ in ()).throw(
        RuntimeError("can't start new thread")))
    assert cache.counted("k", 2, lambda apart: "two") == "one"  # the last answer, no thread
    with cache.counting("k") as lock:
        assert not lock.locked()
    monkeypatch.undo()
    recounted = threading.Event()

    def recount(apart: bool) -> str:
        assert apart  # in the background: on a connection of its own
        recounted.set()
        return "two"

    assert cache.counted("k", 2, recount) == "one"
    assert recounted.wait(10)
    for _ in range(100):
        if cache.get("k", 2) == "two":
            break
        time.sleep(0.05)
    assert cache.get("k", 2) == "two"
    for n in range(50):
        cache.counted(("search", n), 1, lambda apart, n=n: n)
    assert not cache._counting  # the locks of idle keys are gone


def test_the_browse_page_shows_jobs_before_slow_counts(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Counts the page does not have within COUNTS_WAIT_S are left out (every filter still
    offered, without numbers) and counted on in the background for the next view; the
    jobs are listed at once."""
    from web import queries
    from web.api import counts_key
    from web.params import FilterParams

    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    build_store(url, part_of_board())
    counted = queries.facet_counts
    gate = threading.Event()

    def slow_counts(*args: Any, **kwargs: Any) -> Any:
        gate.wait(30)  # a count that takes as long as the test likes
        return counted(*args, **kwargs)

    monkeypatch.setattr(queries, "facet_counts", slow_counts)
    search = {"category": "coding"}
    with make_client(url, cache_entries=64) as cached:
        began = time.monotonic()
        page = cached.get("/", params=search)
        assert page.status_code == 200 and time.monotonic() - began < 10
        assert "Still counting" in page.text and '<h2 id="results-heading">Jobs</h2>' in page.text
        assert page.text.count('class="posting"') > 0  # the jobs themselves
        assert 'value="WY"' in page.text and 'value="CPC"' in page.text  # filters offered
        gate.set()
        key = counts_key(FilterParams.model_validate({"category": ["coding"]}))
        with cached.app.state.cache.counting(key) as counting, counting:  # type: ignore[attr-defined]
            pass  # the background count is done
        page = cached.get("/", params=search)
        assert "Still counting" not in page.text
        total = cached.get("/api/facets", params=search).json()["total"]
        assert f'<h2 id="results-heading">{total} jobs</h2>' in page.text


def test_a_change_during_a_background_count_is_counted_after_it() -> None:
    """A count asked for a newer store version while an older one runs in the background
    runs once that one is done, before anyone may take the key's lock: counts do not stay
    behind the store until some later request."""
    from web.cache import ResponseCache

    cache = ResponseCache(8)
    assert cache.counted("k", 1, lambda apart: "v1") == "v1"
    running, release = threading.Event(), threading.Event()

    def second(apart: bool) -> str:
        running.set()
        release.wait(10)
        return "v2"

    assert cache.counted("k", 2, second) == "v1"  # served the last, counted behind
    assert running.wait(10)
    assert cache.counted("k", 3, lambda apart: "v3") == "v1"  # asked while v2 runs
    release.set()
    with cache.counting("k") as counting, counting:
        pass  # both counts done
    assert cache.get("k", 2) is None and cache.get("k", 3) == "v3"


def test_a_failed_background_count_fails_its_waiters_and_frees_the_workers() -> None:
    """A background count that fails (even with a BaseException) gives the key's lock back,
    fails the callers that waited for it instead of having them count again, and leaves
    the workers counting other searches."""
    from web.cache import STALE_COUNTS_S, CountsUnavailable, ResponseCache

    now = [0.0]
    cache = ResponseCache(8, max_age=1e9, clock=lambda: now[0])
    assert cache.counted("k", 1, lambda apart: "v1") == "v1"
    failing = HeldCount(KeyboardInterrupt())  # not an Exception: nothing may stay held
    assert cache.counted("k", 2, failing) == "v1"  # served the last, counted behind
    assert failing.started.wait(10)
    now[0] = STALE_COUNTS_S + 1  # "v1" too old to serve: callers wait for the count
    waiters, errors = asking(cache, "k", 2, failing, 2)
    time.sleep(0.2)
    failing.release.set()
    for waiter in waiters:
        waiter.join(10)
    assert failing.runs == [True] and [type(e) for e in errors] == [CountsUnavailable] * 2
    assert cache.counted("other", 1, lambda apart: "fine") == "fine"
    assert cache.counted("other", 2, lambda apart: "again") == "fine"  # recounted behind
    with cache.counting("other") as counting, counting:
        pass
    assert cache.get("other", 2) == "again"  # the workers still count
