"""Answers kept until the store changes: a layer over the queries, not a substitute for
fast ones (a search nobody asked before still runs them).

An answer depends on the query, the store's contents and, for relative dates ("7d"), the
clock. Entries are keyed on the validated query (and the base URL the links are built
from) and stamped with the store's version (`Store.version`), which changes with every
commit the pipeline makes: an entry of an older version is never served, so what a crawl,
a retag or a close writes shows up on the very next request. MAX_AGE bounds how far a
relative date may drift.

Counts are the exception (`counted`): at 1M postings those of a broad search take a second
or two, and a crawl commits every few seconds. After a change, requests are served the
last counts while background workers count anew, one count per search at a time: the
counts lag the store by about one count's time (never more than STALE_COUNTS_S), only the
first request of a search waits for them (the browse page not for long), and a crowd
never counts the same search twice at once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any

from web.db import StoreUnavailable

DEFAULT_ENTRIES = 2048
MAX_AGE_S = 30.0
STALE_COUNTS_S = 60.0
RECOUNTS = 2
"""Background counts at once (each holds a database connection)."""
RECOUNT_QUEUE = 256
"""Counts waiting for a background worker, at most."""
WAIT_S = 60.0
"""How long a caller waits for the count in progress before CountsUnavailable."""
ENV = "HCJOBS_WEB_CACHE"
log = logging.getLogger("hcjobs.web")
"""Entries to keep (0: no cache); default DEFAULT_ENTRIES."""


class CountsUnavailable(StoreUnavailable):
    """The counts of a search could not be had in time (HTTP 503, as the store's)."""


class ResponseCache:
    """A bounded LRU map of query -> (store version, when, answer), shared by the threads
    of one process. An answer is anything computed from the query and the store (a JSON
    body, a dict of counts); whoever gets it must not change it."""

    def __init__(self, entries: int = DEFAULT_ENTRIES, max_age: float = MAX_AGE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.entries = entries
        self.max_age = max_age
        self.clock = clock
        self.hits = self.misses = self.stale = 0
        self._data: OrderedDict[Hashable, tuple[Hashable, float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._counting: dict[Hashable, list[Any]] = {}  # key -> [lock, holders]
        self._failed: dict[Hashable, tuple[float, str]] = {}
        self._jobs: queue.Queue[Callable[[], None]] = queue.Queue(maxsize=RECOUNT_QUEUE)
        self._workers: list[threading.Thread] = []
        # keys counted in the background -> the newer (version, count) asked meanwhile
        self._recounting: dict[Hashable, tuple[Hashable, Callable[[bool], Any]] | None] = {}

    def get(self, key: Hashable, version: Hashable) -> Any:
        """The answer stored for `key` at store version `version`, if still fresh."""
        with self._lock:
            found = self._data.get(key)
            if found is None or found[0] != version \
                    or self.clock() - found[1] > self.max_age:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return found[2]

    def put(self, key: Hashable, version: Hashable, answer: Any) -> None:
        """Keep `answer` for `key`, computed at store version `version` (read before the
        queries ran: a commit in between only makes the answer newer than its stamp)."""
        with self._lock:
            self._data[key] = (version, self.clock(), answer)
            self._data.move_to_end(key)
            while len(self._data) > self.entries:
                self._data.popitem(last=False)

    def counted(self, key: Hashable, version: Hashable, count: Callable[[bool], Any],
                stale: float = STALE_COUNTS_S, wait: float | None = None) -> Any:
        """The answer for `key` at store version `version`, from the cache or from `count`,
        one count per key at a time.

        Without an answer of this version, a caller gets the last answer of an older one
        if it is at most `stale` seconds old, and the first such caller has it counted anew
        by a background worker (RECOUNTS of them: `count(True)`, which must open its
        own connection). Without one, it counts itself (`count(False)`: with the
        connection it already holds), or waits for the count in progress: at most WAIT_S,
        and a count that failed while it waited fails it too (CountsUnavailable), rather
        than being tried again by each waiting caller in turn. With `wait`, a caller that
        would count or wait has the count run in the background instead and waits at most
        `wait` seconds for it: None when it is not done by then."""
        found = self.get(key, version)
        if found is not None:
            return found
        with self._lock:
            last = self._data.get(key)
        with self.counting(key) as counting:
            if last is not None and self.clock() - last[1] <= stale:
                self.stale += 1
                self._recount_apart(key, version, count, counting)
                return last[2]
            if wait is not None:
                self._recount_apart(key, version, count, counting)
                if not counting.acquire(timeout=wait):
                    return None
                counting.release()
                return self.get(key, version)
            waiting_since = self.clock()
            if not counting.acquire(timeout=WAIT_S):
                raise CountsUnavailable("these counts are still being computed; try again")
            try:
                found = self.get(key, version)  # counted while this caller waited
                if found is not None:
                    return found
                failed = self._failed.get(key)
                if failed is not None and failed[0] >= waiting_since:
                    raise CountsUnavailable(f"counting this search failed ({failed[1]}); "
                                            "try again or narrow the search")
                try:
                    found = count(False)
                except Exception as exc:
                    self._failure(key, exc)
                    raise
                self._failed.pop(key, None)
                self.put(key, version, found)
                return found
            finally:
                counting.release()

    def _recount_apart(self, key: Hashable, version: Hashable, count: Callable[[bool], Any],
                       counting: threading.Lock) -> None:
        """Have `key` counted anew at `version` by the background workers. When the workers
        count it already (or it waits to be), the count runs again once that one is done,
        for the version asked last. `counting` is held from now until the last of these
        counts is done; when RECOUNT_QUEUE counts wait already, or a caller counts it
        itself, nothing is queued (the next caller tries again)."""
        with self._lock:  # asking again and a chain's end (`_chain_done`) exclude each other
            if key in self._recounting:
                self._recounting[key] = (version, count)
                return
            if not counting.acquire(blocking=False):
                return
            self._recounting[key] = None
        self._claim(key)  # the chain's own hold on the key's lock, given back when done
        if not self._submit(self._recount_job(key, version, count, counting)):
            self._chain_done(key, counting)

    def _recount_job(self, key: Hashable, version: Hashable, count: Callable[[bool], Any],
                     counting: threading.Lock) -> Callable[[], None]:
        def recount() -> None:
            again = None
            try:
                if self.get(key, version) is None:
                    self.put(key, version, count(True))
            except BaseException as exc:  # the last answer stays; waiters fail (counted)
                self._failure(key, exc)
                log.exception("counting %r anew failed", key)
            finally:
                with self._lock:
                    again = self._recounting.get(key)
                    if again is not None and again[0] != version:
                        self._recounting[key] = None  # the chain goes on: the lock stays held
                    else:
                        again = None
                if again is None or not self._submit(
                        self._recount_job(key, again[0], again[1], counting)):
                    self._chain_done(key, counting)

        return recount

    def _chain_done(self, key: Hashable, counting: threading.Lock) -> None:
        """No more background counts of `key`: give its lock back."""
        with self._lock:
            self._recounting.pop(key, None)
            counting.release()
        self._unclaim(key)

    def _failure(self, key: Hashable, exc: BaseException) -> None:
        """Remember that counting `key` failed, for the callers waiting for it."""
        with self._lock:
            if len(self._failed) >= self.entries:
                self._failed.clear()
            self._failed[key] = (self.clock(), type(exc).__name__)

    def _submit(self, job: Callable[[], None]) -> bool:
        """Queue `job` for the RECOUNTS background workers (started when needed, daemon
        threads: a shutdown does not wait for counts); False when the queue is full or no
        worker could be started."""
        with self._lock:
            self._workers = [w for w in self._workers if w.is_alive()]
            try:
                while len(self._workers) < RECOUNTS:
                    worker = threading.Thread(target=self._work, name="hcjobs-recount",
                                              daemon=True)
                    worker.start()
                    self._workers.append(worker)
            except RuntimeError:  # no thread to be had
                if not self._workers:
                    return False
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            return False
        return True

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job()
            except BaseException:  # a job gives its lock back itself; the worker goes on
                log.exception("a background count failed")

    @contextmanager
    def counting(self, key: Hashable) -> Iterator[threading.Lock]:
        """The lock held while `key` is counted, kept for as long as the block runs (a
        key's lock lives while anyone holds on to it, then is forgotten)."""
        lock = self._claim(key)
        try:
            yield lock
        finally:
            self._unclaim(key)

    def _claim(self, key: Hashable) -> threading.Lock:
        with self._lock:
            entry = self._counting.get(key)
            if entry is None:
                entry = self._counting[key] = [threading.Lock(), 0]
            entry[1] += 1
            lock: threading.Lock = entry[0]
            return lock

    def _unclaim(self, key: Hashable) -> None:
        with self._lock:
            entry = self._counting[key]
            entry[1] -= 1
            if entry[1] == 0:
                del self._counting[key]
