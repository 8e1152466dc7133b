"""The store on SQLite and on the local PostgreSQL server: schema, upserts, runs, duplicates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Engine

from pipeline.db import MIGRATIONS, make_engine, migrate, open_store, resolve_url, session_scope
from pipeline.models import CrawlRun, Posting, Source
from pipeline.store import finish_run, mark_interrupted, start_run, store_items

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def item(ext: str, title: str = "Medical Coder", body: str = "<p>Code charts.</p>",
         url: str | None = None, source: str = "a") -> dict[str, Any]:
    return {"source": source, "external_id": ext, "title": title, "description_html": body,
            "locations": ["Dayton, OH"], "url": url, "company": "Acme Health",
            "raw": {"id": ext}, "hints": {}}


def test_migrations_create_every_table(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert {"sources", "crawl_runs", "postings", "tags", "credentials",
            "alembic_version"} <= tables
    migrate(engine)  # running again is a no-op, not an error
    with engine.connect() as conn:
        assert conn.execute(text("select version_num from alembic_version")).scalar() == HEAD


HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()


def test_upgrade_from_first_revision_keeps_data(db_url: str) -> None:
    """A store created by the first release upgrades in place; its rows survive."""
    engine = make_engine(db_url)
    migrate(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text(
            "insert into sources (name, kind, config, enabled, created_at) "
            "values ('old', 'greenhouse', '{}', true, '2026-01-01 00:00:00+00')"))
        conn.execute(text(
            "insert into postings (source_id, external_id, title, text, hints, raw, "
            "content_hash, first_seen, last_seen, times_seen, status) values (1, 'x', 'Coder', "
            "'', '{}', '{}', 'h', '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00', 3, "
            "'open')"))
    migrate(engine)
    with session_scope(engine) as session:
        posting = session.scalars(select(Posting)).one()
        assert (posting.title, posting.times_seen, posting.missed_runs) == ("Coder", 3, 0)
    migrate(engine, "0001")  # and back down, for a release that must be rolled back
    assert "missed_runs" not in {c["name"] for c in inspect(engine).get_columns("postings")}


def test_sqlite_uses_wal(sqlite_url: str) -> None:
    engine = open_store(sqlite_url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_same_external_id_updates_instead_of_adding(engine: Engine) -> None:
    run1 = start_run(engine, {"name": "a", "kind": "greenhouse", "board": "x"}, now=T0)
    counts = store_items(engine, run1, [item("1"), item("2")], now=T0)
    assert (counts.seen, counts.new, counts.changed) == (2, 2, 0)

    later = T0 + timedelta(days=1)
    run2 = start_run(engine, {"name": "a", "kind": "greenhouse", "board": "x"}, now=later)
    counts = store_items(engine, run2, [item("1"), item("2", body="<p>Code more charts.</p>")],
                         now=later)
    assert (counts.seen, counts.new, counts.changed) == (2, 0, 1)
    with session_scope(engine) as session:
        postings = session.scalars(select(Posting).order_by(Posting.external_id)).all()
        assert len(postings) == 2
        first, second = postings
        assert first.first_seen == T0 and first.last_seen == later and first.times_seen == 2
        assert second.text == "Code more charts."
        run = session.get(CrawlRun, run2)
        assert run is not None and (run.seen, run.new, run.changed) == (2, 0, 1)


def test_same_url_on_another_source_is_a_duplicate(engine: Engine) -> None:
    url = "https://careers.rb.example/jobs/R-1"
    run_a = start_run(engine, {"name": "hospital", "kind": "jsonld", "urls": [url]})
    store_items(engine, run_a, [item("R-1", url=url)])
    run_b = start_run(engine, {"name": "agency", "kind": "greenhouse", "board": "ag"})
    counts = store_items(engine, run_b, [item("77", url=url + "?utm_source=agency&gclid=9"),
                                         item("78", url="https://careers.rb.example/jobs/R-2")])
    assert counts.duplicates == 1
    with session_scope(engine) as session:
        original = session.scalars(select(Posting).where(Posting.external_id == "R-1")).one()
        dup = session.scalars(select(Posting).where(Posting.external_id == "77")).one()
        other = session.scalars(select(Posting).where(Posting.external_id == "78")).one()
        assert (dup.duplicate_of, dup.duplicate_reason) == (original.id, "same_url")
        assert other.duplicate_of is None


def test_run_outcomes_and_interrupted(engine: Engine) -> None:
    entry = {"name": "a", "kind": "greenhouse", "board": "x"}
    ok_run, stuck_run = start_run(engine, entry), start_run(engine, entry)
    finish_run(engine, ok_run, status="failed", error="HTTP 500", stats={"errors": ["HTTP 500"]})
    assert mark_interrupted(engine, [ok_run, stuck_run], "crawl process exited") == 1
    with session_scope(engine) as session:
        runs = {r.id: r for r in session.scalars(select(CrawlRun))}
        assert runs[ok_run].status == "failed" and runs[ok_run].error == "HTTP 500"
        assert runs[stuck_run].status == "interrupted"
        assert runs[stuck_run].finished_at is not None
        assert session.scalars(select(Source)).one().config == {"board": "x"}


def test_failed_batch_leaves_nothing_half_written(engine: Engine) -> None:
    run = start_run(engine, {"name": "a", "kind": "greenhouse", "board": "x"})
    bad = item("2")
    bad["raw"] = {"x": object()}  # not JSON-serializable: the whole batch must roll back
    try:
        store_items(engine, run, [item("1"), bad])
    except Exception:
        pass
    else:
        raise AssertionError("a batch with an unstorable item should fail")
    with session_scope(engine) as session:
        assert session.scalars(select(Posting)).all() == []
        stored = session.get(CrawlRun, run)
        assert stored is not None and stored.seen == 0


def test_database_url_resolution(monkeypatch: Any) -> None:
    monkeypatch.delenv("HCJOBS_DATABASE_URL", raising=False)
    assert resolve_url(None) == "sqlite:///jobs.db"
    monkeypatch.setenv("HCJOBS_DATABASE_URL", "postgresql://u@h/db")
    assert resolve_url(None) == "postgresql+psycopg://u@h/db"
    assert resolve_url("sqlite:///x.db") == "sqlite:///x.db"
    assert make_engine("sqlite:///:memory:").dialect.name == "sqlite"
