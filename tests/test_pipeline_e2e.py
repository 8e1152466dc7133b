"""The pipeline end to end, on SQLite and PostgreSQL: two crawls of a changing local board
(real spiders over HTTP) give exactly the expected open, closed and duplicate postings; then
the summaries, daily stats and JSON-LD that `hcjobs export` writes."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from classifier.tagger import Tagger
from pipeline.crawl import run_crawl, run_rows
from pipeline.db import session_scope
from pipeline.demo.board import DemoBoard, demo_sources, load_board
from pipeline.export import export, jsonld
from pipeline.models import CredentialTag, DailyStat, Posting, Tag
from pipeline.stats import update_daily_stats
from pipeline.store import start_run, store_items
from pipeline.summary import money, one_line, sentence_case
from pipeline.tagging import tag_pending

TODAY = datetime.now(UTC).date()
AGENCY_HEAD = ("<p>Apex Clinical Staffing is recruiting for a respected health system in Grand "
               "Rapids. This is a direct hire opportunity with one of our longest-standing "
               "clients.</p>")
AGENCY_TAIL = ("<p>Apex Clinical Staffing has placed health information professionals since "
               "2004. Submit your resume today and a recruiter will call you.</p>")


def _demo(slug: str, posting_id: str) -> dict[str, Any]:
    """A posting of the bundled demo board, without its own URL (it gets ours)."""
    for employer in load_board()["employers"]:
        for posting in employer["postings"]:
            if employer["slug"] == slug and posting["id"] == posting_id:
                found = copy.deepcopy(posting)
                found.pop("url", None)
                return found
    raise LookupError(posting_id)


def _posted(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat() + "T09:00:00-05:00"


def first_board() -> dict[str, Any]:
    """A hospital career site, a staffing agency's board and another health system."""
    inpatient = _demo("riverbend-health", "R-2231")
    billing = _demo("riverbend-health", "R-2258")
    access = _demo("lakeshore-health", "310492") | {"id": "R-3", "location": "Holland, MI"}
    for p, days in ((inpatient, 20), (billing, 15), (access, 10)):
        p["posted"] = _posted(days)
    hospital = {"slug": "riverbend", "kind": "jsonld", "name": "Riverbend Health",
                "website": "https://careers.riverbendhealth.example", "discovery": "sitemap",
                "postings": [inpatient | {"id": "R-1"}, billing | {"id": "R-2"}, access]}
    agency_copy = inpatient | {
        "id": "9001", "title": "Inpatient Coding Specialist II - Direct Hire",
        "url": "https://careers.riverbendhealth.example/jobs/R-1?utm_source=apex&gclid=7"}
    travel = _demo("apex-clinical-staffing", "7700402") | {"id": "9002", "posted": _posted(5)}
    agency = {"slug": "apex", "kind": "greenhouse", "name": "Apex Clinical Staffing",
              "website": "https://jobs.apex.example", "postings": [agency_copy, travel]}
    remote = _demo("lakeshore-health", "310452") | {"id": "7001", "posted": _posted(12)}
    # the same title as the hospital's, in the same city, with the other system's own text
    same_title = _demo("lakeshore-health", "310503") | {
        "id": "7002", "title": "Inpatient Coding Specialist II", "location": "Grand Rapids, MI",
        "posted": _posted(8)}
    other = {"slug": "lakeshore", "kind": "greenhouse", "name": "Lakeshore Health System",
             "website": "https://careers.lakeshore.example", "postings": [remote, same_title]}
    return {"employers": [hospital, agency, other]}


def change(board: dict[str, Any]) -> None:
    """The second day: an edit, a removal, a repost under a new id, a new job and an
    agency's copy of it under the agency's own URL."""
    hospital, agency, _ = board["employers"]
    inpatient, billing, _access = hospital["postings"]
    inpatient["html"] += "<p>Sign-on bonus for experienced inpatient coders.</p>"
    auditor = _demo("lakeshore-health", "310467") | {
        "id": "R-4", "location": "Grand Rapids, MI", "posted": _posted(1),
        "html": _demo("lakeshore-health", "310467")["html"].replace("Lakeshore Health System",
                                                                   "Riverbend Health")}
    hospital["postings"] = [inpatient, billing | {"id": "R-2b", "posted": _posted(0)}, auditor]
    agency["postings"].append(auditor | {
        "id": "9003", "url": "https://jobs.apex.example/9003",
        "html": AGENCY_HEAD + auditor["html"] + AGENCY_TAIL})


def groups(engine: Engine) -> dict[frozenset[str], dict[str, str | None]]:
    """Each canonical posting's group, by external ids -> {external id: reason} of its
    members (None for the canonical one). Spiders of one crawl run concurrently, so which
    copy arrived first, and is canonical, may vary; the groups may not."""
    with session_scope(engine) as session:
        rows = session.scalars(select(Posting)).all()
        ext = {p.id: p.external_id for p in rows}
        members: dict[str, dict[str, str | None]] = {}
        for p in rows:
            root = ext[p.duplicate_of] if p.duplicate_of else p.external_id
            members.setdefault(root, {})[p.external_id] = p.duplicate_reason
        return {frozenset(m): m for m in members.values()}


