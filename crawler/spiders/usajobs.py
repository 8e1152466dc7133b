"""USAJOBS search API: federal openings, paged, behind a free key sent in request headers."""

from __future__ import annotations

import json
import math
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import scrapy
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.items import JobPosting
from crawler.spiders.base import BoardSpider

# RateIntervalCode: today's codes and the 2016 schema's words.
PAY_UNITS = {"PA": "YEAR", "PER YEAR": "YEAR", "PH": "HOUR", "PER HOUR": "HOUR",
             "PD": "DAY", "PER DAY": "DAY", "PW": "WEEK", "PER WEEK": "WEEK",
             "PM": "MONTH", "PER MONTH": "MONTH"}
# Source keys and the search parameters they fill.
SEARCH_KEYS = {"keyword": "Keyword", "series": "JobCategoryCode", "location": "LocationName",
               "organization": "Organization", "days": "DatePosted"}
NO_CREDENTIALS = "skipped: set USAJOBS_API_KEY and USAJOBS_EMAIL to crawl USAJOBS " \
    "(free key: https://developer.usajobs.gov/apirequest/)"


def _number(value: Any) -> float | None:
    try:
        return float(str(value).replace(",", "").replace("$", ""))
    except (TypeError, ValueError):
        return None


def usajobs_salary(descriptor: dict[str, Any]) -> dict[str, Any] | None:
    """The first PositionRemuneration as {min, max, currency, unit}."""
    for pay in descriptor.get("PositionRemuneration") or []:
        if not isinstance(pay, dict):
            continue
        low, high = _number(pay.get("MinimumRange")), _number(pay.get("MaximumRange"))
        if low is None and high is None:
            continue
        code = str(pay.get("RateIntervalCode") or "").strip().upper()
        return {"min": low, "max": high, "currency": "USD", "unit": PAY_UNITS.get(code)}
    return None


def usajobs_text(descriptor: dict[str, Any]) -> str | None:
    """The announcement's plain-text parts under their headings, duties as "- " lines.

    The headings let the classifier find required qualifications as in other postings.
    """
    details = ((descriptor.get("UserArea") or {}).get("Details") or {})
    parts: list[str] = []

    def add(heading: str, value: Any) -> None:
        if isinstance(value, list):
            lines = [f"- {str(v).strip()}" for v in value if str(v or "").strip()]
            body = "\n".join(lines)
        else:
            body = str(value or "").strip()
        if body:
            parts.append(f"{heading}\n{body}")

    add("Summary", details.get("JobSummary"))
    add("Duties", details.get("MajorDuties"))
    add("Qualifications", descriptor.get("QualificationSummary"))
    add("Requirements", details.get("Requirements"))
    add("Education", details.get("Education"))
    return "\n\n".join(parts) or None


