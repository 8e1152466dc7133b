"""A demo history to study offline: the demo board replayed month by month.

Each posting of the demo board (and a few copies of it under new ids) gets a life span of
some months; the board of a month serves the postings alive then, some edited mid-life. The
real pipeline crawls each month with its clock set to that month (HCJOBS_NOW), so postings
appear, change and close as they would over a year and a half, and the store holds a history
with trends in it: remote coding work grows, administration stays mostly on site.
"""

from __future__ import annotations

import copy
import os
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

COPIES = 3  # each demo posting also appears in this many later waves, under new ids
# A later wave is another opening of the same kind in another city (not a repost, which the
# pipeline would rightly collapse onto the first).
WAVE_CITIES = ["Dayton, OH", "Louisville, KY", "Indianapolis, IN", "Tampa, FL", "Austin, TX",
               "Phoenix, AZ", "Denver, CO", "Raleigh, NC", "Columbus, OH", "Nashville, TN",
               "Omaha, NE", "Richmond, VA"]
SEED = 20261127


def month_starts(months: int, end: datetime) -> list[datetime]:
    """The 15th of each of the `months` months ending with `end`'s month, oldest first."""
    out = []
    year, month = end.year, end.month
    for _ in range(months):
        out.append(datetime(year, month, 15, 6, 0, tzinfo=UTC))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def plan(board: dict[str, Any], months: int, seed: int = SEED) -> list[dict[str, Any]]:
    """Every posting of the history with its `first` and `last` month index and an optional
    `edit` month. Remote coding postings lean late, so the remote share of coding rises."""
    rng = random.Random(seed)
    lives = []
    for employer in board["employers"]:
        for posting in employer["postings"]:
            label = posting.get("label", {})
            for wave in range(COPIES + 1):
                late = label.get("category") == "coding" and label.get("remote") == "remote"
                low = months // 3 if late else 0
                first = rng.randint(low, months - 1)
                span = rng.randint(1, 5)
                lives.append({
                    "employer": employer["slug"], "posting": posting, "wave": wave,
                    "first": first, "last": min(months - 1, first + span),
                    "edit": first + 1 if rng.random() < 0.2 and span > 1 else None,
                })
    return lives


def board_for_month(board: dict[str, Any], lives: list[dict[str, Any]], index: int,
                    when: datetime) -> dict[str, Any]:
    """The demo board as it stood in month `index`."""
    out = copy.deepcopy(board)
    by_slug = {e["slug"]: e for e in out["employers"]}
    for employer in out["employers"]:
        employer["postings"] = []
    for life in lives:
        if not life["first"] <= index <= life["last"]:
            continue
        posting = copy.deepcopy(life["posting"])
        if life["wave"]:
            wave = life["wave"]
            posting["id"] = f"{posting['id']}-w{wave}"
            if posting.get("url"):
                posting["url"] = f"{posting['url'].split('?')[0]}-w{wave}"
            city = WAVE_CITIES[(wave * 7 + len(str(posting["id"]))) % len(WAVE_CITIES)]
            if posting.get("location") and "remote" in posting["location"].lower():
                posting["location"] = f"Remote - {city.split(', ')[1]}"
            elif posting.get("location"):
                posting["location"] = city
            posting["html"] = (f"<p>Opening {wave + 1} of this role, for our {city} "
                               f"team.</p>") + posting["html"]
        start = when.replace(day=1)
        posting["posted"] = start.replace(day=1 + (hash(posting["id"]) % 10)).isoformat()
        posting.pop("valid_through", None)
        if life["edit"] is not None and index >= life["edit"]:
            posting["html"] += "<p><strong>Update:</strong> interviews are now held by video.</p>"
        by_slug[life["employer"]]["postings"].append(posting)
    return out


@contextmanager
def clock(when: datetime) -> Iterator[None]:
    """Run the pipeline (and its crawl processes) as of `when`."""
    old = os.environ.get("HCJOBS_NOW")
    os.environ["HCJOBS_NOW"] = when.isoformat()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("HCJOBS_NOW", None)
        else:
            os.environ["HCJOBS_NOW"] = old


def replay(engine: Engine, db_url: str, months: int, *, end: datetime | None = None,
           board: dict[str, Any] | None = None,
           progress: Callable[[str], None] | None = None) -> list[int]:
    """Crawl the demo board once a month for `months` months; returns every run id."""
    from classifier.tagger import Tagger
    from pipeline.crawl import run_crawl
    from pipeline.demo.board import DemoBoard, demo_sources, load_board
    from pipeline.lifecycle import expire_postings
    from pipeline.tagging import tag_pending

    board = board or load_board()
    lives = plan(board, months)
    tagger = Tagger.load()
    run_ids: list[int] = []
    for index, when in enumerate(month_starts(months, end or datetime.now(UTC))):
        month_board = board_for_month(board, lives, index, when)
        with clock(when), DemoBoard(month_board) as server:
            result = run_crawl(engine, db_url, demo_sources(month_board, server.url),
                               timeout=600)
            expire_postings(engine)
            tag_pending(engine, tagger)
        run_ids += result.run_ids
        if progress:
            live = sum(len(e["postings"]) for e in month_board["employers"])
            progress(f"{when:%Y-%m}: board served {live} postings")
    return run_ids
