"""Lever postings API: a JSON array per page, paged with skip/limit."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote, urlencode

import scrapy
from scrapy.http import Response

from crawler.items import JobPosting
from crawler.spiders.base import BoardSpider


def lever_html(job: dict[str, Any]) -> str | None:
    """The posting's HTML as Lever's own page shows it: description, each list, additional.

    The requirement lists (`lists[]`) only exist apart from `description`, and they are what
    the credential extractor reads, so they are kept with their headings.
    """
    parts: list[str] = []
    if isinstance(job.get("description"), str):
        parts.append(job["description"])
    for block in job.get("lists") or []:
        if not isinstance(block, dict) or not block.get("content"):
            continue
        heading = block.get("text")
        if heading:
            parts.append(f"<h3>{heading}</h3>")
        parts.append(f"<ul>{block['content']}</ul>")
    if isinstance(job.get("additional"), str):
        parts.append(job["additional"])
    html = "".join(parts).strip()
    return html or None


class LeverSpider(BoardSpider):
    """`GET {base}/v0/postings/{site}?mode=json&skip=N&limit=M` until a page brings nothing new.

    Lever has no total count; a page that is empty, or only repeats postings already seen
    (some mirrors ignore `skip`), ends the paging. `page_size` in the source entry sets
    `limit` (default 100).
    """

    name = "lever"
    default_base_url = "https://api.lever.co"
    required_keys = ("site",)
    page_size = 100
    max_pages = 200

    @classmethod
    def count_listed(cls, body: bytes, entry: dict[str, Any]) -> tuple[int | None, str]:
        jobs = json.loads(body)
        if not isinstance(jobs, list):
            raise ValueError("expected a JSON array of postings")
        limit = int(entry.get("page_size") or cls.page_size)
        return len(jobs), (f"first page only: at least {len(jobs)}" if len(jobs) >= limit
                           else "")

    async def start(self) -> AsyncIterator[Any]:
        yield self.page_request(0)

    @property
    def limit(self) -> int:
        return int(self.source.get("page_size") or self.page_size)

    def page_request(self, skip: int) -> scrapy.Request:
        site = quote(str(self.source["site"]), safe="")
        query = urlencode({"mode": "json", "skip": skip, "limit": self.limit})
        return self.conditional(scrapy.Request(
            f"{self.base_url}/v0/postings/{site}?{query}", callback=self.parse,
            errback=self.fatal_errback, cb_kwargs={"skip": skip}))

    def parse(self, response: Response, skip: int = 0, **kwargs: Any) -> Iterator[Any]:
        if response.status == 304:  # this page has not changed since the last run
            items = self.not_modified(response)
            yield from items
            fresh = self.page_is_fresh(i.external_id for i in items)
        else:
            data = self.load_json(response)
            if data is None:
                return
            if not isinstance(data, list):
                self.record_error(f"expected a JSON array of postings from {response.url}",
                                  fatal=True)
                return
            fetched = self.now()
            ids, stored = [], []
            for job in data:
                if not isinstance(job, dict) or not job.get("id"):
                    self.record_error(f"posting without id in {response.url}")
                    continue
                item = self.to_item(job, fetched)
                ids.append(item.external_id)
                if self.storable(item):
                    stored.append(item.external_id)
                if item.external_id not in self.listed:
                    yield item
            self.remember(response, stored)
            fresh = self.page_is_fresh(ids)
        if not fresh:
            return  # an empty page, or the previous page again: the list is complete
        if skip // self.limit + 1 >= self.max_pages:
            self.record_error(f"stopped after {self.max_pages} pages at {response.url}")
            return
        yield self.page_request(skip + self.limit)

    def to_item(self, job: dict[str, Any], fetched: str) -> JobPosting:
        """Map one Lever posting to the common item."""
        categories = job.get("categories") or {}
        locations = [str(loc) for loc in categories.get("allLocations") or [] if loc]
        if not locations and categories.get("location"):
            locations = [str(categories["location"])]
        created = job.get("createdAt")
        html = lever_html(job)
        hints = {"workplaceType": job["workplaceType"]} if job.get("workplaceType") else {}
        return JobPosting(
            source=self.source_name,
            external_id=str(job["id"]),
            title=(job.get("text") or "").strip() or None,
            url=job.get("hostedUrl") or job.get("applyUrl"),
            company=self.source.get("company"),
            locations=locations,
            posted_raw=str(created) if created is not None else None,
            employment_type=categories.get("commitment"),
            description_html=html,
            description_text=None if html else job.get("descriptionPlain"),
            hints=hints,
            raw=job,
            fetched_at=fetched,
        )
