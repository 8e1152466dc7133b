"""Build a large synthetic store (default 1,000,000 postings with tags and credentials) for
the web benchmark, fast, and print how long it took.

    python bench/build_store.py --db sqlite:///big.db
    python bench/build_store.py --db postgresql+psycopg://postgres@127.0.0.1/big -n 1000000

The store is migrated with Alembic first, so it is exactly the product's schema. Postings
are the demo board's (normalized once, tagged from their labels) spread over 400 employer
boards, 300 places, twenty departments and the past year: about a third open, one in ten a
duplicate of an earlier posting, with fingerprints, yearly pay and places filled in as the
pipeline fills them; facets are the classifier's (classifier.facets, as the tagger finds
them) for each title and text. Rows go in with `pipeline.db.bulk_load` (COPY on PostgreSQL,
large executemany transactions on SQLite) while the secondary indexes (the models' and the
migrations') are dropped, then the indexes are rebuilt from the store's own definitions and
the daily stats of the last --stats-days days computed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEPARTMENTS = ["Cardiology", "Orthopedics", "Oncology", "Emergency Department", "Surgery",
               "Pediatrics", "Behavioral Health", "Radiology", "Primary Care", "Neurology",
               "Women's Health", "Urology", "Dermatology", "Gastroenterology", "Pulmonology",
               "Nephrology", "Ambulatory", "Inpatient", "Hospital Billing", "Physician Billing"]
STATES = ["OH", "MI", "IN", "KY", "PA", "TN", "GA", "FL", "TX", "CO", "WA", "NC", "VA", "IL",
          "WI", "MN", "MO", "AZ", "NY", "NJ"]
TOWNS = ["Springfield", "Riverside", "Fairview", "Franklin", "Greenville", "Madison",
         "Clinton", "Georgetown", "Salem", "Marion", "Oakland", "Jackson", "Burlington",
         "Ashland", "Milford"]
# the revision before the listings (migrations 0007, 0008), whose triggers a bulk load skips
BEFORE_LISTINGS = "0006"
KINDS = ["greenhouse", "jsonld", "workday", "lever", "smartrecruiters", "ashby"]
OPEN_SHARE, DUPLICATE_SHARE, UNTAGGED_SHARE = 0.33, 0.10, 0.03


def templates() -> list[dict[str, Any]]:
    """The demo board's postings, normalized and fingerprinted once, with their labels."""
    from pipeline.dedupe import fingerprint, location_key
    from pipeline.demo.board import load_board
    from pipeline.normalize import normalize

    now = datetime.now(UTC)
    out = []
    for employer in load_board()["employers"]:
        for p in employer["postings"]:
            if not p.get("title"):
                continue
            item = {"source": employer["slug"], "external_id": p["id"], "title": p["title"],
                    "description_html": p["html"], "company": employer["name"],
                    "locations": [p.get("location") or ""], "salary": p.get("salary"),
                    "employment_type": p.get("employment_type"), "posted_raw": p["posted"]}
            norm = normalize(item, now)
            remote_states = sorted({pl["state"] for pl in norm.places
                                    if pl["remote"] and pl["state"]})
            places = [dict(pl, remote=True) for pl in norm.places]
            out.append({"norm": norm, "label": p.get("label") or {}, "company": employer["name"],
                        "places": places, "location_key": location_key(places),
                        "simhash": fingerprint(norm.title, norm.company, norm.places,
                                               norm.text).simhash,
                        "remote": (p.get("label") or {}).get("remote", "onsite"),
                        "remote_states": remote_states})
    return out


POSTING_COLUMNS = (
    "id", "source_id", "external_id", "url", "canonical_url", "title", "company", "location",
    "city", "state", "country", "locations", "employment_type", "posted_at", "posted_raw",
    "valid_through", "salary_min", "salary_max", "salary_currency", "salary_period",
    "salary_annual_min", "salary_annual_max", "html", "text", "hints", "raw", "content_hash",
    "first_seen", "last_seen", "times_seen", "missed_runs", "status", "closed_at",
    "duplicate_of", "duplicate_reason", "simhash", "title_key", "location_key", "employer_key",
    "block_key", "text_key")
TAG_COLUMNS = ("id", "posting_id", "content_hash", "category", "category_scores", "remote",
               "remote_confidence", "remote_evidence", "remote_states", "model_version",
               "tagged_at")
