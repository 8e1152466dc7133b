"""Career pages carrying schema.org JobPosting (JSON-LD, microdata fallback), read with extruct."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.utils.sitemap import Sitemap

from crawler.items import JobPosting
from crawler.spiders.base import BoardSpider

LD_SCRIPT = re.compile(
    rb"<script\b[^>]*\btype\s*=\s*[\"']?application/ld\+json[\"']?[^>]*>(.*?)</script\s*>",
    re.IGNORECASE | re.DOTALL)


def quick_jsonld(body: bytes) -> list[Any] | None:
    """The JSON-LD blocks of a page, read without building an HTML tree; None when one of them
    does not parse as plain JSON (the caller then lets extruct try harder)."""
    blocks: list[Any] = []
    for match in LD_SCRIPT.finditer(body):
        raw = match.group(1).strip()
        if not raw:
            continue
        try:
            blocks.append(json.loads(raw, strict=False))
        except ValueError:
            return None
    return blocks


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
    url_keys = ("sitemap", "listing", "urls")
    close_after_missed = 4  # page scrapes miss pages more often than APIs miss postings

    @classmethod
    def count_listed(cls, body: bytes, entry: dict[str, Any]) -> tuple[int | None, str]:
        pattern = entry.get("link_pattern")

        def wanted(url: str) -> bool:
            return bool(re.search(pattern, url)) if pattern else True

        if entry.get("sitemap"):
            sitemap = Sitemap(body)
            locs = [str(e["loc"]) for e in sitemap if e.get("loc")]
            if sitemap.type == "sitemapindex":
                return None, f"sitemap index of {len(locs)} sitemaps (not followed here)"
            return sum(1 for loc in locs if wanted(loc)), ""
        if entry.get("listing"):
            url = cls(source=entry).rebase(str(entry["listing"]))
            page = HtmlResponse(url=url, body=body)
            host = urlsplit(page.url).netloc
            links = {page.urljoin(h) for h in page.css("a::attr(href)").getall()}
            return sum(1 for u in links
                       if urlsplit(u).netloc == host and wanted(u) and u != page.url), \
                "first listing page only"
        return len(entry.get("urls") or []), "pages listed in the entry"

    async def start(self) -> AsyncIterator[Any]:
        if self.source.get("sitemap"):
            yield scrapy.Request(self.rebase(self.source["sitemap"]), callback=self.parse_sitemap,
                                 errback=self.fatal_errback)
        if self.source.get("listing"):
            yield scrapy.Request(self.rebase(self.source["listing"]), callback=self.parse_listing,
                                 errback=self.fatal_errback)
        for url in self.source.get("urls") or []:
            yield self.page_request(url)

    def _wanted(self, url: str) -> bool:
        pattern = self.source.get("link_pattern")
        return bool(re.search(pattern, url)) if pattern else True

    def page_request(self, url: str, lastmod: str = "") -> scrapy.Request:
        """A career page, conditional on what the last run got there; `lastmod` from the
        sitemap is kept to skip the page next time when it has not changed."""
        target = self.rebase(url)
        return self.conditional(scrapy.Request(
            target, callback=self.parse_page, errback=self.errback,
            cb_kwargs={"lastmod": lastmod}), key=target)

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
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
                lastmod = str(entry.get("lastmod") or "")
                known = self.known_entry(self.rebase(loc), lastmod) if lastmod else None
                if known is not None:  # the sitemap says the page has not changed
                    yield from (self.unchanged(i) for i in known)
                    continue
                yield self.page_request(loc, lastmod)

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        if not isinstance(response, TextResponse):
            self.is_text(response, fatal=True)
            return
        host = urlsplit(response.url).netloc
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href)
            if urlsplit(url).netloc == host and self._wanted(url) and url != response.url:
                yield self.page_request(url)
        nexts = response.css('a[rel~="next"]::attr(href), link[rel~="next"]::attr(href)')
        for next_href in nexts.getall():
            yield scrapy.Request(self.rebase(response.urljoin(next_href)),
                                 callback=self.parse_listing, errback=self.errback)

    def parse_page(self, response: Response, lastmod: str = "") -> Iterator[JobPosting]:
        key = str(response.meta.get("hcjobs_key", response.url))
        if response.status == 304:  # the page has not changed since the last run
            items = self.not_modified(response)
            if lastmod:
                self.remember_entry(key, lastmod, [i.external_id for i in items])
            yield from items
            return
        if not self.is_text(response):
            return
        jobs = self.jobpostings(response)
        if jobs is None:
            return
        if not jobs:
            self.count("hcjobs/pages_without_jobposting")
        fetched = self.now()
        items = [self.to_item(job, response.url, index, fetched)
                 for index, job in enumerate(jobs)]
        ids = [i.external_id for i in items if self.storable(i)]
        self.remember(response, ids)
        if lastmod and ids:
            self.remember_entry(key, lastmod, ids)
        yield from items

    def jobpostings(self, response: Response) -> list[dict[str, Any]] | None:
        """The page's JobPosting objects: JSON-LD read directly when it parses cleanly (the
        common case, and much faster), else extruct's JSON-LD and microdata readers."""
        blocks = quick_jsonld(response.body)
        if blocks:
            jobs = list(find_jobpostings(blocks))
            if jobs:
                return jobs
        # imported here: a quarter of a second and 9 MB that every crawl process would spend
        # at its start, when most pages never need it
        import extruct

        try:
            data = extruct.extract(response.text, base_url=response.url,
                                   syntaxes=["json-ld", "microdata"], uniform=True)
        except Exception as exc:  # extruct surfaces parser errors of several kinds
            self.record_error(f"unreadable page {response.url}: {exc}")
            return None
        return list(find_jobpostings(data.get("json-ld"))) or \
            list(find_jobpostings(data.get("microdata")))

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
