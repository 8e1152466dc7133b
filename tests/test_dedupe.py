"""Near-duplicate detection: keys, SimHash, the labeled pair set, and the store's lineage
(duplicate_of + reason) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from pipeline.db import session_scope
from pipeline.dedupe import (
    employer_key,
    evaluate_pairs,
    hamming,
    location_key,
    simhash,
    title_key,
)
from pipeline.models import Posting
from pipeline.normalize import parse_places
from pipeline.store import promote_open_duplicates, start_run, store_items

PAIRS = Path(__file__).parent / "data" / "dedupe_pairs.jsonl"
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
HARD_CASES = ("repost", "agency", "aggregator", "two_hospitals_same_city", "two_cities",
              "two_specialties", "outside_window")

CODER = ("<p>Riverbend Health is a four-hospital system serving West Michigan.</p>"
         "<p>The Inpatient Coder reviews complete inpatient records and assigns ICD-10-CM and "
         "ICD-10-PCS codes that determine the MS-DRG for each stay.</p><ul>"
         "<li>Abstract diagnoses and procedures from discharge summaries</li>"
         "<li>Assign POA indicators and validate the working DRG</li>"
         "<li>Send compliant queries to physicians when documentation conflicts</li>"
         "<li>Meet a productivity standard of 2.5 inpatient charts per hour</li></ul>"
         "<p>CCS credential required; RHIT or RHIA preferred. Three years of acute care "
         "inpatient coding.</p><p>Riverbend Health is an equal opportunity employer.</p>")
OTHER_CODER = ("<p>Mercy Lakes Medical Center is a Catholic teaching hospital.</p><p>Join our "
               "coding team to translate hospital stays into accurate codes. You will code "
               "complex medical and surgical admissions, including trauma and transplant.</p>"
               "<ul><li>Code inpatient accounts using Epic and the Optum encoder</li>"
               "<li>Sequence principal and secondary diagnoses per Official Guidelines</li>"
               "<li>Resolve coding edits and clinical validation denials</li></ul>")


def test_pair_set_precision_and_recall() -> None:
    """The targets of the issue: pair precision >= 0.98 and recall >= 0.95."""
    rows = [json.loads(line) for line in PAIRS.read_text().splitlines() if line]
    cases = Counter(r["case"] for r in rows)
    assert len(rows) >= 120 and 0.35 <= sum(r["duplicate"] for r in rows) / len(rows) <= 0.45
    assert all(cases[c] >= 3 for c in HARD_CASES), cases
    report = evaluate_pairs(rows)
    assert report["precision"] >= 0.98, report["errors"]
    assert report["recall"] >= 0.95, report["errors"]


def test_title_keys_ignore_what_boards_add() -> None:
    assert title_key("Medical Coder II - Remote") == "medical coder 2"
    assert title_key("Remote Medical Coder 2 (Contract)") == "medical coder 2"
    assert title_key("Medical Coder II | Apex Staffing", "Apex Staffing LLC") == "medical coder 2"
    assert title_key("Sr. Coding Mgr - Dayton, OH") == "senior coding manager"
    assert title_key("Outpatient Coder | Cascade Community Health",
                     "Cascade Community Health Center") == "outpatient coder"
    # what the job is stays in the key
    assert title_key("Risk Adjustment Coder (HCC)") == "risk adjustment coder hcc"
    assert title_key("Billing Specialist - Hospital Billing") != \
        title_key("Billing Specialist - Physician Billing")


def test_employer_and_location_keys() -> None:
    assert employer_key("Lakeshore Health System") == employer_key("Lakeshore Health, Inc.") \
        == employer_key("The Lakeshore Health") == "lakeshore"
    assert employer_key("Apex Clinical Staffing, LLC") == "apex clinical staffing"
    assert employer_key(None) == ""

    def key(loc: str) -> str:
        return location_key(parse_places(loc))

    assert key("Grand Rapids, MI") == key("Hybrid - Grand Rapids, Michigan") \
        == key("Grand Rapids, MI 49503, US")
    assert key("St. Louis, MO") == key("Saint Louis, Missouri")
    assert key("Remote - US") == key("Remote") == "remote"
    assert key("Grand Rapids, MI") != key("Holland, MI")
    assert key("Remote - OH, KY") != key("Remote - TX")


def test_simhash_is_stable_and_local() -> None:
    """Stored SimHashes must keep their meaning: a change of the algorithm is a migration."""
    text = "Assign ICD-10-CM codes to inpatient records.\nMeet productivity standards."
    assert simhash(text) == simhash(text) == 4341868545981390761
    assert simhash("") == 0
    edited = text + "\nWork from home after training."
    assert hamming(simhash(text), simhash(edited)) < hamming(simhash(text), simhash(
        "Greet patients at the front desk and collect copays for every visit."))
    # legal boilerplate does not make two postings alike
    eeo = "\nAcme is an equal opportunity employer. All qualified applicants are welcome."
    assert simhash(text + eeo) == simhash(text)


HOSPITAL = {"name": "riverbend", "kind": "jsonld", "urls": ["https://r.example/jobs"]}
AGENCY = {"name": "apex", "kind": "greenhouse", "board": "apex"}
OTHER = {"name": "mercy", "kind": "jsonld", "urls": ["https://m.example/jobs"]}


def item(ext: str, *, title: str = "Inpatient Coder", body: str = CODER,
         location: str = "Grand Rapids, MI", company: str = "Riverbend Health",
         url: str | None = None, posted: str | None = None) -> dict[str, Any]:
    return {"source": "x", "external_id": ext, "title": title, "description_html": body,
            "locations": [location], "company": company, "posted_raw": posted,
            "url": url or f"https://jobs.example/{company.split()[0].lower()}/{ext}",
            "raw": {"id": ext}}


def store(engine: Engine, entry: dict[str, Any], items: list[dict[str, Any]],
          day: int = 0) -> Any:
    now = T0 + timedelta(days=day)
    return store_items(engine, start_run(engine, entry, now=now), items, now=now)


def lineage(engine: Engine) -> dict[str, tuple[str | None, str | None]]:
    """external id -> (external id of the posting it repeats, reason)."""
    with session_scope(engine) as session:
        rows = session.scalars(select(Posting)).all()
        ext = {p.id: p.external_id for p in rows}
        return {p.external_id: (ext.get(p.duplicate_of) if p.duplicate_of else None,
                                p.duplicate_reason) for p in rows}


def test_store_links_reposts_and_copies_but_not_look_alikes(engine: Engine) -> None:
    store(engine, HOSPITAL, [item("R-1")])
    # a repost under a new id on the same board, and the same template for another city
    counts = store(engine, HOSPITAL, [item("R-2"), item("R-3", location="Holland, MI")], day=20)
    assert (counts.new, counts.duplicates) == (2, 1)
    agency_copy = item("A-1", title="Inpatient Coder - Direct Hire",
                       company="Apex Clinical Staffing",
                       body="<p>Apex Clinical Staffing is recruiting for a respected health "
                            "system in Grand Rapids.</p>" + CODER.split("</p>", 1)[1]
                            + "<p>Apex has placed coders since 2004. Apply today.</p>")
    store(engine, AGENCY, [agency_copy], day=22)
    # the same title at another hospital in the same city, its own text
    store(engine, OTHER, [item("M-1", body=OTHER_CODER, company="Mercy Lakes Medical Center")],
          day=23)
    assert lineage(engine) == {"R-1": (None, None), "R-2": ("R-1", "repost"),
                               "R-3": (None, None), "A-1": ("R-1", "near_text"),
                               "M-1": (None, None)}
    with session_scope(engine) as session:
        stored = session.scalars(select(Posting).where(Posting.external_id == "R-1")).one()
        assert stored.simhash is not None and stored.title_key == "inpatient coder"
        assert (stored.location_key, stored.employer_key) == ("grand rapids:mi@us", "riverbend")


def test_store_window_and_batch_internal_duplicates(engine: Engine) -> None:
    store(engine, HOSPITAL, [item("R-1")])
    # 120 days after it was last seen the same text is a new opening, not a repost
    store(engine, HOSPITAL, [item("R-9")], day=120)
    # an aggregator lists one job twice in one batch, and the hospital's URL once
    agg = {"name": "agg", "kind": "feed", "url": "https://agg.example/feed"}
    counts = store(engine, agg, [item("G-1"), item("G-2"),
                                 item("G-3", body="<p>See the employer's site.</p>",
                                      url="https://jobs.example/riverbend/R-9?utm_source=agg")],
                   day=121)
    assert counts.duplicates == 3
    assert lineage(engine) == {"R-1": (None, None), "R-9": (None, None),
                               "G-1": ("R-9", "near_text"), "G-2": ("R-9", "near_text"),
                               "G-3": ("R-9", "same_url")}


def test_batch_internal_duplicate_of_a_new_posting(engine: Engine) -> None:
    """Two new postings of one batch that repeat each other: the second points at the first."""
    counts = store(engine, HOSPITAL, [item("R-1"), item("R-2")])
    assert (counts.new, counts.duplicates) == (2, 1)
    assert lineage(engine) == {"R-1": (None, None), "R-2": ("R-1", "repost")}


def test_repost_of_a_closed_posting_becomes_canonical(engine: Engine) -> None:
    """The site shows canonical postings only: a live repost must not hide behind the
    closed original."""
    store(engine, HOSPITAL, [item("R-1")])
    store(engine, AGENCY, [item("A-1", company="Apex Clinical Staffing")], day=1)
    with session_scope(engine) as session:
        session.execute(update(Posting).where(Posting.external_id == "R-1")
                        .values(status="closed", closed_at=T0 + timedelta(days=10)))
    store(engine, HOSPITAL, [item("R-2")], day=15)
    assert lineage(engine) == {"R-2": (None, None), "R-1": ("R-2", "repost"),
                               "A-1": ("R-2", "near_text")}


def test_promotion_after_the_canonical_posting_closes(engine: Engine) -> None:
    store(engine, HOSPITAL, [item("R-1")])
    store(engine, AGENCY, [item("A-1", company="Apex Clinical Staffing")], day=1)
    with session_scope(engine) as session:
        session.execute(update(Posting).where(Posting.external_id == "R-1")
                        .values(status="closed"))
        assert promote_open_duplicates(session) == 1
        assert promote_open_duplicates(session) == 0  # nothing left to do
    assert lineage(engine) == {"A-1": (None, None), "R-1": ("A-1", "near_text")}


@pytest.mark.parametrize("title", ["Inpatient Coder", "Registered Nurse"])
def test_same_url_needs_a_similar_title(engine: Engine, title: str) -> None:
    """A generic apply URL shared by every posting of a board does not make them one job."""
    url = "https://careers.example/apply"
    store(engine, HOSPITAL, [item("R-1", url=url)])
    store(engine, AGENCY, [item("A-1", title=title, body=OTHER_CODER, url=url,
                                company="Apex Clinical Staffing")], day=1)
    expected = ("R-1", "same_url") if title == "Inpatient Coder" else (None, None)
    assert lineage(engine)["A-1"] == expected
