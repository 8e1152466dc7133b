"""SmartRecruiters posting API: a paged list without descriptions, then one detail per posting."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote, urlencode

import scrapy
from scrapy.http import Response

from crawler.items import JobPosting
from crawler.spiders.base import BoardSpider, fingerprint

SECTIONS = ("companyDescription", "jobDescription", "qualifications", "additionalInformation")


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def sections_html(detail: dict[str, Any]) -> str | None:
    """jobAd.sections as one HTML document, each section under its own heading."""
    sections = ((detail.get("jobAd") or {}).get("sections") or {})
    parts: list[str] = []
    for key in SECTIONS:
        section = sections.get(key)
        if not isinstance(section, dict) or not str(section.get("text") or "").strip():
            continue
        if section.get("title"):
            parts.append(f"<h3>{section['title']}</h3>")
        parts.append(str(section["text"]))
    return "".join(parts) or None


def sr_location(location: dict[str, Any]) -> str | None:
    """`fullLocation`, else city, region and country joined."""
    if location.get("fullLocation"):
        full = ", ".join(p.strip() for p in str(location["fullLocation"]).split(",") if p.strip())
        return full or None
    parts = [str(location[k]).strip() for k in ("city", "region", "country") if location.get(k)]
    return ", ".join(parts) or None


class SmartRecruitersSpider(BoardSpider):
    """List `GET {base}/v1/companies/{company}/postings?offset=&limit=`, detail at each `ref`.

    The company identifier is `company_id`, or `company` when that is the identifier itself.
    The first list page's `totalFound` gives the page count; later pages are requested a few
    at a time (`page_window`), and an empty or repeated page stops the paging. A list entry
    unchanged since the last good run is not fetched again (see BoardSpider.known_entry).
    """

    name = "smartrecruiters"
    default_base_url = "https://api.smartrecruiters.com"
    one_of_keys = ("company_id", "company")
    page_size = 100
    max_pages = 100

    @classmethod
    def count_listed(cls, body: bytes, entry: dict[str, Any]) -> tuple[int | None, str]:
        return int(json.loads(body)["totalFound"]), ""

    @property
    def company_id(self) -> str:
        return str(self.source.get("company_id") or self.source["company"])

    @property
    def limit(self) -> int:
        return int(self.source.get("page_size") or self.page_size)

    async def start(self) -> AsyncIterator[Any]:
        yield self.list_request(0)

    def list_request(self, offset: int, pages: int = 0) -> scrapy.Request:
        company = quote(self.company_id, safe="")
        query = urlencode({"offset": offset, "limit": self.limit})
        return scrapy.Request(f"{self.base_url}/v1/companies/{company}/postings?{query}",
                              callback=self.parse, errback=self.fatal_errback,
                              cb_kwargs={"offset": offset, "pages": pages})

    def parse(self, response: Response, offset: int = 0, pages: int = 0,
              **kwargs: Any) -> Iterator[Any]:
        data = self.load_json(response)
        if data is None:
            return
        content = data.get("content") if isinstance(data, dict) else None
        if not isinstance(content, list):
            self.record_error(f"no 'content' list in {response.url}", fatal=True)
            return
        keys = []
        for entry in content:
            if not isinstance(entry, dict) or not entry.get("id"):
                self.record_error(f"posting without id in {response.url}")
                continue
            key = str(entry["id"])
            keys.append(key)
            if key in self.listed:
                continue
            print_ = fingerprint(entry)
            known = self.known_entry(key, print_)
            if known is not None:
                yield from (self.unchanged(i) for i in known)
                continue
            ref = entry.get("ref") or \
                f"/v1/companies/{quote(self.company_id, safe='')}/postings/{entry['id']}"
            yield scrapy.Request(self.rebase(str(ref)), callback=self.parse_detail,
                                 errback=self.detail_failed,
                                 cb_kwargs={"entry": entry, "print_": print_})
        fresh = self.page_is_fresh(keys)
        if offset == 0:
            try:
                total = int(data.get("totalFound") or 0)
            except (TypeError, ValueError):
                total = 0
            last = min(total, self.limit * self.max_pages)
            if total > last:
                self.record_error(f"{total} postings listed; only the first {last} are read")
            pages = math.ceil(last / self.limit) if self.limit else 0
        for page in self.next_pages(offset // self.limit, pages, fresh):
            yield self.list_request(page * self.limit, pages)

    def parse_detail(self, response: Response, entry: dict[str, Any],
                     print_: str = "") -> Iterator[JobPosting]:
        detail = self.load_json(response, fatal=False)
        if not isinstance(detail, dict):
            if detail is not None:
                self.record_error(f"detail at {response.url} is not an object")
            self.count("hcjobs/details_failed")
            return
        item = self.to_item(entry, detail, self.now())
        self.remember_entry(str(entry["id"]), print_, [item.external_id])
        yield item

    def to_item(self, entry: dict[str, Any], detail: dict[str, Any], fetched: str) -> JobPosting:
        """Map a list entry and its detail to the common item (the detail wins when both say)."""
        merged = {**entry, **{k: v for k, v in detail.items() if v not in (None, "", [], {})}}
        location = _object(merged.get("location"))
        hints = {k: location[k] for k in ("remote", "hybrid") if isinstance(location.get(k), bool)}
        company = _object(merged.get("company"))
        employment = merged.get("typeOfEmployment")
        if isinstance(employment, dict):
            employment = employment.get("label") or employment.get("id")
        identifier = company.get("identifier") or self.company_id
        place = sr_location(location)
        html = sections_html(detail)
        return JobPosting(
            source=self.source_name,
            external_id=str(entry["id"]),
            title=(merged.get("name") or "").strip() or None,
            url=merged.get("postingUrl") or merged.get("applyUrl")
            or f"https://jobs.smartrecruiters.com/{identifier}/{entry['id']}",
            company=company.get("name") or self.source.get("company"),
            locations=[place] if place else [],
            posted_raw=merged.get("releasedDate"),
            employment_type=employment,
            description_html=html,
            hints=hints,
            raw={"list": entry, "detail": detail},
            fetched_at=fetched,
        )
