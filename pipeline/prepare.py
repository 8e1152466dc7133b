"""Normalizing and fingerprinting crawled items: the CPU half of storing them.

Kept apart from the store (no database layer imported), so the worker processes that
normalize a crawl's next batches start lighter: a prepare worker is its own process, and
what it imports is memory the whole crawl pays for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.dedupe import Candidate, fingerprint
from pipeline.normalize import Normalized, normalize


def prepare_items(items: Sequence[dict[str, Any]], now: datetime) -> list[Prepared]:
    """Normalize and fingerprint a batch: the CPU half of store_items, with no database, so
    it can run in another process. The last copy of an external id within a batch wins."""
    by_id: dict[str, dict[str, Any]] = {}
    for item in items:
        by_id[str(item["external_id"])] = item
    return [_prepare(external_id, item, now) for external_id, item in by_id.items()]


@dataclass
class Prepared:
    """One item normalized and fingerprinted, ready to insert or update."""

    external_id: str
    values: dict[str, Any]
    candidate: Candidate
    valid_through: datetime | None


def _prepare(external_id: str, item: dict[str, Any], now: datetime) -> Prepared:
    norm = normalize(item, now)
    print_ = fingerprint(norm.title, norm.company, norm.places, norm.text)
    values = _posting_values(norm, item)
    values.update(simhash=print_.simhash, title_key=print_.title_key,
                  location_key=print_.location_key, employer_key=print_.employer_key,
                  block_key=print_.block_key, text_key=print_.text_key)
    start = min(norm.posted_at, now) if norm.posted_at else now
    candidate = Candidate(source_id=None, external_id=external_id,
                          canonical_url=norm.canonical_url, fingerprint=print_,
                          first_seen=start, last_seen=now, text=norm.text)
    return Prepared(external_id, values, candidate, norm.valid_through)


def _posting_values(norm: Normalized, item: dict[str, Any]) -> dict[str, Any]:
    salary = norm.salary
    return {
        "url": item.get("url"),
        "canonical_url": norm.canonical_url,
        "title": norm.title,
        "company": norm.company,
        "location": norm.location,
        "city": norm.city,
        "state": norm.state,
        "country": norm.country,
        "locations": norm.places,
        "employment_type": norm.employment_type,
        "posted_at": norm.posted_at,
        "posted_raw": item.get("posted_raw"),
        "valid_through": norm.valid_through,
        "salary_min": salary.get("min"),
        "salary_max": salary.get("max"),
        "salary_currency": salary.get("currency"),
        "salary_period": salary.get("period"),
        "salary_annual_min": norm.salary_annual_min,
        "salary_annual_max": norm.salary_annual_max,
        "html": norm.html,
        "text": norm.text,
        "hints": item.get("hints") or {},
        "raw": item.get("raw") or {},
        "content_hash": norm.content_hash,
    }
