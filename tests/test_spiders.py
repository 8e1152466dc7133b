"""End to end, per board kind: the real spider crawls recorded-style fixtures over real HTTP into
a temporary SQLite store, then the runs, stored postings and requests the boards saw are checked.

Every source (happy boards and broken ones) runs in one crawl process, shared by the tests of
this module, so the file stays fast; the USAJOBS case without credentials needs its own process
because credentials come from the environment.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from boards import RouteBoard, Seen, file_reply, fixture, json_reply
from sqlalchemy import select
from sqlalchemy.engine import Engine

from crawler.spiders.feed import FeedSpider
from crawler.spiders.lever import LeverSpider
from crawler.spiders.smartrecruiters import SmartRecruitersSpider
from crawler.spiders.usajobs import UsajobsSpider
from crawler.spiders.workday import WorkdaySpider
from pipeline.crawl import run_crawl, run_rows
from pipeline.db import open_store, session_scope
from pipeline.models import CrawlRun, Posting, Source

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("greenhouse", "jsonld", "lever", "ashby", "smartrecruiters", "workday", "usajobs",
         "remoteok", "remotive", "feed")
USAJOBS_KEY = "test-key-0675"
USAJOBS_EMAIL = "crawler@hcjobs.example"
# one-response boards parse bodies of this size or more one posting at a time
STREAM_EVERY_BODY = {"HCJOBS_STREAM_JSON_BYTES": 1}
HTML_DOWN = (200, "text/html; charset=utf-8",
             b"<html><body><h1>We'll be right back!</h1></body></html>")


def _json(*parts: str) -> Any:
    return json.loads(fixture(*parts))


# ---- the boards -------------------------------------------------------------------------------


def lever_board() -> RouteBoard:
    page = "/v0/postings/mercy-rcm?mode=json&limit=2&skip="
    return RouteBoard({
        page + "0": file_reply("lever", "mercy-rcm.skip0.json"),
        page + "2": file_reply("lever", "mercy-rcm.skip2.json"),
        page + "4": file_reply("lever", "mercy-rcm.skip4.json"),
        page + "6": json_reply([]),
        # a mirror that ignores `skip`: every page is the same
        "/v0/postings/stuck-clinic": file_reply("lever", "mercy-rcm.skip2.json"),
    })


def ashby_board() -> RouteBoard:
    return RouteBoard({
        "/posting-api/job-board/brightpath-health?includeCompensation=true":
            file_reply("ashby", "brightpath-health.json"),
        "/posting-api/job-board/maintenance": HTML_DOWN,
        "/posting-api/job-board/brightpath-streamed?includeCompensation=true":
            file_reply("ashby", "brightpath-health.json"),
        # valid JSON for all but its last bytes, served whole (the Content-Length matches)
        "/posting-api/job-board/brightpath-cut?includeCompensation=true":
            (200, "application/json", fixture("ashby", "brightpath-health.json")[:-40]),
    })


def smartrecruiters_board() -> RouteBoard:
    base = "/v1/companies/SunriseMedicalGroup/postings"
    routes: dict[Any, Any] = {
        f"{base}?offset=0&limit=2": file_reply("smartrecruiters", "list.offset0.json"),
        f"{base}?offset=2&limit=2": file_reply("smartrecruiters", "list.offset2.json"),
    }
    for ident in ("744000200000001", "744000200000002"):  # ...003's detail is gone: 404
        routes[f"{base}/{ident}"] = file_reply("smartrecruiters", f"posting.{ident}.json")
    return RouteBoard(routes)


def workday_board() -> RouteBoard:
    api = "/wday/cxs/valleyhealth/Careers"

    def jobs(request: Seen) -> tuple[int, str, bytes]:
        offset = request.json()["offset"]
        return file_reply("workday", f"jobs.offset{offset}.json")

    routes: dict[Any, Any] = {("POST", f"{api}/jobs"): jobs,
                              ("POST", "/wday/cxs/downhealth/Careers/jobs"):
                                  (500, "text/html", b"<html>Internal error</html>")}
    for entry in _json("workday", "jobs.offset0.json")["jobPostings"] + \
            _json("workday", "jobs.offset2.json")["jobPostings"]:
        req = entry["bulletFields"][0]
        path = FIXTURES_DIR / "workday" / f"detail.{req}.json"
        routes[f"{api}{entry['externalPath']}"] = \
            file_reply("workday", path.name) if path.exists() else HTML_DOWN
    return RouteBoard(routes)


def usajobs_board() -> RouteBoard:
    def search(request: Seen) -> tuple[int, str, bytes]:
        if request.headers.get("authorization-key") != USAJOBS_KEY:
            return 401, "text/plain", b"Unauthorized"
        return file_reply("usajobs", f"search.page{request.params['Page']}.json")

    return RouteBoard({"/api/search": search,
                       "/expired/api/search": (401, "text/plain", b"Unauthorized")})


def remoteok_board() -> RouteBoard:
    return RouteBoard({"/api": file_reply("remoteok", "api.json"), "/down/api": HTML_DOWN,
                       "/streamed/api": file_reply("remoteok", "api.json")})


def remotive_board() -> RouteBoard:
    return RouteBoard({
        "/api/remote-jobs?category=medical&search=coder":
            file_reply("remotive", "remote-jobs.json"),
        "/v2/api/remote-jobs": json_reply({"error": "this endpoint moved"}),
    })


def feed_board() -> RouteBoard:
    return RouteBoard({
        "/feeds/him.rss": file_reply("feed", "coding-jobs.rss",
                                     content_type="application/rss+xml"),
        "/jobs.atom": file_reply("feed", "careers.atom", content_type="application/atom+xml"),
        "/feeds/maintenance.rss": HTML_DOWN,
    })


FIXTURES_DIR = ROOT / "tests" / "fixtures"
BOARDS = {"lever": lever_board, "ashby": ashby_board, "smartrecruiters": smartrecruiters_board,
          "workday": workday_board, "usajobs": usajobs_board, "remoteok": remoteok_board,
          "remotive": remotive_board, "feed": feed_board}


def entries(boards: dict[str, RouteBoard]) -> list[dict[str, Any]]:
    """Source entries for every board: one healthy source per kind, and the broken ones."""
    def on(kind: str, **entry: Any) -> dict[str, Any]:
        return {"kind": kind, "base_url": boards[kind].url, **entry}

    return [
        on("lever", name="lever-mercy", site="mercy-rcm", company="Mercy Revenue Partners",
           page_size=2),
        on("lever", name="lever-stuck", site="stuck-clinic", page_size=2),
        on("lever", name="lever-gone", site="closed-clinic"),
        on("ashby", name="ashby-brightpath", org="brightpath-health", company="BrightPath Health"),
        on("ashby", name="ashby-junk", org="maintenance"),
        on("ashby", name="ashby-streamed", org="brightpath-streamed", company="BrightPath Health",
           settings=STREAM_EVERY_BODY),
        on("ashby", name="ashby-cut", org="brightpath-cut", settings=STREAM_EVERY_BODY),
        on("smartrecruiters", name="sr-sunrise", company_id="SunriseMedicalGroup", page_size=2),
        on("smartrecruiters", name="sr-gone", company_id="NoSuchCompany"),
        on("workday", name="wd-valley", tenant="valleyhealth", site="Careers", page_size=2),
        on("workday", name="wd-down", tenant="downhealth", site="Careers"),
        on("usajobs", name="usajobs-hit", keyword="medical records",
           series=["0675", "0669", "0679"], page_size=2),
        on("usajobs", name="usajobs-expired", series="0675",
           base_url=f"{boards['usajobs'].url}/expired"),
        on("remoteok", name="remoteok", tags=["medical", "Healthcare"]),
        on("remoteok", name="remoteok-down", base_url=f"{boards['remoteok'].url}/down"),
        on("remoteok", name="remoteok-streamed", tags=["medical", "Healthcare"],
           base_url=f"{boards['remoteok'].url}/streamed", settings=STREAM_EVERY_BODY),
        on("remotive", name="remotive", category="medical", search="coder"),
        on("remotive", name="remotive-moved", category="medical", search="coder",
           base_url=f"{boards['remotive'].url}/v2"),
        on("feed", name="feed-rss", url="https://jobs.lakeshore-health.example/feeds/him.rss",
           company="Lakeshore Health System"),
        on("feed", name="feed-atom", url="https://careers.prairieclinics.example/jobs.atom",
           company="Prairie Family Clinics"),
        on("feed", name="feed-junk",
           url="https://jobs.lakeshore-health.example/feeds/maintenance.rss"),
    ]


@dataclass
class Crawl:
    """What one crawl left behind: its runs and stored postings, by source name."""

    engine: Engine
    runs: dict[str, CrawlRun]
    postings: dict[str, dict[str, Posting]]
    boards: dict[str, RouteBoard]


def _stored(engine: Engine) -> dict[str, dict[str, Posting]]:
    out: dict[str, dict[str, Posting]] = {}
    with session_scope(engine) as session:
        for name, posting in session.execute(
                select(Source.name, Posting).join(Posting, Posting.source_id == Source.id)):
            out.setdefault(name, {})[posting.external_id] = posting
    return out


@pytest.fixture(scope="module")
def boards() -> Iterator[dict[str, RouteBoard]]:
    started = {kind: make() for kind, make in BOARDS.items()}
    for board in started.values():
        board.start()
    yield started
    for board in started.values():
        board.stop()


@pytest.fixture(scope="module")
def crawl(boards: dict[str, RouteBoard], tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    """Every source of `entries` crawled once, with USAJOBS credentials in the environment."""
    url = f"sqlite:///{tmp_path_factory.mktemp('spiders') / 'jobs.db'}"
    engine = open_store(url)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("USAJOBS_API_KEY", USAJOBS_KEY)
        mp.setenv("USAJOBS_EMAIL", USAJOBS_EMAIL)
        result = run_crawl(engine, url, entries(boards), timeout=120)
    assert result.exit_code == 0, result.log
    return Crawl(engine, dict(run_rows(engine, result.run_ids)), _stored(engine), boards)


def _ok(crawl: Crawl, name: str, seen: int) -> CrawlRun:
    run = crawl.runs[name]
    assert run.status == "ok", (name, run.error)
    assert run.seen == seen, (name, run.seen, run.error)
    assert len(crawl.postings.get(name, {})) == seen
    return run


def _failed(crawl: Crawl, name: str, reason: str) -> None:
    run = crawl.runs[name]
    assert run.status == "failed", (name, run.error)
    assert run.error and reason in run.error, (name, run.error)
    assert run.seen == 0 and not crawl.postings.get(name)


def _days_before(posted: datetime | None, seen: datetime, days: int) -> bool:
    """Whether a relative date ("Posted 3 Days Ago") was read as `days` before the crawl."""
    assert posted is not None
    return abs((_utc(seen) - _utc(posted)) - timedelta(days=days)) < timedelta(minutes=5)


def _utc(value: datetime) -> datetime:
    """SQLite hands datetimes back naive; the store writes them in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# ---- lever --------------------------------------------------------------------------------------


