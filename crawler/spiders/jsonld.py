"""Career pages carrying schema.org JobPosting (JSON-LD, microdata fallback), read with extruct."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import extruct
import scrapy
from scrapy.http import Response
from scrapy.utils.sitemap import Sitemap

from crawler.items import JobPosting
from crawler.spiders.base import BoardSpider


def find_jobpostings(node: Any) -> Iterator[dict[str, Any]]:
    """Every JobPosting object in extruct output, through lists, @graph and nesting."""
    if isinstance(node, list):
        for child in node:
            yield from find_jobpostings(child)
    elif isinstance(node, dict):
        types = node.get("@type")
        types = types if isinstance(types, list) else [types]
        if any(isinstance(t, str) and t.rsplit("/", 1)[-1] == "JobPosting" for t in types):
            yield node
            return
        for key in ("@graph", "itemListElement", "item", "mainEntity"):
            if key in node:
                yield from find_jobpostings(node[key])


def _text(value: Any) -> str | None:
    """A schema.org value that may be a string, a number, a list or a {name/value} object."""
    if value is None:
        return None
    if isinstance(value, list):
        return _text(value[0]) if value else None
    if isinstance(value, dict):
        return _text(value.get("value") or value.get("name") or value.get("@value"))
    text = str(value).strip()
    return text or None


def _locations(job: dict[str, Any]) -> list[str]:
    places = job.get("jobLocation") or []
    out: list[str] = []
    for place in places if isinstance(places, list) else [places]:
        if isinstance(place, str):
            out.append(place)
            continue
        if not isinstance(place, dict):
            continue
        addr = place.get("address") or {}
        if isinstance(addr, str):
            out.append(addr)
            continue
        parts = [_text(addr.get(k)) for k in ("addressLocality", "addressRegion")]
        label = ", ".join(p for p in parts if p)
        country = _text(addr.get("addressCountry"))
        if country and country not in ("US", "USA", "United States"):
            label = f"{label}, {country}" if label else country
        if label:
            out.append(label)
    return out


def _salary(job: dict[str, Any]) -> dict[str, Any] | None:
    base = job.get("baseSalary")
    if not isinstance(base, dict):
        return None
    value = base.get("value")
    if isinstance(value, dict):
        low, high = value.get("minValue"), value.get("maxValue")
        if low is None and high is None:
            low = high = value.get("value")
        unit = value.get("unitText") or base.get("unitText")
    else:
        low = high = value
        unit = base.get("unitText")
    return {"min": low, "max": high, "currency": base.get("currency"), "unit": unit}


class JsonLdSpider(BoardSpider):
    """Career pages found from a `sitemap`, a `listing` page's links, or a list of `urls`.

    `base_url` replaces the scheme and host of every URL, so a public site can be crawled
    from a mirror or a local test server.
    """

    name = "jsonld"
    one_of_keys = ("sitemap", "listing", "urls")
    close_after_missed = 4  # page scrapes miss pages more often than APIs miss postings

    async def start(self) -> AsyncIterator[Any]:
        if self.source.get("sitemap"):
            yield scrapy.Request(self.rebase(self.source["sitemap"]), callback=self.parse_sitemap,
                                 errback=self.fatal_errback)
        if self.source.get("listing"):
            yield scrapy.Request(self.rebase(self.source["listing"]), callback=self.parse_listing,
                                 errback=self.fatal_errback)
        for url in self.source.get("urls") or []:
            yield scrapy.Request(self.rebase(url), callback=self.parse_page, errback=self.errback)

    def _wanted(self, url: str) -> bool:
        pattern = self.source.get("link_pattern")
        return bool(re.search(pattern, url)) if pattern else True

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        try:
            sitemap = Sitemap(response.body)
        except Exception as exc:  # lxml raises several types on garbage
            self.record_error(f"unreadable sitemap {response.url}: {exc}", fatal=True)
            return
        for entry in sitemap:
            loc = entry.get("loc")
            if not loc:
                continue
            if sitemap.type == "sitemapindex":
                yield scrapy.Request(self.rebase(loc), callback=self.parse_sitemap,
                                     errback=self.errback)
            elif self._wanted(loc):
                yield scrapy.Request(self.rebase(loc), callback=self.parse_page,
                                     errback=self.errback)

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        if not hasattr(response, "css"):
            self.record_error(f"listing {response.url} is not HTML", fatal=True)
            return
        host = urlsplit(response.url).netloc
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href)
            if urlsplit(url).netloc == host and self._wanted(url) and url != response.url:
                yield scrapy.Request(self.rebase(url), callback=self.parse_page,
                                     errback=self.errback)
        nexts = response.css('a[rel~="next"]::attr(href), link[rel~="next"]::attr(href)')
        for next_href in nexts.getall():
            yield scrapy.Request(self.rebase(response.urljoin(next_href)),
                                 callback=self.parse_listing, errback=self.errback)

    def parse_page(self, response: Response) -> Iterator[JobPosting]:
        try:
            data = extruct.extract(response.text, base_url=response.url,
                                   syntaxes=["json-ld", "microdata"], uniform=True)
        except Exception as exc:  # extruct surfaces parser errors of several kinds
            self.record_error(f"unreadable page {response.url}: {exc}")
            return
        jobs = list(find_jobpostings(data.get("json-ld"))) or \
            list(find_jobpostings(data.get("microdata")))
        if not jobs:
            self.count("hcjobs/pages_without_jobposting")
        fetched = self.now()
        for index, job in enumerate(jobs):
            yield self.to_item(job, response.url, index, fetched)

    def to_item(self, job: dict[str, Any], page_url: str, index: int, fetched: str) -> JobPosting:
        """Map one JobPosting object to the common item."""
        ident = _text(job.get("identifier"))
        url = _text(job.get("url")) or page_url
        external_id = ident or (url if index == 0 else f"{url}#{index}")
        org = job.get("hiringOrganization")
        company = _text(org) if org else self.source.get("company")
        hints = {k: job[k] for k in ("jobLocationType", "applicantLocationRequirements")
                 if job.get(k)}
        description = job.get("description")
        return JobPosting(
            source=self.source_name,
            external_id=external_id,
            title=_text(job.get("title")),
            url=url,
            company=company,
            locations=_locations(job),
            posted_raw=_text(job.get("datePosted")),
            valid_through_raw=_text(job.get("validThrough")),
            employment_type=_text(job.get("employmentType")),
            description_html=description if isinstance(description, str) else None,
            salary=_salary(job),
            hints=hints,
            raw=job,
            fetched_at=fetched,
        )