CREDENTIAL_COLUMNS = ("tag_id", "code", "requirement", "evidence")
FACET_COLUMNS = ("tag_id", "facet", "evidence")
Rows = tuple[tuple[Any, ...], tuple[Any, ...] | None, list[tuple[Any, ...]],
             list[tuple[Any, ...]]]


def generate(n: int, sources: int, now: datetime, seed: int = 11) -> Iterator[Rows]:
    """(posting row, tag row or None, credential rows, facet rows) for postings 1..n."""
    from classifier.facets import extract_facets
    from pipeline.dedupe import employer_key, key_hash, location_key, title_key

    rng = random.Random(seed)
    temps = templates()
    places: list[dict[str, Any]] = [{"city": town, "state": st, "country": "US",
                                     "remote": False} for st in STATES for town in TOWNS]
    keys: dict[tuple[int, str], str] = {}
    facets: dict[tuple[int, str], list[tuple[str, str]]] = {}
    roots: list[tuple[int, bool]] = []
    for number in range(1, n + 1):
        t = temps[rng.randrange(len(temps))]
        norm = t["norm"]
        remote_key = t["location_key"]
        department = DEPARTMENTS[rng.randrange(len(DEPARTMENTS))]
        title = f"{norm.title} - {department}"
        remote = t["remote"] == "remote"
        place: dict[str, Any] = {} if remote else places[rng.randrange(len(places))]
        where: list[dict[str, Any]] = t["places"] if remote else [place]
        location = norm.location if remote else f"{place['city']}, {place['state']}"
        source_id = rng.randrange(1, sources + 1)
        posted = now - timedelta(days=rng.uniform(0, 365))
        first_seen = posted + timedelta(hours=rng.uniform(0, 48))
        duplicate = bool(roots) and rng.random() < DUPLICATE_SHARE
        root, root_open = roots[rng.randrange(len(roots))] if duplicate else (None, False)
        # a copy of a closed job is closed too: the pipeline hands a group whose canonical
        # posting closed to a copy still listed, so stores hold no such groups
        is_open = rng.random() < OPEN_SHARE and (root is None or root_open)
        closed_at = None if is_open else min(first_seen + timedelta(days=rng.uniform(3, 90)), now)
        last_seen = now - timedelta(hours=rng.uniform(0, 30)) if is_open else closed_at
        if not duplicate:
            roots.append((number, is_open))
        company = f"{t['company']} {source_id}"
        tkey = keys.get((id(t), department))
        if tkey is None:
            tkey = keys[(id(t), department)] = title_key(title, t["company"])
        lkey = remote_key if remote else location_key(where)
        url = f"https://careers.employer{source_id}.example/jobs/{number}"
        salary = norm.salary
        posting: tuple[Any, ...] = (
            number, source_id, f"J{number}", url, url, title, company, location,
            place.get("city"), place.get("state", norm.state), "US",
            where, norm.employment_type, posted, posted.isoformat(), None,
            salary.get("min"), salary.get("max"), salary.get("currency"), salary.get("period"),
            norm.salary_annual_min, norm.salary_annual_max, norm.html, norm.text, {},
            {"template": norm.title, "n": number}, norm.content_hash, first_seen, last_seen,
            rng.randrange(1, 30), 0, "open" if is_open else "closed", closed_at,
            root,
            rng.choice(["same_url", "near_text", "repost"]) if duplicate else None,
            t["simhash"], tkey, lkey, employer_key(company), key_hash(tkey, lkey),
            key_hash(t["simhash"], lkey))
        if rng.random() < UNTAGGED_SHARE:
            yield posting, None, [], []
            continue
        label = t["label"]
        category = label.get("category", "other")
        tag: tuple[Any, ...] = (
            number, number, norm.content_hash, category, {}, t["remote"],
            0.9, None, t["remote_states"] if remote else [], "bench", last_seen)
        creds = [(number, code, requirement, f"{code} {requirement}")
                 for code, requirement in (label.get("credentials") or {}).items()]
        found = facets.get((id(t), department))
        if found is None:  # the title (its department) can show a facet: once per pair
            found = facets[(id(t), department)] = list(
                extract_facets(norm.text, title, category).facets.items())
        yield posting, tag, creds, [(number, name, evidence) for name, evidence in found]


