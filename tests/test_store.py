"""The store on SQLite and on the local PostgreSQL server: schema, upserts, runs, duplicates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
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
    other_job = item("78", title="Billing Manager", body="<p>Lead the billing office.</p>",
                     url="https://careers.rb.example/jobs/R-2")
    counts = store_items(engine, run_b, [item("77", url=url + "?utm_source=agency&gclid=9"),
                                         other_job])
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


def test_hostile_html_is_stored_sanitized_and_its_raw_payload_kept(engine: Engine) -> None:
    hostile = ('<p onclick="steal()">Code charts.<script>alert(1)</script></p>'
               '<img src=x onerror="alert(2)"><a href="javascript:alert(3)">apply</a>')
    raw = {"id": "H-1", "content": hostile, "nested": {"list": [1, "two"]}}
    run = start_run(engine, {"name": "a", "kind": "greenhouse", "board": "x"})
    store_items(engine, run, [item("H-1", body=hostile) | {"raw": raw}])
    with session_scope(engine) as session:
        posting = session.scalars(select(Posting)).one()
        assert posting.html is not None
        for bad in ("<script", "onclick", "onerror", "javascript:", "<img"):
            assert bad not in posting.html
        assert "alert" not in posting.text and posting.text.startswith("Code charts.")
        assert posting.raw == raw  # the untouched payload, to parse again later


def test_normalized_columns_are_stored(engine: Engine) -> None:
    run = start_run(engine, {"name": "a", "kind": "greenhouse", "board": "x"})
    store_items(engine, run, [item("1") | {
        "locations": ["Remote - OH, KY", "Dayton, OH"], "employment_type": "Full-time",
        "salary": {"min": "30", "max": 24, "currency": "USD", "unit": "HOUR"}}])
    with session_scope(engine) as session:
        p = session.scalars(select(Posting)).one()
        assert (p.city, p.state, p.country, p.employment_type) == ("Dayton", "OH", "US",
                                                                   "FULL_TIME")
        assert [(x["city"], x["state"], x["remote"]) for x in p.locations or []] == \
            [(None, "OH", True), (None, "KY", True), ("Dayton", "OH", False)]
        assert (p.salary_min, p.salary_max, p.salary_period) == (24.0, 30.0, "hour")
        assert (p.salary_annual_min, p.salary_annual_max) == (49920.0, 62400.0)


def test_upgrade_from_previous_revision_keeps_data(db_url: str) -> None:
    """A store at 0002 upgrades to the head: rows survive, yearly pay is filled in from the
    stated pay, and the next sighting fills the rest; then back down to 0002."""
    engine = make_engine(db_url)
    migrate(engine, "0002")
    with engine.begin() as conn:
        conn.execute(text(
            "insert into sources (name, kind, config, enabled, created_at) "
            "values ('a', 'greenhouse', '{}', true, '2026-01-01 00:00:00+00')"))
        conn.execute(text(
            "insert into postings (source_id, external_id, title, text, hints, raw, "
            "content_hash, first_seen, last_seen, times_seen, status, salary_min, salary_max, "
            "salary_period, missed_runs) values (1, '1', 'Medical Coder', '', '{}', '{}', 'h', "
            "'2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00', 1, 'open', 24, 30, 'hour', "
            "0)"))
    migrate(engine)
    with session_scope(engine) as session:
        old = session.scalars(select(Posting)).one()
        assert (old.salary_annual_min, old.salary_annual_max) == (49920.0, 62400.0)
        assert old.simhash is None and old.locations is None
    run = start_run(engine, {"name": "a", "kind": "greenhouse", "board": "x"})
    store_items(engine, run, [item("1")])
    with session_scope(engine) as session:
        seen = session.scalars(select(Posting)).one()
        assert seen.simhash is not None and seen.block_key is not None and seen.city == "Dayton"
    migrate(engine, "0002")
    columns = {c["name"] for c in inspect(engine).get_columns("postings")}
    assert "simhash" not in columns and "missed_runs" in columns
    assert "daily_stats" not in inspect(engine).get_table_names()
    engine.dispose()


def test_unchanged_repeat_still_updates_what_the_hash_does_not_cover(engine: Engine) -> None:
    """Same text again: counted unchanged, yet new pay, closing date and raw payload land."""
    entry = {"name": "a", "kind": "greenhouse", "board": "x"}
    store_items(engine, start_run(engine, entry, now=T0), [item("1")], now=T0)
    later = T0 + timedelta(days=1)
    again = item("1") | {"raw": {"id": "1", "v": 2}, "valid_through_raw": "2026-12-31",
                         "salary": {"min": 25, "max": 31, "currency": "USD", "unit": "HOUR"}}
    counts = store_items(engine, start_run(engine, entry, now=later), [again], now=later)
    assert (counts.new, counts.changed) == (0, 0)
    with session_scope(engine) as session:
        p = session.scalars(select(Posting)).one()
        assert p.raw == {"id": "1", "v": 2} and p.salary_max == 31.0
        assert p.valid_through == datetime(2026, 12, 31, tzinfo=UTC)
        assert (p.times_seen, p.last_seen, p.text) == (2, later, "Code charts.")


@pytest.mark.parametrize("workers", [1, 2])
def test_ingest_batches_in_worker_processes_matches_store_items(engine: Engine, tmp_path: Any,
                                                                 workers: int) -> None:
    """Normalizing ahead in worker processes (and here, when they are all busy) changes
    nothing about the result."""
    from pipeline.store import ingest_batches

    def batch(start: int) -> list[dict[str, Any]]:
        return [item(str(n), title=f"Coder {n % 7}", body=f"<p>Code charts for site {n % 7}.</p>")
                for n in range(start, start + 20)]

    entry = {"name": "a", "kind": "greenhouse", "board": "x"}
    run = start_run(engine, entry, now=T0)
    starts = (0, 20, 0, 40, 20, 60, 0)
    counts = ingest_batches(engine, [(run, batch(n)) for n in starts], now=T0,
                            workers=workers)
    assert (counts.seen, counts.new, counts.duplicates) == (140, 80, 80 - 7)  # 7 texts
    other = open_store(f"sqlite:///{tmp_path / 'sequential.db'}")
    run2 = start_run(other, entry, now=T0)
    for n in starts:
        store_items(other, run2, batch(n), now=T0)

    def links(eng: Engine) -> list[tuple[str, str | None, str | None]]:
        with session_scope(eng) as session:
            rows = session.scalars(select(Posting).order_by(Posting.id)).all()
            ext = {p.id: p.external_id for p in rows}
            return [(p.external_id, ext.get(p.duplicate_of or 0), p.duplicate_reason)
                    for p in rows]

    assert links(engine) == links(other)


def _index_names(engine: Engine) -> set[str]:
    """Index names on postings, expression indexes included (SQLAlchemy skips those)."""
    sql = ("SELECT indexname FROM pg_indexes WHERE tablename = 'postings'"
           if engine.dialect.name == "postgresql" else
           "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'postings'")
    with engine.connect() as conn:
        return {str(name) for (name,) in conn.execute(text(sql))}


def _fts_triggers(engine: Engine) -> set[str]:
    if engine.dialect.name != "sqlite":
        return set()
    with engine.connect() as conn:
        return {str(name) for (name,) in conn.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' "
            "AND name LIKE 'postings_fts%'"))}


def test_stored_facets_migration_up_and_down(db_url: str) -> None:
    """0004 -> 0005: tags stored before it get the facet rows the tagger would have written,
    the web's indexes appear, and SQLite keeps its full-text triggers (0005 must not
    recreate postings); back down to 0004, the facets and indexes go, the triggers stay."""
    from classifier.facets import extract_facets

    engine = make_engine(db_url)
    migrate(engine, "0004")
    triggers = _fts_triggers(engine)
    coder = ("Inpatient Coder", "Assign ICD-10-PCS codes and MS-DRGs. Answer CDI physician "
             "queries. CPC required.")
    with engine.begin() as conn:
        conn.execute(text(
            "insert into sources (name, kind, config, enabled, created_at) "
            "values ('a', 'greenhouse', '{}', true, '2026-01-01 00:00:00+00')"))
        for n, (title, body, category) in enumerate(
                [(*coder, "coding"), ("Cook", "Cook for inpatient wards.", "other")], 1):
            conn.execute(text(
                "insert into postings (id, source_id, external_id, title, text, hints, raw, "
                "content_hash, first_seen, last_seen, times_seen, status, missed_runs) values "
                "(:id, 1, :ext, :title, :text, '{}', '{}', 'h', '2026-01-01 00:00:00+00', "
                "'2026-01-01 00:00:00+00', 1, 'open', 0)"),
                {"id": n, "ext": str(n), "title": title, "text": body})
            conn.execute(text(
                "insert into tags (id, posting_id, content_hash, category, category_scores, "
                "remote, remote_confidence, remote_states, model_version, tagged_at) values "
                "(:id, :id, 'h', :category, '{}', 'onsite', 0.5, '[]', 'm', "
                "'2026-01-01 00:00:00+00')"), {"id": n, "category": category})
    migrate(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("select tag_id, facet, evidence from facet_tags "
                                 "order by id")).all()
    expected = extract_facets(coder[1], coder[0], "coding").facets
    assert {"inpatient", "cdi"} <= set(expected)
    assert [(tag_id, facet, evidence) for tag_id, facet, evidence in rows] == \
        [(1, name, sentence) for name, sentence in expected.items()]
    web = {"ix_postings_status_newest", "ix_postings_status_pay"}
    assert web <= _index_names(engine)
    assert _fts_triggers(engine) == triggers
    if engine.dialect.name == "sqlite":  # the triggers still fill the full-text index
        assert triggers == {"postings_fts_ai", "postings_fts_ad", "postings_fts_au"}
        with engine.begin() as conn:
            conn.execute(text("update postings set text = 'Remote outpatient auditor.' "
                              "where id = 2"))
            assert conn.execute(text("select rowid from postings_fts where postings_fts "
                                     "match 'auditor'")).scalars().all() == [2]
    migrate(engine, "0004")
    assert "facet_tags" not in inspect(engine).get_table_names()
    assert not web & _index_names(engine)
    assert _fts_triggers(engine) == triggers
    engine.dispose()
