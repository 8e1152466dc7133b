"""Every filter, sort and count the API, the pages and the feed run: one place per filter.

A filter is a function from the validated Filters to SQL conditions over
`postings LEFT JOIN tags`. Listing, facet counts and the feed all build on `conditions()`, so
a result list, its counts and its feed can never disagree. Only canonical postings are
shown (duplicate_of IS NULL); closed ones only when asked. All values reach the database as
bound parameters; the few dialect differences (JSON lookups, regular expressions, dates)
are spelled out here.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, contains_eager, load_only, selectinload

from classifier.facets import _COMPILED as FACET_PATTERNS  # the classifier's own patterns
from pipeline.models import CredentialTag, Posting, Tag
from web.search import search_condition
from web.vocab import CATEGORIES, FACETS, POSTED_WINDOWS, REMOTE_KINDS, REQUIREMENTS, SALARY_STEPS

DEFAULT_LIMIT, MAX_LIMIT = 20, 100
TOP_STATES, TOP_EMPLOYERS, TOP_CREDENTIALS = 60, 30, 40
FACET_COUNT_LIMIT = 5000  # postings whose facets (a regex each) a count may scan
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


def key_of(posting: Posting, sort: str) -> Any:
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
    """One of the places a posting names (`locations`: [{city, state, ...}]) is in `state`."""
    if dialect.name == "postgresql":
        return cast(Posting.locations, JSONB).contains([{"state": state}])
    items = func.json_each(Posting.locations).table_valued("value")
    return exists(select(1).select_from(items)
                  .where(func.json_extract(items.c.value, "$.state") == state))


def facet_condition(name: str, dialect: Dialect) -> ColumnElement[bool]:
    """The posting shows facet `name` by the classifier's own pattern and category rule.

    Facets are not stored yet, so this runs the pattern (classifier.facets) over title and
    text in SQL: Python's `re` through SQLite's REGEXP, or PostgreSQL's ARE with `\\b`
    spelled `\\y`. Replace with a JSON lookup like `remote_states` once tags keep facets.
    """
    category = FACETS[name]
    pattern = FACET_PATTERNS[category][name]
    body = func.coalesce(Posting.title, "") + "\n" + func.coalesce(Posting.text, "")
    ignore_case = bool(pattern.flags & 2)  # re.IGNORECASE
    if dialect.name == "postgresql":
        return and_(Tag.category == category,
                    body.regexp_match(pattern.pattern.replace(r"\b", r"\y"),
                                      flags="i" if ignore_case else None))
    return and_(Tag.category == category,
                body.regexp_match(("(?i)" if ignore_case else "") + pattern.pattern))


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
    return [or_(Posting.state == f.state, places_have_state(f.state, d))]


def _employer(f: Filters, d: Dialect) -> list[Condition]:
    return [func.lower(Posting.company) == f.employer.lower()] if f.employer else []


def _facet(f: Filters, d: Dialect) -> list[Condition]:
    return [or_(*(facet_condition(n, d) for n in f.facet))] if f.facet else []


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
    condition = search_condition(f.q, d.name, d.fts)
    return [condition] if condition is not None else []


def _status(f: Filters, d: Dialect) -> list[Condition]:
    return [] if f.include_closed else [Posting.status == "open"]


# the order conditions are written in: cheap column tests first, the facet regex last
FILTERS: dict[str, Callable[[Filters, Dialect], list[Condition]]] = {
    "include_closed": _status, "category": _category, "remote": _remote,
    "salary_min": _salary, "posted_since": _posted, "state": _state, "employer": _employer,
    "credential": _credential, "open_to": _open_to, "q": _search, "facet": _facet,
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


def _from_postings(*columns: Any) -> Select[Any]:
    return select(*columns).select_from(Posting).outerjoin(Tag, Tag.posting_id == Posting.id)


# --- listing ------------------------------------------------------------------------------

# the columns the web reads: never the whole row (raw payloads are large, and a store one
# migration behind the models still serves as long as these exist). Others raise when
# touched (raiseload) instead of costing one query per posting; the tests touch them all.
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


@dataclass
class Page:
    """One page of results and the cursor of the next one (None on the last page)."""

    postings: list[Posting]
    next_cursor: str | None
    sort: str
    limit: int
    extra: dict[str, Any] = field(default_factory=dict)


def list_postings(session: Session, f: Filters, d: Dialect, *, sort: str = "newest",
                  cursor: str | None = None, limit: int = DEFAULT_LIMIT,
                  with_description: bool = False) -> Page:
    """A page of canonical postings matching `f`, newest (or best paid) first.

    Keyset pagination on (sort key, id): a page costs the same wherever it is, and postings
    arriving between requests neither repeat nor vanish from the pages already read.
    Descriptions (large) are loaded only when asked for (the feed shows them).
    """
    columns = (*SUMMARY_COLUMNS, Posting.html, Posting.text) if with_description \
        else SUMMARY_COLUMNS
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be 1..{MAX_LIMIT}")
    key = sort_key(sort)
    stmt = (select(Posting).outerjoin(Tag, Tag.posting_id == Posting.id)
            .where(*conditions(f, d))
            .order_by(key.desc(), Posting.id.desc())
            .limit(limit + 1)
            .options(load_only(*columns, raiseload=True),
                     contains_eager(Posting.tag).load_only(*TAG_COLUMNS, raiseload=True),
                     contains_eager(Posting.tag).selectinload(Tag.credentials)
                     .load_only(*CREDENTIAL_COLUMNS, raiseload=True)))
    if cursor:
        after_key, after_id = decode_cursor(cursor, sort)
        stmt = stmt.where(tuple_(key, Posting.id) < tuple_(literal(after_key, key.type),
                                                           literal(after_id)))
    rows = list(session.scalars(stmt).unique())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(sort, key_of(rows[-1], sort), rows[-1].id) \
        if more and rows else None
    return Page(rows, next_cursor, sort, limit)


def get_posting(session: Session, posting_id: int) -> Posting | None:
    """One posting with its tag and credentials (duplicates and closed ones too: the caller
    decides how to show them)."""
    if not -2**63 <= posting_id < 2**63:
        return None
    stmt = (select(Posting).where(Posting.id == posting_id)
            .options(load_only(*SUMMARY_COLUMNS, Posting.html, Posting.text, raiseload=True),
                     selectinload(Posting.tag).load_only(*TAG_COLUMNS, raiseload=True),
                     selectinload(Posting.tag).selectinload(Tag.credentials)
                     .load_only(*CREDENTIAL_COLUMNS, raiseload=True)))
    return session.scalars(stmt).first()


# --- facet counts -------------------------------------------------------------------------

def _grouped(session: Session, column: Any, conds: list[Condition], top: int | None = None,
             count: Any = None) -> list[tuple[str, int]]:
    n = count if count is not None else func.count()
    stmt = (_from_postings(column, n).where(*conds, column.is_not(None))
            .group_by(column).order_by(n.desc(), column))
    if top:
        stmt = stmt.limit(top)
    return [(str(value), int(number)) for value, number in session.execute(stmt)]


def _zero_filled(values: Sequence[str], counts: list[tuple[str, int]]) -> list[tuple[str, int]]:
    got = dict(counts)
    return [(v, got.get(v, 0)) for v in values]


def facet_counts(session: Session, f: Filters, d: Dialect, now: datetime) -> dict[str, Any]:
    """Counts per filter value for the search `f`.

    Each dimension is counted under every filter but its own, so selecting "remote" still
    shows how many hybrid jobs there are (what a checkbox would add), while the other
    dimensions narrow to the selection.
    """
    total = session.scalar(_from_postings(func.count()).where(*conditions(f, d))) or 0
    out: dict[str, Any] = {"total": int(total)}
    out["category"] = _zero_filled(
        CATEGORIES, _grouped(session, Tag.category, conditions(f, d, "category")))
    out["remote"] = _zero_filled(
        REMOTE_KINDS, _grouped(session, Tag.remote, conditions(f, d, "remote")))

    base = conditions(f, d, "credential")
    cred_where = list(base)
    if f.requirement:
        cred_where.append(CredentialTag.requirement == f.requirement)
    distinct = func.count(func.distinct(Posting.id))
    stmt = (_from_postings(CredentialTag.code, distinct)
            .join(CredentialTag, CredentialTag.tag_id == Tag.id)
            .where(*cred_where).group_by(CredentialTag.code)
            .order_by(distinct.desc(), CredentialTag.code).limit(TOP_CREDENTIALS))
    out["credential"] = [(str(c), int(n)) for c, n in session.execute(stmt)]
    req_where = [*base]
    if f.credential:
        req_where.append(CredentialTag.code.in_(f.credential))
    stmt = (_from_postings(CredentialTag.requirement, distinct)
            .join(CredentialTag, CredentialTag.tag_id == Tag.id)
            .where(*req_where).group_by(CredentialTag.requirement))
    out["requirement"] = _zero_filled(REQUIREMENTS,
                                      [(str(r), int(n)) for r, n in session.execute(stmt)])

    out["state"] = _grouped(session, Posting.state, conditions(f, d, "state"), TOP_STATES)
    out["employer"] = _grouped(session, Posting.company, conditions(f, d, "employer"),
                               TOP_EMPLOYERS)
    # facets run a pattern over each posting's text (they are not stored): counted only
    # when that stays cheap, else left out and named in "skipped"
    facet_base = conditions(f, d, "facet")
    out["skipped"] = []
    scanned = total if not f.facet else \
        session.scalar(_from_postings(func.count()).where(*facet_base)) or 0
    if scanned <= FACET_COUNT_LIMIT:
        out["facet"] = _sums(session, facet_base,
                             {name: facet_condition(name, d) for name in FACETS})
    else:
        out["facet"], out["skipped"] = [], ["facet"]
    pay = annual_pay()
    usd = or_(Posting.salary_currency.is_(None), Posting.salary_currency == "USD")
    out["salary_min"] = _sums(session, conditions(f, d, "salary_min"),
                              {str(step): and_(pay >= step, usd) for step in SALARY_STEPS})
    posted = posted_key()
    out["posted_since"] = _sums(
        session, conditions(f, d, "posted_since"),
        {window: posted >= now - timedelta(days=int(window[:-1])) for window in POSTED_WINDOWS})
    out["status"] = _zero_filled(("open", "closed"), _grouped(
        session, Posting.status, conditions(f, d, "include_closed")))
    return out


def _sums(session: Session, conds: list[Condition],
          named: dict[str, Condition]) -> list[tuple[str, int]]:
    """How many rows meet each named condition: one scan for all of them."""
    if not named:
        return []
    columns = [func.coalesce(func.sum(case((cond, 1), else_=0)), 0).label(f"c{i}")
               for i, cond in enumerate(named.values())]
    row = session.execute(_from_postings(*columns).where(*conds)).one()
    return [(name, int(row[i])) for i, name in enumerate(named)]


def newest_first(session: Session, f: Filters, d: Dialect, limit: int) -> list[Posting]:
    """The newest postings of a search (the feed), without pagination."""
    return list_postings(session, f, d, sort="newest", limit=limit,
                         with_description=True).postings

