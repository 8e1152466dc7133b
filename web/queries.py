"""Every filter, sort and count the API, the pages and the feed run: one place per filter.

A filter is a function from the validated Filters to SQL conditions over
`postings LEFT JOIN tags`. Facet counts build on `select_postings()`; a page of open
postings (the list, the feed) is picked from `open_listings` when the store has it, by the
same filters written over its columns (FILTERS and LISTING_FILTERS side by side, held to
one oracle by the tests), so a result list, its counts and its feed agree. Only canonical
postings are shown (duplicate_of IS NULL); closed ones only when asked. All values reach
the database as bound parameters; the few dialect differences (JSON lookups, full-text
search, dates) are spelled out here.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Connection,
    Float,
    Integer,
    Select,
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    desc,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Session, load_only, selectinload

from pipeline.models import (
    ClosedListing,
    CredentialTag,
    FacetTag,
    Listing,
    OpenListing,
    Posting,
    Tag,
)
from web.db import StoreUnavailable
from web.search import fts_hits, fts_probe, search_condition, terms
from web.vocab import (
    CATEGORIES,
    FACETS,
    POSTED_WINDOWS,
    REMOTE_KINDS,
    REQUIREMENTS,
    SALARY_STEPS,
    STATES,
)

DEFAULT_LIMIT, MAX_LIMIT = 20, 100
TOP_STATES, TOP_EMPLOYERS, TOP_CREDENTIALS = 60, 30, 40
NO_SALARY = -1.0


@dataclass(frozen=True)
class Filters:
    """A validated search: empty fields filter nothing. Within a field values are any-of
    (credential_match="all" makes credentials all-of); across fields all must hold."""

    category: tuple[str, ...] = ()
    remote: tuple[str, ...] = ()
    credential: tuple[str, ...] = ()
    requirement: str | None = None
    credential_match: str = "any"
    open_to: str | None = None
    state: str | None = None
    employer: str | None = None
    facet: tuple[str, ...] = ()
    salary_min: int | None = None
    posted_since: datetime | None = None
    q: str | None = None
    include_closed: bool = False


@dataclass(frozen=True)
class Dialect:
    """What a query needs to know about the store: its SQL dialect and full-text index."""

    name: str
    fts: bool = False
    facets: bool = True
    """The store keeps the tagger's facets (table facet_tags, migration 0005)."""
    places_indexed: bool = False
    """The first-page indexes carry `state` and `locations` (migration 0006): a state is
    then tested from the index entry, before the tag's look-ups (see `after_tag`)."""
    listings: bool = False
    """The store keeps `open_listings` (migration 0007): searches of open postings pick
    their page there (see `listing_conditions`)."""
    closed_listings: bool = False
    """The store keeps `closed_listings` too (migration 0008): searches with closed
    postings, and the closed count, read them."""
    walk_matches: bool = False
    """SQLite FTS5, for one search whose words match many postings: walk the sort index and
    test each posting against the matches, instead of sorting every match (list_postings
    decides, see `common_words`)."""


class CursorError(ValueError):
    """A cursor that this server did not hand out (or for another sort)."""


# --- sort keys --------------------------------------------------------------------------

def posted_key() -> ColumnElement[datetime]:
    """When a posting went up: the employer's date, else when we first saw it."""
    return func.coalesce(Posting.posted_at, Posting.first_seen)


def annual_pay() -> ColumnElement[float]:
    """The most a posting pays per year (the top of its range), NULL when it states none."""
    return func.coalesce(Posting.salary_annual_max, Posting.salary_annual_min)


def sort_key(sort: str) -> ColumnElement[Any]:
    """The ORDER BY key of a sort, spelled exactly as in SORT_INDEX_DDL so both databases
    can walk those indexes (hence the -1.0 as a literal, not a bound parameter)."""
    if sort == "salary":
        return func.coalesce(Posting.salary_annual_max, Posting.salary_annual_min,
                             literal_column(repr(NO_SALARY), Float))
    return posted_key()


# Indexes for the hot paths (SQLite and PostgreSQL alike; expressions identical to sort_key
# and _employer): postings read in either sort order, stopping after one page. status and
# duplicate_of ride along so SQLite skips closed postings and duplicates in the index,
# without reading their (large) rows. A migration adds them; without them every page sorts
# all matching rows.
SORT_INDEX_DDL = (
    "CREATE INDEX IF NOT EXISTS ix_postings_newest ON postings "
    "((coalesce(posted_at, first_seen)), id, status, duplicate_of)",
    "CREATE INDEX IF NOT EXISTS ix_postings_pay ON postings "
    "((coalesce(salary_annual_max, salary_annual_min, -1.0)), id, status, duplicate_of)",
    "CREATE INDEX IF NOT EXISTS ix_postings_employer ON postings ((lower(company)))",
)
SORT_INDEX_DROP = ("DROP INDEX IF EXISTS ix_postings_employer",
                   "DROP INDEX IF EXISTS ix_postings_pay",
                   "DROP INDEX IF EXISTS ix_postings_newest")
# Open postings only (the default search), newest or best paid first: status leads, so
# the scan starts at the open ones and stops after a page, whatever the other filters (on
# tags and credentials) skip. The raw columns of the sort key ride along because neither
# database counts an index on an expression as covering it (PostgreSQL then reads the heap
# for every posting it passes); so do `state` and `locations`, so a search by state
# (`state`, `open_to`) tests each posting from the index entry instead of reading
# `locations` past the large description (SQLite: off overflow pages; PostgreSQL takes
# them as INCLUDE columns, `json` having no btree ordering). Migration 0006 creates them
# (0005 created them without the places); a test keeps that SQL and this identical.
_NEWEST = ("ix_postings_status_newest ON postings "
           "(status, (coalesce(posted_at, first_seen)), id, duplicate_of, posted_at, first_seen")
_PAY = ("ix_postings_status_pay ON postings "
        "(status, (coalesce(salary_annual_max, salary_annual_min, -1.0)), id, duplicate_of, "
        "salary_annual_max, salary_annual_min")