def test_lever_pages_until_empty_and_keeps_lists(crawl: Crawl) -> None:
    run = _ok(crawl, "lever-mercy", 5)
    assert run.error is None
    pages = crawl.boards["lever"].seen("/v0/postings/mercy-rcm")
    assert [(r.params["mode"], r.params["skip"], r.params["limit"]) for r in pages] == \
        [("json", "0", "2"), ("json", "2", "2"), ("json", "4", "2"), ("json", "6", "2")]

    postings = crawl.postings["lever-mercy"]
    served = {j["id"]: j for n in (0, 2, 4) for j in _json("lever", f"mercy-rcm.skip{n}.json")}
    assert set(postings) == set(served)
    coder = postings["3f1c9a2e-8d4b-4c1e-9a7f-1b2c3d4e5f60"]
    assert coder.title == "Remote Medical Coder II (CPC)"
    assert coder.company == "Mercy Revenue Partners"
    assert coder.url == "https://jobs.lever.co/mercy-rcm/3f1c9a2e-8d4b-4c1e-9a7f-1b2c3d4e5f60"
    assert coder.location == "Remote - US; Columbus, OH"
    assert coder.posted_raw == "1767225600000"  # epoch milliseconds, kept as given
    assert coder.posted_at and _utc(coder.posted_at) == datetime(2026, 1, 1, tzinfo=UTC)
    assert coder.employment_type == "FULL_TIME"  # "Full-time" as published
    assert coder.hints == {"workplaceType": "remote"}
    assert coder.raw == served[coder.external_id]
    # the requirement lists live outside `description`; they must reach the text
    assert "- CPC or CCS-P certification (required)" in coder.text
    assert "Requirements" in coder.text
    assert (coder.salary_min, coder.salary_max, coder.salary_period) == (24.0, 29.5, "hour")
    cdi = postings["c0ffee00-1111-4222-8333-444455556666"]
    assert cdi.location == "Cincinnati, OH; Lexington, KY"
    assert cdi.hints == {"workplaceType": "hybrid"}
    auditor = postings["feedface-0000-4111-8222-333344445555"]  # empty description, lists only
    assert "- Audit 30 charts a week" in auditor.text


