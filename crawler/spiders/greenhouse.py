"""Greenhouse job board API: one request returns every posting with its content."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import scrapy
from scrapy.http import Response

from crawler.items import JobPosting
from crawler.spiders.base import BoardSpider
from pipeline.normalize import unescape


class GreenhouseSpider(BoardSpider):
    """`GET {base}/v1/boards/{board}/jobs?content=true` (content is HTML escaped once more)."""

    name = "greenhouse"
    default_base_url = "https://boards-api.greenhouse.io"
    required_keys = ("board",)

    @classmethod
    def count_listed(cls, body: bytes, entry: dict[str, Any]) -> tuple[int | None, str]:
        data = json.loads(body)
        return len(data["jobs"]), ""

    async def start(self) -> AsyncIterator[Any]:
        board = quote(str(self.source["board"]), safe="")
        yield self.conditional(scrapy.Request(
            f"{self.base_url}/v1/boards/{board}/jobs?content=true",
            callback=self.parse,
            errback=self.fatal_errback,
        ))

    def parse(self, response: Response, **kwargs: Any) -> Iterator[JobPosting]:
        yield from self.parse_job_list(response, self.to_item)

    def to_item(self, job: dict[str, Any], fetched: str) -> JobPosting:
        """Map one Greenhouse job to the common item."""
        location = (job.get("location") or {}).get("name")
        offices = [o.get("location") or o.get("name") for o in job.get("offices") or []]
        locations = [loc for loc in [location] if loc] or [o for o in offices if o]
        content = job.get("content")
        hints: dict[str, Any] = {}
        if location and "remote" in location.lower():
            hints["location_remote"] = True
        for field in job.get("metadata") or []:  # boards often add a custom workplace field
            name = str(field.get("name") or "").lower() if isinstance(field, dict) else ""
            if ("workplace" in name or "remote" in name) and field.get("value"):
                hints["workplaceType"] = str(field["value"])
        return JobPosting(
            source=self.source_name,
            external_id=str(job["id"]),
            title=(job.get("title") or "").strip() or None,
            url=job.get("absolute_url"),
            company=job.get("company_name") or self.source.get("company"),
            locations=locations,
            posted_raw=job.get("first_published") or job.get("updated_at"),
            description_html=unescape(content) if isinstance(content, str) else None,
            hints=hints,
            raw=job,
            fetched_at=fetched,
        )