def statuses(engine: Engine) -> dict[str, str]:
    with session_scope(engine) as session:
        return {p.external_id: p.status for p in session.scalars(select(Posting))}


def test_two_runs_over_a_changing_board(db_url: str, engine: Engine, tmp_path: Path) -> None:
    board = first_board()
    tagger = Tagger.load()
    with DemoBoard(board) as server:
        entries = [e | {"close_after": 1} for e in demo_sources(board, server.url)]
        first = run_crawl(engine, db_url, entries, timeout=120)
        assert {r.status for _, r in run_rows(engine, first.run_ids)} == {"ok"}, first.log
        tag_pending(engine, tagger)
        found = groups(engine)
        assert set(found) == {frozenset({"R-1", "9001"}), frozenset({"R-2"}), frozenset({"R-3"}),
                              frozenset({"9002"}), frozenset({"7001"}), frozenset({"7002"})}
        assert sorted(map(str, found[frozenset({"R-1", "9001"})].values())) == \
            ["None", "same_url"]
        change(board)
        second = run_crawl(engine, db_url, entries, timeout=120)
        runs = dict(run_rows(engine, second.run_ids))
        assert {r.status for r in runs.values()} == {"ok"}, second.log
        tag_pending(engine, tagger)
    assert (runs["riverbend"].seen, runs["riverbend"].new, runs["riverbend"].changed,
            runs["riverbend"].closed) == (3, 2, 1, 2)
    update_daily_stats(engine)  # what the lead runs after each crawl
    found = groups(engine)
    assert set(found) == {
        frozenset({"R-1", "9001"}),  # the agency links the hospital's page
        frozenset({"R-2b", "R-2"}),  # reposted under a new id
        frozenset({"R-3"}),  # removed
        frozenset({"R-4", "9003"}),  # the agency's copy under its own URL
        frozenset({"9002"}), frozenset({"7001"}),
        frozenset({"7002"}),  # same title, same city, another employer's own text
    }
    # the repost took over as the canonical posting of the closed original
    assert found[frozenset({"R-2b", "R-2"})] == {"R-2b": None, "R-2": "repost"}
    assert sorted(map(str, found[frozenset({"R-4", "9003"})].values())) == ["None", "near_text"]
    assert statuses(engine) == {"R-1": "open", "R-2": "closed", "R-2b": "open", "R-3": "closed",
                                "R-4": "open", "9001": "open", "9002": "open", "9003": "open",
                                "7001": "open", "7002": "open"}

    done = export(engine, tmp_path / "out")
    rows = [json.loads(line) for line in done.postings_path.read_text().splitlines()]
    by_title = {r["title"]: r for r in rows}
    assert len(rows) == done.postings == 7  # canonical postings, closed R-3 included
    assert sorted(r["status"] for r in rows).count("open") == 6
    repost = next(r for r in rows if r["duplicates"] and r["duplicates"][0]["reason"] == "repost")
    assert repost["status"] == "open" and repost["url"].endswith("/jobs/R-2b")
    stats = json.loads(done.stats_path.read_text())
    totals = [d for d in stats["daily"] if d["day"] == TODAY.isoformat() and d["credential"] == "*"]
    assert sum(d["active"] for d in totals) == 6 and sum(d["closed"] for d in totals) == 1
    assert "2,080" in stats["definitions"]["salary.annual_min/annual_max"]
    lds = {j["title"]: j for j in map(json.loads, done.jsonld_path.read_text().splitlines())}
    remote = lds["Outpatient Coding Specialist"]
    assert remote["jobLocationType"] == "TELECOMMUTE"
    assert {s["name"] for s in remote["applicantLocationRequirements"]} == \
        {"Ohio", "Kentucky", "Indiana"}
    assert "jobLocation" not in remote
    hybrid = lds["Director, Patient Financial Services"]
    assert "jobLocationType" not in hybrid  # hybrid is not telecommuting
    assert hybrid["jobLocation"][0]["address"]["addressLocality"] == "Grand Rapids"
    assert by_title["Outpatient Coding Specialist"]["summary"].startswith("Remote (")


def _posting(**values: Any) -> Posting:
    base: dict[str, Any] = {"id": 1, "title": "Risk Adjustment Coder (HCC)", "company": "X",
                            "location": "Remote - OH, KY, IN", "locations": [],
                            "salary_min": 24.0, "salary_max": 30.0, "salary_currency": "USD",
                            "salary_period": "hour", "text": "", "html": None, "status": "open",
                            "first_seen": datetime(2026, 11, 2, tzinfo=UTC)}
    return Posting(**(base | values))