def test_lever_stops_when_a_page_repeats(crawl: Crawl) -> None:
    _ok(crawl, "lever-stuck", 2)
    assert [r.params["skip"] for r in crawl.boards["lever"].seen("/v0/postings/stuck-clinic")] \
        == ["0", "2"]


def test_lever_missing_board_fails_the_run(crawl: Crawl) -> None:
    _failed(crawl, "lever-gone", "404")
    assert "does the board still exist" in (crawl.runs["lever-gone"].error or "")


# ---- ashby --------------------------------------------------------------------------------------


def test_ashby_board_with_compensation(crawl: Crawl) -> None:
    run = _ok(crawl, "ashby-brightpath", 3)
    assert run.stats["hcjobs/skipped_unlisted"] == 1
    (request,) = crawl.boards["ashby"].seen("/posting-api/job-board/brightpath-health")
    assert request.params == {"includeCompensation": "true"}

    postings = crawl.postings["ashby-brightpath"]
    assert "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6" not in postings  # isListed: false
    biller = postings["5b0e1d2c-3a4f-4e5d-8c7b-6a5f4e3d2c1b"]
    assert biller.title == "Medical Billing & Coding Specialist"
    assert biller.company == "BrightPath Health"
    assert biller.location == "Remote (US); Denver, CO; Austin, TX"
    assert biller.hints == {"isRemote": True, "workplaceType": "Remote"}
    assert (biller.salary_min, biller.salary_max, biller.salary_currency,
            biller.salary_period) == (52000, 64000, "USD", "year")
    assert biller.posted_raw == "2026-09-03T15:04:05.123+00:00"
    assert biller.employment_type == "FULL_TIME"  # "FullTime" as published
    # Ashby wraps list items in <p>: the bullet must survive into the text
    assert "\n- CPC, CCA or CBCS certification" in biller.text
    assert biller.raw["compensation"]["summaryComponents"][1]["minValue"] == 52000
    desk = postings["9c8b7a69-5847-4362-8150-f0e1d2c3b4a5"]
    assert (desk.salary_min, desk.salary_max, desk.salary_period) == (19.5, 23, "hour")
    assert desk.hints == {"isRemote": False, "workplaceType": "OnSite"} and desk.state == "AZ"
    nurse = postings["77aa88bb-99cc-4dd0-8ee1-f2a3b4c5d6e7"]  # empty HTML: the plain text is used
    assert nurse.html is None and "active Arizona RN license" in nurse.text
    assert nurse.salary_min is None


