"""Answers kept until the store changes: a layer over the queries, not a substitute for
fast ones (a search nobody asked before still runs them).

An answer depends on the query, the store's contents and, for relative dates ("7d"), the
clock. Entries are keyed on the validated query (and the base URL the links are built
from) and stamped with the store's version (`Store.version`), which changes with every
commit the pipeline makes: an entry of an older version is never served, so what a crawl,
a retag or a close writes shows up on the very next request. MAX_AGE bounds how far a
relative date may drift.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

DEFAULT_ENTRIES = 2048
MAX_AGE_S = 30.0
ENV = "HCJOBS_WEB_CACHE"
"""Entries to keep (0: no cache); default DEFAULT_ENTRIES."""


class ResponseCache:
    """A bounded LRU map of query -> (store version, when, answer), shared by the threads
    of one process. An answer is anything computed from the query and the store (a JSON
    body, a dict of counts); whoever gets it must not change it."""

    def __init__(self, entries: int = DEFAULT_ENTRIES, max_age: float = MAX_AGE_S) -> None:
        self.entries = entries
        self.max_age = max_age
        self.hits = self.misses = 0
        self._data: OrderedDict[Hashable, tuple[Hashable, float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: Hashable) -> Any:
        """The answer stored for `key` at store version `version`, if still fresh."""
        with self._lock:
            found = self._data.get(key)
            if found is None or found[0] != version \
                    or time.monotonic() - found[1] > self.max_age:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return found[2]

    def put(self, key: Hashable, version: Hashable, answer: Any) -> None:
        """Keep `answer` for `key`, computed at store version `version` (read before the
        queries ran: a commit in between only makes the answer newer than its stamp)."""
        with self._lock:
            self._data[key] = (version, time.monotonic(), answer)
            self._data.move_to_end(key)
            while len(self._data) > self.entries:
                self._data.popitem(last=False)