def test_one_line_summaries() -> None:
    tag = Tag(category="coding", remote="remote", remote_states=["OH", "KY", "IN"],
              credentials=[CredentialTag(code="CRC", requirement="required")])
    assert one_line(_posting(tag=tag)) == \
        ("Remote (OH, KY, IN) \u00b7 Risk adjustment coder (HCC) \u00b7 CRC required \u00b7 "
         "$24-30/hour")
    hybrid = Tag(category="administration", remote="hybrid", remote_states=[], credentials=[
        CredentialTag(code="MHA", requirement="preferred")])
    places = [{"city": "Dayton", "state": "OH", "country": "US", "remote": False},
              {"city": "Columbus", "state": "OH", "country": "US", "remote": False}]
    assert one_line(_posting(title="Practice Manager", tag=hybrid, locations=places,
                             salary_min=96000.0, salary_max=118000.0, salary_period="year")) == \
        "Hybrid (Dayton, OH +1) \u00b7 Practice manager \u00b7 MHA preferred \u00b7 $96k-118k/year"
    untagged = _posting(title="Coder", locations=[places[0]], salary_min=2.1, salary_max=2.1,
                        salary_period="chart")
    assert one_line(untagged) == "Dayton, OH \u00b7 Coder \u00b7 $2.10/chart"
    assert money(_posting(salary_min=22.5, salary_max=28.0)) == "$22.50-28/hour"
    assert money(_posting(salary_min=None, salary_max=None)) is None


@pytest.mark.parametrize(("title", "shown"), [
    ("Inpatient Coding Specialist II", "Inpatient coding specialist II"),
    ("MRI Scheduler", "MRI scheduler"),  # two capitals: an acronym, kept
    ("Coder 3 (HCC/Risk Adjustment)", "Coder 3 (HCC/Risk adjustment)"),  # one word
    ("Tier2 Billing Rep", "Tier2 billing rep"),  # a digit: kept as written
    ("ÉTÉ Coordinator", "ÉTÉ coordinator"), ("Chef De Équipe", "Chef de équipe"),
    ("eCW Analyst", "eCW analyst"), ("McKesson Trainer", "McKesson trainer"),
    ("Coder  -  Remote", "Coder  -  remote"), ("", ""),
])
def test_titles_are_sentence_cased_keeping_acronyms(title: str, shown: str) -> None:
    assert sentence_case(title) == shown


def test_jsonld_enrichment() -> None:
    tag = Tag(category="coding", remote="remote", remote_states=[], credentials=[
        CredentialTag(code="CPC", requirement="required"),
        CredentialTag(code="MHA", requirement="required"),
        CredentialTag(code="CCS", requirement="preferred")])
    data = jsonld(_posting(tag=tag, employment_type="FULL_TIME", country="US"))
    assert data["jobLocationType"] == "TELECOMMUTE"
    assert data["applicantLocationRequirements"] == [{"@type": "Country", "name": "US"}]
    assert [(c["name"], c["credentialCategory"]) for c in data["educationRequirements"]] == \
        [("CPC", "professional certificate"), ("MHA", "postgraduate degree")]
    assert data["baseSalary"]["value"] == {"@type": "QuantitativeValue", "minValue": 24.0,
                                           "maxValue": 30.0, "unitText": "HOUR"}
    assert data["occupationalCategory"].startswith("29-2072")
    chart = jsonld(_posting(salary_period="chart"))
    assert "baseSalary" not in chart and "jobLocationType" not in chart


@pytest.mark.parametrize("days", [0, 1])
def test_daily_stats_count_active_new_and_closed(engine: Engine, days: int) -> None:
    """Rebuilding a past day gives what that day looked like; untagged postings count as
    unknown; credentials get their own rows."""
    day0 = datetime.combine(TODAY - timedelta(days=days + 1), datetime.min.time(), UTC)
    entry = {"name": "a", "kind": "greenhouse", "board": "a"}

    def item(ext: str, title: str) -> dict[str, Any]:
        return {"source": "a", "external_id": ext, "title": title,
                "description_html": f"<p>{title} for our clinic {ext}.</p>",
                "locations": [f"City{ext}, OH"]}

    store_items(engine, start_run(engine, entry, now=day0),
                [item("1", "Coder"), item("2", "Biller")], now=day0)
    later = day0 + timedelta(days=1, hours=2)
    store_items(engine, start_run(engine, entry, now=later), [item("3", "Auditor")], now=later)
    with session_scope(engine) as session:
        coder = session.scalars(select(Posting).where(Posting.external_id == "1")).one()
        coder.tag = Tag(category="coding", remote="remote", remote_states=[],
                        content_hash=coder.content_hash, model_version="t", tagged_at=later,
                        credentials=[CredentialTag(code="CPC", requirement="required")])
        biller = session.scalars(select(Posting).where(Posting.external_id == "2")).one()
        biller.status, biller.closed_at = "closed", later
    assert update_daily_stats(engine, later.date()) == 3
    update_daily_stats(engine, later.date())  # again: replaced, not added
    with session_scope(engine) as session:
        rows = {(r.category, r.remote, r.credential, r.requirement): (r.active, r.new, r.closed)
                for r in session.scalars(select(DailyStat).where(DailyStat.day == later.date()))}
    assert rows == {("coding", "remote", "*", "*"): (1, 0, 0),
                    ("coding", "remote", "CPC", "required"): (1, 0, 0),
                    ("unknown", "unknown", "*", "*"): (1, 1, 1)}
    assert update_daily_stats(engine, date(2020, 1, 1)) == 0