def test_ashby_invalid_json_fails_the_run(crawl: Crawl) -> None:
    _failed(crawl, "ashby-junk", "invalid JSON")
    assert "text/html" in (crawl.runs["ashby-junk"].error or "")


STORED_FIELDS = ("title", "company", "location", "text", "html", "salary_min", "salary_max",
                 "salary_period", "posted_raw", "employment_type", "hints", "raw", "content_hash")


@pytest.mark.parametrize(("streamed", "whole"), [("ashby-streamed", "ashby-brightpath"),
                                                 ("remoteok-streamed", "remoteok")])
def test_a_large_answer_parsed_one_posting_at_a_time_stores_the_same(
        crawl: Crawl, streamed: str, whole: str) -> None:
    """Bodies over HCJOBS_STREAM_JSON_BYTES (1 byte here) are streamed: same postings, same
    fields, to the byte, as the same answer parsed whole (mojibake and floats included)."""
    expected = crawl.postings[whole]
    _ok(crawl, streamed, len(expected))
    got = crawl.postings[streamed]
    assert set(got) == set(expected)
    for ext, posting in got.items():
        for name in STORED_FIELDS:
            assert getattr(posting, name) == getattr(expected[ext], name), (ext, name)


def test_a_large_answer_broken_at_its_end_stores_nothing(crawl: Crawl) -> None:
    """Checked whole before any posting is handed over: no posting from a malformed answer."""
    _failed(crawl, "ashby-cut", "invalid JSON")


