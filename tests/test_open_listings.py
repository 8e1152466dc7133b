"""open_listings and closed_listings (migrations 0007, 0008) stay the projection of
postings, tags, credentials and facet_tags whatever writes them: the database's triggers,
on SQLite and PostgreSQL."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import delete, inspect, select, text, update
from sqlalchemy.engine import Engine

from classifier.tagger import Tagger
from pipeline.db import migrate, migration_module, session_scope
from pipeline.demo.board import load_board
from pipeline.models import CredentialTag, FacetTag, Posting, Tag
from pipeline.tagging import tag_pending
from web.vocab import FACETS

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from test_web_api import build_store

EMPLOYERS = ("meridian-revenue", "riverbend-health", "lakeshore-health")
PACKED = ("states", "remote_states", "credentials", "facets")


def migration() -> ModuleType:
    return migration_module("0007")


def _rows(engine: Engine, sql: str) -> dict[int, dict[str, Any]]:
    """Rows by posting id, packed lists as sets (their order is the database's)."""
    names = [c.strip() for c in migration().COLUMNS.split(",")]
    out = {}
    with engine.connect() as conn:
        for row in conn.execute(text(sql)):
            values = dict(zip(names, row, strict=True))
            for name in PACKED:
                packed = values[name]
                values[name] = None if packed is None else frozenset(packed.split("|")[1:-1])
            values["newest"] = str(values["newest"])
            out[int(values["posting_id"])] = values
    return out


def assert_in_step(engine: Engine) -> dict[int, dict[str, Any]]:
    """open_listings and closed_listings (0008) hold exactly what the projection computes
    from the tables now; the open ones returned."""
    module = migration()
    held = {}
    for status in ("open", "closed"):
        held[status] = _rows(engine, f"SELECT {module.COLUMNS} FROM {status}_listings")
        assert held[status] == _rows(engine, module.projection(engine.dialect.name,
                                                               status=status)), status
    assert held["closed"] and not set(held["open"]) & set(held["closed"])
    return held["open"]


def closed_ids(engine: Engine) -> set[int]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT posting_id FROM closed_listings")).scalars())


@pytest.fixture
def store(db_url: str) -> Engine:
    board = load_board()
    build_store(db_url, {**board, "employers": [e for e in board["employers"]
                                                if e["slug"] in EMPLOYERS]})
    from pipeline.db import make_engine
    return make_engine(db_url)


def test_listings_follow_every_write(store: Engine) -> None:
    held = assert_in_step(store)
    assert len(held) > 20
    tagged = [r for r in held.values() if r["credentials"] and r["facets"]]
    assert tagged and any(len(r["states"]) for r in held.values())
    ids = sorted(held)
    now = datetime.now(UTC)

    with session_scope(store) as s:  # the lifecycle: closed, duplicate, moved, repaid
        s.execute(update(Posting).where(Posting.id.in_(ids[:3]))
                  .values(status="closed", closed_at=now))
        s.execute(update(Posting).where(Posting.id == ids[3]).values(duplicate_of=ids[4]))
        s.execute(update(Posting).where(Posting.id == ids[5]).values(
            state="MI", locations=[{"city": "Flint", "state": "MI"}, {"state": "O|H"}],
            salary_annual_max=123456.0, posted_at=now, company="Renamed Health"))
    after = assert_in_step(store)
    assert not set(ids[:4]) & set(after) and after[ids[5]]["states"] == {"MI", "OH"}
    assert set(ids[:3]) <= closed_ids(store) and ids[3] not in closed_ids(store)

    with session_scope(store) as s:  # reopened, no longer a duplicate
        s.execute(update(Posting).where(Posting.id.in_(ids[:4]))
                  .values(status="open", closed_at=None, duplicate_of=None))
    assert set(ids[:4]) <= set(assert_in_step(store))
    assert not set(ids[:4]) & closed_ids(store)

    first = next(r["posting_id"] for r in tagged)
    with session_scope(store) as s:  # the tag, its credentials and facets edited
        tag = s.scalars(select(Tag).where(Tag.posting_id == first)).one()
        tag.category, tag.remote, tag.remote_states = "other", "remote", ["KY", "IN"]
        tag.credentials = tag.credentials[1:] + [CredentialTag(code="CPB",
                                                               requirement="preferred")]
        tag.facets = tag.facets[1:]
        s.flush()
        unused = next(f for f in FACETS if f not in {row.facet for row in tag.facets})
        s.add(FacetTag(tag=tag, facet=unused))
    edited = assert_in_step(store)[first]
    assert edited["remote_states"] == {"KY", "IN"} and "CPB:preferred" in edited["credentials"]
    assert unused in edited["facets"]

    second = next(r["posting_id"] for r in tagged if r["posting_id"] != first)
    with session_scope(store) as s:  # a tag deleted, then a posting deleted
        tag = s.scalars(select(Tag).where(Tag.posting_id == first)).one()
        s.delete(tag)
        s.flush()
        s.execute(delete(CredentialTag).where(CredentialTag.tag_id.in_(
            select(Tag.id).where(Tag.posting_id == second))))
        s.execute(delete(FacetTag).where(FacetTag.tag_id.in_(
            select(Tag.id).where(Tag.posting_id == second))))
        s.execute(delete(Tag).where(Tag.posting_id == second))
        s.execute(update(Posting).where(Posting.duplicate_of == second)
                  .values(duplicate_of=None))
        s.execute(delete(Posting).where(Posting.id == second))
    after = assert_in_step(store)
    assert after[first]["category"] is None and second not in after

    tag_pending(store, Tagger.load(), retag=True)  # everything tagged again
    assert assert_in_step(store)[first]["category"] is not None
    store.dispose()


@pytest.mark.parametrize("revision", ["0007", "0006"])
def test_downgrade_and_upgrade_again(store: Engine, revision: str) -> None:
    """Down to 0007 drops closed_listings, to 0006 open_listings too, with their triggers
    (writes go on without them); up fills the tables again from what is there."""
    before = assert_in_step(store)
    migrate(store, revision)
    with session_scope(store) as s:
        s.execute(update(Posting).where(Posting.id == min(before)).values(status="closed"))
    with store.connect() as conn:
        tables = set(conn.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'table'" if store.dialect.name
            == "sqlite" else "SELECT tablename FROM pg_tables")).scalars())
    assert "closed_listings" not in tables and ("open_listings" in tables) == (
        revision == "0007")
    migrate(store)
    assert min(before) not in assert_in_step(store) and min(before) in closed_ids(store)
    store.dispose()


