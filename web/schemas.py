"""Response shapes of the JSON API: they are the OpenAPI document's schemas, and the API's
answers are validated against them (so the document cannot drift from what is served)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Salary(BaseModel):
    """Pay as the posting states it, and per year (hourly x 2,080; what salary_min uses)."""

    min: float | None
    max: float | None
    currency: str | None
    period: str | None = Field(description="hour, day, week, month or year")
    annual_min: float | None
    annual_max: float | None
    text: str | None = Field(description='readable, e.g. "$24-$29/hour"')


class CredentialRef(BaseModel):
    code: str
    requirement: str = Field(description="required or preferred")


class PostingSummary(BaseModel):
    """A posting as listed: what the one-line summary says, as fields."""

    id: int
    url: str | None = Field(description="the employer's page for the job")
    title: str
    company: str | None
    location: str | None
    city: str | None
    state: str | None
    country: str | None
    employment_type: str | None
    category: str | None = Field(description="coding, administration or other; null: untagged")
    remote: str | None = Field(description="remote, hybrid or onsite; null: untagged")
    remote_states: list[str] = Field(description="states a remote job is open to; empty: "
                                                 "no limit stated")
    credentials: list[CredentialRef]
    salary: Salary
    posted_at: str | None
    first_seen: str | None
    last_seen: str | None
    status: str = Field(description="open or closed")
    summary: str = Field(description="the one-line summary")
    links: dict[str, str] = Field(description="self (API) and page (HTML)")


class PostingList(BaseModel):
    items: list[PostingSummary]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null: last")
    sort: str
    limit: int


class CategoryTag(BaseModel):
    value: str
    label: str | None
    confidence: float | None = Field(description="the model's probability for the category")
    scores: dict[str, float]
    evidence: str | None = Field(description="a model decides the category: no one sentence")


class RemoteTag(BaseModel):
    value: str
    label: str | None
    confidence: float | None
    evidence: str | None
    anchor: str | None = Field(description="id of the highlighted sentence in description_html")
    states: list[str]


class CredentialTagOut(BaseModel):
    code: str
    name: str | None
    requirement: str
    evidence: str | None
    confidence: float | None = Field(description="not measured per credential: null")
    anchor: str | None


class FacetTag(BaseModel):
    name: str
    evidence: str | None
    anchor: str | None


class Tags(BaseModel):
    category: CategoryTag | None
    remote: RemoteTag | None
    credentials: list[CredentialTagOut]
    facets: list[FacetTag]
    model_version: str | None
    tagged_at: str | None


class PostingDetail(PostingSummary):
    """A posting with its description, every tag with its evidence, and its JSON-LD."""

    description_html: str = Field(description="sanitized HTML; evidence sentences in <mark>")
    tags: Tags
    jsonld: dict[str, Any] = Field(description="schema.org JobPosting")
    closed_at: str | None
    valid_through: str | None


class FacetValue(BaseModel):
    value: str
    count: int


class FacetCounts(BaseModel):
    """Postings per filter value; each dimension is counted under all the other filters."""

    total: int = Field(description="postings matching every filter")
    category: list[FacetValue]
    remote: list[FacetValue]
    credential: list[FacetValue]
    requirement: list[FacetValue]
    state: list[FacetValue] = Field(description="US states, a posting counted in each state "
                                                "it is located in (as the state filter)")
    employer: list[FacetValue] = Field(description="employers, whatever the case they are "
                                                   "written in (as the employer filter)")
    facet: list[FacetValue]
    salary_min: list[FacetValue] = Field(description="postings paying at least each amount")
    posted_since: list[FacetValue] = Field(description="postings within each window (1d, 7d..)")
    status: list[FacetValue] = Field(description="open and closed (include_closed adds them)")
    skipped: list[str] = Field(description="dimensions not counted because counting them "
                                           "would scan too many postings (facet)")


class StatsPoint(BaseModel):
    period: str = Field(description="first day of the period")
    group: str | None = Field(description="the group_by value, null when not grouped")
    active: int = Field(description="open at the end of the period")
    new: int = Field(description="first seen in the period")
    closed: int = Field(description="closed in the period")


class Stats(BaseModel):
    interval: str
    group_by: str | None
    source: str = Field(description="daily_stats, or postings when no daily stats are stored")
    series: list[StatsPoint]


class Problem(BaseModel):
    """An error: `message` says what is wrong in words; for a 422, `detail` lists each
    invalid parameter as {loc, msg, type, input}."""

    detail: Any
    message: str | None = None
