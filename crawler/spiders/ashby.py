"""Ashby posting API: one request returns the whole board, pay included when asked for."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import scrapy
from scrapy.http import Response

from crawler.items import JobPosting
from crawler.spiders.base import BoardSpider


def ashby_salary(job: dict[str, Any]) -> dict[str, Any] | None:
    """The first salary component of `compensation` as {min, max, currency, unit}.

    Equity and bonus components carry no amount; `interval` reads like "1 YEAR" or "1 HOUR".
    """
    comp = job.get("compensation")
    if not isinstance(comp, dict):
        return None
    components = list(comp.get("summaryComponents") or [])
    for tier in comp.get("compensationTiers") or []:
        if isinstance(tier, dict):
            components.extend(tier.get("components") or [])
    for part in components:
        if not isinstance(part, dict) or part.get("compensationType") != "Salary":
            continue
        low, high = part.get("minValue"), part.get("maxValue")
        if low is None and high is None:
            continue
        interval = str(part.get("interval") or "").split()
        unit = interval[-1].upper() if interval and interval[-1].upper() != "NONE" else None
        return {"min": low, "max": high, "currency": part.get("currencyCode"), "unit": unit}
    return None


def ashby_locations(job: dict[str, Any]) -> list[str]:
    """The primary location, then each secondary one (objects with `location`, or strings)."""
    found: list[str] = []
    for place in [job.get("location"), *(job.get("secondaryLocations") or [])]:
        label = place.get("location") if isinstance(place, dict) else place
        if isinstance(label, str) and label.strip() and label.strip() not in found:
            found.append(label.strip())
    return found


class AshbySpider(BoardSpider):
    """`GET {base}/posting-api/job-board/{org}?includeCompensation=true` (no paging)."""

    name = "ashby"
    default_base_url = "https://api.ashbyhq.com"
    required_keys = ("org",)

    @classmethod
    def count_listed(cls, body: bytes, entry: dict[str, Any]) -> tuple[int | None, str]:
        jobs = json.loads(body)["jobs"]
        return sum(1 for j in jobs if isinstance(j, dict) and j.get("isListed") is not False), ""

    async def start(self) -> AsyncIterator[Any]:
        org = quote(str(self.source["org"]), safe="")
        yield self.conditional(scrapy.Request(
            f"{self.base_url}/posting-api/job-board/{org}?includeCompensation=true",
            callback=self.parse,
            errback=self.fatal_errback,
        ))

    def parse(self, response: Response, **kwargs: Any) -> Iterator[JobPosting]:
        yield from self.parse_job_list(response, self.to_item)

    def wanted(self, job: dict[str, Any]) -> bool:
        if job.get("isListed") is False:  # reachable by link only: not a public opening
            self.count("hcjobs/skipped_unlisted")
            return False
        return True

    def to_item(self, job: dict[str, Any], fetched: str) -> JobPosting:
        """Map one Ashby job to the common item."""
        hints = {k: job[k] for k in ("isRemote", "workplaceType") if job.get(k) is not None}
        html = job.get("descriptionHtml")
        html = html if isinstance(html, str) and html.strip() else None
        return JobPosting(
            source=self.source_name,
            external_id=str(job["id"]),
            title=(job.get("title") or "").strip() or None,
            url=job.get("jobUrl") or job.get("applyUrl"),
            company=self.source.get("company"),
            locations=ashby_locations(job),
            posted_raw=job.get("publishedAt"),
            employment_type=job.get("employmentType"),
            description_html=html,
            description_text=None if html else job.get("descriptionPlain"),
            salary=ashby_salary(job),
            hints=hints,
            raw=job,
            fetched_at=fetched,
        )
