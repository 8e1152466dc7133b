"""Query parameters of the API, the feed and the pages: one model, validated before any SQL.

Every parameter is typed and bounded here, so a bad value is a 422 that names the parameter
and the accepted values, never a database error. The API and the feed refuse unknown
parameters (a mistyped `credentials=CPC` must not silently return everything); the HTML
pages ignore them (links carry tracking parameters) and treat empty form fields as unset.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from web.queries import DEFAULT_LIMIT, MAX_LIMIT, Filters
from web.vocab import CREDENTIALS, FACETS, STATES, Category, RemoteKind, Requirement, Sort

RELATIVE = re.compile(r"^(\d{1,4})d$")
POSTED_SINCE_PATTERN = (r"^(\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
                        r"(Z|[+-]\d{2}:\d{2})?)?|\d{1,4}d)$")
MAX_TEXT = 200


def _one_of(kind: str, known: list[str], value: str) -> PydanticCustomError:
    shown = ", ".join(known) if len(known) <= 40 else ", ".join(known[:40]) + ", ..."
    return PydanticCustomError("unknown_value", "unknown {kind} {value}: use one of {known}",
                               {"kind": kind, "value": repr(value), "known": shown})


def _credential(value: str) -> str:
    code = value.strip().upper()
    if code not in CREDENTIALS:
        raise _one_of("credential", list(CREDENTIALS), value)
    return code


def _state(value: str) -> str:
    code = value.strip().upper()
    if code not in STATES:
        raise _one_of("US state code", list(STATES), value)
    return code


def _facet(value: str) -> str:
    name = value.strip().lower()
    if name not in FACETS:
        raise _one_of("facet", list(FACETS), value)
    return name


def _text(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "must not contain NUL characters")
    return value.strip()


def parse_posted_since(value: str, now: datetime) -> datetime:
    """`YYYY-MM-DD` (start of that day, UTC), an ISO date-time, or `Nd` (N days ago)."""
    relative = RELATIVE.match(value)
    if relative:
        return now - timedelta(days=int(relative.group(1)))
    if len(value) == 10:
        return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _posted_since(value: str) -> str:
    value = value.strip()
    if not re.match(POSTED_SINCE_PATTERN, value):
        raise PydanticCustomError(
            "posted_since", "use a date (2026-11-01), a date-time (2026-11-01T09:00:00Z) or "
            "a number of days (7d)")
    try:
        parse_posted_since(value, datetime.now(UTC))
    except (ValueError, OverflowError) as exc:
        raise PydanticCustomError("posted_since", "not a real date: {error}",
                                  {"error": str(exc)}) from exc
    return value


def _enum(values: list[str] | tuple[str, ...], description: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "enum": list(values), "description": description})


CredentialCode = Annotated[str, AfterValidator(_credential),
                           _enum(CREDENTIALS, "credential code (case-insensitive)")]
StateCode = Annotated[str, AfterValidator(_state),
                      _enum(list(STATES), "US state code (case-insensitive)")]
FacetName = Annotated[str, AfterValidator(_facet), _enum(list(FACETS), "facet name")]
Text = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(_text)]
PostedSince = Annotated[str, Field(max_length=40), AfterValidator(_posted_since),
                        WithJsonSchema({"type": "string", "maxLength": 40,
                                        "pattern": POSTED_SINCE_PATTERN})]


class FilterParams(BaseModel):
    """The filters of a search (the API's, the feed's and the browse page's)."""

    model_config = ConfigDict(extra="forbid")

    category: list[Category] = Field(
        default_factory=list, description="coding, administration or other (repeat for any-of)")
    remote: list[RemoteKind] = Field(
        default_factory=list, description="remote, hybrid or onsite (repeat for any-of)")
    credential: list[CredentialCode] = Field(
        default_factory=list, max_length=20,
        description="credential codes the posting asks for (repeat for any-of)")
    requirement: Requirement | None = Field(
        None, description="only credentials asked as required, or as preferred")
    credential_match: Literal["any", "all"] = Field(
        "any", description="any: one of the credentials; all: every one of them")
    open_to: StateCode | None = Field(
        None, description="US state: remote jobs open to its residents plus jobs located there")
    state: StateCode | None = Field(None, description="US state the job is located in")
    employer: Text | None = Field(None, description="employer name (exact, any case)")
    facet: list[FacetName] = Field(
        default_factory=list, max_length=20,
        description="kind of coding or administration work (repeat for any-of)")
    salary_min: int | None = Field(
        None, ge=0, le=10_000_000,
        description="yearly pay (USD) the range must reach; hourly pay counts 2,080 hours")
    posted_since: PostedSince | None = Field(
        None, description="2026-11-01, 2026-11-01T09:00:00Z, or 7d for the last 7 days")
    q: Text | None = Field(None, description="words to find in title, company and text")
    include_closed: bool = Field(False, description="also list postings no longer open")

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: Any) -> Any:
        """Empty form fields (`q=`) mean "no filter", not an error."""
        if not isinstance(data, dict):
            return data
        out: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, list):
                value = [v for v in value if not (isinstance(v, str) and not v.strip())]
                if value:
                    out[key] = value
            elif not (isinstance(value, str) and not value.strip()):
                out[key] = value
        return out

    def filters(self, now: datetime) -> Filters:
        """The validated search as queries.Filters (relative dates resolved against `now`)."""
        return Filters(
            category=tuple(dict.fromkeys(self.category)),
            remote=tuple(dict.fromkeys(self.remote)),
            credential=tuple(dict.fromkeys(self.credential)),
            requirement=self.requirement,
            credential_match=self.credential_match,
            open_to=self.open_to,
            state=self.state,
            employer=self.employer or None,
            facet=tuple(dict.fromkeys(self.facet)),
            salary_min=self.salary_min,
            posted_since=parse_posted_since(self.posted_since, now)
            if self.posted_since else None,
            q=self.q or None,
            include_closed=self.include_closed,
        )

    def query_items(self) -> list[tuple[str, str]]:
        """The filters as query-string pairs (for feed links and "next page" links)."""
        items: list[tuple[str, str]] = []
        for name in FilterParams.model_fields:
            value = getattr(self, name)
            default = FilterParams.model_fields[name].get_default(call_default_factory=True)
            if value == default or value is None:
                continue
            for item in value if isinstance(value, list) else [value]:
                items.append((name, str(item).lower() if isinstance(item, bool) else str(item)))
        return items


class ListParams(FilterParams):
    """A search plus its order and page."""

    sort: Sort = Field("newest", description="newest: by posting date; salary: best paid first")
    cursor: Annotated[str, Field(max_length=MAX_TEXT, pattern=r"^[A-Za-z0-9_-]+$")] | None = \
        Field(None, description="next_cursor of the previous page")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT,
                       description=f"page size, at most {MAX_LIMIT}")


class PageParams(ListParams):
    """The browse page's parameters: unknown ones (tracking tags) are ignored."""

    model_config = ConfigDict(extra="ignore")


class FeedParams(FilterParams):
    """A saved search as a feed: its filters and how many entries."""

    limit: int = Field(50, ge=1, le=MAX_LIMIT, description="entries, newest first")
