"""`hcjobs export --out DIR`: what the site and analysts load, written whole or not at all.

DIR/postings.jsonl  one summary per canonical posting (pipeline.summary.summary)
DIR/jsonld.jsonl    one schema.org JobPosting per canonical posting, same order, enriched
                    with our tags (one file, not a file per posting: a store holds
                    millions); the posting's id is its `identifier.value`
DIR/stats.json      the store's counts, the daily stats of the last DAYS days, and what the
                    derived figures assume
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from pipeline.models import Posting
from pipeline.normalize import ANNUAL_ASSUMPTION, US_STATES
from pipeline.stats import daily_stats, update_daily_stats
from pipeline.store import utcnow
from pipeline.summary import iter_postings, store_stats, summary

DAYS = 30
UNITS = {"hour": "HOUR", "day": "DAY", "week": "WEEK", "month": "MONTH", "year": "YEAR"}
# degrees are "postgraduate degree" (Google's credentialCategory values); certifications
# and licenses are "professional certificate"
DEGREES = {"MHA", "MBA", "MPH", "MHSA"}
# O*NET-SOC occupations of our categories (the job's occupation, for search engines)
OCCUPATIONS = {"coding": "29-2072.00 Medical Records Specialists",
               "administration": "11-9111.00 Medical and Health Services Managers"}
DEFINITIONS = {
    "salary.annual_min/annual_max": ANNUAL_ASSUMPTION,
    "daily": "canonical postings per UTC day x category x remote x credential x requirement: "
             "active = open at the end of the day, new = first seen that day, closed = closed "
             "that day; credential and requirement '*' count every posting once; untagged "
             "postings count as category and remote 'unknown'",
    "duplicates": "postings collapsed onto a canonical one, with the reason: same_url (another "
                  "board links the same page), repost (the same board under a new id), "
                  "near_text (another board's copy: same title, place and text)",
}


@dataclass
class Exported:
    """What one export wrote."""

    postings: int
    postings_path: Path
    jsonld_path: Path
    stats_path: Path


def jsonld(posting: Posting) -> dict[str, Any]:
    """schema.org JobPosting for a posting, enriched with our tags.

    jobLocationType TELECOMMUTE only when the posting is fully remote (hybrid is not),
    applicantLocationRequirements from the states a remote job is open to, and each
    required credential as an educationRequirements credential. A closed posting's
    validThrough is when it closed, so readers see it expired.
    """
    tag = posting.tag
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "JobPosting",
        "identifier": {"@type": "PropertyValue", "name": "hcjobs", "value": str(posting.id)},
        "title": posting.title,
        "description": posting.html or posting.text,
        "datePosted": (posting.posted_at or posting.first_seen).date().isoformat(),
        "url": posting.url,
    }
    closes = posting.valid_through or (posting.closed_at if posting.status == "closed" else None)
    if closes:
        data["validThrough"] = closes.isoformat()
    if posting.employment_type:
        data["employmentType"] = posting.employment_type
    if posting.company:
        data["hiringOrganization"] = {"@type": "Organization", "name": posting.company}
    places = [p for p in posting.locations or []
              if not p.get("remote") and (p.get("city") or p.get("state"))]
    if places:
        data["jobLocation"] = [{"@type": "Place", "address": _address(p)} for p in places]
    if tag is not None:
        if tag.category in OCCUPATIONS:
            data["occupationalCategory"] = OCCUPATIONS[tag.category]
        if tag.remote == "remote":
            data["jobLocationType"] = "TELECOMMUTE"
            data["applicantLocationRequirements"] = (
                [{"@type": "State", "name": US_STATES.get(s, s)} for s in tag.remote_states]
                if tag.remote_states else
                [{"@type": "Country", "name": posting.country or "US"}])
        required = [c for c in tag.credentials if c.requirement == "required"]
        if required:
            data["educationRequirements"] = [
                {"@type": "EducationalOccupationalCredential",
                 "credentialCategory": "postgraduate degree" if c.code in DEGREES
                 else "professional certificate", "name": c.code} for c in required]
    unit = UNITS.get(posting.salary_period or "")
    if unit and (posting.salary_min is not None or posting.salary_max is not None):
        value = {"@type": "QuantitativeValue", "minValue": posting.salary_min,
                 "maxValue": posting.salary_max, "unitText": unit}
        data["baseSalary"] = {"@type": "MonetaryAmount", "currency": posting.salary_currency,
                              "value": {k: v for k, v in value.items() if v is not None}}
    return data


def _address(place: dict[str, Any]) -> dict[str, Any]:
    address = {"@type": "PostalAddress", "addressLocality": place.get("city"),
               "addressRegion": place.get("state"), "addressCountry": place.get("country")}
    return {k: v for k, v in address.items() if v}


def export(engine: Engine, out: Path) -> Exported:
    """Bring today's daily stats up to date, then write the three files into `out`
    (created). Each file is written to a temporary name and renamed when complete."""
    update_daily_stats(engine)
    out.mkdir(parents=True, exist_ok=True)
    postings_path, jsonld_path = out / "postings.jsonl", out / "jsonld.jsonl"
    stats_path = out / "stats.json"
    tmp_postings = postings_path.with_suffix(".jsonl.tmp")
    tmp_jsonld = jsonld_path.with_suffix(".jsonl.tmp")
    count = 0
    with open(tmp_postings, "w", encoding="utf-8") as fh, \
            open(tmp_jsonld, "w", encoding="utf-8") as ld:
        for posting in iter_postings(engine):
            fh.write(json.dumps(summary(posting), ensure_ascii=False) + "\n")
            ld.write(json.dumps(jsonld(posting), ensure_ascii=False) + "\n")
            count += 1
    tmp_postings.replace(postings_path)
    tmp_jsonld.replace(jsonld_path)
    now = utcnow()
    stats = {"generated_at": now.isoformat(), **store_stats(engine),
             "daily": daily_stats(engine, since=(now - timedelta(days=DAYS - 1)).date()),
             "definitions": DEFINITIONS}
    tmp = stats_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(stats_path)
    return Exported(count, postings_path, jsonld_path, stats_path)