WEB_INDEX_DDL = {
    "sqlite": (f"CREATE INDEX IF NOT EXISTS {_NEWEST}, state, locations)",
               f"CREATE INDEX IF NOT EXISTS {_PAY}, state, locations)"),
    "postgresql": (f"CREATE INDEX IF NOT EXISTS {_NEWEST}) INCLUDE (state, locations)",
                   f"CREATE INDEX IF NOT EXISTS {_PAY}) INCLUDE (state, locations)"),
}


def key_of(posting: Posting | Listed, sort: str) -> Any:
    """The sort key of a loaded posting: the same value `sort_key` computes in SQL."""
    if sort == "salary":
        for value in (posting.salary_annual_max, posting.salary_annual_min):
            if value is not None:
                return float(value)
        return NO_SALARY
    return posting.posted_at or posting.first_seen


def encode_cursor(sort: str, key: Any, posting_id: int) -> str:
    """An opaque cursor: where the next page starts in (sort key, id) order."""
    value = key.isoformat() if isinstance(key, datetime) else key
    raw = json.dumps([sort, value, posting_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    """(sort key, id) from a cursor; CursorError when it is not one of ours for `sort`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        got_sort, value, posting_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise CursorError("cursor is not valid: use next_cursor from a previous page") from exc
    if got_sort != sort:
        raise CursorError(f"cursor belongs to sort={got_sort!r}, not sort={sort!r}")
    if not isinstance(posting_id, int) or isinstance(posting_id, bool) \
            or not -2**63 <= posting_id < 2**63:
        raise CursorError("cursor is not valid: use next_cursor from a previous page")
    if sort == "salary":
        if not isinstance(value, int | float) or isinstance(value, bool) \
                or not math.isfinite(value):
            raise CursorError("cursor is not valid: use next_cursor from a previous page")
        return float(value), posting_id
    try:
        when = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise CursorError("cursor is not valid: use next_cursor from a previous page") from exc
    return (when if when.tzinfo else when.replace(tzinfo=UTC)), posting_id


# --- dialect-aware JSON and regex lookups -------------------------------------------------

def json_list_has(column: Any, value: str, dialect: Dialect) -> ColumnElement[bool]:
    """The JSON list in `column` contains the string `value`."""
    if dialect.name == "postgresql":
        return cast(column, JSONB).contains([value])
    items = func.json_each(column).table_valued("value")
    return exists(select(1).select_from(items).where(items.c.value == value))


def json_list_empty(column: Any, dialect: Dialect) -> ColumnElement[bool]:
    """The JSON list in `column` is empty or missing."""
    if dialect.name == "postgresql":
        return func.coalesce(func.jsonb_array_length(cast(column, JSONB)), 0) == 0
    return func.coalesce(func.json_array_length(column), 0) == 0


def places_have_state(state: str, dialect: Dialect) -> ColumnElement[bool]:
    """One of the places a posting names (`locations`: [{city, state, ...}]) is in `state`.

    The JSON text must contain the code at all before it is parsed (SQLite: json_each;
    PostgreSQL: the cast to jsonb): most postings do not, and parsing every one of them was
    most of a state search's time (PostgreSQL: nine tenths of the typical search)."""
    if dialect.name == "postgresql":
        return and_(func.strpos(cast(Posting.locations, Text), state) > 0,
                    cast(Posting.locations, JSONB).contains([{"state": state}]))
    items = func.json_each(Posting.locations).table_valued("value")
    return and_(func.instr(Posting.locations, state) > 0,
                exists(select(1).select_from(items)
                       .where(func.json_extract(items.c.value, "$.state") == state)))


def facet_condition(names: Sequence[str], d: Dialect) -> ColumnElement[bool]:
    """The posting's tag has one of the facets `names`, as the tagger stored them (the
    tagger only gives a posting the facets of its own category)."""
    if not d.facets:
        raise StoreUnavailable("this store keeps no facets yet: upgrade it (any hcjobs "
                               "command that writes, such as `hcjobs crawl`, migrates it)")
    return exists(select(1).select_from(FacetTag)
                  .where(FacetTag.tag_id == Tag.id, FacetTag.facet.in_(names)))


# --- the filters --------------------------------------------------------------------------

Condition = ColumnElement[bool]


def _category(f: Filters, d: Dialect) -> list[Condition]:
    return [Tag.category.in_(f.category)] if f.category else []


def _remote(f: Filters, d: Dialect) -> list[Condition]:
    return [Tag.remote.in_(f.remote)] if f.remote else []


def _credential_row(codes: Sequence[str], requirement: str | None) -> Condition:
    """The posting's tag has a credential row with one of `codes` and the requirement."""
    where = [CredentialTag.tag_id == Tag.id]
    if codes:
        where.append(CredentialTag.code.in_(codes))
    if requirement:
        where.append(CredentialTag.requirement == requirement)
    return exists(select(1).select_from(CredentialTag).where(*where))


def _credential(f: Filters, d: Dialect) -> list[Condition]:
    if not f.credential:
        return [_credential_row((), f.requirement)] if f.requirement else []
    if f.credential_match == "all":
        return [_credential_row((code,), f.requirement) for code in f.credential]
    return [_credential_row(f.credential, f.requirement)]


def _open_to(f: Filters, d: Dialect) -> list[Condition]:
    """Remote jobs a resident of the state may take (no state limit stated, or the state is
    named) plus non-remote jobs located in the state. A remote job's own office address
    says nothing about who may apply, so remote jobs are judged by remote_states alone."""
    if not f.open_to:
        return []
    remote_ok = and_(Tag.remote == "remote",
                     or_(Posting.country.is_(None), Posting.country == "US"),
                     or_(json_list_empty(Tag.remote_states, d),
                         json_list_has(Tag.remote_states, f.open_to, d)))
    located = and_(or_(Tag.remote.is_(None), Tag.remote != "remote"),
                   or_(Posting.state == f.open_to, places_have_state(f.open_to, d)))
    return [or_(remote_ok, located)]


def _state(f: Filters, d: Dialect) -> list[Condition]:
    if not f.state:
        return []
    return [after_tag(or_(Posting.state == f.state, places_have_state(f.state, d)), f, d)]


def narrow_tag(f: Filters) -> bool:
    """`f` filters on the posting's tag about as narrowly as a category does or more
    (postings without a tag, or whose tag fails, never match): a category (one look-up
    in ix_tags_facets passes about a third of the postings), or two of remote, credentials
    and facets. One of those alone passes too many postings, or costs a second look-up
    (credentials, facets), for testing it first to pay (measured at 1M postings)."""
    others = (f.remote, f.credential or f.requirement, f.facet)
    return bool(f.category) or sum(1 for x in others if x) >= 2


def after_tag(condition: Condition, f: Filters, d: Dialect) -> Condition:
    """SQLite: test `condition` (on the posting's row) only once the posting's tag has
    passed the filters on it.

    SQLite tests a condition as soon as the tables it names are at hand: one on postings
    alone right where the sort index yields the posting, which means reading the row (and
    for a state, the `locations` stored past the large description, on overflow pages),
    before the tag's cheap index look-ups skip nearly all of them. Naming the tag in the
    condition defers it to after them: `CASE WHEN tags.id IS NULL THEN c ELSE c END` is `c`
    whatever the tag (a top-level AND would be split back into its parts). At 1M postings
    this cuts the typical search (category, remote, credential and state) by a third, and a
    category and state by pay by half. Only when the tag filters are narrow (`narrow_tag`)
    and the sort indexes do not carry the places (`Dialect.places_indexed`: then the state
    costs less than the tag's look-up and goes first; at 1M postings the typical search
    took a tenth of the time it takes deferred); PostgreSQL plans alone."""
    if d.name != "sqlite" or d.places_indexed or not narrow_tag(f):
        return condition
    return case((Tag.id.is_(None), condition), else_=condition)


def _employer(f: Filters, d: Dialect) -> list[Condition]:
    """Case-insensitive as the database folds case (SQLite: ASCII letters only), both sides
    alike, so that a name the counts offer always lists its postings."""
    return [func.lower(Posting.company) == func.lower(f.employer)] if f.employer else []


def _facet(f: Filters, d: Dialect) -> list[Condition]:
    return [facet_condition(f.facet, d)] if f.facet else []


def _salary(f: Filters, d: Dialect) -> list[Condition]:
    """Pay reaches `salary_min` a year (top of the range). Amounts are USD: postings that
    state pay in another currency are left out rather than compared as if they were."""
    if f.salary_min is None:
        return []
    return [annual_pay() >= f.salary_min,
            or_(Posting.salary_currency.is_(None), Posting.salary_currency == "USD")]


def _posted(f: Filters, d: Dialect) -> list[Condition]:
    return [posted_key() >= f.posted_since] if f.posted_since else []


def _search(f: Filters, d: Dialect) -> list[Condition]:
    if not f.q:
        return []
    condition = search_condition(f.q, d.name, d.fts, walk=d.walk_matches)
    return [condition] if condition is not None else []


def _status(f: Filters, d: Dialect) -> list[Condition]:
    return [] if f.include_closed else [Posting.status == "open"]


# the order conditions are written in: cheap column tests first, look-ups in other tables last
# (SQLite tests the conditions of one table in this order; a state reads the posting's
# `locations`, often off overflow pages, so it comes after a credential's index look-up)
FILTERS: dict[str, Callable[[Filters, Dialect], list[Condition]]] = {
    "include_closed": _status, "category": _category, "remote": _remote,
    "salary_min": _salary, "posted_since": _posted, "employer": _employer,
    "credential": _credential, "state": _state, "open_to": _open_to, "q": _search,
    "facet": _facet,
}


def canonical(d: Dialect) -> Condition:
    """Not a duplicate. SQLite has no statistics on NULLs and would take `duplicate_of IS
    NULL` as selective (it matches nine rows in ten) and read the duplicate_of index;
    `duplicate_of + 0` keeps it on the sort indexes, which check it from the index entry.
    PostgreSQL knows better by itself."""
    if d.name == "sqlite":
        return (Posting.duplicate_of + 0).is_(None)
    return Posting.duplicate_of.is_(None)


def conditions(f: Filters, d: Dialect, skip: str | None = None) -> list[Condition]:
    """All conditions of `f` (but the one named `skip`, for its own facet counts)."""
    out: list[Condition] = [canonical(d)]
    for name, build in FILTERS.items():
        if name != skip:
            out.extend(build(f, d))
    return out


def select_postings(f: Filters, d: Dialect, *columns: Any, skip: str | None = None
                    ) -> Select[Any]:
    """SELECT `columns` FROM postings LEFT JOIN tags WHERE every condition of `f` (but
    the one named `skip`)."""
    return (select(*columns).select_from(Posting).outerjoin(Tag, Tag.posting_id == Posting.id)
            .where(*conditions(f, d, skip)))


# --- the same filters on open_listings -------------------------------------------------------
# Each filter of FILTERS as the open listings hold it (pipeline.models.OpenListing): one
# narrow row per open canonical posting, lists packed as "|A|B|" text, so every test is a
# column comparison or a substring search within the index entry. Same meaning, row for
# row (the API tests run every filter through both and compare with an oracle).


def packed_has(column: Any, part: str, d: Dialect) -> ColumnElement[bool]:
    """The packed list in `column` holds `part` ("|OH|"; or "|CPC:" for any requirement)."""
    find = func.strpos if d.name == "postgresql" else func.instr
    return find(column, part) > 0


def _l_category(f: Filters, d: Dialect, t: type[Listing]) -> list[Condition]:
    return [t.category.in_(f.category)] if f.category else []


def _l_remote(f: Filters, d: Dialect, t: type[Listing]) -> list[Condition]:
    return [t.remote.in_(f.remote)] if f.remote else []


def _l_credential(f: Filters, d: Dialect, t: type[Listing]) -> list[Condition]:
    def asks(code: str) -> Condition:
        return packed_has(t.credentials, f"|{code}:{f.requirement}|" if f.requirement
                          else f"|{code}:", d)

    if not f.credential:
        return [packed_has(t.credentials, f":{f.requirement}|", d)] if f.requirement else []
    if f.credential_match == "all":
        return [asks(code) for code in f.credential]
    return [or_(*(asks(code) for code in f.credential))]


def _l_open_to(f: Filters, d: Dialect, t: type[Listing]) -> list[Condition]:
    """As `_open_to`: remote jobs judged by remote_states alone, others by their places."""
    if not f.open_to:
        return []
    state = f"|{f.open_to}|"
    remote_ok = and_(t.remote == "remote", or_(t.country.is_(None), t.country == "US"),
                     or_(t.remote_states.is_(None), packed_has(t.remote_states, state, d)))
    located = and_(or_(t.remote.is_(None), t.remote != "remote"),
                   packed_has(t.states, state, d))
    return [or_(remote_ok, located)]


def _l_state(f: Filters, d: Dialect, t: type[Listing]) -> list[Condition]:
    return [packed_has(t.states, f"|{f.state}|", d)] if f.state else []


def _l_employer(f: Filters, d: Dialect, t: type[Listing]) -> list[Condition]:
    return [t.employer == func.lower(f.employer)] if f.employer else []


def _l_facet(f: Filters, d: Dialect, t: type[Listing]) -> list[Condition]:
    if not f.facet:
        return []
    return [or_(*(packed_has(t.facets, f"|{name}|", d) for name in f.facet))]


def _l_salary(f: Filters, d: Dialect, t: type[Listing]) -> list[Condition]:
    """As `_salary` (`pay` is -1 where no pay is stated, and salary_min is never negative)."""
    if f.salary_min is None:
        return []
    return [t.pay >= f.salary_min, or_(t.currency.is_(None), t.currency == "USD")]


def _l_posted(f: Filters, d: Dialect, t: type[Listing]) -> list[Condition]:
    return [t.newest >= f.posted_since] if f.posted_since else []


def words_in_postings(f: Filters, d: Dialect) -> bool:
    """A full-text search tests the posting's own columns (PostgreSQL's tsvector, LIKE
    where SQLite has no FTS5 table); SQLite FTS5 matches ids, which the listings have."""
    return bool(f.q) and not (d.name == "sqlite" and d.fts)


def _l_search(f: Filters, d: Dialect, t: type[Listing]) -> list[Condition]:
    if not f.q:
        return []
    condition = search_condition(f.q, d.name, d.fts, walk=d.walk_matches,
                                 posting_id=Posting.id if words_in_postings(f, d)
                                 else t.posting_id)
    return [condition] if condition is not None else []


LISTING_FILTERS: dict[str, Callable[[Filters, Dialect, type[Listing]], list[Condition]]] = {
    "include_closed": lambda f, d, t: [], "category": _l_category, "remote": _l_remote,
    "salary_min": _l_salary, "posted_since": _l_posted, "employer": _l_employer,
    "credential": _l_credential, "state": _l_state, "open_to": _l_open_to, "q": _l_search,
    "facet": _l_facet,
}
assert LISTING_FILTERS.keys() == FILTERS.keys()


def use_listings(f: Filters, d: Dialect, sort: str = "newest") -> bool:
    """The store's listings hold the postings `f` asks for: the open ones, and the closed
    ones when the store keeps them too (migration 0008). But not a PostgreSQL full-text
    search by pay, which collects every match from the GIN index and sorts them
    (`_page_order`): joined to open_listings that is one more look-up per match (at 1M
    postings 0.7 s instead of 0.27 s for a common word)."""
    if f.q and d.name == "postgresql" and sort == "salary":
        return False
    return d.listings and (not f.include_closed or d.closed_listings)


def listed_tables(f: Filters) -> tuple[type[Listing], ...]:
    """The listings a search reads (see `use_listings`)."""
    return (OpenListing, ClosedListing) if f.include_closed else (OpenListing,)


def listing_conditions(f: Filters, d: Dialect, t: type[Listing] = OpenListing,
                       skip: str | None = None) -> list[Condition]:
    """All conditions of `f` on the listings `t` (but the one named `skip`; and `q` maybe
    on postings: see `select_listed`)."""
    return [c for name, build in LISTING_FILTERS.items() if name != skip
            for c in build(f, d, t)]


def select_listed(f: Filters, d: Dialect, *columns: Any, t: type[Listing] = OpenListing,
                  skip: str | None = None) -> Select[Any]:
    """SELECT `columns` FROM the listings `t` WHERE every condition of `f` (but the one
    named `skip`); joined to postings only when the search's words are tested there
    (`words_in_postings`)."""
    stmt = select(*columns).select_from(t)
    if words_in_postings(f, d):
        stmt = stmt.join(Posting, Posting.id == t.posting_id)
    return stmt.where(*listing_conditions(f, d, t, skip))


# A search whose words match more postings than this (SQLite FTS5) walks the sort index
# and stops after a page; one matching fewer fetches and sorts its matches. Either costs a
# few ms at 1M postings around this size: the walk grows with how rare the words are, the
# sort with how common.
WALK_MATCHES_FROM = 2000


# Words held by many of the newest postings (see common_words): a newest-first page is
# first looked for posting by posting (search.fts_probe) among the first this many postings
# the other filters pass, in order (probed_ids). When that finds no full page, the search
# walks the sort index against every match (collected in memory), as it would without
# this: the probes then cost at most PROBE_CANDIDATES look-ups (~15-30 us each once the
# index is merged: search.merge_search_index). At 1M postings: "coder" (a third of the
# postings) 47 -> 5 ms, "remote" (half) 71 -> 5 ms, "risk adjustment" (8%) 20 -> 10 ms.
PROBE_CANDIDATES = 500
PROBE_MARGIN = 1.5
"""Probes are tried when the words' density (common_words) promises this many pages among
PROBE_CANDIDATES postings: at 1M postings "python" (3% of the newest) would waste 500
look-ups before walking."""


def probed_ids(conn: Connection, f: Filters, key: ColumnElement[Any],
               posting_id: ColumnElement[int], others: Select[Any], limit: int,
               cursor: dict[str, Any] | None = None) -> tuple[list[int], bool]:
    """The page's ids (limit + 1 at most) among the first PROBE_CANDIDATES postings of
    `others` (the search's walk down its sort index, every filter but the words), each
    tested for the words with its own look-up (search.fts_probe), tested last. The walk is
    bounded by the last candidate's sort key (found first, from the index alone), so it
    stops at a full page or at that bound, without sorting. (`cursor`: the values of
    `others`' cursor parameters, see _past.)

    And whether those ids are the whole answer: so when no more than PROBE_CANDIDATES
    postings pass the other filters (every one was probed), however few match. A sparse
    search (coding, hybrid, CRC, in TX, "audit": none of 17,000 listings) then costs one
    walk of its index instead of also collecting every match of the words for a second
    (1M postings: 38 -> 7 ms)."""
    probe = fts_probe(f.q or "", posting_id)
    if probe is None:
        return [], False
    edge = conn.execute(others.with_only_columns(key, posting_id)
                        .offset(PROBE_CANDIDATES - 1).limit(1), cursor).first()
    stmt = others
    if edge is not None:  # (else fewer candidates than that: the walk reads them all)
        stmt = stmt.where(tuple_(key, posting_id) >= tuple_(literal(edge[0], key.type),
                                                            literal(edge[1])))
    ids = list(conn.execute(stmt.where(probe).limit(limit + 1), cursor).scalars())
    return ids, edge is None


def common_words(db: Session | Connection, f: Filters, d: Dialect) -> float:
    """For a search whose words match more than WALK_MATCHES_FROM postings (SQLite FTS5
    only), how densely they occur among the newest postings: the share of the postings since
    the oldest of its newest WALK_MATCHES_FROM + 1 matches that match (what PROBE_MARGIN
    weighs); else 0.0. Counting stops there, so this costs at most a ms or two."""
    if not (f.q and d.name == "sqlite" and d.fts):
        return 0.0
    hits = fts_hits(f.q, limit=WALK_MATCHES_FROM + 1)
    if hits is None:
        return 0.0
    count, oldest = db.execute(select(func.count(), func.min(hits.c.id))).one()
    if count <= WALK_MATCHES_FROM:
        return 0.0
    newest = db.scalar(select(func.max(Posting.id))) or oldest
    return float(count) / max(1, newest - oldest + 1)


# --- listing ------------------------------------------------------------------------------

# the columns the web reads: never the whole row (raw payloads are large, and a store one
# migration behind the models still serves as long as these exist). A posting's page loads
# them into ORM objects, where others raise when touched (raiseload) instead of costing one
# query per posting; listings read them into `Listed` (same names, same order: a test
# checks). The tests touch them all.
SUMMARY_COLUMNS = (
    Posting.id, Posting.url, Posting.title, Posting.company, Posting.location, Posting.city,
    Posting.state, Posting.country, Posting.locations, Posting.employment_type, Posting.posted_at,
    Posting.valid_through, Posting.salary_min, Posting.salary_max, Posting.salary_currency,
    Posting.salary_period, Posting.salary_annual_min, Posting.salary_annual_max,
    Posting.first_seen, Posting.last_seen, Posting.status, Posting.closed_at,
    Posting.duplicate_of,
)
TAG_COLUMNS = (Tag.id, Tag.posting_id, Tag.category, Tag.category_scores, Tag.remote,
               Tag.remote_confidence, Tag.remote_evidence, Tag.remote_states, Tag.model_version,
               Tag.tagged_at)
CREDENTIAL_COLUMNS = (CredentialTag.id, CredentialTag.tag_id, CredentialTag.code,
                      CredentialTag.requirement, CredentialTag.evidence)
FACET_COLUMNS = (FacetTag.id, FacetTag.tag_id, FacetTag.facet, FacetTag.evidence)


@dataclass(slots=True)
class ListedCredential:
    """What a listing shows of a credential the posting asks for."""

    code: str
    requirement: str


@dataclass(slots=True)
class ListedTag:
    """What a listing shows of a posting's tag."""

    category: str
    remote: str
    remote_states: list[str]
    credentials: list[ListedCredential] = field(default_factory=list)


@dataclass(slots=True)
class Listed:
    """A posting as the listings (API, browse page, feed) show it: the SUMMARY_COLUMNS
    (same names, same order) as plain attributes. Built straight from rows: building ORM
    objects for a page cost several times the page's query."""

    id: int
    url: str | None
    title: str
    company: str | None
    location: str | None
    city: str | None
    state: str | None
    country: str | None
    locations: list[Any] | None
    employment_type: str | None
    posted_at: datetime | None
    valid_through: datetime | None
    salary_min: float | None
    salary_max: float | None
    salary_currency: str | None
    salary_period: str | None
    salary_annual_min: float | None
    salary_annual_max: float | None
    first_seen: datetime
    last_seen: datetime
    status: str
    closed_at: datetime | None
    duplicate_of: int | None
    tag: ListedTag | None = None
    html: str | None = None
    text: str | None = None


@dataclass
class Page:
    """One page of results and the cursor of the next one (None on the last page)."""

    postings: list[Listed]
    next_cursor: str | None
    sort: str
    limit: int
    extra: dict[str, Any] = field(default_factory=dict)


def _page_order(key: ColumnElement[Any], f: Filters, d: Dialect, sort: str
                ) -> ColumnElement[Any]:
    """The ORDER BY key of a page's ids.

    PostgreSQL, full-text search by pay: `key + 0`, which no index has, so the matches come
    from the GIN index (one heap visit each) and are sorted. Given the pay index instead,
    PostgreSQL walks it from the top computing each posting's tsvector (a quarter of a ms
    apiece), trusting that matches turn up early; but pay and wording go together (the
    best paid are executives), and a search for coding words then ran for seconds.
    """
    if sort == "salary" and f.q and d.name == "postgresql":
        return key + 0
    return key


def _listed_rows(*extra: Any) -> Select[Any]:
    return (select(*SUMMARY_COLUMNS, *extra, Tag.id, Tag.category, Tag.remote,
                   Tag.remote_states).outerjoin(Tag, Tag.posting_id == Posting.id)
            .where(Posting.id.in_(bindparam("ids", expanding=True))))


# Built once, the ids bound per request: SQLAlchemy then finds a statement's compiled form
# without walking its thirty columns again on every request (a listing spent a tenth of
# its CPU time on that walk); the rows' own types still convert the values. No ORDER BY:
# given one, SQLite may walk a whole sort index testing `id IN page` instead of fetching
# the page's rows by id; the caller sorts.
LISTED_ROWS = {False: _listed_rows(), True: _listed_rows(Posting.html, Posting.text)}
LISTED_CREDENTIALS = (select(CredentialTag.tag_id, CredentialTag.code, CredentialTag.requirement)
                      .where(CredentialTag.tag_id.in_(bindparam("ids", expanding=True)))
                      .order_by(CredentialTag.id))


def _listed(conn: Connection, ids: list[int], with_description: bool) -> list[Listed]:
    """The postings `ids` with their tags and credentials, unordered: two plain queries
    (rows, then the credentials of their tags)."""
    if not ids:
        return []
    n = len(SUMMARY_COLUMNS)
    tags: dict[int, ListedTag] = {}
    out = []
    for row in conn.execute(LISTED_ROWS[with_description], {"ids": ids}):
        posting = Listed(*row[:n])
        if with_description:
            posting.html, posting.text = row[n], row[n + 1]
        tag_id, category, remote, states = row[-4:]
        if tag_id is not None:
            posting.tag = tags[tag_id] = ListedTag(category, remote, list(states or []))
        out.append(posting)
    if tags:
        for tag_id, code, requirement in conn.execute(LISTED_CREDENTIALS, {"ids": list(tags)}):
            tags[tag_id].credentials.append(ListedCredential(code, requirement))
    return out


Probing = tuple[ColumnElement[Any], ColumnElement[int], Select[Any]]


def _past(stmt: Select[Any], key: ColumnElement[Any], posting_id: ColumnElement[int],
          paged: bool) -> Select[Any]:
    """`stmt` past the cursor when `paged` (keyset: sort key, then id, both descending),
    its values bound when it runs: `after_key` and `after_id` (cursor_params)."""
    if not paged:
        return stmt
    return stmt.where(tuple_(key, posting_id) < tuple_(bindparam("after_key", type_=key.type),
                                                       bindparam("after_id", type_=Integer)))


def cursor_params(after: tuple[Any, int] | None) -> dict[str, Any]:
    """The values of _past's parameters for a decoded cursor (none for a first page)."""
    return {} if after is None else {"after_key": after[0], "after_id": after[1]}


# a page's ids query reads limit + 1 ids (the one more says whether a next page exists),
# bound when it runs: the same statement then serves every page size
PAGE_ROWS = bindparam("page_rows", type_=Integer)


def _page_query(f: Filters, d: Dialect, sort: str, probe: bool, paged: bool = False
                ) -> tuple[Select[Any] | CompoundSelect, Probing | None]:
    """The query of a page's ids (PAGE_ROWS of them) and, when the page is to be probed
    for first (`probe`: the words are dense enough, see probed_ids), the key, id and walk
    to probe with."""
    page: Select[Any] | CompoundSelect
    probing: Probing | None = None
    if use_listings(f, d, sort):
        # each listing table's page, walked down its sort index; with closed postings the
        # two pages (open and closed) are merged: each its own query with its own LIMIT, as
        # PostgreSQL would otherwise sort every match of both rather than walk them
        sides = []
        for t in listed_tables(f):
            key, posting_id = (t.pay if sort == "salary" else t.newest).expression, \
                t.posting_id.expression
            sides.append(_past(select_listed(f, d, posting_id.label("id"),
                                             key.label("sort_key"), t=t), key, posting_id, paged)
                         .order_by(key.desc(), posting_id.desc()).limit(PAGE_ROWS))
        if len(sides) == 1:
            page = sides[0]
            if probe and d.walk_matches and not words_in_postings(f, d) and sort == "newest":
                # the same walk, every filter but the words (probed: see probed_ids)
                probing = key, posting_id, _past(select_listed(
                    f, d, posting_id.label("id"), key.label("sort_key"), t=t, skip="q"),
                    key, posting_id, paged).order_by(key.desc(), posting_id.desc())
        else:
            pages = [side.subquery() for side in sides]
            page = (union_all(*(select(p.c.id, p.c.sort_key) for p in pages))
                    .order_by(desc("sort_key"), desc("id")).limit(PAGE_ROWS))
    else:
        key, posting_id = sort_key(sort), Posting.id.expression
        page = (_past(select_postings(f, d, posting_id), key, posting_id, paged)
                .order_by(_page_order(key, f, d, sort).desc(), posting_id.desc())
                .limit(PAGE_ROWS).correlate(None))
    return page, probing


@lru_cache(maxsize=1024)
def _cached_page_query(f: Filters, d: Dialect, sort: str, probe: bool, paged: bool
                       ) -> tuple[Select[Any] | CompoundSelect, Probing | None]:
    """_page_query built once per distinct search (first pages, and the pages after a
    cursor): statements are immutable, and building one (and SQLAlchemy's walk of it for
    its compiled-statement cache, which a statement object remembers) cost 0.35 ms of a
    typical search's 1.4 ms at 1M postings, over twice SQLite's work on its ids."""
    return _page_query(f, d, sort, probe, paged)


def list_postings(db: Session | Connection, f: Filters, d: Dialect, *, sort: str = "newest",
                  cursor: str | None = None, limit: int = DEFAULT_LIMIT,
                  with_description: bool = False) -> Page:
    """A page of canonical postings matching `f`, newest (or best paid) first.

    Keyset pagination on (sort key, id): a page costs the same wherever it is, and postings
    arriving between requests neither repeat nor vanish from the pages already read.
    Descriptions (large) are loaded only when asked for (the feed shows them).
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be 1..{MAX_LIMIT}")
    # Core, not the ORM: the rows are plain values, and the ORM's result machinery cost
    # more than SQLite's work on an unfiltered page
    conn = db.connection() if isinstance(db, Session) else db
    density = common_words(conn, f, d)
    if density:
        d = replace(d, walk_matches=True)
    # the page's ids first, from the indexes alone where the filters allow; then only
    # those rows are read (a sort over many matches then carries ids, not whole rows)
    after = decode_cursor(cursor, sort) if cursor else None
    # (the density is the newest postings': said of the newest-first walk only)
    probe = bool(PROBE_CANDIDATES) and density * PROBE_CANDIDATES >= PROBE_MARGIN * (limit + 1)
    build = _page_query if f.posted_since else _cached_page_query  # (it moves with the clock)
    page, probing = build(f, d, sort, probe, after is not None)
    past = cursor_params(after)
    ids, complete = probed_ids(conn, f, *probing, limit, past) if probing is not None \
        else ([], False)
    if len(ids) <= limit and not complete:  # no page among the first candidates: walk
        ids = list(conn.execute(page, {"page_rows": limit + 1, **past}).scalars())
    rows = sorted(_listed(conn, ids, with_description),
                  key=lambda p: (key_of(p, sort), p.id), reverse=True)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(sort, key_of(rows[-1], sort), rows[-1].id) \
        if more and rows else None
    return Page(rows, next_cursor, sort, limit)


def get_posting(session: Session, posting_id: int, *, facets: bool = True) -> Posting | None:
    """One posting with its tag, credentials and (when the store keeps them: `facets`)
    facets; duplicates and closed ones too: the caller decides how to show them."""
    if not -2**63 <= posting_id < 2**63:
        return None
    tag = selectinload(Posting.tag)
    options = [load_only(*SUMMARY_COLUMNS, Posting.html, Posting.text, raiseload=True),
               tag.load_only(*TAG_COLUMNS, raiseload=True),
               tag.selectinload(Tag.credentials).load_only(*CREDENTIAL_COLUMNS, raiseload=True)]
    if facets:
        options.append(tag.selectinload(Tag.facets).load_only(*FACET_COLUMNS, raiseload=True))
    return session.scalars(select(Posting).where(Posting.id == posting_id)
                           .options(*options)).first()


# --- facet counts -------------------------------------------------------------------------
# Each dimension is counted under every filter but its own, so selecting "remote" still
# shows how many hybrid jobs there are (what a checkbox would add), while the other
# dimensions narrow to the selection; and each value counts what choosing it would list
# (a state: the postings located there, by any of their places). They are counted on the
# listings (open_listings, and closed_listings for closed postings and the closed count):
# one GROUP BY per dimension over their narrow rows, a packed list grouped whole (there
# are far fewer distinct lists than postings) and split here. A store without listings
# (before migration 0007) counts on postings and their tags.

def facet_counts(session: Session, f: Filters, d: Dialect, now: datetime) -> dict[str, Any]:
    """Counts per filter value for the search `f`."""
    if use_listings(f, d):
        return _listing_counts(session, f, d, now)
    return _posting_counts(session, f, d, now)


def _windows(f: Filters, now: datetime) -> dict[str, Filters]:
    """`f` with each salary step and each posted window in turn (their counts are sums)."""
    return {**{f"salary_min {step}": replace(f, salary_min=step) for step in SALARY_STEPS},
            **{f"posted_since {window}": replace(
                f, posted_since=now - timedelta(days=int(window[:-1])))
               for window in POSTED_WINDOWS}}


def _listing_counts(session: Session, f: Filters, d: Dialect, now: datetime
                    ) -> dict[str, Any]:
    """The counts from the listings (open ones; and closed ones when `f` includes them or
    the store keeps them, for the closed count)."""
    tables = listed_tables(f)
    matches: dict[type[Listing], list[int]] = {}

    def listed(t: type[Listing], *columns: Any, skip: str | None = None) -> Select[Any]:
        """select_listed on `t`, with the search's words matched once per table: a dozen
        counts each matching them again cost 5 s on PostgreSQL at 1M postings."""
        if not (f.q and terms(f.q)):  # no words to look for: no search
            return select_listed(f, d, *columns, t=t, skip=skip)
        if t not in matches:
            matches[t] = list(session.scalars(select_listed(Filters(q=f.q), d, t.posting_id,
                                                            t=t)))
        return (select_listed(replace(f, q=None), d, *columns, t=t, skip=skip)
                .where(one_of(t.posting_id, matches[t], d)))

    def grouped(name: str, skip: str) -> list[tuple[Any, int]]:
        """(value, postings) of column `name`, summed over the tables."""
        out: dict[Any, int] = {}
        for t in tables:
            column = getattr(t, name)
            stmt = (listed(t, column, func.count(), skip=skip)
                    .where(column.is_not(None)).group_by(column))
            for value, n in session.execute(stmt):
                out[value] = out.get(value, 0) + int(n)
        return list(out.items())

    def count(t: type[Listing], skip: str | None = None) -> int:
        return int(session.scalar(listed(t, func.count(), skip=skip)) or 0)

    out: dict[str, Any] = {"total": sum(count(t) for t in tables), "skipped": []}
    out["category"] = _zero_filled(CATEGORIES, grouped("category", "category"))
    out["remote"] = _zero_filled(REMOTE_KINDS, grouped("remote", "remote"))
    asked = [(_unpacked(packed), n) for packed, n in grouped("credentials", "credential")]
    out["credential"] = _most(_tally(
        ({code for code, how in (part.split(":", 1) for part in parts)
          if not f.requirement or how == f.requirement}, n) for parts, n in asked),
        TOP_CREDENTIALS)
    out["requirement"] = _zero_filled(REQUIREMENTS, list(_tally(
        (_requirements(parts, f), n) for parts, n in asked).items()))
    out["state"] = _most(_tally(
        (_unpacked(packed) & STATES.keys(), n) for packed, n in grouped("states", "state")),
        TOP_STATES)
    employers = _most(dict(grouped("employer", "employer")), TOP_EMPLOYERS)
    out["employer"] = [(_spelled(session, employer), n) for employer, n in employers]
    out["facet"] = _zero_filled(list(FACETS), list(_tally(
        (_unpacked(packed), n) for packed, n in grouped("facets", "facet")).items()))
    sums = {name: 0 for name in _windows(f, now)}
    for t in tables:
        for skip in ("salary_min", "posted_since"):
            sums.update((name, sums[name] + n) for name, n in _sums(
                session, listed(t, skip=skip),
                {name: and_(*LISTING_FILTERS[skip](g, d, t))
                 for name, g in _windows(f, now).items() if name.startswith(skip)}))
    _split_sums(out, sums)
    opened = count(OpenListing, "include_closed")
    closed = count(ClosedListing, "include_closed") if d.closed_listings else int(
        session.scalar(select_postings(replace(f, include_closed=True), d, func.count())
                       .where(Posting.status == "closed")) or 0)
    out["status"] = [("open", opened), ("closed", closed)]
    return out


def one_of(column: Any, ids: list[int], d: Dialect) -> ColumnElement[bool]:
    """`column` is one of `ids` (any number of them: one bound array, or JSON on SQLite)."""
    if d.name == "postgresql":
        return column == any_(literal(ids, ARRAY(Integer)))
    listed = func.json_each(json.dumps(ids)).table_valued("value")
    return column.in_(select(listed.c.value))


def _split_sums(out: dict[str, Any], sums: dict[str, int]) -> None:
    """Put the sums of `_windows` under their dimensions ("salary_min 40000" -> salary_min,
    "40000")."""
    for name, n in sums.items():
        dimension, value = name.split(" ", 1)
        out.setdefault(dimension, []).append((value, n))


def _requirements(parts: set[str], f: Filters) -> set[str]:
    """The requirements under which a posting asking `parts` ("CPC:required", ...) is
    listed by `f`'s credential filter (as `_l_credential`): any of its codes so asked, or
    every one of them with credential_match="all"; any credential without codes."""
    if not f.credential:
        return {part.split(":", 1)[1] for part in parts}
    met = (all if f.credential_match == "all" else any)
    return {how for how in REQUIREMENTS if met(f"{code}:{how}" in parts for code in f.credential)}


def _unpacked(packed: str) -> set[str]:
    """The values of a packed list ("|A|B|"; empty parts are no value)."""
    return {part for part in packed.split("|") if part}


def _tally(groups: Iterable[tuple[set[str], int]]) -> dict[str, int]:
    """Postings per value, from (the values of a group of postings, how many postings)."""
    out: dict[str, int] = {}
    for values, n in groups:
        for value in values:
            out[value] = out.get(value, 0) + n
    return out


def _most(counts: dict[str, int], top: int) -> list[tuple[str, int]]:
    """The `top` values with most postings, most first (ties by value)."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]


def _spelled(session: Session, employer: str) -> str:
    """An employer's name as a posting writes it (open_listings keeps it lower-cased, as the
    employer filter compares it): one look-up in ix_postings_employer."""
    written = session.scalar(select(Posting.company)
                             .where(func.lower(Posting.company) == employer).limit(1))
    return str(written or employer)


def _posting_counts(session: Session, f: Filters, d: Dialect, now: datetime
                    ) -> dict[str, Any]:
    """The counts from postings and their tags."""
    def grouped(column: Any, skip: str, top: int | None = None) -> list[tuple[str, int]]:
        n = func.count()
        stmt = (select_postings(f, d, column, n, skip=skip).where(column.is_not(None))
                .group_by(column).order_by(n.desc(), column))
        if top:
            stmt = stmt.limit(top)
        return [(str(value), int(number)) for value, number in session.execute(stmt)]

    out: dict[str, Any] = {"total": int(session.scalar(select_postings(f, d, func.count())) or 0),
                           "skipped": []}
    out["category"] = _zero_filled(CATEGORIES, grouped(Tag.category, "category"))
    out["remote"] = _zero_filled(REMOTE_KINDS, grouped(Tag.remote, "remote"))
    distinct = func.count(func.distinct(Posting.id))
    stmt = (select_postings(f, d, CredentialTag.code, distinct, skip="credential")
            .join(CredentialTag, CredentialTag.tag_id == Tag.id)
            .group_by(CredentialTag.code)
            .order_by(distinct.desc(), CredentialTag.code).limit(TOP_CREDENTIALS))
    if f.requirement:
        stmt = stmt.where(CredentialTag.requirement == f.requirement)
    out["credential"] = [(str(c), int(n)) for c, n in session.execute(stmt)]
    out["requirement"] = [(how, int(session.scalar(select_postings(
        replace(f, requirement=how), d, func.count())) or 0)) for how in REQUIREMENTS]
    locations = cast(Posting.locations, Text)  # JSON as written (PostgreSQL cannot group json)
    places = (select_postings(f, d, Posting.state, locations, func.count(), skip="state")
              .group_by(Posting.state, locations))
    out["state"] = _most(_tally(
        (_places(state, locations) & STATES.keys(), int(n))
        for state, locations, n in session.execute(places)), TOP_STATES)
    out["employer"] = [(_spelled(session, employer), n) for employer, n in grouped(
        func.lower(Posting.company), "employer", TOP_EMPLOYERS)]
    if d.facets:  # one row per (tag, facet): a count per facet is a join and a GROUP BY
        stmt = (select_postings(f, d, FacetTag.facet, func.count(), skip="facet")
                .join(FacetTag, FacetTag.tag_id == Tag.id).group_by(FacetTag.facet))
        out["facet"] = _zero_filled(list(FACETS),
                                    [(str(n), int(c)) for n, c in session.execute(stmt)])
    else:  # a store from before stored facets: say so rather than count nothing
        out["facet"], out["skipped"] = [], ["facet"]
    sums: dict[str, int] = {}
    for skip in ("salary_min", "posted_since"):
        sums.update(_sums(session, select_postings(f, d, skip=skip), {
            name: and_(*FILTERS[skip](g, d)) for name, g in _windows(f, now).items()
            if name.startswith(skip)}))
    _split_sums(out, sums)
    out["status"] = _zero_filled(("open", "closed"), grouped(Posting.status, "include_closed"))
    return out


def _places(state: str | None, written: str | None) -> set[str]:
    """The states a posting is located in (its state, and that of each of its places in
    `locations`, as JSON text), as the state filter reads them."""
    out = {state} if state else set()
    try:
        locations = json.loads(written) if written else None
    except ValueError:
        locations = None
    if isinstance(locations, list):
        out.update(p["state"] for p in locations
                   if isinstance(p, dict) and isinstance(p.get("state"), str))
    return out


def _zero_filled(values: Sequence[str], counts: list[tuple[str, int]]) -> list[tuple[str, int]]:
    got = dict(counts)
    return [(v, got.get(v, 0)) for v in values]


def _sums(session: Session, base: Select[Any],
          named: dict[str, Condition]) -> list[tuple[str, int]]:
    """How many rows of `base` (a select without columns) meet each named condition: one
    scan for all of them."""
    if not named:
        return []
    columns = [func.coalesce(func.sum(case((cond, 1), else_=0)), 0).label(f"c{i}")
               for i, cond in enumerate(named.values())]
    row = session.execute(base.add_columns(*columns)).one()
    return [(name, int(row[i])) for i, name in enumerate(named)]


def newest_first(session: Session, f: Filters, d: Dialect, limit: int) -> list[Listed]:
    """The newest postings of a search (the feed), without pagination."""
    return list_postings(session, f, d, sort="newest", limit=limit,
                         with_description=True).postings

