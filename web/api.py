"""The JSON API (/api/...) and the Atom feed (/feeds/...): thin layers over web.queries."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import URLPath

from web import feed, present, queries, stats
from web.cache import ResponseCache
from web.db import Store
from web.params import FeedParams, FilterParams, ListParams
from web.schemas import FacetCounts, PostingDetail, PostingList, Problem, Stats

router = APIRouter()
ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": Problem, "description": "a parameter is not valid (the message says which)"},
    503: {"model": Problem, "description": "the store is not available yet"},
}
MAX_ID = 2**63 - 1


async def get_store(request: Request) -> Store:
    """The app's read-only store (opened on first use: `hcjobs serve` may start first).

    Async, so a request does not wait for a worker thread just to be handed the store:
    once open that is an attribute read; opening it (I/O) goes to a thread."""
    opener = request.app.state.open_store
    opened: Store | None = opener.opened()
    store: Store = opened if opened is not None else await run_in_threadpool(opener)
    return store


def get_session(store: Annotated[Store, Depends(get_store)]) -> Iterator[Session]:
    with store.session() as session:
        yield session


def now_of(request: Request) -> datetime:
    clock = request.app.state.clock
    now: datetime = clock() if clock else datetime.now(UTC)
    return now


def dialect_of(store: Store) -> queries.Dialect:
    return queries.Dialect(store.dialect, store.fts, store.facet_table,
                           places_indexed=store.places_indexed, listings=store.listings,
                           closed_listings=store.closed_listings)


def counts_key(params: FilterParams) -> tuple[Any, ...]:
    """The answer cache's key of a search's counts."""
    return ("facets", tuple(params.query_items()))


def facet_counts(request: Request, store: Store, session: Session, params: FilterParams,
                 now: datetime, wait: float | None = None) -> dict[str, Any] | None:
    """The counts of a search (queries.facet_counts), kept in the answer cache and counted
    anew in the background after a change (ResponseCache.counted): the browse page shows
    them on every view, and at 1M postings those of a broad search take a second or two.
    With `wait` (and the cache), counts not ready within `wait` seconds are None (they
    go on in the background). The caller must not change the answer."""
    def count(apart: bool) -> dict[str, Any]:
        # apart: in the background, after the request is done, on a session of its own
        with store.session() if apart else nullcontext(session) as counting:
            return queries.facet_counts(counting, params.filters(now), dialect_of(store), now)

    cache: ResponseCache | None = request.app.state.cache
    if cache is None:
        return count(False)
    counts: dict[str, Any] | None = cache.counted(counts_key(params), store.version(), count,
                                                  wait=wait)
    return counts


def cursor_error(exc: queries.CursorError, cursor: str | None) -> RequestValidationError:
    """A bad cursor reported like any other invalid parameter."""
    return RequestValidationError([{"type": "cursor", "loc": ("query", "cursor"),
                                    "msg": str(exc), "input": cursor}])


def links(request: Request, posting_id: int) -> dict[str, str]:
    return {"self": str(request.url_for("api_posting", posting_id=posting_id)),
            "page": str(request.url_for("posting_page", posting_id=posting_id))}


def link_maker(request: Request) -> Callable[[int], dict[str, str]]:
    """`links` for many postings: the routes' paths are looked up once per app (url_for
    walks every route; it was a tenth of a listing's time), the base URL once per request."""
    paths: tuple[URLPath, URLPath] | None = getattr(request.app.state, "posting_paths", None)
    if paths is None:
        paths = request.app.state.posting_paths = (
            request.app.url_path_for("api_posting", posting_id=0),
            request.app.url_path_for("posting_page", posting_id=0))
    api, page = (str(path.make_absolute_url(request.base_url)).rsplit("/", 1)[0]
                 for path in paths)
    return lambda posting_id: {"self": f"{api}/{posting_id}", "page": f"{page}/{posting_id}"}


StoreDep = Annotated[Store, Depends(get_store)]
SessionDep = Annotated[Session, Depends(get_session)]


@router.get("/api/postings", response_model=PostingList, tags=["postings"],
            summary="Search tagged postings", responses=ERRORS)
def api_postings(request: Request, params: Annotated[ListParams, Query()],
                 store: StoreDep) -> Response:
    """Canonical postings matching every filter (values of one filter: any of them), newest
    or best paid first, one page at a time: pass `next_cursor` back as `cursor`."""
    # the busiest route does its work in one worker thread: its own connection (a session
    # dependency costs two more thread hand-offs) and the answer serialized here, by the
    # json module: FastAPI would hand off again, and pydantic's validation of what
    # present.summary_of built cost a tenth of the request (the tests validate every
    # answer against PostingList instead, and schemathesis against the OpenAPI document)
    cache: ResponseCache | None = request.app.state.cache
    if cache is not None:
        key = (str(request.base_url), request.url.path, params.model_dump_json())
        version = store.version()  # before the queries: see ResponseCache.put
        body = cache.get(key, version)
        if body is not None:
            return Response(body, media_type="application/json")
    f = params.filters(now_of(request))
    with store.connection() as conn:
        try:
            page = queries.list_postings(conn, f, dialect_of(store), sort=params.sort,
                                         cursor=params.cursor, limit=params.limit)
        except queries.CursorError as exc:
            raise cursor_error(exc, params.cursor) from exc
    links_of = link_maker(request)
    answer = {"items": [{**present.summary_of(p), "links": links_of(p.id)}
                        for p in page.postings],
              "next_cursor": page.next_cursor, "sort": page.sort, "limit": page.limit}
    body = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()
    if cache is not None:
        cache.put(key, version, body)
    return Response(body, media_type="application/json")


