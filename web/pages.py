"""Server-rendered pages for job seekers: browse with filters and counts, and one posting
with its evidence. Plain GET forms and links: everything works without JavaScript."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from web import present, queries
from web.api import (
    MAX_ID,
    SessionDep,
    StoreDep,
    cursor_error,
    dialect_of,
    facet_counts,
    link_maker,
    now_of,
    search_title,
)
from web.params import PageParams
from web.schemas import FacetCounts
from web.vocab import (
    CATEGORY_LABELS,
    CREDENTIAL_NAMES,
    CREDENTIALS,
    FACET_LABELS,
    FACETS,
    POSTED_WINDOWS,
    REMOTE_LABELS,
    SALARY_STEPS,
    STATES,
)

router = APIRouter()
_HTML = {"text/html": {"schema": {"type": "string"}}}
COUNTS_WAIT_S = 0.5
"""How long the browse page waits for counts it does not have yet (a broad search at 1M
postings takes a second or two): past that it shows the jobs without the numbers, which
are counted on in the background for the next view."""
# the counts of a page shown before they are ready: every dimension empty
UNCOUNTED: dict[str, Any] = {**{name: [] for name in FacetCounts.model_fields},
                             "total": None, "skipped": []}
PAGE_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"description": "a parameter is not valid: the page says which", "content": _HTML},
    503: {"description": "the store is not available yet", "content": _HTML},
}
HERE = FilePath(__file__).resolve().parent


def make_templates() -> Jinja2Templates:
    """Templates from the package, autoescaped, failing loudly on a missing variable."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True)
    env.filters["money"] = lambda v: f"${int(v):,}"
    env.filters["pct"] = lambda v: "not measured" if v is None else f"{float(v) * 100:.0f}%"
    env.filters["day"] = lambda v: datetime.fromisoformat(v).strftime("%b %d, %Y") if v else ""
    env.globals.update(CATEGORY_LABELS=CATEGORY_LABELS, REMOTE_LABELS=REMOTE_LABELS,
                       CREDENTIAL_NAMES=CREDENTIAL_NAMES, STATES=STATES,
                       POSTED_WINDOWS=POSTED_WINDOWS, FACETS=FACETS, FACET_LABELS=FACET_LABELS,
                       SALARY_STEPS=SALARY_STEPS)
    return Jinja2Templates(env=env)


templates = make_templates()


def _url(base: str, items: list[tuple[str, str]]) -> str:
    return base + (f"?{urlencode(items)}" if items else "")


def _removals(request: Request, items: list[tuple[str, str]],
              keep: list[tuple[str, str]]) -> list[dict[str, str]]:
    """One "remove" link per active filter value (no-JS way to undo a filter); `keep` (the
    sort and page size) stays on every link."""
    base = str(request.url_for("browse"))
    labels = {"q": "Keywords", "open_to": "Open to", "state": "In", "employer": "At",
              "salary_min": "Pay from", "posted_since": "Posted since",
              "requirement": "Asked as", "credential_match": "Match"}
    out = []
    for index, (name, value) in enumerate(items):
        rest = items[:index] + items[index + 1:]
        label = {"category": CATEGORY_LABELS.get(value, value),
                 "remote": REMOTE_LABELS.get(value, value),
                 "facet": FACET_LABELS.get(value, value)}.get(name)
        if name == "include_closed":
            label = "Including closed jobs"
        elif label is None:
            shown = f"${int(value):,}" if name == "salary_min" else value
            label = f"{labels[name]}: {shown}" if name in labels else shown
        out.append({"label": label, "url": _url(base, rest + keep)})
    return out


@router.get("/", response_class=HTMLResponse, name="browse", tags=["pages"],
            summary="Browse page (HTML)", responses=PAGE_ERRORS)
