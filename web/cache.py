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
last counts while a background thread counts anew, one count per search at a time: the
counts lag the store by about one count's time (never more than STALE_COUNTS_S), no
request waits for them but the first of a search, and a crowd never counts twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

DEFAULT_ENTRIES = 2048
MAX_AGE_S = 30.0
STALE_COUNTS_S = 60.0
ENV = "HCJOBS_WEB_CACHE"
log = logging.getLogger("hcjobs.web")
"""Entries to keep (0: no cache); default DEFAULT_ENTRIES."""


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
        self._counting: dict[Hashable, threading.Lock] = {}

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

    def counted(self, key: Hashable, version: Hashable, count: Callable[[], Any],
                stale: float = STALE_COUNTS_S) -> Any:
        """The answer for `key` at store version `version`, from the cache or from
        `count()`, one count per key at a time.

        Without an answer of this version, a caller gets the last answer of an older one
        if it is at most `stale` seconds old, and the first such caller has it counted anew
        in a background thread (so `count` must open its own session); without one, it
        counts itself, or waits for the count in progress."""
        found = self.get(key, version)
        if found is not None:
            return found
        counting = self.counting(key)
        with self._lock:
            last = self._data.get(key)
        if last is not None and self.clock() - last[1] <= stale:
            self.stale += 1
            if counting.acquire(blocking=False):
                threading.Thread(target=self._recount, args=(key, version, count, counting),
                                 name="hcjobs-recount", daemon=True).start()
            return last[2]
        with counting:
            found = self.get(key, version)  # counted while this caller waited
            if found is None:
                found = count()
                self.put(key, version, found)
            return found

    def _recount(self, key: Hashable, version: Hashable, count: Callable[[], Any],
                 counting: threading.Lock) -> None:
        """Count `key` anew, then let the next count in (`counting` is held on entry)."""
        try:
            if self.get(key, version) is None:
                self.put(key, version, count())
        except Exception:  # the last answer stays; the next caller tries again
            log.exception("counting %r anew failed", key)
        finally:
            counting.release()

    def counting(self, key: Hashable) -> threading.Lock:
        """The lock a caller of `counted` holds while it counts `key`."""
        with self._lock:
            lock = self._counting.get(key)
            if lock is None:
                if len(self._counting) >= self.entries:  # forget the idle ones
                    self._counting = {k: v for k, v in self._counting.items() if v.locked()}
                lock = self._counting[key] = threading.Lock()
            return lock
