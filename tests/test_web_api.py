"""The web API over a store built by the real pipeline (demo board -> spiders -> tagger).

Each filter is checked against an oracle: the same search done in Python over every stored
posting, so the SQL (JSON lookups, stored facets, keyset pagination) is checked against the
filter's meaning, not against itself. PostgreSQL gets the filters whose SQL differs by
dialect (open_to, q, credential, facet, dates).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, delete, insert, inspect, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import selectinload

from classifier.facets import extract_facets
from classifier.tagger import Tagger
from pipeline.crawl import run_crawl
from pipeline.db import open_store, session_scope
from pipeline.demo.board import DemoBoard, demo_sources, load_board
from pipeline.models import DailyStat, FacetTag, Posting, Tag
from pipeline.tagging import tag_pending
from web.queries import SORT_INDEX_DDL
from web.search import PG_FTS_DDL, PG_FTS_DROP, SQLITE_FTS_DDL, search_condition
from web.vocab import STATES

with warnings.catch_warnings():  # starlette asks for httpx2; the client works the same
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from web.app import create_app  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with")

_PRISTINE: dict[str, Path] = {}


def build_store(url: str, board: dict[str, Any] | None = None) -> None:
    """Crawl the demo board (or part of it) into `url` and tag it: the real pipeline."""
    engine = open_store(url)
    with DemoBoard(board) as server:
        result = run_crawl(engine, url, demo_sources(server.board, server.url), timeout=180)
    assert result.exit_code == 0, result.log[-2000:]
    tag_pending(engine, Tagger.load())
    engine.dispose()


def demo_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A private copy of the demo store (SQLite). The crawl runs once per test process; the
    web tests of other modules reuse it through this function."""
    if "sqlite" not in _PRISTINE:
        path = tmp_path_factory.mktemp("pristine") / "jobs.db"
        build_store(f"sqlite:///{path}")
        # the migrations build the FTS5 index; the oracle tests check the LIKE fallback, and
        # test_search_uses_fts5... puts the index back on its own copy
        engine = create_engine(f"sqlite:///{path}")
        with engine.begin() as conn:
            for trigger in ("postings_fts_au", "postings_fts_ad", "postings_fts_ai"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
            conn.execute(text("DROP TABLE IF EXISTS postings_fts"))
        engine.dispose()
        _PRISTINE["sqlite"] = path
    target = tmp_path_factory.mktemp("store") / "jobs.db"
    shutil.copy(_PRISTINE["sqlite"], target)
    return f"sqlite:///{target}"


def make_client(url: str, cors_origins: list[str] | None = None,
                cache_entries: int = 0) -> TestClient:
    """A test client over the app on `url`, its clock fixed at NOW. No answer cache unless
    asked for: these tests check the queries (some change how they run between requests);
    test_web_cache.py checks the cache."""
    return TestClient(create_app(url, cors_origins, clock=lambda: NOW,
                                 cache_entries=cache_entries))


# "now" for the tests: the demo board's postings are dated Sep-Nov 2026
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


# --- the oracle ---------------------------------------------------------------------------

@dataclass
class Row:
    id: int
    status: str
    duplicate_of: int | None
    title: str
    company: str | None
    text: str
    state: str | None
    country: str | None
    places: set[str]
    category: str | None
    remote: str | None
    remote_states: list[str]
    creds: list[tuple[str, str]]
    annual: float | None
    currency: str | None
    posted: datetime


def load_rows(url: str) -> list[Row]:
    engine = create_engine(url)
    rows = []
    with session_scope(engine) as session:
        query = select(Posting).options(selectinload(Posting.tag).selectinload(Tag.credentials))
        for p in session.scalars(query):
            tag = p.tag
            annual = p.salary_annual_max if p.salary_annual_max is not None \
                else p.salary_annual_min
            rows.append(Row(
                id=p.id, status=p.status, duplicate_of=p.duplicate_of, title=p.title,
                company=p.company, text=p.text, state=p.state, country=p.country,
                places={loc.get("state") for loc in (p.locations or []) if loc.get("state")},
                category=tag.category if tag else None, remote=tag.remote if tag else None,
                remote_states=list(tag.remote_states) if tag else [],
                creds=[(c.code, c.requirement) for c in tag.credentials] if tag else [],
                annual=annual, currency=p.salary_currency,
                posted=p.posted_at or p.first_seen))
    engine.dispose()
    return rows


def has_facet(row: Row, name: str) -> bool:
    if row.category not in ("coding", "administration"):
        return False
    return name in extract_facets(row.text, row.title, row.category).facets


def oracle(rows: list[Row], params: dict[str, Any]) -> list[int]:
    """The ids a search should return, in order: the filters' meaning, spelled in Python."""
    def listed(key: str) -> list[str]:
        value = params.get(key, [])
        return value if isinstance(value, list) else [value]

    def keep(r: Row) -> bool:
        if r.duplicate_of is not None:
            return False
        if r.status != "open" and params.get("include_closed") not in ("true", True):
            return False
        if listed("category") and r.category not in listed("category"):
            return False
        if listed("remote") and r.remote not in listed("remote"):
            return False
        codes, req = [c.upper() for c in listed("credential")], params.get("requirement")
        asked = {code for code, how in r.creds if not req or how == req}
        if codes:
            if params.get("credential_match") == "all":
                if not set(codes) <= asked:
                    return False
            elif not asked & set(codes):
                return False
        elif req and not asked:
            return False
        if "open_to" in params:
            st = params["open_to"].upper()
            if r.remote == "remote":
                if r.country not in (None, "US") or (r.remote_states and st not in
                                                     r.remote_states):
                    return False
            elif r.state != st and st not in r.places:
                return False
        if "state" in params and params["state"] != r.state and params["state"] not in r.places:
            return False
        if "employer" in params and (r.company or "").lower() != params["employer"].lower():
            return False
        if listed("facet") and not any(has_facet(r, f) for f in listed("facet")):
            return False
        if "salary_min" in params and (r.annual is None or r.annual < float(params["salary_min"])
                                       or r.currency not in (None, "USD")):
            return False
        if "posted_since" in params:
            since = params["posted_since"]
            start = NOW - timedelta(days=int(since[:-1])) if since.endswith("d") else \
                datetime.combine(date.fromisoformat(since), datetime.min.time(), tzinfo=UTC)
            if r.posted < start:
                return False
        if "q" in params:
            body = f"{r.title}\n{r.company or ''}\n{r.text}".lower()
            if not all(w.lower() in body for w in re.findall(r"[^\W_]+", params["q"])):
                return False
        return True

    hits = [r for r in rows if keep(r)]
    if params.get("sort") == "salary":
        hits.sort(key=lambda r: (r.annual if r.annual is not None else -1.0, r.id),
                  reverse=True)
    else:
        hits.sort(key=lambda r: (r.posted, r.id), reverse=True)
    return [r.id for r in hits]


def fetch_all(client: TestClient, params: dict[str, Any], limit: int = 7) -> list[int]:
    """Every id of a search, following next_cursor page by page."""
    ids: list[int] = []
    cursor = None
    for _ in range(100):
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/postings", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= limit
        ids += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("pagination does not end")


# --- fixtures -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return demo_store(tmp_path_factory)


@pytest.fixture(scope="module")
def rows(store_url: str) -> list[Row]:
    return load_rows(store_url)


@pytest.fixture(scope="module")
def client(store_url: str) -> Iterator[TestClient]:
    with make_client(store_url) as c:
        yield c


SEARCHES: list[dict[str, Any]] = [
    {},
    {"category": "coding"},
    {"category": ["administration", "other"]},
    {"remote": "remote"},
    {"remote": ["hybrid", "onsite"]},
    {"credential": "CPC"},
    {"credential": "cpc-a"},
    {"credential": ["CCS", "CRC"]},
    {"credential": ["CPC", "CCS"], "credential_match": "all"},
    {"credential": "MHA", "requirement": "preferred"},
    {"requirement": "required"},
    {"open_to": "OH"},
    {"open_to": "ca"},
    {"open_to": "WA"},
    {"state": "MI"},
    {"employer": "riverbend health"},
    {"facet": "risk adjustment"},
    {"facet": ["audit", "compliance"]},
    {"salary_min": 80000},
    {"salary_min": 0},
    {"posted_since": "2026-11-01"},
    {"posted_since": "30d"},
    {"q": "risk adjustment"},
    {"q": "Coder"},
    {"q": "100%_ done"},
    {"include_closed": "true"},
    {"sort": "salary"},
    {"sort": "salary", "include_closed": "true", "category": "coding"},
    # the product's own examples
    {"remote": "remote", "category": "coding", "credential": "CPC-A"},
    {"credential": "CCS", "requirement": "required", "open_to": "OH"},
    {"category": "administration", "credential": "MHA", "requirement": "preferred",
     "posted_since": "7d", "salary_min": 80000},
    {"remote": "remote", "category": "coding", "credential": "CPC", "requirement": "required"},
    {"remote": ["remote", "hybrid"], "open_to": "MI", "facet": "inpatient", "sort": "salary"},
    {"category": "coding", "q": "outpatient", "state": "OH", "include_closed": "true"},
]


def served_as(monkeypatch: pytest.MonkeyPatch, **store: bool) -> None:
    """Serve as from a store of an older migration: `listings=False` before 0007 (pages
    and counts from postings and tags), `closed_listings=False` before 0008."""
    from dataclasses import replace

    from web import api
    dialect_of = api.dialect_of
    monkeypatch.setattr(api, "dialect_of",
                        lambda s: replace(dialect_of(s), **store))


@pytest.fixture(params=["listings", "postings"])
def tables(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each search runs both ways: from open_listings and closed_listings (migrations
    0007, 0008) and without."""
    if request.param == "postings":
        served_as(monkeypatch, listings=False)
    return str(request.param)


@pytest.mark.parametrize("params", SEARCHES, ids=lambda p: "&".join(
    f"{k}={v}" for k, v in p.items()) or "all")
def test_filters_match_the_oracle(client: TestClient, rows: list[Row], tables: str,
                                  params: dict[str, Any]) -> None:
    assert fetch_all(client, params) == oracle(rows, params)


def test_listings_are_what_the_schema_says(client: TestClient) -> None:
    """The listing route serializes its answer itself (its response model is not run, for
    speed): every answer still validates against PostingList, with exactly its fields."""
    from web.schemas import PostingList, PostingSummary, Salary

    seen = 0
    for params in SEARCHES:
        response = client.get("/api/postings", params={**params, "limit": 100})
        assert response.status_code == 200, response.text
        body = response.json()
        PostingList.model_validate(body, strict=True)
        assert set(body) == set(PostingList.model_fields)
        for item in body["items"]:
            assert set(item) == set(PostingSummary.model_fields), params
            assert set(item["salary"]) == set(Salary.model_fields), params
            seen += 1
    assert seen > 100


def test_searches_are_not_trivial(rows: list[Row]) -> None:
    """Guard for the oracle test: the demo store gives each filter something to select."""
    everything = set(oracle(rows, {}))
    for params in SEARCHES[1:27]:
        got = set(oracle(rows, params))
        if params in ({"salary_min": 0}, {"q": "100%_ done"}, {"credential": "cpc-a"},
                      {"posted_since": "30d"}, {"include_closed": "true"},
                      {"sort": "salary"}):
            continue
        assert got and got != everything, params
    assert oracle(rows, {"q": "100%_ done"}) == []


def test_duplicates_never_and_closed_only_when_asked(client: TestClient,
                                                     rows: list[Row]) -> None:
    dup = next(r for r in rows if r.duplicate_of is not None)
    closed = next(r for r in rows if r.status == "closed")
    default = fetch_all(client, {}, limit=100)
    with_closed = fetch_all(client, {"include_closed": "true"}, limit=100)
    assert dup.id not in default and dup.id not in with_closed
    assert closed.id not in default and closed.id in with_closed
    assert dup.duplicate_of in default


def test_pages_do_not_overlap_and_sorts_hold(client: TestClient, rows: list[Row]) -> None:
    for sort in ("newest", "salary"):
        one_by_one = fetch_all(client, {"sort": sort}, limit=1)
        assert one_by_one == fetch_all(client, {"sort": sort}, limit=100)
        assert len(one_by_one) == len(set(one_by_one))
    body = client.get("/api/postings").json()
    assert body["limit"] == 20 and len(body["items"]) == 20 and body["next_cursor"]
    dates = [item["posted_at"] for item in body["items"]]
    assert dates == sorted(dates, reverse=True)
    pay = client.get("/api/postings", params={"sort": "salary", "limit": 100}).json()["items"]
    tops = [i["salary"]["annual_max"] or i["salary"]["annual_min"] or -1 for i in pay]
    assert tops == sorted(tops, reverse=True)


@pytest.mark.parametrize(("query", "param", "words"), [
    ("limit=101", "limit", "less than or equal to 100"),
    ("limit=0", "limit", "greater than or equal to 1"),
    ("remote=anywhere", "remote", "'remote', 'hybrid' or 'onsite'"),
    ("category=nursing", "category", "'coding', 'administration' or 'other'"),
    ("credential=XYZ", "credential", "unknown credential 'XYZ'"),
    ("requirement=maybe", "requirement", "'required' or 'preferred'"),
    ("open_to=ZZ", "open_to", "unknown US state code 'ZZ'"),
    ("state=Ohio", "state", "unknown US state code"),
    ("facet=knitting", "facet", "unknown facet 'knitting'"),
    ("salary_min=-5", "salary_min", "greater than or equal to 0"),
    ("salary_min=lots", "salary_min", "valid integer"),
    ("posted_since=yesterday", "posted_since", "a number of days (7d)"),
    ("posted_since=2026-02-30", "posted_since", "not a real date"),
    ("include_closed=perhaps", "include_closed", "valid boolean"),
    ("sort=random", "sort", "'newest' or 'salary'"),
    ("cursor=bm90LWpzb24", "cursor", "cursor is not valid"),
    ("cursor=!!", "cursor", "pattern"),
    ("q=" + "x" * 201, "q", "at most 200 characters"),
    ("q=a%00b", "q", "NUL"),
    ("credentials=CPC", "credentials", "Extra inputs are not permitted"),
])
def test_bad_parameters_are_clear_422s(client: TestClient, query: str, param: str,
                                       words: str) -> None:
    response = client.get(f"/api/postings?{query}")
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["message"].startswith("Invalid parameter: " + param), body["message"]
    assert words in body["message"], body["message"]
    assert any(param in err["loc"] for err in body["detail"])


def test_cursor_of_another_sort_is_refused(client: TestClient) -> None:
    cursor = client.get("/api/postings", params={"limit": 2}).json()["next_cursor"]
    response = client.get("/api/postings", params={"sort": "salary", "cursor": cursor})
    assert response.status_code == 422
    assert "belongs to sort='newest'" in response.json()["message"]


def test_posting_detail_has_evidence_and_jsonld(client: TestClient, rows: list[Row]) -> None:
    row = next(r for r in rows if r.remote == "remote" and r.remote_states and r.creds
               and r.duplicate_of is None)
    body = client.get(f"/api/postings/{row.id}").json()
    assert body["id"] == row.id and row.title.lower() in body["summary"].lower()
    tags = body["tags"]
    assert tags["category"]["value"] == row.category
    assert 0 < tags["category"]["confidence"] <= 1
    assert tags["remote"]["value"] == "remote" and tags["remote"]["states"] == row.remote_states
    assert tags["remote"]["evidence"] and 0 < tags["remote"]["confidence"] <= 1
    assert {(c["code"], c["requirement"]) for c in tags["credentials"]} == set(row.creds)
    for item in [tags["remote"], *tags["credentials"], *tags["facets"]]:
        if item["anchor"]:  # a marked sentence is in the description under that id
            assert re.search(rf'<mark id="{item["anchor"]}" class="evidence"[^>]*>',
                             body["description_html"])
    assert any(c["anchor"] for c in tags["credentials"])
    assert tags["remote"]["anchor"]
    ld = body["jsonld"]
    assert ld["@type"] == "JobPosting" and ld["title"] == row.title
    assert ld["jobLocationType"] == "TELECOMMUTE"
    assert {s["name"] for s in ld["applicantLocationRequirements"]}
    assert body["links"]["page"].endswith(f"/postings/{row.id}")


def test_duplicate_redirects_to_canonical_and_missing_is_404(client: TestClient,
                                                             rows: list[Row]) -> None:
    dup = next(r for r in rows if r.duplicate_of is not None)
    response = client.get(f"/api/postings/{dup.id}", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"].endswith(f"/api/postings/{dup.duplicate_of}")
    page = client.get(f"/postings/{dup.id}", follow_redirects=False)
    assert page.status_code == 301
    assert client.get("/api/postings/999999").status_code == 404
    assert client.get("/api/postings/0").status_code == 422
    assert client.get("/api/postings/99999999999999999999").status_code == 422


def assert_counts_agree(client: TestClient, rows: list[Row], search: dict[str, Any]) -> None:
    """Every count of /api/facets is the length of the list its value would give."""
    counts = client.get("/api/facets", params=search).json()
    assert counts["total"] == len(oracle(rows, search)) > 0
    assert counts["skipped"] == []
    by = {dim: {v["value"]: v["count"] for v in counts[dim]} for dim in counts
          if dim not in ("total", "skipped")}
    # a dimension is counted under every filter but its own
    for kind in ("remote", "hybrid", "onsite"):
        assert by["remote"][kind] == len(oracle(rows, {**search, "remote": kind}))
    for category in ("coding", "administration", "other"):
        assert by["category"][category] == len(oracle(rows, {**search, "category": category}))
    assert by["credential"]
    for code, n in by["credential"].items():
        assert n == len(oracle(rows, {**search, "credential": code})), code
    for how in ("required", "preferred"):
        assert by["requirement"][how] == len(oracle(rows, {**search, "requirement": how}))
    for name, n in by["facet"].items():
        assert n == len(oracle(rows, {**search, "facet": name})), name
    for step, n in by["salary_min"].items():
        assert n == len(oracle(rows, {**search, "salary_min": int(step)}))
    for window, n in by["posted_since"].items():
        assert n == len(oracle(rows, {**search, "posted_since": window}))
    # a state counts what the state filter lists: postings located there by any place
    assert by["state"] and set(by["state"]) <= set(STATES)
    for state, n in by["state"].items():
        assert n == len(oracle(rows, {**search, "state": state})), state
    # employers are one whatever the case they are written in, as the filter compares them
    assert by["employer"]
    for employer, n in by["employer"].items():
        assert n == len(oracle(rows, {**search, "employer": employer})), employer
    opened = oracle(rows, {k: v for k, v in search.items() if k != "include_closed"})
    assert by["status"]["open"] == len(opened)
    assert by["status"]["closed"] == len(oracle(rows, {**search, "include_closed": "true"})) \
        - len(opened)


COUNTED_SEARCHES: list[dict[str, Any]] = [
    {"remote": "remote", "category": "coding"},
    {"credential": ["CPC", "RHIT"], "requirement": "required", "state": "OH"},
    {"include_closed": "true", "category": "administration", "salary_min": 40000},
    {"q": "coding", "facet": ["audit", "inpatient"]},
    {"open_to": "MI", "posted_since": "30d", "employer": "riverbend health"},
    {"credential": ["CPC", "CCS"], "credential_match": "all", "include_closed": "true"},
]


@pytest.mark.parametrize("search", COUNTED_SEARCHES, ids=lambda p: "&".join(
    f"{k}={v}" for k, v in p.items()))
def test_facet_counts_agree_with_the_lists(client: TestClient, rows: list[Row], tables: str,
                                           search: dict[str, Any]) -> None:
    assert_counts_agree(client, rows, search)


@pytest.mark.parametrize("search", [COUNTED_SEARCHES[0], COUNTED_SEARCHES[2]],
                         ids=["open", "with closed"])
def test_store_before_closed_listings(client: TestClient, rows: list[Row],
                                      monkeypatch: pytest.MonkeyPatch,
                                      search: dict[str, Any]) -> None:
    """Open searches from open_listings, closed postings (and their count) from postings."""
    served_as(monkeypatch, closed_listings=False)
    assert_counts_agree(client, rows, search)
    assert fetch_all(client, search) == oracle(rows, search)


def test_counts_of_a_search_without_words_ignore_it(client: TestClient) -> None:
    """q with nothing to look for searches nothing (as the list does)."""
    assert client.get("/api/facets", params={"q": "!!! ?"}).json() == \
        client.get("/api/facets").json()


def test_employers_written_in_any_case_and_alphabet(tmp_path_factory: pytest.TempPathFactory,
                                                    tables: str) -> None:
    """An employer the counts offer lists exactly its postings, whatever case its name is
    written in, accented capitals included (SQLite folds ASCII letters only: the filter
    and the counts must fold alike)."""
    url = demo_store(tmp_path_factory)
    engine = create_engine(url)
    with engine.begin() as conn:
        ids = list(conn.execute(select(Posting.id).where(
            Posting.status == "open", Posting.duplicate_of.is_(None)).limit(4)).scalars())
        for posting_id, name in zip(ids, ["ÉCOLE Health", "ÉCOLE Health", "École Health",
                                          "école HEALTH"], strict=True):
            conn.execute(update(Posting).where(Posting.id == posting_id)
                         .values(company=name))
    engine.dispose()
    with make_client(url) as c:
        offered = {v["value"]: v["count"] for v in c.get("/api/facets").json()["employer"]}
        spelled = [name for name in offered if name.lower().endswith("cole health")]
        assert spelled
        for name in spelled:
            listed = fetch_all(c, {"employer": name})
            assert len(listed) == offered[name] and set(listed) <= set(ids), name
        assert sum(offered[name] for name in spelled) == 4


def test_state_counts_read_every_place(client: TestClient, rows: list[Row]) -> None:
    """A posting with places in several states is counted in each (the searches above
    would agree if it were counted once)."""
    listed = set(oracle(rows, {}))
    located = [(r.places | {r.state}) & set(STATES) for r in rows if r.id in listed]
    assert any(len(states) > 1 for states in located)
    by = {v["value"]: v["count"] for v in client.get("/api/facets").json()["state"]}
    assert sum(by.values()) == sum(len(states) for states in located)


def stored_facets(url: str) -> dict[int, dict[str, str | None]]:
    """posting id -> {facet: evidence}, as the table facet_tags holds them."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(Tag.posting_id, FacetTag.facet, FacetTag.evidence)
                            .join(FacetTag, FacetTag.tag_id == Tag.id)).all()
    engine.dispose()
    out: dict[int, dict[str, str | None]] = {}
    for posting_id, facet, evidence in rows:
        out.setdefault(posting_id, {})[facet] = evidence
    return out


def tagger_facets(url: str) -> dict[int, dict[str, str | None]]:
    """posting id -> {facet: evidence} as the tagger finds them now, for every posting."""
    engine = create_engine(url)
    with session_scope(engine) as session:
        inputs = [{"id": p.id, "title": p.title, "text": p.text, "location": p.location,
                   "hints": p.hints} for p in session.scalars(select(Posting))]
    engine.dispose()
    results = Tagger.load().tag(inputs)
    return {r["id"]: {f["name"]: f["evidence"] for f in r["facets"]}
            for r in results if r["facets"]}


def test_stored_facets_are_what_the_tagger_produced(store_url: str, rows: list[Row]) -> None:
    stored = stored_facets(store_url)
    assert stored == tagger_facets(store_url)
    # facets belong to the posting's category, and the demo store has some of each kind
    category = {r.id: r.category for r in rows}
    from web.vocab import FACETS
    assert all(FACETS[name] == category[pid] for pid, got in stored.items() for name in got)
    assert {FACETS[name] for got in stored.values() for name in got} == {"coding",
                                                                        "administration"}


def test_facet_filter_and_counts_read_the_stored_facets(
        tmp_path_factory: pytest.TempPathFactory, rows: list[Row]) -> None:
    """Change the table, not the text: the filter and the counts follow the table (they
    used to run the classifier's patterns over the text in SQL)."""
    url = demo_store(tmp_path_factory)
    stored = stored_facets(url)
    shown = oracle(rows, {"category": "coding"})
    gains = next(pid for pid in shown if "radiology" not in stored.get(pid, {}))
    loses = next(pid for pid in shown if "inpatient" in stored.get(pid, {}))
    engine = create_engine(url)
    with engine.begin() as conn:
        tag_id = conn.execute(select(Tag.id).where(Tag.posting_id == gains)).scalar_one()
        conn.execute(insert(FacetTag).values(tag_id=tag_id, facet="radiology", evidence=None))
        conn.execute(delete(FacetTag).where(
            FacetTag.facet == "inpatient",
            FacetTag.tag_id == select(Tag.id).where(Tag.posting_id == loses)
            .scalar_subquery()))
    engine.dispose()
    radiology = oracle(rows, {"facet": "radiology"})
    inpatient = oracle(rows, {"facet": "inpatient"})
    with make_client(url) as c:
        assert set(fetch_all(c, {"facet": "radiology"})) == {*radiology, gains}
        assert set(fetch_all(c, {"facet": "inpatient"})) == set(inpatient) - {loses}
        counts = c.get("/api/facets").json()
        assert counts["skipped"] == []
        by = {v["value"]: v["count"] for v in counts["facet"]}
        assert by["radiology"] == len(radiology) + 1
        assert by["inpatient"] == len(inpatient) - 1
        detail = c.get(f"/api/postings/{gains}").json()
        assert {"name": "radiology", "evidence": None, "anchor": None} in \
            detail["tags"]["facets"]


def test_facet_counts_cover_the_whole_store(client: TestClient, rows: list[Row]) -> None:
    """Stored facets cost a join: counted on any result size (the regex version gave up
    past 5,000 postings)."""
    counts = client.get("/api/facets").json()
    assert counts["skipped"] == []
    by = {v["value"]: v["count"] for v in counts["facet"]}
    for name in ("inpatient", "risk adjustment", "revenue cycle", "compliance"):
        assert by[name] == len(oracle(rows, {"facet": name})) > 0, name
    page = client.get("/")
    assert page.status_code == 200 and 'name="facet" value="inpatient"' in page.text


def test_store_from_before_stored_facets(tmp_path_factory: pytest.TempPathFactory,
                                         rows: list[Row]) -> None:
    """A store one migration behind (no facet_tags) still serves; facet filters say why
    they cannot run, counts leave facets out, pages compute a posting's facets."""
    url = demo_store(tmp_path_factory)
    engine = create_engine(url)
    with engine.begin() as conn:  # and what came after it (0007)
        conn.execute(text("DROP TABLE open_listings"))
        conn.execute(text("DROP TABLE facet_tags"))
    engine.dispose()
    with make_client(url) as c:
        assert fetch_all(c, {"category": "coding"}) == oracle(rows, {"category": "coding"})
        response = c.get("/api/postings", params={"facet": "inpatient"})
        assert response.status_code == 503 and "facets" in response.json()["message"]
        counts = c.get("/api/facets").json()
        assert counts["skipped"] == ["facet"] and counts["facet"] == [] and counts["category"]
        posting = next(r for r in rows if has_facet(r, "inpatient") and r.duplicate_of is None)
        facets = c.get(f"/api/postings/{posting.id}").json()["tags"]["facets"]
        assert "inpatient" in {f["name"] for f in facets}
        assert c.get(f"/postings/{posting.id}").status_code == 200


def test_retag_replaces_facet_rows(tmp_path_factory: pytest.TempPathFactory,
                                   rows: list[Row]) -> None:
    """Tagging again leaves exactly the tagger's facets: a changed text gets its new
    facets, a retag replaces stale and unknown rows, and no facet is stored twice."""
    url = demo_store(tmp_path_factory)
    stored = stored_facets(url)
    coding = [r.id for r in rows if r.category == "coding" and r.id in stored]
    stale = coding[0]
    changed = next(pid for pid in coding[1:] if not {"inpatient", "cdi"} <= set(stored[pid]))
    engine = open_store(url)
    with engine.begin() as conn:
        tag_id = conn.execute(select(Tag.id).where(Tag.posting_id == stale)).scalar_one()
        conn.execute(FacetTag.__table__.update().where(FacetTag.tag_id == tag_id)
                     .values(evidence="stale"))
        bogus = next(name for name in ("radiology", "surgical", "emergency")
                     if name not in stored[stale])
        conn.execute(insert(FacetTag).values(tag_id=tag_id, facet=bogus, evidence="stale"))
        conn.execute(Posting.__table__.update().where(Posting.id == changed).values(
            text="Inpatient medical coder. Assign ICD-10-PCS codes and MS-DRGs, and answer "
                 "CDI physician queries.", content_hash="changed"))
    tagger = Tagger.load()
    assert tag_pending(engine, tagger) == 1  # only the posting whose text changed
    expected = tagger_facets(url)
    after = stored_facets(url)
    assert after[changed] == expected[changed] and {"inpatient", "cdi"} <= set(after[changed])
    assert after[stale][bogus] == "stale"  # untouched until a retag
    assert tag_pending(engine, tagger, retag=True) == len(rows)
    engine.dispose()
    assert stored_facets(url) == expected
    assert stored_facets(url)[stale] == stored[stale]


def test_feed_is_atom_of_the_same_search(client: TestClient, rows: list[Row]) -> None:
    search = {"remote": "remote", "category": "coding", "credential": "CPC"}
    response = client.get("/feeds/postings.atom", params=search)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    ns = {"a": "http://www.w3.org/2005/Atom"}
    root = ET.fromstring(response.content)
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    assert "Remote coding jobs, CPC" in (root.findtext("a:title", namespaces=ns) or "")
    entries = root.findall("a:entry", ns)
    expected = oracle(rows, search)
    assert [int(e.findtext("a:id", namespaces=ns).rsplit(":", 1)[1])  # type: ignore[union-attr]
            for e in entries] == expected
    first = entries[0]
    link = first.find("a:link[@rel='alternate']", ns)
    assert link is not None and link.get("href", "").startswith("http://testserver/postings/")
    content = first.find("a:content", ns)
    assert content is not None and content.get("type") == "html" and "<" in (content.text or "")
    self_link = root.find("a:link[@rel='self']", ns)
    assert self_link is not None and "credential=CPC" in self_link.get("href", "")
    assert client.get("/feeds/postings.atom?sort=salary").status_code == 422


def test_stats_series_from_postings(client: TestClient, rows: list[Row]) -> None:
    body = client.get("/api/stats", params={"interval": "day"}).json()
    assert body["source"] == "postings"
    canonical = [r for r in rows if r.duplicate_of is None]
    assert sum(p["new"] for p in body["series"]) == len(canonical)
    assert body["series"][-1]["active"] == sum(1 for r in canonical if r.status == "open")
    grouped = client.get("/api/stats", params={"group_by": "remote",
                                               "category": "coding"}).json()
    remote = [p for p in grouped["series"] if p["group"] == "remote"]
    assert remote and remote[-1]["active"] == len(oracle(rows, {"category": "coding",
                                                                "remote": "remote"}))
    assert client.get("/api/stats", params={"interval": "year"}).status_code == 422


def test_stats_series_from_daily_stats(tmp_path_factory: pytest.TempPathFactory) -> None:
    url = demo_store(tmp_path_factory)
    engine = create_engine(url)
    now = datetime.now(UTC)
    day = date(2026, 10, 1)
    with engine.begin() as conn:
        conn.execute(delete(DailyStat))
        for cat, remote, cred, req, active, new in [
            ("coding", "remote", "*", "*", 10, 2), ("coding", "onsite", "*", "*", 5, 1),
            ("coding", "remote", "CPC", "required", 7, 1),
            ("administration", "hybrid", "*", "*", 3, 0),
        ]:
            for shift in range(3):  # three days of October, one in November
                when = day + timedelta(days=shift) if shift < 2 else date(2026, 11, 2)
                conn.execute(insert(DailyStat).values(
                    day=when, category=cat, remote=remote, credential=cred, requirement=req,
                    active=active + shift, new=new, closed=0, updated_at=now))
    engine.dispose()
    with make_client(url) as c:
        body = c.get("/api/stats").json()
        assert body["source"] == "daily_stats"
        assert [p["period"] for p in body["series"]] == ["2026-10-01", "2026-11-01"]
        october = body["series"][0]
        assert october["active"] == (10 + 1) + (5 + 1) + (3 + 1)  # the last day of October
        assert october["new"] == 2 * (2 + 1 + 0)
        cpc = c.get("/api/stats", params={"credential": "cpc", "interval": "day"}).json()
        assert [p["active"] for p in cpc["series"]] == [7, 8, 9]
        by_cat = c.get("/api/stats", params={"group_by": "category"}).json()
        assert {p["group"] for p in by_cat["series"]} == {"coding", "administration"}


def test_search_uses_fts5_and_sort_indexes_when_they_exist(tmp_path_factory: pytest.TempPathFactory,
                                                rows: list[Row],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    url = demo_store(tmp_path_factory)
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in (*SQLITE_FTS_DDL, *SORT_INDEX_DDL):
            conn.execute(text(statement))
    engine.dispose()
    with make_client(url) as c:
        # the proposed indexes change no answer (but search, which now stems)
        for params in (p for p in SEARCHES if "q" not in p):
            assert fetch_all(c, params) == oracle(rows, params), params
        # porter stemming: "auditors" finds "auditor"; LIKE would not
        stemmed = fetch_all(c, {"q": "auditors"})
        assert set(stemmed) > set(oracle(rows, {"q": "auditors"}))
        assert set(fetch_all(c, {"q": "risk adjustment"})) == set(
            oracle(rows, {"q": "risk adjustment"}))
        # FTS5 query syntax in user input stays literal
        for hostile in ['"', "NEAR(a b", "title:coder OR", "*", "a AND NOT b", "^x"]:
            assert c.get("/api/postings", params={"q": hostile}).status_code == 200
        # words matching many postings walk the sort index instead (on this small store
        # only when told to): the same pages
        searches = [{"q": "risk adjustment"}, {"q": "coder", "sort": "salary"},
                    {"q": "auditors", "category": "coding", "remote": "remote"},
                    {"q": "coding", "include_closed": "true"}]
        fetched = [fetch_all(c, params, limit=3) for params in searches]
        from web import queries
        monkeypatch.setattr(queries, "WALK_MATCHES_FROM", 0)
        assert all(fetched)
        # ... each newest-first page first probed posting by posting among the first
        # candidates; with too few candidates to fill a page, walked against every match:
        # the same pages
        probed: list[tuple[int, bool]] = []
        probe = queries.probed_ids

        def counted(*args: Any) -> tuple[list[int], bool]:
            ids, complete = probe(*args)
            probed.append((len(ids), complete))
            return ids, complete

        monkeypatch.setattr(queries, "probed_ids", counted)
        monkeypatch.setattr(queries, "PROBE_MARGIN", 0)
        for candidates in (queries.PROBE_CANDIDATES, 2, 0):
            monkeypatch.setattr(queries, "PROBE_CANDIDATES", candidates)
            probed.clear()
            assert [fetch_all(c, params, limit=3) for params in searches] == fetched
            if candidates > 3:
                assert any(n == 4 for n, _ in probed)  # full pages found by probes
                # last pages: every candidate probed (this store has fewer), no walk after
                assert any(complete and n < 4 for n, complete in probed)
            else:
                assert all(n < 4 for n, _ in probed) and bool(probed) == bool(candidates)
                if candidates:  # (more candidates than that: the walk after the probes)
                    assert not all(complete for _, complete in probed), probed


def test_the_search_index_merges_its_segments(tmp_path_factory: pytest.TempPathFactory
                                              ) -> None:
    """Each commit adds an FTS5 segment; merge_search_index merges them level by level, a
    bounded share per call (as after each crawl), or all into one (None); no search
    changes."""
    from web.search import merge_search_index

    url = demo_store(tmp_path_factory)
    engine = create_engine(url)
    assert merge_search_index(engine) == (0, 0)  # no FTS5 table: nothing to do
    with engine.begin() as conn:
        for statement in SQLITE_FTS_DDL:
            conn.execute(text(statement))
        conn.execute(text("INSERT INTO postings_fts(postings_fts, rank) "
                          "VALUES ('automerge', 0)"))  # segments pile up, as over crawls
    with engine.connect() as conn:
        ids = list(conn.execute(text("SELECT id FROM postings ORDER BY id")).scalars())
    for i in ids[:12]:  # one segment per commit
        with engine.begin() as conn:
            conn.execute(text("UPDATE postings SET title = title || ' revised' WHERE id = :i"),
                         {"i": i})

    def found() -> list[list[int]]:
        with engine.connect() as conn:
            return [list(conn.execute(text(
                "SELECT rowid FROM postings_fts WHERE postings_fts MATCH :w ORDER BY rowid"),
                {"w": w}).scalars()) for w in ("coder", "revised", "risk adjustment")]

    before = found()
    assert all(before)
    calls = [merge_search_index(engine, pages=1)]  # bounded calls resume each other's work
    while calls[-1][1] > 4 and len(calls) < 500:
        calls.append(merge_search_index(engine, pages=1))
    assert calls[0][0] > 10 and calls[-1][1] <= 4 and len(calls) > 2
    assert found() == before
    for i in ids[:3]:
        with engine.begin() as conn:
            conn.execute(text("UPDATE postings SET title = title || ' again' WHERE id = :i"),
                         {"i": i})
    many = merge_search_index(engine, pages=None)  # all at once ('optimize')
    assert many[0] > 3 and many[1] == 1
    assert merge_search_index(engine) == (1, 1)
    assert found() == before
    engine.dispose()


def query_plans(engine: Engine) -> list[str]:
    """SQLite's EXPLAIN QUERY PLAN of every SELECT on postings (or open_listings) `engine`
    runs from now on, appended to the list returned."""
    from sqlalchemy import event

    plans: list[str] = []

    def explain(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and ("postings" in statement
                                                                 or "listings" in statement):
            plans.append("\n".join(row[3] for row in cursor.connection.execute(
                "EXPLAIN QUERY PLAN " + statement, parameters)))

    event.listen(engine, "before_cursor_execute", explain)
    return plans



def test_migration_creates_the_indexes_the_queries_are_written_for() -> None:
    """The web's index SQL and migration 0006's are the same statements (a migration is
    frozen, so it keeps its own copy): an expression that drifts stops matching the index."""
    from pipeline.db import migration_module
    from web.queries import WEB_INDEX_DDL

    module = migration_module("0006")
    assert {name: tuple(ddl) for name, ddl in module.INDEXES.items()} == WEB_INDEX_DDL


def test_first_pages_walk_the_indexes(tmp_path_factory: pytest.TempPathFactory) -> None:
    """SQLite plans of the first pages: the page's ids come from the status-led indexes in
    either order, with no sort. (Which index serves full-text matches, and how the page's
    rows are read, the planner decides by the store's size: bench/web_latency.py checks
    those at 1,000,000 postings.)"""
    from web.db import open_readonly
    from web.queries import Dialect, Filters, list_postings

    url = demo_store(tmp_path_factory)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    store = open_readonly(url)
    plans = query_plans(store.engine)
    d = Dialect("sqlite")
    with store.session() as session:
        for f, sort, index in [
                (Filters(category=("coding",), remote=("remote",)), "newest",
                 "ix_postings_status_newest"),
                (Filters(category=("coding",)), "salary", "ix_postings_status_pay"),
                (Filters(), "salary", "ix_postings_status_pay")]:
            plans.clear()
            assert list_postings(session, f, d, sort=sort).postings
            assert f"INDEX {index} (status=?)" in plans[0], plans[0]
            assert "TEMP B-TREE" not in plans[0], plans[0]
    store.engine.dispose()


def test_page_statements_are_built_once_per_search(store_url: str) -> None:
    """A page's ids query is built once per distinct search and reused (its build cost
    more than SQLite's work): the same search again reuses it, with the same answer, for
    any page size; the pages after a cursor share one of their own, the cursor's values
    bound when it runs; another value, or a posted_since window (which moves with the
    clock), builds its own."""
    from datetime import UTC, datetime

    from web import queries
    from web.api import dialect_of
    from web.db import open_readonly

    store = open_readonly(store_url)
    d = dialect_of(store)
    queries._cached_page_query.cache_clear()
    coding = queries.Filters(category=("coding",))

    def built() -> tuple[int, int]:
        info = queries._cached_page_query.cache_info()
        return info.hits, info.currsize

    with store.connection() as conn:
        first = queries.list_postings(conn, coding, d, limit=2)
        again = queries.list_postings(conn, coding, d, limit=2)
        assert [p.id for p in first.postings] == [p.id for p in again.postings]
        assert built() == (1, 1)
        other = queries.list_postings(conn, queries.Filters(category=("administration",)),
                                      d, limit=2)
        assert {p.tag.category for p in other.postings if p.tag} == {"administration"}
        assert built() == (1, 2)
        # another page size: the same statement, its own number of rows
        assert len(queries.list_postings(conn, coding, d, limit=5).postings) == 5
        assert built() == (2, 2)
        # pages after a cursor: one statement for all of them, each page its own rows
        assert first.next_cursor is not None
        second = queries.list_postings(conn, coding, d, limit=2, cursor=first.next_cursor)
        assert second.next_cursor is not None
        third = queries.list_postings(conn, coding, d, limit=2, cursor=second.next_cursor)
        assert built() == (3, 3)
        six = [p.id for p in queries.list_postings(conn, coding, d, limit=6).postings]
        assert [p.id for p in (*first.postings, *second.postings, *third.postings)] == six
        since = queries.Filters(category=("coding",), posted_since=datetime(2020, 1, 1,
                                                                            tzinfo=UTC))
        assert queries.list_postings(conn, since, d, limit=2).postings
        assert built() == (4, 3)  # (the limit=6 page above was the one hit more)
    store.close()


def test_first_pages_read_the_listings_alone(tmp_path_factory: pytest.TempPathFactory,
                                            rows: list[Row]) -> None:
    """With open_listings (migration 0007), a first page's ids come from one of its
    indexes, in order, every filter tested in the index entry: no sort, no other table
    (but FTS5 for words); with closed postings, from the same indexes of closed_listings
    (0008) too, merged; answers the oracle's."""
    from web.db import open_readonly
    from web.queries import Dialect, Filters, list_postings

    url = demo_store(tmp_path_factory)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
        conn.execute(text(SQLITE_FTS_DDL[0]))  # the demo store's FTS5 table was dropped
        conn.execute(text(SQLITE_FTS_DDL[-1]))
    engine.dispose()
    store = open_readonly(url)
    assert store.listings and store.fts
    plans = query_plans(store.engine)
    d = Dialect("sqlite", fts=True, places_indexed=True, listings=True, closed_listings=True)
    with store.session() as session:
        for f, sort, index in [
                (Filters(category=("coding",), remote=("hybrid", "onsite"), state="OH",
                         credential=("CPC", "CCS")), "newest",
                 "COVERING INDEX ix_open_listings_category_newest (category=?)"),
                (Filters(category=("coding",), facet=("audit",)), "salary",
                 "COVERING INDEX ix_open_listings_category_pay (category=?)"),
                # the typical search: one category, one remote value (0009's indexes)
                (Filters(category=("coding",), remote=("remote",), state="OH",
                         credential=("CPC",)), "newest",
                 "COVERING INDEX ix_open_listings_category_remote_newest "
                 "(category=? AND remote=?)"),
                (Filters(category=("administration",), remote=("hybrid",)), "salary",
                 "COVERING INDEX ix_open_listings_category_remote_pay "
                 "(category=? AND remote=?)"),
                (Filters(open_to="OH", credential=("CPC",), requirement="required"), "newest",
                 "COVERING INDEX ix_open_listings_newest"),
                (Filters(state="MI", salary_min=50000), "salary",
                 "COVERING INDEX ix_open_listings_pay"),
                (Filters(q="coder", remote=("remote",)), "newest",
                 "COVERING INDEX ix_open_listings_newest"),
                # with closed postings: both tables, each in its order, merged (the demo's
                # few closed postings may be sorted rather than walked)
                (Filters(category=("coding",), credential=("CPC",), include_closed=True),
                 "newest", "COVERING INDEX ix_open_listings_category_newest (category=?)"),
                (Filters(state="OH", include_closed=True), "salary",
                 "COVERING INDEX ix_open_listings_pay")]:
            plans.clear()
            page = list_postings(session, f, d, sort=sort, limit=100)
            plan = next(p for p in plans if "open_listings" in p)  # the page's ids
            assert index in plan and "postings USING" not in plan and "tags" not in plan, plan
            if f.include_closed:
                assert "MERGE (UNION ALL)" in plan and "closed_listings" in plan, plan
            else:
                assert "TEMP B-TREE" not in plan, plan
            assert page.postings, f
            if f.q:  # FTS5 stems words; the oracle matches them as written
                continue
            params = {k: v for k, v in {
                "state": f.state, "open_to": f.open_to, "sort": sort,
                "category": list(f.category), "remote": list(f.remote),
                "credential": list(f.credential), "requirement": f.requirement,
                "facet": list(f.facet), "salary_min": f.salary_min,
                "include_closed": f.include_closed}.items() if v}
            assert [p.id for p in page.postings] == oracle(rows, params)[:100], f
    store.close()


def test_listings_read_the_summary_columns_by_name() -> None:
    """queries.Listed is built from rows of SUMMARY_COLUMNS by position: its fields are
    those columns, in that order (a column added to one and not the other would shift
    every value after it)."""
    from dataclasses import fields

    from web.queries import SUMMARY_COLUMNS, Listed

    names = [f.name for f in fields(Listed)]
    assert names[:len(SUMMARY_COLUMNS)] == [c.key for c in SUMMARY_COLUMNS]
    assert names[len(SUMMARY_COLUMNS):] == ["tag", "html", "text"]


def test_state_is_tested_from_the_index_entry(tmp_path_factory: pytest.TempPathFactory,
                                              rows: list[Row]) -> None:
    """Migration 0006 puts each posting's places in the first-page indexes: the store says
    so (older stores do not), and a search by state, in either order, reads no posting row
    to find its page (SQLite: COVERING INDEX); the answers stay the oracle's."""
    from pipeline.db import migrate
    from web.db import open_readonly
    from web.queries import Dialect, Filters, list_postings

    url = demo_store(tmp_path_factory)
    store = open_readonly(url)
    assert store.places_indexed
    plans = query_plans(store.engine)
    d = Dialect("sqlite", places_indexed=True)
    with store.session() as session:
        for f, sort, index in [
                (Filters(category=("coding",), remote=("hybrid", "onsite"), state="OH"),
                 "newest", "ix_postings_status_newest"),
                (Filters(state="MI"), "salary", "ix_postings_status_pay")]:
            plans.clear()
            page = list_postings(session, f, d, sort=sort, limit=100)
            assert f"COVERING INDEX {index} (status=?)" in plans[0], plans[0]
            params = {"state": f.state, "sort": sort, "category": list(f.category),
                      "remote": list(f.remote)}
            assert [p.id for p in page.postings] == oracle(rows, params)
    store.close()
    engine = open_store(url)
    migrate(engine, "0005")
    engine.dispose()
    older = open_readonly(url)
    assert not older.places_indexed
    older.close()


def test_the_app_cannot_write(store_url: str, client: TestClient) -> None:
    store = client.app.state.open_store()  # type: ignore[attr-defined]
    with pytest.raises(Exception, match="readonly|read-only"), store.engine.begin() as conn:
        conn.execute(text("DELETE FROM postings"))
    with pytest.raises(Exception, match="readonly|read-only"), store.engine.begin() as conn:
        conn.execute(text("CREATE TABLE pwned (x int)"))
    assert client.get("/api/postings").json()["items"]


def test_cors_only_for_configured_origins(store_url: str) -> None:
    site = "https://healthcareers.example"
    with make_client(store_url, cors_origins=[site]) as c:
        allowed = c.get("/api/postings", headers={"Origin": site})
        assert allowed.headers["access-control-allow-origin"] == site
        other = c.get("/api/postings", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        preflight = c.options("/api/postings", headers={
            "Origin": site, "Access-Control-Request-Method": "GET"})
        assert preflight.status_code == 200
    with make_client(store_url) as c:
        response = c.get("/api/postings", headers={"Origin": site})
        assert "access-control-allow-origin" not in response.headers


def test_errors_do_not_leak(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from web import queries

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail /etc/passwd")

    monkeypatch.setattr(queries, "list_postings", boom)
    with TestClient(create_app(store_url), raise_server_exceptions=False) as c:
        for path in ("/api/postings", "/"):
            response = c.get(path)
            assert response.status_code == 500
            assert "secret" not in response.text and "Traceback" not in response.text
            assert "Internal error" in response.text


def test_missing_store_is_a_clear_503(tmp_path: Path) -> None:
    with TestClient(create_app(f"sqlite:///{tmp_path / 'none.db'}")) as c:
        response = c.get("/api/postings")
        assert response.status_code == 503
        assert "hcjobs demo" in response.json()["message"]


def test_requests_share_a_few_worker_threads(store_url: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The app bounds the threads its blocking work runs in (web.app.worker_threads):
    $HCJOBS_WEB_THREADS, else two per CPU; requests beyond that wait and are answered."""
    import anyio.to_thread

    from web.app import worker_threads

    monkeypatch.setenv("HCJOBS_WEB_THREADS", "3")
    assert worker_threads() == 3
    with make_client(store_url) as c:
        tokens = c.portal.call(  # type: ignore[union-attr]
            lambda: anyio.to_thread.current_default_thread_limiter().total_tokens)
        assert tokens == 3
        assert all(c.get("/api/postings", params={"limit": 1}).status_code == 200
                   for _ in range(5))
    monkeypatch.delenv("HCJOBS_WEB_THREADS")
    assert worker_threads() == 2 * (os.cpu_count() or 1)


def test_several_workers_run_one_query_thread_each(monkeypatch: pytest.MonkeyPatch) -> None:
    """`hcjobs serve --workers N` (N > 1) gives each worker one query thread, unless the
    operator set $HCJOBS_WEB_THREADS; one worker keeps the default."""
    from web.app import worker_environment

    monkeypatch.delenv("HCJOBS_WEB_THREADS", raising=False)
    assert worker_environment(1) == {}
    assert worker_environment(2) == {"HCJOBS_WEB_THREADS": "1"}
    monkeypatch.setenv("HCJOBS_WEB_THREADS", "3")
    assert worker_environment(4) == {}


def test_security_headers(client: TestClient) -> None:
    for path in ("/", "/api/postings"):
        headers = client.get(path).headers
        assert "script-src" not in headers["content-security-policy"]  # default-src 'none'
        assert "default-src 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"


def test_pages_render_filters_counts_and_evidence(client: TestClient, rows: list[Row]) -> None:
    search = {"remote": "remote", "category": "coding", "credential": "CPC",
              "requirement": "required", "q": "", "utm_source": "mail"}
    page = client.get("/", params=search)
    assert page.status_code == 200
    html = page.text
    expected = oracle(rows, {k: v for k, v in search.items() if k not in ("q", "utm_source")})
    assert f"{len(expected)} jobs" in html
    assert 'type="application/atom+xml"' in html and "/feeds/postings.atom?" in html
    for posting_id in expected[:5]:
        assert f'/postings/{posting_id}"' in html
    assert '<label for="open_to">' in html and 'id="open_to"' in html
    detail = client.get(f"/postings/{expected[0]}")
    assert detail.status_code == 200
    assert '<mark id="ev-' in detail.text and 'href="#ev-' in detail.text
    assert '<script type="application/ld+json">' in detail.text
    bad = client.get("/?salary_min=lots")
    assert bad.status_code == 422 and "salary_min" in bad.text and "<h1>" in bad.text


def test_browse_pages_follow_cursor(client: TestClient, rows: list[Row]) -> None:
    first = client.get("/", params={"limit": 5, "sort": "salary"})
    next_link = re.search(r'<a href="([^"]+)" rel="next">', first.text)
    assert next_link
    second = client.get(next_link.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    expected = oracle(rows, {"sort": "salary"})
    assert f'/postings/{expected[5]}"' in second.text
    assert f'/postings/{expected[0]}"' not in second.text


# --- PostgreSQL ---------------------------------------------------------------------------

PG_EMPLOYERS = ("meridian-revenue", "riverbend-health", "lakeshore-health", "northgate-chc",
                "apex-clinical-staffing")


@pytest.fixture(scope="module")
def pg_store(pg_admin: Engine) -> Iterator[str]:
    """A PostgreSQL store of part of the demo board, built once for this module."""
    name = f"hcjobs_web_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = pg_admin.url.set(database=name).render_as_string(hide_password=False)
    board = load_board()
    board = {**board, "employers": [e for e in board["employers"]
                                    if e["slug"] in PG_EMPLOYERS]}
    try:
        build_store(url, board)
        engine = create_engine(url)  # search on the fly first; a later test adds the vector
        with engine.begin() as conn:
            for statement in PG_FTS_DROP:
                conn.execute(text(statement))
        engine.dispose()
        yield url
    finally:
        with pg_admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def pg_client(pg_store: str) -> Iterator[TestClient]:
    with make_client(pg_store) as c:
        yield c


PG_SEARCHES: list[dict[str, Any]] = [
    {}, {"open_to": "OH"}, {"open_to": "MI"}, {"open_to": "CA"}, {"state": "OH"},
    {"credential": "CPC"}, {"credential": ["CCS", "CIC"], "credential_match": "all"},
    {"credential": "RHIA", "requirement": "preferred"}, {"requirement": "required"},
    {"facet": "inpatient"}, {"facet": ["executive", "revenue cycle"]},
    {"posted_since": "2026-10-15"}, {"salary_min": 100000, "sort": "salary"},
    {"include_closed": "true", "remote": "remote", "category": "coding"},
    {"credential": "CCS", "requirement": "required", "open_to": "OH"},
    {"employer": "LAKESHORE HEALTH"},
]


@pytest.mark.parametrize("params", PG_SEARCHES, ids=lambda p: "&".join(
    f"{k}={v}" for k, v in p.items()) or "all")
def test_postgresql_filters_match_the_oracle(pg_client: TestClient, pg_store: str,
                                             tables: str, params: dict[str, Any]) -> None:
    assert fetch_all(pg_client, params, limit=4) == oracle(load_rows_cached(pg_store), params)


_ROWS: dict[str, list[Row]] = {}


def load_rows_cached(url: str) -> list[Row]:
    if url not in _ROWS:
        _ROWS[url] = load_rows(url)
    return _ROWS[url]


def test_postgresql_full_text_search_on_the_fly(pg_client: TestClient, pg_store: str) -> None:
    """No stored vector, no index: to_tsvector runs per row, and English stemming
    applies."""
    rows = load_rows_cached(pg_store)
    engine = create_engine(pg_store)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pg_indexes WHERE indexname LIKE "
                                 "'ix_postings_%%fts%%' OR indexname LIKE "
                                 "'%%search_vector'")).scalar() == 0
        assert "search_vector" not in {c["name"] for c in inspect(conn).get_columns("postings")}
    engine.dispose()
    auditors = fetch_all(pg_client, {"q": "auditors"})
    assert set(auditors) >= set(oracle(rows, {"q": "auditor"})) - {None}
    assert auditors and set(auditors) != set(oracle(rows, {"q": "auditors"}))
    assert set(fetch_all(pg_client, {"q": "inpatient coding"})) <= set(
        oracle(rows, {"q": "inpatient"}))
    for hostile in ["'", "a & b | !c", "<->", "x:*", "\\", "(("]:
        assert pg_client.get("/api/postings", params={"q": hostile}).status_code == 200


def test_postgresql_app_cannot_write(pg_client: TestClient) -> None:
    store = pg_client.app.state.open_store()  # type: ignore[attr-defined]
    with pytest.raises(Exception, match="read-only transaction"), \
            store.engine.begin() as conn:
        conn.execute(text("DELETE FROM postings"))
    assert pg_client.get("/api/postings").status_code == 200


@pytest.mark.parametrize("search", [{"open_to": "OH"}, {"q": "inpatient", "remote": "onsite"},
                                    {"include_closed": "true", "credential": "CPC"}],
                         ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()))
def test_postgresql_facet_counts(pg_client: TestClient, pg_store: str, tables: str,
                                 search: dict[str, Any]) -> None:
    assert_counts_agree(pg_client, load_rows_cached(pg_store), search)


def test_postgresql_stats(pg_client: TestClient, pg_store: str) -> None:
    rows = load_rows_cached(pg_store)
    stats = pg_client.get("/api/stats", params={"interval": "week"}).json()
    assert sum(p["new"] for p in stats["series"]) == sum(1 for r in rows
                                                         if r.duplicate_of is None)


def test_postgresql_with_the_proposed_indexes(pg_client: TestClient, pg_store: str) -> None:
    """Last of the module: add the migrations' stored tsvector and indexes; answers stay
    the same, and a search tests the stored vector, which the planner can find through
    its GIN index."""
    engine = create_engine(pg_store)
    with engine.begin() as conn:
        for statement in (*PG_FTS_DDL, *SORT_INDEX_DDL):
            conn.execute(text(statement))
        conn.execute(text("ANALYZE"))
        conn.execute(text("SET enable_seqscan = off"))
        condition = search_condition("coder", "postgresql", True)
        assert condition is not None
        query = select(Posting.id).where(condition)
        plan = "\n".join(row[0] for row in conn.execute(text("EXPLAIN " + str(query.compile(
            dialect=engine.dialect, compile_kwargs={"literal_binds": True})))))
    engine.dispose()
    assert "ix_postings_search_vector" in plan, plan
    rows = load_rows_cached(pg_store)
    with make_client(pg_store) as stored:  # (a new app: it sees the stored vector)
        for params in [*PG_SEARCHES, {"q": "inpatient"},
                       {"q": "risk adjustment", "sort": "salary"}]:
            got = fetch_all(stored, params, limit=4)
            assert got == fetch_all(pg_client, params, limit=4), params
            if "q" in params:  # stemming finds at least what plain matching finds
                assert set(got) >= set(oracle(rows, params)), params
            else:
                assert got == oracle(rows, params), params


def test_serve_with_workers(store_url: str, rows: list[Row]) -> None:
    """`hcjobs serve --workers 2`: the store URL and CORS origin reach both worker processes
    (they build the app from the environment), and SIGTERM stops them all."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "serve", "--db", store_url, "--port", str(port),
         "--workers", "2", "--cors-origin", "https://jobs.example.org"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={k: v for k, v in os.environ.items() if k != "HCJOBS_DATABASE_URL"})
    try:
        deadline, answers = time.monotonic() + 60, []
        while time.monotonic() < deadline and len(answers) < 40:
            try:
                answers.append(httpx.get(
                    f"http://127.0.0.1:{port}/api/postings?limit=1",
                    headers={"Origin": "https://jobs.example.org"}, timeout=5))
            except httpx.TransportError:
                time.sleep(0.2)
        assert len(answers) == 40, proc.stderr.read() if proc.poll() is not None else ""
        assert all(a.status_code == 200 for a in answers)
        assert {a.json()["items"][0]["id"] for a in answers} == {oracle(rows, {})[0]}
        assert all(a.headers.get("access-control-allow-origin") == "https://jobs.example.org"
                   for a in answers)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) is not None


@pytest.mark.parametrize("narrow", [True, False])
def test_state_tested_before_or_after_the_tag_same_answers(
        client: TestClient, rows: list[Row], monkeypatch: pytest.MonkeyPatch,
        narrow: bool) -> None:
    """SQLite defers the state test past the tag's look-ups when the tag filters are
    narrow and the sort indexes do not carry the places (queries.after_tag): whichever way
    a search goes, the same postings, in order, with or without a tag."""
    from dataclasses import replace

    from web import api, queries
    monkeypatch.setattr(queries, "narrow_tag", lambda f: narrow)
    # (statements built now, not the cached ones built before the patch)
    monkeypatch.setattr(queries, "_cached_page_query", queries._page_query)
    dialect_of = api.dialect_of  # this store has migration 0006: pretend it has not
    monkeypatch.setattr(api, "dialect_of", lambda store: replace(
        dialect_of(store), places_indexed=False, listings=False))
    found = []
    for params in [{"state": "OH"}, {"state": "MI", "category": "coding"},
                   {"state": "OH", "remote": ["hybrid", "onsite"], "category": "coding",
                    "credential": ["CPC", "CCS"]},
                   {"state": "OH", "remote": ["onsite", "hybrid"], "sort": "salary"},
                   {"state": "MI", "credential": "CPC", "requirement": "required",
                    "include_closed": "true"},
                   {"state": "OH", "facet": "inpatient", "remote": "onsite"}]:
        found.append(len(oracle(rows, params)))
        assert fetch_all(client, params, limit=3) == oracle(rows, params), params
        search = {k: v for k, v in params.items() if k != "sort"}
        counts = client.get("/api/facets", params=search)
        assert counts.status_code == 200, counts.text
        assert counts.json()["total"] == len(oracle(rows, search)), params
    assert all(found), found  # not empty answers