# ---- smartrecruiters ----------------------------------------------------------------------------


def test_smartrecruiters_list_pages_and_details(crawl: Crawl) -> None:
    run = _ok(crawl, "sr-sunrise", 2)
    assert run.stats["hcjobs/details_failed"] == 1  # ...003's detail is a 404: skipped, counted
    assert run.error and "HTTP 404" in run.error and "744000200000003" in run.error
    board = crawl.boards["smartrecruiters"]
    lists = board.seen("/v1/companies/SunriseMedicalGroup/postings", "GET")
    assert sorted((r.params["offset"], r.params["limit"]) for r in lists if r.query) == \
        [("0", "2"), ("2", "2")]
    details = {r.path.rsplit("/", 1)[1] for r in lists if not r.query}
    assert details == {"744000200000001", "744000200000002", "744000200000003"}

    postings = crawl.postings["sr-sunrise"]
    coder = postings["744000200000001"]
    assert coder.title == "Health Information Management Coder"
    assert coder.company == "Sunrise Medical Group"
    assert coder.location == "Tampa, FL, United States" and coder.state == "FL"
    assert coder.hints == {"remote": True, "hybrid": False}
    assert coder.posted_raw == "2026-09-04T13:22:41.512Z"
    assert coder.employment_type == "FULL_TIME"  # "Full-time" as published
    assert (coder.url or "").startswith(
        "https://jobs.smartrecruiters.com/SunriseMedicalGroup/744000200000001")
    assert "- RHIT or CCS required" in coder.text and "Qualifications" in coder.text
    listed = _json("smartrecruiters", "list.offset0.json")["content"][0]
    assert coder.raw["list"] == listed
    assert coder.raw["detail"]["jobAd"]["sections"]["qualifications"]["title"] == "Qualifications"
    assert postings["744000200000002"].hints == {"remote": False, "hybrid": True}


def test_smartrecruiters_unknown_company_fails_the_run(crawl: Crawl) -> None:
    _failed(crawl, "sr-gone", "404")


# ---- workday ------------------------------------------------------------------------------------


def test_workday_posts_pages_and_fetches_details(crawl: Crawl) -> None:
    run = _ok(crawl, "wd-valley", 3)
    assert run.stats["hcjobs/details_failed"] == 1  # R-10260's detail is an HTML error page
    assert run.error and "invalid JSON" in run.error
    board = crawl.boards["workday"]
    posts = board.seen("/wday/cxs/valleyhealth/Careers/jobs", "POST")
    assert sorted(r.json()["offset"] for r in posts) == [0, 2]  # page 2 says total 0: no matter
    assert all(r.json() == {"appliedFacets": {}, "limit": 2, "offset": r.json()["offset"],
                            "searchText": ""} for r in posts)
    assert all(r.headers["content-type"].startswith("application/json") for r in posts)
    details = board.seen("/wday/cxs/valleyhealth/Careers/job/", "GET")
    assert len(details) == 4

    postings = crawl.postings["wd-valley"]
    coder = postings["R-10231"]
    assert coder.title == "Inpatient Coder II"
    assert coder.company == "Valley Health System"
    assert coder.location == "Winchester, VA; Front Royal, VA; Remote - Virginia"
    assert coder.hints == {"remoteType": "Hybrid"}
    assert coder.posted_raw == "Posted 3 Days Ago"
    assert _days_before(coder.posted_at, coder.first_seen, 3)
    assert coder.employment_type == "FULL_TIME"  # "Full time" as published
    assert coder.url == "https://valleyhealth.wd5.myworkdayjobs.com/Careers" \
        "/job/Winchester-VA/Inpatient-Coder-II_R-10231"
    assert "- CCS required" in coder.text  # the list has no description; the detail does
    assert coder.raw["list"]["locationsText"] == "3 Locations"
    assert coder.raw["detail"]["jobPostingInfo"]["jobReqId"] == "R-10231"
    manager = postings["R-10240"]
    assert manager.posted_raw == "Posted 30+ Days Ago"
    assert _days_before(manager.posted_at, manager.first_seen, 30)
    assert manager.hints == {} and manager.location == "Hagerstown, MD"
    assert postings["R-10255"].hints == {"remoteType": "Fully Remote"}