def secondary_indexes(engine: Any, tables: list[str]) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of every index on `tables` but those behind a primary
    key or unique constraint, as the store defines them: the models' indexes and those the
    migrations create in SQL (sort, partial, expression, full-text GIN) alike."""
    from sqlalchemy import bindparam, text

    if engine.dialect.name == "postgresql":
        query = text(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relname IN :tables AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)")
    else:  # sqlite_master keeps no SQL for the indexes behind constraints
        query = text("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                     "AND tbl_name IN :tables AND sql IS NOT NULL")
    with engine.connect() as conn:
        rows = conn.execute(query.bindparams(bindparam("tables", expanding=True)),
                            {"tables": tables})
        return [(str(name), str(ddl)) for name, ddl in rows]


def build(url: str, n: int, sources: int, stats_days: int) -> None:
    from sqlalchemy import func, select

    from pipeline.db import bulk_load, migrate, open_store
    from pipeline.models import CredentialTag, FacetTag, Posting, Source, Tag
    from pipeline.stats import rebuild_daily_stats
    from web.search import merge_search_index

    started = time.perf_counter()
    engine = open_store(url)
    with engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(Posting)).scalar():
            raise SystemExit(f"{url} already holds postings: build into an empty store")
    # loaded without the listings' triggers (each row would recompute its posting's
    # listing, without the indexes dropped below); upgrading afterwards fills them in one pass
    migrate(engine, BEFORE_LISTINGS)
    now = datetime.now(UTC)
    bulk_load(engine, Source.__table__, ("id", "name", "kind", "config", "enabled",
                                         "created_at"),
              [(i, f"employer-{i:04d}", KINDS[i % len(KINDS)], {"board": f"employer-{i:04d}"},
                True, now) for i in range(1, sources + 1)])
    tables = [Posting.__table__, Tag.__table__, CredentialTag.__table__, FacetTag.__table__]
    indexes = secondary_indexes(engine, [str(table.description) for table in tables])
    with engine.begin() as conn:
        for name, _ in indexes:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
    tags: list[tuple[Any, ...]] = []
    creds: list[tuple[Any, ...]] = []
    facet_rows: list[tuple[Any, ...]] = []

    def postings() -> Iterator[tuple[Any, ...]]:
        for posting, tag, cred, facet in generate(n, sources, now):
            if tag is not None:
                tags.append(tag)
            creds.extend(cred)
            facet_rows.extend(facet)
            yield posting

    load_start = time.perf_counter()
    stored = bulk_load(engine, Posting.__table__, POSTING_COLUMNS, postings())
    bulk_load(engine, Tag.__table__, TAG_COLUMNS, tags)
    bulk_load(engine, CredentialTag.__table__, CREDENTIAL_COLUMNS, creds)
    bulk_load(engine, FacetTag.__table__, FACET_COLUMNS, facet_rows)
    loaded = time.perf_counter() - load_start
    index_start = time.perf_counter()
    with engine.begin() as conn:
        for _, ddl in indexes:
            conn.exec_driver_sql(ddl)
    migrate(engine)
    indexed = time.perf_counter() - index_start
    stats_start = time.perf_counter()
    if stats_days > 0:
        rebuild_daily_stats(engine, (now - timedelta(days=stats_days - 1)).date(), now.date())
    # planner statistics for the web benchmark's queries; PostgreSQL also gets its
    # visibility map (what autovacuum keeps up on a live store), without which no scan is
    # index-only
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql"
                             else "ANALYZE")
    merge_search_index(engine, pages=None)  # one segment, as the crawls' merges keep it
    stats_time = time.perf_counter() - stats_start
    total = time.perf_counter() - started
    print(f"build_store ({engine.dialect.name}): {stored:,} postings, {len(tags):,} tags, "
          f"{len(creds):,} credentials, {len(facet_rows):,} facets in {total:.0f} s "
          f"(load {loaded:.0f} s = "
          f"{stored / loaded:,.0f} postings/s, indexes and listings {indexed:.0f} s, "
          f"daily stats of {stats_days} days {stats_time:.0f} s)")
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite:///bench-store.db", help="an empty store's URL")
    parser.add_argument("-n", "--postings", type=int, default=1_000_000)
    parser.add_argument("--sources", type=int, default=400)
    parser.add_argument("--stats-days", type=int, default=30)
    args = parser.parse_args(argv)
    build(args.db, args.postings, args.sources, args.stats_days)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