def browse(request: Request, params: Annotated[PageParams, Query()], store: StoreDep,
           session: SessionDep) -> Response:
    """Filters with counts, results with tag chips and one-line summaries, a feed link."""
    now = now_of(request)
    f = params.filters(now)
    d = dialect_of(store)
    try:
        page = queries.list_postings(session, f, d, sort=params.sort, cursor=params.cursor,
                                     limit=params.limit)
    except queries.CursorError as exc:
        raise cursor_error(exc, params.cursor) from exc
    counts = facet_counts(request, store, session, params, now, wait=COUNTS_WAIT_S)
    items = params.query_items()
    order = [("sort", params.sort)] if params.sort != "newest" else []
    size = [("limit", str(params.limit))] if params.limit != queries.DEFAULT_LIMIT else []
    browse_url = str(request.url_for("browse"))
    links_of = link_maker(request)
    context = {
        "params": params,
        "results": [{**present.summary_of(p), "page": links_of(p.id)["page"]}
                    for p in page.postings],
        "counted": counts is not None,
        "counts": {k: v if k in ("total", "skipped") else dict(v)
                   for k, v in (counts or UNCOUNTED).items()},
        "credential_options": _credential_options(
            counts["credential"] if counts else [(code, None) for code in CREDENTIALS],
            params.credential),
        "feed_url": _url(str(request.url_for("postings_feed")), items),
        "api_url": _url(str(request.url_for("api_postings")), items + order + size),
        "next_url": _url(browse_url, items + order + size + [("cursor", page.next_cursor)])
        if page.next_cursor else None,
        "first_url": _url(browse_url, items + order + size) if params.cursor else None,
        "clear_url": browse_url,
        "removals": _removals(request, items, order + size),
        "title": search_title(params),
    }
    return templates.TemplateResponse(request, "browse.html", context)


def _credential_options(counted: list[tuple[str, int | None]], selected: list[str]
                        ) -> list[tuple[str, int | None]]:
    """Credentials to offer: the most asked ones in this search plus any already chosen
    (uncounted: the first of the vocabulary, in its order)."""
    shown = dict(counted[:16])
    for code in selected:
        shown.setdefault(code, dict(counted).get(code, 0))
    if any(n is None for n in shown.values()):
        return list(shown.items())
    return sorted(shown.items(), key=lambda kv: (-(kv[1] or 0), kv[0]))


@router.get("/postings/{posting_id}", response_class=HTMLResponse, name="posting_page",
            tags=["pages"], summary="Posting page (HTML)",
            responses={**PAGE_ERRORS,
                       404: {"description": "no such posting", "content": _HTML},
                       301: {"description": "a duplicate: Location is the canonical posting"}})
def posting_page(request: Request, posting_id: Annotated[int, Path(ge=1, le=MAX_ID)],
                 store: StoreDep, session: SessionDep) -> Response:
    """A posting with every tag, the evidence highlighted in the text, and its JSON-LD."""
    p = queries.get_posting(session, posting_id, facets=store.facet_table)
    if p is None:
        return error_page(request, 404, "Job not found",
                          "There is no job with this number. It may have been removed.")
    if p.duplicate_of is not None:
        return RedirectResponse(str(request.url_for("posting_page", posting_id=p.duplicate_of)),
                                status_code=301)
    evidence = present.evidence_of(p)
    description = present.highlighted(p, evidence)  # first: it records what it marked
    page_url = str(request.url_for("posting_page", posting_id=p.id))
    context = {
        "p": present.summary_of(p),
        "tags": present.tags_of(p, evidence),
        "description": description,
        "apply_url": present.safe_url(p.url),
        "jsonld": present.jsonld_script(present.jsonld(p, page_url)),
        "closed_at": p.closed_at.isoformat() if p.closed_at else None,
        "browse_url": str(request.url_for("browse")),
        "api_url": str(request.url_for("api_posting", posting_id=p.id)),
    }
    return templates.TemplateResponse(request, "posting.html", context)


def error_page(request: Request, status: int, title: str, message: str,
               details: list[str] | None = None) -> Response:
    """An HTML error page: what went wrong in words, never a stack trace."""
    return templates.TemplateResponse(
        request, "error.html",
        {"status": status, "heading": title, "message": message, "details": details or [],
         "browse_url": str(request.url_for("browse"))},
        status_code=status)


def validation_messages(exc: RequestValidationError) -> list[str]:
    """"remote: Input should be 'remote', 'hybrid' or 'onsite' (got 'x')" per problem."""
    out = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ()) if part not in ("query", "path")]
        name = loc[0] if loc else "request"
        got = err.get("input")
        shown = f" (got {got!r})" if isinstance(got, str | int | float) and got != "" else ""
        out.append(f"{name}: {err.get('msg', 'not valid')}{shown}")
    return out