def test_workday_server_error_fails_the_run(crawl: Crawl) -> None:
    _failed(crawl, "wd-down", "HTTP 500")


def test_workday_host_config() -> None:
    """A `host` is enough to find the tenant's site; `base_url` wins when both are given."""
    entry = {"name": "acme", "kind": "workday", "tenant": "acme", "site": "External"}
    assert "'base_url', 'host'" in (WorkdaySpider.check_config(entry) or "")
    spider = WorkdaySpider(source={**entry, "host": "acme.wd5.myworkdayjobs.com"})
    assert WorkdaySpider.check_config(spider.source) is None
    assert spider.api == "https://acme.wd5.myworkdayjobs.com/wday/cxs/acme/External"
    spider = WorkdaySpider(source={**entry, "host": "acme.wd5.myworkdayjobs.com",
                                   "base_url": "http://127.0.0.1:9/"})
    assert spider.api == "http://127.0.0.1:9/wday/cxs/acme/External"


# ---- usajobs ------------------------------------------------------------------------------------


def test_usajobs_sends_credentials_and_pages(crawl: Crawl) -> None:
    _ok(crawl, "usajobs-hit", 3)
    board = crawl.boards["usajobs"]
    requests = board.seen("/api/search")
    assert sorted(r.params["Page"] for r in requests) == ["1", "2"]
    for request in requests:
        assert request.headers["authorization-key"] == USAJOBS_KEY
        assert request.headers["user-agent"] == USAJOBS_EMAIL
        assert request.headers["host"] == board.netloc
        assert request.params["JobCategoryCode"] == "0675;0669;0679"
        assert request.params["Keyword"] == "medical records"
        assert request.params["ResultsPerPage"] == "2"

    postings = crawl.postings["usajobs-hit"]
    coder = postings["812345600"]
    assert coder.title == "Medical Records Technician (Coder-Outpatient)"
    assert coder.company == "Veterans Health Administration"
    assert coder.url == "https://www.usajobs.gov:443/job/812345600"
    assert coder.hints == {"TeleworkEligible": False, "RemoteIndicator": True}
    assert (coder.salary_min, coder.salary_max, coder.salary_period) == (49025, 63733, "year")
    assert coder.posted_raw == "2026-09-02T00:00:00.0000"
    assert coder.valid_through and _utc(coder.valid_through).date().isoformat() == "2026-09-16"
    assert "- Assigns ICD-10-CM and CPT codes" in coder.text and "CPC, RHIT" in coder.text
    assert coder.raw == _json("usajobs", "search.page1.json")["SearchResult"][
        "SearchResultItems"][0]
    chief = postings["812345700"]
    assert chief.location == "Phoenix, Arizona; Gallup, New Mexico" and chief.state == "AZ"
    assert chief.hints == {"TeleworkEligible": True, "RemoteIndicator": False}
    clerk = postings["812345800"]  # PH: paid by the hour
    assert (clerk.salary_min, clerk.salary_max, clerk.salary_period) == (21.05, 27.37, "hour")
    assert clerk.employment_type == "PART_TIME"  # "Part-time" as published


def test_usajobs_rejected_key_fails_the_run(crawl: Crawl) -> None:
    _failed(crawl, "usajobs-expired", "HTTP 401")
    assert "USAJOBS refused the key" in (crawl.runs["usajobs-expired"].error or "")