def _listing_indexes(engine: Engine) -> set[str]:
    sql = ("SELECT name FROM sqlite_master WHERE type = 'index'" if engine.dialect.name
           == "sqlite" else "SELECT indexname FROM pg_indexes")
    with engine.connect() as conn:
        return {n for n in conn.execute(text(sql)).scalars() if "_listings_" in n}


def test_category_remote_indexes_go_and_come_back(store: Engine) -> None:
    """0009 indexes both listing tables by (category, remote) for either sort; down to 0008
    drops only those, up adds them again."""
    added = {f"ix_{t}_category_remote_{k}" for t in ("open_listings", "closed_listings")
             for k in ("newest", "pay")}
    before = _listing_indexes(store)
    assert added <= before
    migrate(store, "0008")
    assert _listing_indexes(store) == before - added
    migrate(store)
    assert _listing_indexes(store) == before
    store.dispose()


def test_stored_search_vector_goes_and_comes_back(store: Engine) -> None:
    """0010 (PostgreSQL): every posting's tsvector is stored, in step with later writes, and
    a search on it finds what the expression finds; down to 0009 drops it and restores the
    expression index; up stores it again. SQLite keeps FTS5: 0010 changes nothing there."""
    from web.search import search_condition

    def columns() -> set[str]:
        with store.connect() as conn:
            return {c["name"] for c in inspect(conn).get_columns("postings")}

    def found(stored: bool, words: str = "coder") -> list[int]:
        condition = search_condition(words, store.dialect.name, stored)
        assert condition is not None
        with store.connect() as conn:
            return list(conn.execute(select(Posting.id).where(condition)
                                     .order_by(Posting.id)).scalars())

    if store.dialect.name == "sqlite":
        before = columns()
        migrate(store, "0009")
        assert columns() == before and "search_vector" not in before
        migrate(store)
        store.dispose()
        return
    assert "search_vector" in columns()
    with session_scope(store) as s:  # a later write: the vector follows the text
        first = s.scalars(select(Posting).order_by(Posting.id).limit(1)).one()
        first.text = (first.text or "") + " Zymurgists welcome."
    assert found(True, "zymurgist") == [first.id] == found(False, "zymurgist")
    coders = found(True)
    assert len(coders) > 2 and coders == found(False)
    migrate(store, "0009")
    assert "search_vector" not in columns()
    with store.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pg_indexes "
                                 "WHERE indexname = 'ix_postings_fts'")).scalar() == 1
    assert found(False) == coders
    migrate(store)
    assert "search_vector" in columns() and found(True) == coders
    store.dispose()
