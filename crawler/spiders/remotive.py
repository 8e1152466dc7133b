"""Remotive API: remote jobs filtered on the server by category and search words."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response

from crawler.items import JobPosting
from crawler.spiders.base import BoardSpider


class RemotiveSpider(BoardSpider):
    """`GET {base}/api/remote-jobs?category=...&search=...` (no paging; `limit` is optional).

    Every job on the board is remote; `candidate_required_location` says where the applicant
    may live, so it goes to the hints as well as to the locations. `salary` is free text and
    is left to the raw payload.
    """

    name = "remotive"
    default_base_url = "https://remotive.com"

    @classmethod
    def count_listed(cls, body: bytes, entry: dict[str, Any]) -> tuple[int | None, str]:
        return len(json.loads(body)["jobs"]), ""

    async def start(self) -> AsyncIterator[Any]:
        params = {k: str(self.source[k]) for k in ("category", "search", "company_name", "limit")
                  if self.source.get(k)}
        query = f"?{urlencode(params)}" if params else ""
        yield self.conditional(scrapy.Request(
            f"{self.base_url}/api/remote-jobs{query}", callback=self.parse,
            errback=self.fatal_errback, headers={"Accept": "application/json"}))

    def parse(self, response: Response, **kwargs: Any) -> Iterator[JobPosting]:
        yield from self.parse_job_list(response, self.to_item)

    def to_item(self, job: dict[str, Any], fetched: str) -> JobPosting:
        """Map one Remotive job to the common item."""
        where = str(job.get("candidate_required_location") or "").strip()
        hints: dict[str, Any] = {"isRemote": True}
        if where:
            hints["applicantLocation"] = where
        description = job.get("description")
        return JobPosting(
            source=self.source_name,
            external_id=str(job["id"]),
            title=(job.get("title") or "").strip() or None,
            url=job.get("url"),
            company=job.get("company_name") or self.source.get("company"),
            locations=[where] if where else [],
            posted_raw=job.get("publication_date"),
            employment_type=job.get("job_type"),
            description_html=description if isinstance(description, str)
            and description.strip() else None,
            hints=hints,
            raw=job,
            fetched_at=fetched,
        )