def test_usajobs_without_credentials_is_skipped_with_one_note(
        boards: dict[str, RouteBoard], sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USAJOBS_API_KEY", raising=False)
    monkeypatch.delenv("USAJOBS_EMAIL", raising=False)
    board = boards["usajobs"]
    before = len(board.seen())
    engine = open_store(sqlite_url)
    entry = {"name": "usajobs-nokey", "kind": "usajobs", "series": "0675", "base_url": board.url}
    result = run_crawl(engine, sqlite_url, [entry], timeout=120)
    ((_, run),) = run_rows(engine, result.run_ids)
    assert run.status == "ok", run.error
    assert run.seen == 0
    assert run.stats["errors"] == [run.error]
    assert "skipped" in (run.error or "") and "USAJOBS_API_KEY" in (run.error or "")
    assert "USAJOBS_EMAIL" in (run.error or "")
    assert len(board.seen()) == before  # not one request was sent


def test_usajobs_query_from_config() -> None:
    spider = UsajobsSpider(source={"name": "fed", "kind": "usajobs", "keyword": "coder",
                                   "series": "0675", "remote": True, "days": 7})
    assert spider.search_params() == {"Keyword": "coder", "JobCategoryCode": "0675",
                                      "DatePosted": "7", "RemoteIndicator": "True"}
    assert UsajobsSpider.check_config({"name": "fed", "kind": "usajobs"})


# ---- remoteok -----------------------------------------------------------------------------------


def test_remoteok_skips_the_notice_and_filters_tags(crawl: Crawl) -> None:
    run = _ok(crawl, "remoteok", 3)
    assert run.stats["hcjobs/skipped_by_tags"] == 1  # the Golang job
    postings = crawl.postings["remoteok"]
    assert set(postings) == {"1140001", "1140002", "1140004"}
    coder = postings["1140001"]
    assert coder.title == "Remote Medical Coder" and coder.company == "CodeRight Health"
    assert coder.html and coder.html.startswith("<h3>") and "&lt;" not in coder.html
    assert "CPC required." in coder.text and "<p>" not in coder.text
    assert coder.hints == {"isRemote": True, "applicantLocation": "USA"}
    assert coder.location == "USA"
    assert (coder.salary_min, coder.salary_max, coder.salary_currency,
            coder.salary_period) == (50000, 65000, "USD", "year")
    assert coder.posted_raw == "2026-09-11T08:00:08+00:00"
    assert coder.raw == _json("remoteok", "api.json")[1]
    scribe = postings["1140002"]  # mojibake in the source, salary 0 = not given
    assert "We\u2019re hiring" in scribe.text and "\u00e2\u20ac" not in scribe.text
    assert scribe.salary_min is None and scribe.salary_max is None
    manager = postings["1140004"]
    assert manager.hints == {"isRemote": True} and manager.location is None
    assert (manager.salary_min, manager.salary_max) == (85000, None)


def test_remoteok_invalid_json_fails_the_run(crawl: Crawl) -> None:
    _failed(crawl, "remoteok-down", "invalid JSON")


# ---- remotive -----------------------------------------------------------------------------------


def test_remotive_search_and_hints(crawl: Crawl) -> None:
    _ok(crawl, "remotive", 3)
    (request,) = crawl.boards["remotive"].seen("/api/remote-jobs")
    assert request.params == {"category": "medical", "search": "coder"}
    postings = crawl.postings["remotive"]
    coder = postings["2100001"]
    assert coder.title == "Risk Adjustment Coder (CRC)" and coder.company == "Apex Risk Partners"
    assert coder.hints == {"isRemote": True, "applicantLocation": "USA Only"}
    assert coder.location == "USA Only" and coder.employment_type == "FULL_TIME"
    assert coder.posted_raw == "2026-09-10T14:02:11"
    assert coder.raw["salary"] == "$28 - $34 /hour"  # free text: kept in raw
    assert "- CRC or CPC required" in coder.text
    assert postings["2100003"].hints["applicantLocation"] == "Worldwide"


def test_remotive_unexpected_shape_fails_the_run(crawl: Crawl) -> None:
    _failed(crawl, "remotive-moved", "no 'jobs' list")


# ---- feed ---------------------------------------------------------------------------------------


def test_rss_feed(crawl: Crawl) -> None:
    _ok(crawl, "feed-rss", 3)
    assert sorted(r.path for r in crawl.boards["feed"].seen("/feeds/")) == \
        ["/feeds/him.rss", "/feeds/maintenance.rss"]  # the public URLs, rebased on the board
    postings = crawl.postings["feed-rss"]
    coder = postings["LH-4411"]  # guid as id; content:encoded preferred over description
    assert coder.title == "Outpatient Coding Specialist"
    assert coder.url == "https://jobs.lakeshore-health.example/jobs/4411?utm_source=rss"
    assert coder.canonical_url == "https://jobs.lakeshore-health.example/jobs/4411"
    assert coder.company == "Lakeshore Health"  # from the board's own job:company field
    assert coder.location == "Muskegon, MI" and coder.state == "MI"
    assert coder.employment_type == "FULL_TIME"  # "Full-time" as published
    assert coder.posted_raw == "Tue, 08 Sep 2026 14:30:00 GMT"
    assert "- CPC or CCS-P required" in coder.text
    assert "<job:location>Muskegon, MI</job:location>" in coder.raw["xml"]
    assert coder.raw["fields"]["category"] == ["Coding", "Remote eligible"]
    roi = postings["https://jobs.lakeshore-health.example/jobs/4415"]  # escaped twice
    assert roi.html and roi.html.startswith("<p>") and "&lt;" not in roi.text
    director = postings["https://jobs.lakeshore-health.example/jobs/4420"]  # no guid: the link
    assert director.company == "Lakeshore Health System" and "RHIA required" in director.text


def test_atom_feed(crawl: Crawl) -> None:
    _ok(crawl, "feed-atom", 3)
    postings = crawl.postings["feed-atom"]
    manager = postings["tag:careers.prairieclinics.example,2026:job-310"]
    assert manager.title == "Practice Manager - Pediatrics"
    assert manager.url == "https://careers.prairieclinics.example/jobs/310"
    assert manager.posted_raw == "2026-09-01T10:00:00Z"  # published, not updated
    assert manager.company == "Prairie Family Clinics"
    assert "- CMPE preferred" in manager.text
    biller = postings["tag:careers.prairieclinics.example,2026:job-315"]  # xhtml content
    assert biller.html and "<strong>denials</strong>" in biller.html
    assert biller.posted_raw == "2026-09-07T15:30:00Z"
    nurse = postings["tag:careers.prairieclinics.example,2026:job-318"]  # text summary only
    assert nurse.html is None and "Nebraska LPN license required" in nurse.text


def test_feed_that_is_not_a_feed_fails_the_run(crawl: Crawl) -> None:
    _failed(crawl, "feed-junk", "not an RSS or Atom feed")


# ---- all kinds ----------------------------------------------------------------------------------


def test_every_run_stamps_fetch_time_and_source(crawl: Crawl) -> None:
    healthy = [name for name, run in crawl.runs.items() if run.status == "ok"]
    assert len(healthy) == 12  # ten kinds, two of them streamed too
    for name in healthy:
        for posting in crawl.postings[name].values():
            assert posting.title and posting.raw and posting.url, (name, posting.external_id)


def test_scrapy_list_shows_every_kind() -> None:
    out = subprocess.run([sys.executable, "-m", "scrapy", "list"], cwd=ROOT,
                         capture_output=True, text=True, check=True, timeout=60).stdout.split()
    assert set(KINDS) <= set(out), out


@pytest.mark.parametrize(("spider", "entry", "problem"), [
    (LeverSpider, {}, "'site'"),
    (SmartRecruitersSpider, {}, "'company_id', 'company'"),
    (FeedSpider, {}, "'url'"),
    (WorkdaySpider, {"host": "x.wd1.myworkdayjobs.com"}, "'tenant', 'site'"),
])
def test_check_config_names_missing_keys(spider: Any, entry: dict[str, Any],
                                         problem: str) -> None:
    assert problem in (spider.check_config({"name": "n", "kind": spider.name, **entry}) or "")


def test_rebase_keeps_path_and_query() -> None:
    ref = "https://api.smartrecruiters.com/v1/companies/Acme/postings/1?x=1"
    mirrored = SmartRecruitersSpider(source={"name": "n", "company": "Acme",
                                             "base_url": "http://127.0.0.1:8000/mirror"})
    assert mirrored.rebase(ref) == "http://127.0.0.1:8000/mirror/v1/companies/Acme/postings/1?x=1"
    assert mirrored.rebase("http://127.0.0.1:8000/mirror/v1/x") == \
        "http://127.0.0.1:8000/mirror/v1/x"  # already on the mirror
    assert mirrored.rebase("/v1/companies/Acme/postings/2") == \
        "http://127.0.0.1:8000/mirror/v1/companies/Acme/postings/2"
    public = SmartRecruitersSpider(source={"name": "n", "company": "Acme"})
    assert public.rebase(ref) == ref
