"""Politeness, robustness and incremental crawling, end to end against real local HTTP servers.

Two crawl processes share this module: the first crawls healthy boards and every fault at
once (500s, 429/503 with Retry-After, a server slower than the timeout, truncated and reset
answers, robots.txt, a redirect loop, a size cap, a tripping circuit breaker); the second
crawls the healthy boards again, now answering 304 or listing mostly unchanged entries, while
one of them breaks. Unit tests cover the helpers, and `hcjobs sources check` runs against
local boards (nothing here touches the internet).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
from boards import Fault, RouteBoard, Seen, conditional, json_reply, sequence
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from twisted.internet.defer import Deferred

from crawler.items import JobPosting
from crawler.middlewares import backoff_delay, retry_after_seconds
from crawler.pipelines import ITEM_FIELDS
from crawler.run import schedule
from crawler.spiders.base import is_loopback, user_agent
from crawler.spiders.smartrecruiters import SmartRecruitersSpider
from pipeline.cli import main as hcjobs
from pipeline.crawl import run_crawl, run_rows
from pipeline.crawlstate import config_hash, load_state, summary_line
from pipeline.db import open_store, session_scope
from pipeline.models import CrawlRun, Posting, Source
from pipeline.sourcecheck import check_sources
from pipeline.sources import SourceError, load_sources, spider_kinds
from pipeline.store import finish_run, start_run, store_items

CONTACT = "crawl-ops@hcjobs.example"
FAST = {"HCJOBS_BACKOFF_BASE": 0.2, "HCJOBS_BACKOFF_MAX": 1.0}
GH_JOBS = 4


# ---- board contents -----------------------------------------------------------------------------


def gh_jobs(prefix: str, n: int = GH_JOBS) -> dict[str, Any]:
    """A Greenhouse `jobs?content=true` answer with `n` coding jobs."""
    return {"jobs": [{"id": f"{prefix}{i}", "title": f"Medical Coder {i}",
                      "absolute_url": f"https://boards.greenhouse.io/{prefix}/jobs/{i}",
                      "location": {"name": "Remote - US"}, "updated_at": "2026-09-01T00:00:00Z",
                      "content": "&lt;p&gt;CPC required.&lt;/p&gt;"} for i in range(n)],
            "meta": {"total": n}}


def sr_entry(i: int, title: str = "") -> dict[str, Any]:
    return {"id": f"7440{i}", "name": title or f"Coding Specialist {i}",
            "releasedDate": "2026-09-04T13:22:41.512Z",
            "location": {"city": "Tampa", "region": "FL", "country": "us"},
            "ref": f"https://api.smartrecruiters.com/v1/companies/Acme/postings/7440{i}"}


def sr_detail(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "jobAd": {"sections": {"jobDescription": {
        "title": "Job Description", "text": "<p>Assign ICD-10-CM codes. CPC required.</p>"}}}}


def wd_entry(i: int, posted: str, title: str = "") -> dict[str, Any]:
    return {"title": title or f"Coder {i}", "externalPath": f"/job/Remote/Coder_R-{i}",
            "locationsText": "Remote", "postedOn": posted, "bulletFields": [f"R-{i}"]}


def wd_detail(i: int, title: str = "") -> dict[str, Any]:
    return {"jobPostingInfo": {"jobReqId": f"R-{i}", "title": title or f"Coder {i}",
                               "jobDescription": "<p>Outpatient coding. CCS required.</p>",
                               "location": "Remote", "postedOn": "Posted Today"}}


def job_page(i: int) -> bytes:
    ld = {"@context": "https://schema.org", "@type": "JobPosting", "title": f"HIM Analyst {i}",
          "identifier": {"@type": "PropertyValue", "value": f"page-{i}"},
          "description": "<p>Release of information. RHIT preferred.</p>",
          "datePosted": "2026-09-01", "hiringOrganization": {"name": "Lakeshore Health"}}
    return (f"<html><head><script type='application/ld+json'>{json.dumps(ld)}</script></head>"
            f"<body><h1>HIM Analyst {i}</h1></body></html>").encode()


def sitemap(lastmods: list[str]) -> bytes:
    urls = "".join(f"<url><loc>https://careers.lakeshore.example/jobs/{i}</loc>"
                   f"<lastmod>{mod}</lastmod></url>" for i, mod in enumerate(lastmods))
    return (f"<?xml version='1.0'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
            f"{urls}</urlset>").encode()


@dataclass
class Phase:
    """Which crawl the boards are serving: 1 (first) or 2 (second)."""

    n: int = 1


def main_board(phase: Phase) -> RouteBoard:
    """Every healthy and faulty route, on one host."""
    calls = {"unavailable": 0}

    def unavailable(request: Seen) -> Any:
        calls["unavailable"] += 1
        if calls["unavailable"] == 1:  # down for maintenance, back in about 2 s
            return 503, "text/html", b"maintenance", \
                {"Retry-After": formatdate(time.time() + 2, usegmt=True)}
        return json_reply(gh_jobs("un"))

    def victim(request: Seen) -> Any:
        return json_reply(gh_jobs("vi")) if phase.n == 1 else \
            (500, "text/html", b"<html>down</html>")

    def sr_list(request: Seen) -> Any:
        entries = [sr_entry(i) for i in range(3)]
        if phase.n == 2:
            entries[1] = sr_entry(1, "Senior Coding Specialist")  # the only change
        return json_reply({"offset": 0, "limit": 100, "totalFound": 3, "content": entries})

    def wd_list(request: Seen) -> Any:
        posted = "Posted 2 Days Ago" if phase.n == 1 else "Posted 3 Days Ago"
        entries = [wd_entry(i, posted) for i in range(3)]
        if phase.n == 2:
            entries[2] = wd_entry(2, posted, "Coder II")
        return json_reply({"total": 3, "jobPostings": entries})

    def wd_detail_route(request: Seen) -> Any:
        i = int(request.path.rsplit("R-", 1)[1])
        return json_reply(wd_detail(i, "Coder II" if (phase.n == 2 and i == 2) else ""))

    def sitemap_route(request: Seen) -> Any:
        mods = ["2026-09-01", "2026-09-01", "2026-09-01"]
        if phase.n == 2:
            mods[2] = "2026-09-05"  # the sitemap says page 2 changed; the page says 304
        return 200, "application/xml", sitemap(mods)

    lever = [{"id": f"lv-{i}", "text": f"Coding Auditor {i}", "hostedUrl":
              f"https://jobs.lever.co/acme/lv-{i}", "categories": {"location": "Remote"},
              "descriptionPlain": "CPC required."} for i in range(3)]
    page, modified = "/v0/postings/acme?mode=json&limit=2&skip=", "Tue, 01 Sep 2026 00:00:00 GMT"
    routes: dict[Any, Any] = {
        page + "0": conditional(json_reply(lever[:2]), last_modified=modified),
        page + "2": conditional(json_reply(lever[2:]), last_modified=modified),
        page + "4": conditional(json_reply([]), last_modified=modified),
        "/v1/boards/healthy/jobs": conditional(json_reply(gh_jobs("he")), etag='"v1"'),
        "/v1/boards/victim/jobs": victim,
        "/v1/boards/err500/jobs": (500, "text/html", b"<html>error</html>"),
        "/v1/boards/ratelimited/jobs": sequence(
            (429, "application/json", b"{}", {"Retry-After": "1"}),
            json_reply(gh_jobs("rl"))),
        "/v1/boards/unavailable/jobs": unavailable,
        "/v1/boards/toolong/jobs": (429, "text/plain", b"slow down", {"Retry-After": "3600"}),
        "/v1/boards/slow/jobs": Fault("slow", json_reply(gh_jobs("sl")), delay=3),
        "/v1/boards/cut/jobs": Fault("truncated", json_reply(gh_jobs("cu")), cut=30),
        "/v1/boards/reset/jobs": Fault("reset", json_reply(gh_jobs("re")), cut=30),
        "/v1/boards/cutjson/jobs": (200, "application/json", b'{"jobs": [{"id": 1, "tit'),
        "/v1/boards/contact/jobs": json_reply(gh_jobs("co")),
        "/v1/boards/plaintext/jobs": (200, "text/plain", json.dumps(gh_jobs("pt")).encode()),
        "/v1/boards/big/jobs": json_reply(gh_jobs("bg", 40)),
        "/v1/boards/loop/jobs": (302, "text/html", b"", {"Location": "/loop/b"}),
        "/loop/b": (302, "text/html", b"", {"Location": "/v1/boards/loop/jobs?content=true"}),
        "/v1/companies/Acme/postings": sr_list,
        ("POST", "/wday/cxs/valley/Careers/jobs"): wd_list,
        ("POST", "/wday/cxs/stuck/Careers/jobs"): json_reply(
            {"total": 200, "jobPostings": [wd_entry(i, "Posted Today") for i in range(20)]}),
        "/sites/lakeshore/sitemap.xml": sitemap_route,
        # breaker: ten postings listed, every detail a 503
        "/v1/companies/Broken/postings": json_reply(
            {"offset": 0, "limit": 100, "totalFound": 10,
             "content": [{**sr_entry(i), "ref": f"/v1/companies/Broken/postings/9{i}"}
                         for i in range(10)]}),
    }
    for i in range(3):
        entry = sr_entry(i)
        routes[f"/v1/companies/Acme/postings/7440{i}"] = lambda r, e=entry: json_reply(
            sr_detail(sr_entry(1, "Senior Coding Specialist") if phase.n == 2 and
                      e["id"] == "74401" else e))
        routes[f"/wday/cxs/valley/Careers/job/Remote/Coder_R-{i}"] = wd_detail_route
        routes[f"/sites/lakeshore/jobs/{i}"] = conditional(
            (200, "text/html; charset=utf-8", job_page(i)), etag=f'"p{i}"')
    for i in range(10):
        routes[f"/v1/companies/Broken/postings/9{i}"] = (500, "text/html", b"broken")
    for i in range(20):
        routes[f"/wday/cxs/stuck/Careers/job/Remote/Coder_R-{i}"] = json_reply(wd_detail(i))
    return RouteBoard(routes)


def entries(main: RouteBoard, closed: RouteBoard, phase: Phase) -> list[dict[str, Any]]:
    url = main.url

    def gh(name: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "kind": "greenhouse", "board": name, "base_url": url, **extra}

    first = [
        gh("err500"), gh("ratelimited"), gh("unavailable"), gh("toolong"),
        gh("slow", settings={"DOWNLOAD_TIMEOUT": 1, "RETRY_TIMES": 1}),
        gh("cut"), gh("reset"), gh("cutjson"), gh("plaintext"), gh("gone"),
        gh("big", settings={"DOWNLOAD_MAXSIZE": 2000}),
        gh("loop", settings={"REDIRECT_MAX_TIMES": 3}),
        gh("robots", base_url=closed.url),
        gh("contact", contact="other-ops@hcjobs.example"),
        {"name": "wd-stuck", "kind": "workday", "tenant": "stuck", "site": "Careers",
         "base_url": url},
        {"name": "sr-broken", "kind": "smartrecruiters", "company_id": "Broken",
         "base_url": url, "settings": {"CONCURRENT_REQUESTS": 1, "RETRY_TIMES": 1}},
    ]
    both = [
        gh("healthy"), gh("victim"),
        {"name": "lever-acme", "kind": "lever", "site": "acme", "page_size": 2, "base_url": url},
        {"name": "sr-acme", "kind": "smartrecruiters", "company_id": "Acme", "base_url": url},
        {"name": "wd-valley", "kind": "workday", "tenant": "valley", "site": "Careers",
         "base_url": url},
        {"name": "jsonld-lakeshore", "kind": "jsonld",
         "sitemap": "https://careers.lakeshore.example/sitemap.xml", "link_pattern": "/jobs/",
         "base_url": f"{url}/sites/lakeshore"},
    ]
    return both + first if phase.n == 1 else both


# ---- the two crawls -----------------------------------------------------------------------------


@dataclass
class Crawls:
    engine: Engine
    main: RouteBoard
    closed: RouteBoard
    first: dict[str, CrawlRun]
    second: dict[str, CrawlRun]
    before: dict[str, dict[str, tuple[Any, ...]]]
    """Postings per source after the first crawl: (times_seen, last_seen, status, hash)."""
    after: dict[str, dict[str, tuple[Any, ...]]]
    first_requests: list[Seen]
    second_requests: list[Seen]


def _postings(engine: Engine) -> dict[str, dict[str, tuple[Any, ...]]]:
    out: dict[str, dict[str, tuple[Any, ...]]] = {}
    with session_scope(engine) as session:
        for name, p in session.execute(
                select(Source.name, Posting).join(Posting, Posting.source_id == Source.id)):
            out.setdefault(name, {})[p.external_id] = (
                p.times_seen, p.last_seen, p.status, p.content_hash, p.missed_runs, p.title)
    return out


@pytest.fixture(scope="module")
def crawls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawls]:
    phase = Phase()
    main = main_board(phase)
    closed = RouteBoard({"/v1/boards/robots/jobs": json_reply(gh_jobs("ro"))},
                        robots="User-agent: *\nDisallow: /v1/\n")
    url = f"sqlite:///{tmp_path_factory.mktemp('polite') / 'jobs.db'}"
    engine = open_store(url)
    with main, closed, pytest.MonkeyPatch.context() as mp:
        mp.setenv("HCJOBS_CRAWL_SETTINGS", json.dumps(FAST))
        mp.setenv("HCJOBS_CONTACT", CONTACT)
        one = run_crawl(engine, url, entries(main, closed, phase), timeout=120)
        assert one.exit_code == 0, one.log
        first = dict(run_rows(engine, one.run_ids))
        before = _postings(engine)
        first_requests = list(main.requests)
        phase.n = 2
        two = run_crawl(engine, url, entries(main, closed, phase), timeout=120)
        assert two.exit_code == 0, two.log
        second = dict(run_rows(engine, two.run_ids))
        yield Crawls(engine, main, closed, first, second, before, _postings(engine),
                     first_requests, main.requests[len(first_requests):])


def _requests(seen: list[Seen], prefix: str, method: str | None = None) -> list[Seen]:
    return [r for r in seen if r.path.startswith(prefix) and r.path != "/robots.txt"
            and (method is None or r.method == method)]


def _failed(run: CrawlRun, reason: str) -> None:
    assert run.status == "failed", (run.status, run.error)
    assert run.error and reason in run.error, run.error
    assert run.seen == 0


# ---- politeness ---------------------------------------------------------------------------------


def test_server_errors_are_retried_with_growing_backoff(crawls: Crawls) -> None:
    run = crawls.first["err500"]
    _failed(run, "HTTP 500")
    hits = _requests(crawls.first_requests, "/v1/boards/err500/")
    assert len(hits) == 3  # RETRY_TIMES = 2
    gaps = [b.at - a.at for a, b in zip(hits, hits[1:], strict=False)]
    assert 0.1 <= gaps[0] <= 0.6 and 0.2 <= gaps[1] <= 1.0, gaps  # base 0.2 s, doubling
    assert run.stats["summary"]["retries"] == 2
    assert run.stats["summary"]["responses"] == {"200": 1, "500": 3}  # robots.txt + 3 tries


def test_429_retry_after_seconds_is_honoured(crawls: Crawls) -> None:
    run = crawls.first["ratelimited"]
    assert run.status == "ok" and run.seen == GH_JOBS, run.error
    first, second = _requests(crawls.first_requests, "/v1/boards/ratelimited/")
    assert second.at - first.at >= 0.95  # Retry-After: 1
    assert run.stats["hcjobs/retry_after_honoured"] == 1


def test_503_retry_after_http_date_is_honoured(crawls: Crawls) -> None:
    run = crawls.first["unavailable"]
    assert run.status == "ok" and run.seen == GH_JOBS, run.error
    first, second = _requests(crawls.first_requests, "/v1/boards/unavailable/")
    assert second.at - first.at >= 0.9  # an HTTP date about 2 s ahead (1 s resolution)


def test_retry_after_beyond_the_cap_is_not_waited_for(crawls: Crawls) -> None:
    run = crawls.first["toolong"]
    _failed(run, "HTTP 429")
    assert "Retry-After: 3600" in (run.error or "")
    assert len(_requests(crawls.first_requests, "/v1/boards/toolong/")) == 1


def test_robots_txt_disallowing_the_path_is_obeyed(crawls: Crawls) -> None:
    _failed(crawls.first["robots"], "forbidden by robots.txt")
    assert [r.path for r in crawls.closed.requests] == ["/robots.txt"]


def test_user_agent_names_the_operator(crawls: Crawls) -> None:
    agents = {r.headers.get("user-agent") for r in _requests(crawls.first_requests,
                                                              "/v1/boards/healthy/")}
    assert agents == {user_agent("hcjobs/0.1 (+https://github.com/hcjobs/hcjobs)", CONTACT)}
    assert all(CONTACT in (a or "") and a.startswith("hcjobs/") for a in agents)
    (own,) = _requests(crawls.first_requests, "/v1/boards/contact/")
    assert "contact: other-ops@hcjobs.example" in own.headers["user-agent"]


def test_circuit_breaker_stops_hitting_a_failing_host(crawls: Crawls) -> None:
    run = crawls.first["sr-broken"]
    _failed(run, "circuit breaker open for")
    details = _requests(crawls.first_requests, "/v1/companies/Broken/postings/")
    # one request at a time, first tries before retries (those have a lower priority): ten
    # first tries, then five postings fail their retry too, and the last five retries are not sent
    assert len(details) == 10 + 5
    host = crawls.main.netloc
    assert run.stats[f"hcjobs/circuit_open/{host}"] == 1
    summary = run.stats["summary"]
    assert summary["breaker_trips"] == {host: 1} and summary["breaker_skipped"] == 5
    assert sum("circuit breaker" in e for e in run.stats["errors"]) == 1  # recorded once
    assert "5 consecutive failures" in (run.error or "") and "HTTP 500" in (run.error or "")


# ---- robustness ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "reason"), [
    ("slow", "took longer than 1"),
    ("cut", "for http"),
    ("reset", "for http"),
    ("cutjson", "invalid JSON"),
    ("gone", "does the board still exist"),
    ("big", "size cap"),
    ("loop", "redirect"),
])
def test_each_fault_fails_its_own_run_with_a_reason(crawls: Crawls, name: str,
                                                    reason: str) -> None:
    run = crawls.first[name]
    _failed(run, reason)
    assert run.stats["errors"] and run.stats["summary"]["duration_s"] is not None
    assert name not in crawls.before


def test_slow_server_is_retried_then_given_up(crawls: Crawls) -> None:
    assert len(_requests(crawls.first_requests, "/v1/boards/slow/")) == 2  # RETRY_TIMES = 1
    assert "DownloadTimeoutError" in crawls.first["slow"].stats["summary"]["exceptions"]


def test_json_served_as_text_still_parses(crawls: Crawls) -> None:
    run = crawls.first["plaintext"]
    assert run.status == "ok" and run.seen == GH_JOBS, run.error


def test_paging_stops_on_a_repeated_page(crawls: Crawls) -> None:
    run = crawls.first["wd-stuck"]  # says 200 postings but serves the same 20 on every page
    lists = _requests(crawls.first_requests, "/wday/cxs/stuck/Careers/jobs", "POST")
    assert sorted(r.json()["offset"] for r in lists) == [0, 20, 40, 60]  # one window only
    assert run.stats["hcjobs/paging_stopped"] == 1
    assert run.seen == 20, run.error


def test_the_rest_of_the_crawl_goes_on(crawls: Crawls) -> None:
    ok = {n for n, r in crawls.first.items() if r.status == "ok"}
    assert {"healthy", "victim", "sr-acme", "wd-valley", "jsonld-lakeshore", "ratelimited",
            "unavailable", "plaintext", "contact", "wd-stuck"} <= ok


def test_a_failed_source_touches_nothing_already_stored(crawls: Crawls) -> None:
    run = crawls.second["victim"]
    _failed(run, "HTTP 500")
    assert crawls.after["victim"] == crawls.before["victim"]  # same times, status, content
    assert len(crawls.before["victim"]) == GH_JOBS


# ---- incremental crawling -----------------------------------------------------------------------


def test_unchanged_board_is_answered_304_and_marked_seen(crawls: Crawls) -> None:
    (request,) = _requests(crawls.second_requests, "/v1/boards/healthy/")
    assert request.headers["if-none-match"] == '"v1"'
    run = crawls.second["healthy"]
    assert run.status == "ok" and run.seen == GH_JOBS and run.new == run.changed == 0
    summary = run.stats["summary"]
    assert summary["responses"]["304"] == 1 and summary["unchanged"] == GH_JOBS
    for ext, (times, last, status, digest, missed, _) in crawls.after["healthy"].items():
        old = crawls.before["healthy"][ext]
        assert (times, status, digest, missed) == (2, "open", old[3], 0)
        assert last > old[1]
    assert "304s 1" in summary_line(run.stats)


def test_paged_list_answered_304_page_by_page(crawls: Crawls) -> None:
    pages = _requests(crawls.second_requests, "/v0/postings/acme")
    assert [r.params["skip"] for r in pages] == ["0", "2", "4"]  # the empty last page too
    assert all(r.headers["if-modified-since"] == "Tue, 01 Sep 2026 00:00:00 GMT" for r in pages)
    run = crawls.second["lever-acme"]
    assert (run.status, run.seen, run.new, run.changed) == ("ok", 3, 0, 0), run.error
    assert run.stats["summary"]["responses"]["304"] == 3


def test_unchanged_list_entries_skip_their_details(crawls: Crawls) -> None:
    details = _requests(crawls.second_requests, "/v1/companies/Acme/postings/")
    assert [r.path.rsplit("/", 1)[1] for r in details] == ["74401"]  # only the changed one
    run = crawls.second["sr-acme"]
    assert (run.status, run.seen, run.changed) == ("ok", 3, 1), run.error
    assert run.stats["hcjobs/details_skipped"] == 2
    assert crawls.after["sr-acme"]["74401"][5] == "Senior Coding Specialist"
    assert {ext: v[0] for ext, v in crawls.after["sr-acme"].items()} == \
        {"74400": 2, "74401": 2, "74402": 2}


def test_workday_ignores_the_aging_posted_on_label(crawls: Crawls) -> None:
    details = _requests(crawls.second_requests, "/wday/cxs/valley/Careers/job/")
    assert [r.path for r in details] == ["/wday/cxs/valley/Careers/job/Remote/Coder_R-2"]
    run = crawls.second["wd-valley"]
    assert (run.status, run.seen, run.changed) == ("ok", 3, 1), run.error


def test_sitemap_lastmod_and_page_validators(crawls: Crawls) -> None:
    pages = _requests(crawls.second_requests, "/sites/lakeshore/jobs/")
    assert [r.path for r in pages] == ["/sites/lakeshore/jobs/2"]  # lastmod changed
    assert pages[0].headers["if-none-match"] == '"p2"'  # ... and the page said 304
    run = crawls.second["jsonld-lakeshore"]
    assert (run.status, run.seen, run.new, run.changed) == ("ok", 3, 0, 0), run.error
    assert run.stats["hcjobs/not_modified"] == 1 and run.stats["hcjobs/details_skipped"] == 2


def test_state_lives_only_in_the_newest_good_run(crawls: Crawls) -> None:
    with session_scope(crawls.engine) as session:
        runs = list(session.scalars(select(CrawlRun)))
    for source_id in {r.source_id for r in runs}:
        own = [r for r in runs if r.source_id == source_id]
        holders = [r.id for r in own if "state" in (r.stats or {})]
        newest_ok = max((r.id for r in own if r.status == "ok"), default=None)
        assert holders in ([], [newest_ok]), (source_id, holders)
    assert "state" in crawls.second["healthy"].stats
    assert "state" not in crawls.second["victim"].stats  # failed: the older state stays
    assert "state" in crawls.first["victim"].stats


def test_saved_state_is_checked_against_the_store(tmp_path: Path) -> None:
    """A validator whose postings are not all stored, or an entry whose posting is closed,
    is dropped, so the next run fetches them in full instead of trusting a 304 or a skip."""
    engine = open_store(f"sqlite:///{tmp_path / 'jobs.db'}")
    entry = {"name": "s", "kind": "greenhouse", "board": "s"}
    run_id = start_run(engine, entry)
    rows = [{f: getattr(JobPosting(source="s", external_id=x, title="Coder", raw={"id": x}), f)
             for f in ITEM_FIELDS} for x in ("a", "b")]
    store_items(engine, run_id, rows)
    state = {"version": 1, "config": config_hash(entry),
             "validators": {"u1": {"etag": '"1"', "ids": ["a", "b"]},
                            "u2": {"etag": '"2"', "ids": ["a", "deleted"]}},
             "entries": {"e1": ["f", ["a"], 1], "e2": ["f", ["b"], 1]}}
    finish_run(engine, run_id, status="ok", error=None, stats={"state": state})
    with session_scope(engine) as session:
        session.execute(update(Posting).where(Posting.external_id == "b")
                        .values(status="closed"))
    loaded = load_state(engine, entry)
    assert set(loaded["validators"]) == {"u1"} and set(loaded["entries"]) == {"e1"}
    assert load_state(engine, {**entry, "board": "other"})["validators"] == {}


# ---- helpers ------------------------------------------------------------------------------------


def test_retry_after_parsing() -> None:
    assert retry_after_seconds(b"120") == 120
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past
    assert retry_after_seconds(formatdate(1000.0 + 30, usegmt=True), now=1000.0) == \
        pytest.approx(30)
    assert retry_after_seconds(b"soon") is None and retry_after_seconds(None) is None


def test_backoff_is_exponential_capped_and_jittered() -> None:
    assert [backoff_delay(n, 1.0, 60.0, rand=lambda: 1.0) for n in (1, 2, 3, 8)] == \
        [1.0, 2.0, 4.0, 60.0]
    assert [backoff_delay(n, 1.0, 60.0, rand=lambda: 0.0) for n in (1, 2, 3)] == [0.5, 1, 2]


@pytest.mark.parametrize("window", [1, 2, 4, 7])
def test_page_window_requests_every_page_once(window: int) -> None:
    spider = SmartRecruitersSpider(source={"name": "n", "company": "x", "page_window": window})
    requested, queue = [0], [0]
    while queue:
        page = queue.pop(0)
        more = list(spider.next_pages(page, 23, fresh=True))
        requested += more
        queue += more
    assert sorted(requested) == list(range(23))


def test_sources_on_one_remote_host_take_turns() -> None:
    kinds = spider_kinds()
    started: list[str] = []
    pending: dict[str, Deferred[Any]] = {}

    def start(entry: dict[str, Any]) -> Deferred[Any]:
        started.append(entry["name"])
        pending[entry["name"]] = Deferred()
        return pending[entry["name"]]

    crawls = [{"name": "a", "kind": "greenhouse", "board": "a"},
              {"name": "b", "kind": "greenhouse", "board": "b"},
              {"name": "c", "kind": "lever", "site": "c"},
              {"name": "d", "kind": "greenhouse", "board": "d", "base_url": "http://127.0.0.1:9"}]
    schedule(crawls, kinds, 1, start)
    assert started == ["a", "c", "d"]  # b waits for a (same host); loopback d is not held
    pending["a"].callback(None)
    assert started == ["a", "c", "d", "b"]
    assert is_loopback("127.0.0.1:8080") and is_loopback("localhost") and \
        not is_loopback("boards-api.greenhouse.io")


def test_defaults_table_and_settings_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text('[defaults]\ncontact = "me@x.example"\nsettings = {DOWNLOAD_DELAY = 2}\n'
                    '[[source]]\nname = "a"\nkind = "greenhouse"\nboard = "a"\n'
                    'settings = {DOWNLOAD_TIMEOUT = 5}\n')
    (entry,) = load_sources(path)
    assert entry["contact"] == "me@x.example"
    assert entry["settings"] == {"DOWNLOAD_DELAY": 2, "DOWNLOAD_TIMEOUT": 5}
    path.write_text('[[source]]\nname = "a"\nkind = "greenhouse"\nboard = "a"\n'
                    'settings = {DOWNLOAD_DELEY = 2}\n')
    with pytest.raises(SourceError, match="unknown setting.*DOWNLOAD_DELEY"):
        load_sources(path)


# ---- hcjobs sources check -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_sources_check_reports_counts_and_failures(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USAJOBS_API_KEY", raising=False)
    board = RouteBoard({
        "/v1/boards/acme/jobs": json_reply(gh_jobs("ac", 7)),
        "/v1/companies/Acme/postings": json_reply({"totalFound": 42, "content": []}),
        ("POST", "/wday/cxs/valley/Careers/jobs"): json_reply({"total": 12, "jobPostings": []}),
        "/v0/postings/junk": (200, "text/html", b"<html>maintenance</html>"),
    })
    with board:
        down = f"http://127.0.0.1:{_free_port()}"
        listed = [
            {"name": "gh", "kind": "greenhouse", "board": "acme", "base_url": board.url},
            {"name": "sr", "kind": "smartrecruiters", "company_id": "Acme",
             "base_url": board.url},
            {"name": "wd", "kind": "workday", "tenant": "valley", "site": "Careers",
             "base_url": board.url},
            {"name": "gone", "kind": "greenhouse", "board": "nope", "base_url": board.url},
            {"name": "junk", "kind": "lever", "site": "junk", "base_url": board.url},
            {"name": "down", "kind": "ashby", "org": "x", "base_url": down},
            {"name": "fed", "kind": "usajobs", "series": "0675", "base_url": board.url},
        ]
        results = {r.name: r for r in check_sources(listed, timeout=5)}
        assert (results["gh"].ok, results["gh"].postings) == (True, 7)
        assert (results["sr"].ok, results["sr"].postings) == (True, 42)
        assert (results["wd"].ok, results["wd"].postings) == (True, 12)
        assert not results["gone"].ok and "404" in results["gone"].reason
        assert not results["junk"].ok and "unexpected answer" in results["junk"].reason
        assert not results["down"].ok and "refused" in results["down"].reason.lower()
        assert not results["fed"].ok and "USAJOBS_API_KEY" in results["fed"].reason
        assert board.seen("/v1/boards/acme/")[0].headers["user-agent"].startswith("hcjobs/")

        path = tmp_path / "sources.toml"
        path.write_text(f'[[source]]\nname = "gh"\nkind = "greenhouse"\nboard = "acme"\n'
                        f'base_url = "{board.url}"\n[[source]]\nname = "down"\nkind = "ashby"\n'
                        f'org = "x"\nbase_url = "{down}"\nenabled = false\n')
        assert hcjobs(["sources", "check", "--sources", str(path), "--timeout", "5"]) == 1
        out = capsys.readouterr().out
        assert "1 of 2 sources answered" in out
        assert hcjobs(["sources", "check", "--sources", str(path), "--source", "gh"]) == 0
        assert hcjobs(["sources", "--sources", str(path)]) == 0
        assert "down" in capsys.readouterr().out
