"""RemoteOK API: every remote job on the board in one JSON array, led by a legal notice."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.items import JobPosting
from crawler.spiders.base import BoardSpider


def wanted_tags(value: Any) -> set[str]:
    """The `tags` filter of a source entry: a list, or one comma-separated string."""
    if not value:
        return set()
    items = value if isinstance(value, list) else str(value).split(",")
    return {str(t).strip().lower() for t in items if str(t).strip()}


class RemoteOkSpider(BoardSpider):
    """`GET {base}/api`; element 0 is the API's legal notice, not a job.

    RemoteOK has no server-side search, so an optional `tags` list in the source entry keeps
    only jobs carrying at least one of those tags.
    """

    name = "remoteok"
    jobs_key = None  # the body is the list itself
    default_base_url = "https://remoteok.com"

    @classmethod
    def count_listed(cls, body: bytes, entry: dict[str, Any]) -> tuple[int | None, str]:
        wanted = wanted_tags(entry.get("tags"))
        jobs = [j for j in json.loads(body) if isinstance(j, dict) and j.get("id")]
        kept = [j for j in jobs
                if not wanted or wanted & {str(t).strip().lower() for t in j.get("tags") or []}]
        return len(kept), (f"{len(jobs)} before the tags filter" if wanted else "")

    async def start(self) -> AsyncIterator[Any]:
        yield self.conditional(scrapy.Request(
            f"{self.base_url}/api", callback=self.parse, errback=self.fatal_errback,
            headers={"Accept": "application/json"}))

    def parse(self, response: Response, **kwargs: Any) -> Iterator[JobPosting]:
        yield from self.parse_job_list(response, self.to_item)

    def is_notice(self, job: Any) -> bool:
        return isinstance(job, dict) and "legal" in job  # element 0: the terms of use

    def wanted(self, job: dict[str, Any]) -> bool:
        wanted = wanted_tags(self.source.get("tags"))
        tags = {str(t).strip().lower() for t in job.get("tags") or []}
        if wanted and not wanted & tags:
            self.count("hcjobs/skipped_by_tags")
            return False
        return True

    def to_item(self, job: dict[str, Any], fetched: str) -> JobPosting:
        """Map one RemoteOK job to the common item."""
        location = str(job.get("location") or "").strip()
        hints: dict[str, Any] = {"isRemote": True}
        if location:
            hints["applicantLocation"] = location
        low, high = job.get("salary_min") or None, job.get("salary_max") or None
        salary = {"min": low, "max": high, "currency": "USD", "unit": "YEAR"} \
            if low or high else None
        description = job.get("description")
        posted = job.get("date") or job.get("epoch")
        return JobPosting(
            source=self.source_name,
            external_id=str(job["id"]),
            title=(job.get("position") or "").strip() or None,
            url=job.get("url") or job.get("apply_url"),
            company=job.get("company") or self.source.get("company"),
            locations=[location] if location else [],
            posted_raw=str(posted) if posted is not None else None,
            description_html=description if isinstance(description, str)
            and description.strip() else None,
            salary=salary,
            hints=hints,
            raw=job,
            fetched_at=fetched,
        )