@router.get("/api/postings/{posting_id}", response_model=PostingDetail, tags=["postings"],
            summary="One posting with its evidence",
            responses={**ERRORS,
                       404: {"model": Problem, "description": "no such posting"},
                       308: {"description": "a duplicate: Location is the canonical posting"}})
def api_posting(request: Request, posting_id: Annotated[int, Path(ge=1, le=MAX_ID)],
                store: StoreDep, session: SessionDep) -> Any:
    """The summary, the sanitized description (evidence sentences marked), every tag with
    its evidence sentence and confidence, and the schema.org JSON-LD."""
    p = queries.get_posting(session, posting_id, facets=store.facet_table)
    if p is None:
        return JSONResponse({"detail": f"no posting {posting_id}"}, status_code=404)
    if p.duplicate_of is not None:
        return RedirectResponse(str(request.url_for("api_posting", posting_id=p.duplicate_of)),
                                status_code=308)
    evidence = present.evidence_of(p)
    description = present.highlighted(p, evidence)  # first: it records what it marked
    page_url = str(request.url_for("posting_page", posting_id=p.id))
    return {**present.summary_of(p), "links": links(request, p.id),
            "description_html": str(description),
            "tags": present.tags_of(p, evidence), "jsonld": present.jsonld(p, page_url),
            "closed_at": p.closed_at.isoformat() if p.closed_at else None,
            "valid_through": p.valid_through.isoformat() if p.valid_through else None}


@router.get("/api/facets", response_model=FacetCounts, tags=["postings"],
            summary="Counts per filter value", responses=ERRORS)
def api_facets(request: Request, params: Annotated[FilterParams, Query()], store: StoreDep,
               session: SessionDep) -> dict[str, Any]:
    """How many postings each filter value would give, under the current search."""
    counts = facet_counts(request, store, session, params, now_of(request))
    assert counts is not None  # no `wait`: always counted
    return {k: v if k in ("total", "skipped") else [{"value": a, "count": n} for a, n in v]
            for k, v in counts.items()}


@router.get("/api/stats", response_model=Stats, tags=["trends"],
            summary="Trend series: active, new and closed postings", responses=ERRORS)
def api_stats(params: Annotated[stats.StatsParams, Query()], store: StoreDep,
              session: SessionDep) -> dict[str, Any]:
    """Per day, week or month; optionally per category or remote kind, and only postings
    asking for a credential."""
    use_daily = store.daily_stats_table and stats.has_daily_stats(session)
    return {"interval": params.interval, "group_by": params.group_by,
            "source": "daily_stats" if use_daily else "postings",
            "series": stats.series(session, params, store.dialect, use_daily)}


@router.get("/feeds/postings.atom", tags=["feeds"], summary="Atom feed of a search",
            response_class=Response,
            responses={**ERRORS, 200: {"content": {feed.MEDIA_TYPE: {"schema": {
                "type": "string"}}}, "description": "Atom 1.0, newest postings first"}})
def postings_feed(request: Request, params: Annotated[FeedParams, Query()], store: StoreDep,
                  session: SessionDep) -> Response:
    """The newest postings of a search (same filters as /api/postings): subscribe in any
    feed reader to get new matching jobs."""
    f = params.filters(now_of(request))
    postings = queries.newest_first(session, f, dialect_of(store), params.limit)
    query = urlencode(params.query_items())
    page_url = str(request.url_for("browse")) + (f"?{query}" if query else "")
    feed_url = str(request.url_for("postings_feed")) + (f"?{query}" if query else "")
    template = str(request.url_for("posting_page", posting_id=0)).rsplit("/", 1)[0] + "/{id}"
    body = feed.atom_feed(postings, feed_url=feed_url, page_url=page_url,
                          title=search_title(params), posting_url=template,
                          host_tag=urlsplit(str(request.base_url)).hostname or "hcjobs")
    return Response(body, media_type=f"{feed.MEDIA_TYPE}; charset=utf-8")


def search_title(params: FilterParams) -> str:
    """A human name for a saved search: "Remote coding jobs, CPC required, open to OH"."""
    words = []
    if params.remote:
        words.append("/".join(r.replace("onsite", "on-site") for r in params.remote))
    words.append("/".join(params.category) if params.category else "healthcare")
    title = " ".join(words).capitalize() + " jobs"
    parts = [title]
    if params.credential:
        joiner = " and " if params.credential_match == "all" else " or "
        parts.append(joiner.join(params.credential) + (f" {params.requirement}"
                                                        if params.requirement else ""))
    if params.facet:
        parts.append(", ".join(params.facet))
    if params.open_to:
        parts.append(f"open to {params.open_to} residents")
    if params.state:
        parts.append(f"in {params.state}")
    if params.employer:
        parts.append(f"at {params.employer}")
    if params.salary_min:
        parts.append(f"${params.salary_min:,}+ a year")
    if params.posted_since:
        since = params.posted_since
        parts.append(f"posted in the last {since[:-1]} days" if since.endswith("d")
                     else f"posted since {since}")
    if params.q:
        parts.append(f'matching "{params.q}"')
    return ", ".join(parts)