class UsajobsSpider(BoardSpider):
    """`GET {base}/api/search?...&Page=N&ResultsPerPage=M` with the key and e-mail in headers.

    The key and e-mail come from USAJOBS_API_KEY and USAJOBS_EMAIL. Without them the source
    is skipped with one note (the run stays ok with no postings): a missing key is a setup
    step, not a broken board. Search filters come from the source entry: `keyword`,
    `series` (job category codes such as "0675"; a list or "0675;0670"), `location`,
    `organization`, `days`, `remote` (true: remote jobs only).
    """

    name = "usajobs"
    default_base_url = "https://data.usajobs.gov"
    one_of_keys = ("keyword", "series")
    page_size = 500
    max_pages = 20

    @classmethod
    def count_listed(cls, body: bytes, entry: dict[str, Any]) -> tuple[int | None, str]:
        result = json.loads(body)["SearchResult"]
        return int(result.get("SearchResultCountAll") or result.get("SearchResultCount") or 0), ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers: dict[str, str] = {}

    @property
    def limit(self) -> int:
        return min(int(self.source.get("page_size") or self.page_size), self.page_size)

    async def start(self) -> AsyncIterator[Any]:
        key = os.environ.get("USAJOBS_API_KEY", "").strip()
        email = os.environ.get("USAJOBS_EMAIL", "").strip()
        if not key or not email:
            self.record_error(NO_CREDENTIALS)
            return
        self.headers = {"Host": urlsplit(self.base_url).netloc, "User-Agent": email,
                        "Authorization-Key": key, "Accept": "application/json"}
        yield self.page_request(1)

    def search_params(self) -> dict[str, str]:
        """The query parameters the source entry asks for."""
        params: dict[str, str] = {}
        for key, param in SEARCH_KEYS.items():
            value = self.source.get(key)
            if value in (None, "", []):
                continue
            params[param] = ";".join(map(str, value)) if isinstance(value, list) else str(value)
        if self.source.get("remote"):
            params["RemoteIndicator"] = "True"
        return params

    def page_request(self, page: int, pages: int = 0) -> scrapy.Request:
        query = urlencode({**self.search_params(), "Page": page, "ResultsPerPage": self.limit})
        return scrapy.Request(f"{self.base_url}/api/search?{query}", headers=self.headers,
                              callback=self.parse, errback=self.page_failed,
                              cb_kwargs={"page": page, "pages": pages})

    def page_failed(self, failure: Failure) -> None:
        """A failed search page fails the run; a refused key says which settings to check."""
        response = getattr(failure.value, "response", None)
        if failure.check(HttpError) and response is not None and response.status in (401, 403):
            self.record_error(f"HTTP {response.status} from {response.url}: USAJOBS refused the "
                              "key; check USAJOBS_API_KEY and USAJOBS_EMAIL", fatal=True)
            return
        self.fatal_errback(failure)

    def parse(self, response: Response, page: int = 1, pages: int = 0,
              **kwargs: Any) -> Iterator[Any]:
        data = self.load_json(response)
        if data is None:
            return
        result = data.get("SearchResult") if isinstance(data, dict) else None
        items = result.get("SearchResultItems") if isinstance(result, dict) else None
        if not isinstance(result, dict) or not isinstance(items, list):
            self.record_error(f"no 'SearchResult.SearchResultItems' in {response.url}",
                              fatal=True)
            return
        fetched = self.now()
        ids = []
        for entry in items:
            if not isinstance(entry, dict) or not entry.get("MatchedObjectId") or \
                    not isinstance(entry.get("MatchedObjectDescriptor"), dict):
                self.record_error(f"posting without MatchedObjectId in {response.url}")
                continue
            ids.append(str(entry["MatchedObjectId"]))
            yield self.to_item(entry, fetched)
        fresh = self.page_is_fresh(ids)
        if page == 1 and items:
            pages = self.page_count(result)
            if pages > self.max_pages:
                self.record_error(f"{pages} pages of results; only the first "
                                  f"{self.max_pages} are read (narrow the search)")
            pages = min(pages, self.max_pages)
        for index in self.next_pages(page - 1, pages, fresh):
            yield self.page_request(index + 1, pages)

    def page_count(self, result: dict[str, Any]) -> int:
        """NumberOfPages when stated, else from SearchResultCountAll."""
        stated = (result.get("UserArea") or {}).get("NumberOfPages")
        try:
            return int(str(stated))
        except (TypeError, ValueError):
            pass
        try:
            return math.ceil(int(result.get("SearchResultCountAll") or 0) / self.limit)
        except (TypeError, ValueError):
            return 1

    def to_item(self, entry: dict[str, Any], fetched: str) -> JobPosting:
        """Map one search result to the common item."""
        desc: dict[str, Any] = entry["MatchedObjectDescriptor"]
        details = ((desc.get("UserArea") or {}).get("Details") or {})
        places = [str(p.get("LocationName") or p.get("CityName") or "").strip()
                  for p in desc.get("PositionLocation") or [] if isinstance(p, dict)]
        schedule = [s.get("Name") for s in desc.get("PositionSchedule") or []
                    if isinstance(s, dict) and s.get("Name")]
        hints = {k: details[k] for k in ("TeleworkEligible", "RemoteIndicator")
                 if details.get(k) is not None}
        apply = desc.get("ApplyURI") or []
        return JobPosting(
            source=self.source_name,
            external_id=str(entry["MatchedObjectId"]),
            title=(desc.get("PositionTitle") or "").strip() or None,
            url=desc.get("PositionURI") or (apply[0] if apply else None),
            company=desc.get("OrganizationName") or desc.get("DepartmentName")
            or self.source.get("company"),
            locations=list(dict.fromkeys(p for p in places if p)),
            posted_raw=desc.get("PublicationStartDate"),
            valid_through_raw=desc.get("ApplicationCloseDate"),
            employment_type=schedule[0] if schedule else None,
            description_text=usajobs_text(desc),
            salary=usajobs_salary(desc),
            hints=hints,
            raw=entry,
            fetched_at=fetched,
        )
