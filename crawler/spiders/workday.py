"""Workday CXS career sites: a POSTed, paged list of postings, then one detail per posting."""

from __future__ import annotations

import json
import math
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import scrapy
from scrapy.http import JsonRequest, Response

from crawler.items import JobPosting
from crawler.spiders.base import BoardSpider, fingerprint

SEVERAL_PLACES = re.compile(r"^\s*\d+\s+locations?\s*$", re.IGNORECASE)
# List entry fields that change without the posting changing ("Posted 3 Days Ago" ages daily).
VOLATILE = ("postedOn",)


class WorkdaySpider(BoardSpider):
    """List `POST {base}/wday/cxs/{tenant}/{site}/jobs`, detail `GET ...{site}{externalPath}`.

    The host differs per employer (`acme.wd5.myworkdayjobs.com`), so a source names it as
    `host` or gives a full `base_url`. Workday states `total` reliably on the first page only
    (later pages may say 0), so every other page is requested from the first page's total.
    The list pages at most 20 postings (a larger `limit` is refused with HTTP 400); pages go
    out a few at a time (`page_window`) and an empty or repeated page stops the paging. The
    detail of a list entry unchanged since the last good run (ignoring `postedOn`) is not
    fetched again (see BoardSpider.known_entry).
    """

    name = "workday"
    required_keys = ("tenant", "site")
    one_of_keys = ("base_url", "host")
    page_size = 20
    max_pages = 250

    url_keys = ("host",)

    @classmethod
    def count_listed(cls, body: bytes, entry: dict[str, Any]) -> tuple[int | None, str]:
        return int(json.loads(body)["total"]), ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        host = str(self.source.get("host") or "").strip().rstrip("/")
        if not self.source.get("base_url") and host:
            self.base_url = host if "://" in host else f"https://{host}"

    @property
    def api(self) -> str:
        tenant = quote(str(self.source["tenant"]), safe="")
        site = quote(str(self.source["site"]), safe="")
        return f"{self.base_url}/wday/cxs/{tenant}/{site}"

    @property
    def limit(self) -> int:
        return min(int(self.source.get("page_size") or self.page_size), self.page_size)

    async def start(self) -> AsyncIterator[Any]:
        if not self.base_url:  # `scrapy crawl` skips check_config
            self.record_error("kind 'workday' needs 'host' or 'base_url'", fatal=True)
            return
        yield self.list_request(0)

    def list_request(self, offset: int, pages: int = 0) -> JsonRequest:
        body = {"appliedFacets": self.source.get("facets") or {}, "limit": self.limit,
                "offset": offset, "searchText": str(self.source.get("search") or "")}
        return JsonRequest(f"{self.api}/jobs", data=body, callback=self.parse,
                           errback=self.fatal_errback,
                           cb_kwargs={"offset": offset, "pages": pages})

    def parse(self, response: Response, offset: int = 0, pages: int = 0,
              **kwargs: Any) -> Iterator[Any]:
        data = self.load_json(response)
        if data is None:
            return
        postings = data.get("jobPostings") if isinstance(data, dict) else None
        if not isinstance(postings, list):
            self.record_error(f"no 'jobPostings' list in {response.url}", fatal=True)
            return
        keys = []
        for entry in postings:
            path = entry.get("externalPath") if isinstance(entry, dict) else None
            if not isinstance(path, str) or not path.startswith("/"):
                self.record_error(f"posting without externalPath in {response.url}")
                continue
            keys.append(path)
            if path in self.listed:
                continue
            assert isinstance(entry, dict)
            print_ = fingerprint(entry, ignore=VOLATILE)
            known = self.known_entry(path, print_)
            if known is not None:
                yield from (self.unchanged(i) for i in known)
                continue
            yield scrapy.Request(f"{self.api}{path}", callback=self.parse_detail,
                                 errback=self.detail_failed,
                                 cb_kwargs={"entry": entry, "print_": print_},
                                 headers={"Accept": "application/json"})
        fresh = self.page_is_fresh(keys)
        if offset == 0:
            try:
                total = int(data.get("total") or 0)
            except (TypeError, ValueError):
                total = 0
            last = min(total, self.limit * self.max_pages)
            if total > last:
                self.record_error(f"{total} postings listed; only the first {last} are read")
            pages = math.ceil(last / self.limit)
        for page in self.next_pages(offset // self.limit, pages, fresh):
            yield self.list_request(page * self.limit, pages)

    def parse_detail(self, response: Response, entry: dict[str, Any],
                     print_: str = "") -> Iterator[JobPosting]:
        detail = self.load_json(response, fatal=False)
        info = detail.get("jobPostingInfo") if isinstance(detail, dict) else None
        if not isinstance(info, dict):
            if detail is not None:
                self.record_error(f"no 'jobPostingInfo' in {response.url}")
            self.count("hcjobs/details_failed")
            return
        assert isinstance(detail, dict)
        item = self.to_item(entry, detail, info, self.now())
        self.remember_entry(str(entry["externalPath"]), print_, [item.external_id])
        yield item

    def to_item(self, entry: dict[str, Any], detail: dict[str, Any], info: dict[str, Any],
                fetched: str) -> JobPosting:
        """Map a list entry and its detail to the common item (the detail wins when both say)."""
        locations = [str(p).strip() for p in [info.get("location"),
                                              *(info.get("additionalLocations") or [])]
                     if isinstance(p, str) and p.strip()]
        listed = entry.get("locationsText")
        if not locations and isinstance(listed, str) and listed.strip() \
                and not SEVERAL_PLACES.match(listed):
            locations = [listed.strip()]
        org = detail.get("hiringOrganization")
        remote = info.get("remoteType") or entry.get("remoteType")
        html = info.get("jobDescription")
        return JobPosting(
            source=self.source_name,
            external_id=str(info.get("jobReqId") or entry["externalPath"]),
            title=(info.get("title") or entry.get("title") or "").strip() or None,
            url=info.get("externalUrl") or f"{self.base_url}/{self.source['site']}"
            f"{entry['externalPath']}",
            company=(org.get("name") if isinstance(org, dict) else None)
            or self.source.get("company"),
            locations=list(dict.fromkeys(locations)),
            posted_raw=info.get("postedOn") or entry.get("postedOn"),
            valid_through_raw=info.get("endDate"),
            employment_type=info.get("timeType"),
            description_html=html if isinstance(html, str) and html.strip() else None,
            hints={"remoteType": remote} if remote else {},
            raw={"list": entry, "detail": detail},
            fetched_at=fetched,
        )
