"""The fast write paths (bulk_insert, bulk_load) store exactly what the ORM would."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select, text

from pipeline.db import bulk_insert, bulk_load, session_scope
from pipeline.models import Posting, Source

POSTED = datetime(2026, 9, 1, 13, 30, tzinfo=UTC)


def _values(external_id: str, words: str) -> dict[str, Any]:
    return {"source_id": 1, "external_id": external_id, "title": f"Coder {words}",
            "company": "Lakeshore Health", "text": f"Outpatient coding {words}.",
            "posted_at": POSTED, "first_seen": POSTED, "last_seen": POSTED,
            "locations": [{"city": "Dayton", "state": "OH", "country": "US", "remote": False}],
            "hints": {"isRemote": False}, "raw": {"id": external_id}, "content_hash": "h",
            "times_seen": 1, "missed_runs": 0, "status": "open"}


def test_bulk_paths_store_what_the_orm_stores(engine: Engine) -> None:
    """Timestamps, JSON and the search index come out the same whichever path wrote the
    row: SQLite compares timestamps as text, so one differently formatted value would sort
    and filter wrongly, and a row missing from the FTS index would never be found."""
    with session_scope(engine) as session:
        session.add(Source(id=1, name="s", kind="greenhouse", config={}, enabled=True,
                           created_at=POSTED))
    with session_scope(engine) as session:
        session.add(Posting(**_values("orm", "alpha")))
    with session_scope(engine) as session:
        bulk_insert(session, Posting.__table__, [_values(f"bulk{i}", f"beta{i}")
                                                 for i in range(700)])  # over one statement
    columns = list(_values("x", "x"))
    bulk_load(engine, Posting.__table__, columns,
              [tuple(_values("load", "gamma").values())])
    with engine.connect() as conn:
        stamps = {row[0] for row in conn.execute(
            text("SELECT CAST(posted_at AS TEXT) FROM postings"))}
        assert len(stamps) == 1, stamps
        rows = conn.execute(select(Posting.external_id, Posting.posted_at, Posting.hints,
                                   Posting.locations)).all()
        assert len(rows) == 702
        assert {r.posted_at for r in rows} == {POSTED}
        assert all(r.hints == {"isRemote": False} and r.locations[0]["state"] == "OH"
                   for r in rows)
        if engine.dialect.name == "sqlite":
            for word, expected in (("alpha", {"orm"}), ("beta699", {"bulk699"}),
                                   ("gamma", {"load"})):
                found = {r[0] for r in conn.execute(text(
                    "SELECT external_id FROM postings WHERE id IN (SELECT rowid FROM "
                    "postings_fts WHERE postings_fts MATCH :w)"), {"w": word})}
                assert found == expected, word
