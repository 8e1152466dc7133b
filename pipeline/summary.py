"""Summaries of the store: per posting (one line for the site) and overall (counts)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import selectinload

from pipeline.db import session_scope
from pipeline.models import CrawlRun, Posting, Source, Tag

PERIOD_WORDS = {"hour": "/hour", "day": "/day", "week": "/week", "month": "/month",
                "year": "/year", "chart": "/chart"}
SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€"}
SEPARATOR = " \u00b7 "
MAX_STATES = 5
MAX_CODES = 4


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _amount(value: float, period: str | None) -> str:
    """22.5 -> "22.50", 28.0 -> "28", 96000 a year -> "96k", 5200 a month -> "5,200"."""
    if period == "year" and value >= 1000:
        return f"{value / 1000:,.1f}".removesuffix(".0") + "k"
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.2f}".removesuffix(".00")


def money(posting: Posting) -> str | None:
    """"$24-30/hour", "$96k-118k/year", "$2.10/chart": the currency sign once, the period
    as stated. None when the posting states no pay."""
    low, high = posting.salary_min, posting.salary_max
    if low is None and high is None:
        return None
    period = posting.salary_period
    symbol = SYMBOLS.get(posting.salary_currency or "", "")
    if low is None or high is None or low == high:
        span = _amount(low if low is not None else high or 0.0, period)
    else:
        span = f"{_amount(low, period)}-{_amount(high, period)}"
    suffix = "" if symbol or not posting.salary_currency else f" {posting.salary_currency}"
    return f"{symbol}{span}{suffix}{PERIOD_WORDS.get(period or '', '')}"


@lru_cache(maxsize=8192)
def sentence_case(title: str) -> str:
    """"Risk Adjustment Coder (HCC)" -> "Risk adjustment coder (HCC)": capitalized words
    lower-cased after the first, acronyms and words with digits kept. (Remembered: titles
    recur across postings and employers, and every listed posting's summary asks.)"""
    words = title.split(" ")
    out = words[:1]
    for word in words[1:]:
        lower = word.lower()
        # map/filter over str methods: per-character Python loops here were half the cost
        # of an API listing's summaries
        if lower != word and sum(map(str.isupper, filter(str.isalpha, word))) < 2 \
                and not any(map(str.isdigit, word)):
            word = lower
        out.append(word)
    return " ".join(out)


def _place(posting: Posting) -> str | None:
    """"Dayton, OH", "Dayton, OH +2" or the location as written."""
    places = [p for p in posting.locations or [] if p.get("city") or p.get("state")]
    if not places:
        return posting.location if posting.location and not posting.locations else None
    first = places[0]
    name = ", ".join(v for v in (first.get("city"), first.get("state")) if v)
    return name + (f" +{len(places) - 1}" if len(places) > 1 else "")


def _where(posting: Posting) -> str | None:
    tag = posting.tag
    if tag is not None and tag.remote == "remote":
        states = list(tag.remote_states or [])
        if not states:
            return "Remote"
        more = f", +{len(states) - MAX_STATES}" if len(states) > MAX_STATES else ""
        return f"Remote ({', '.join(states[:MAX_STATES])}{more})"
    place = _place(posting)
    if tag is not None and tag.remote == "hybrid":
        return f"Hybrid ({place})" if place else "Hybrid"
    return place


def _asks(posting: Posting) -> str | None:
    tag = posting.tag
    if tag is None or not tag.credentials:
        return None
    parts = []
    for requirement in ("required", "preferred"):
        codes = list(dict.fromkeys(c.code for c in tag.credentials
                                   if c.requirement == requirement))
        if codes:
            shown = "/".join(codes[:MAX_CODES]) + ("/..." if len(codes) > MAX_CODES else "")
            parts.append(f"{shown} {requirement}")
    return ", ".join(parts) or None


def one_line(posting: Posting) -> str:
    """The one-line summary shown in listings: where, what, what it asks, pay.

    "Remote (OH, KY, IN) · Risk adjustment coder · CRC required · $24-30/hour". Parts the
    posting does not state are left out. Credentials joined by "/" are the ones the
    posting asks for, without claiming whether it wants all or any of them.
    """
    parts = [_where(posting), sentence_case(posting.title), _asks(posting), money(posting)]
    return SEPARATOR.join(p for p in parts if p)


def _salary(posting: Posting) -> dict[str, Any]:
    return {"min": posting.salary_min, "max": posting.salary_max,
            "currency": posting.salary_currency, "period": posting.salary_period,
            "annual_min": posting.salary_annual_min, "annual_max": posting.salary_annual_max}


def summary(posting: Posting) -> dict[str, Any]:
    """One canonical posting as `hcjobs export` writes it (postings.jsonl).

    The fields of the architecture's contract, plus city, every place, the employment type,
    closing dates, yearly pay (under ANNUAL_ASSUMPTION) and `duplicates`: the postings
    collapsed onto this one, with their URL and the reason.
    """
    tag = posting.tag
    return {
        "id": posting.id,
        "url": posting.url,
        "title": posting.title,
        "company": posting.company,
        "location": posting.location,
        "city": posting.city,
        "state": posting.state,
        "country": posting.country,
        "locations": list(posting.locations or []),
        "employment_type": posting.employment_type,
        "category": tag.category if tag else None,
        "remote": tag.remote if tag else None,
        "remote_states": list(tag.remote_states) if tag else [],
        "credentials": [{"code": c.code, "requirement": c.requirement,
                         "evidence": c.evidence} for c in tag.credentials] if tag else [],
        "salary": _salary(posting),
        "posted_at": _iso(posting.posted_at),
        "valid_through": _iso(posting.valid_through),
        "first_seen": _iso(posting.first_seen),
        "last_seen": _iso(posting.last_seen),
        "status": posting.status,
        "closed_at": _iso(posting.closed_at),
        "duplicates": [{"id": d.id, "url": d.url, "reason": d.duplicate_reason}
                       for d in posting.duplicates],
        "summary": one_line(posting),
    }


def iter_postings(engine: Engine, include_duplicates: bool = False) -> Iterator[Posting]:
    """Postings with their tags, credentials and duplicates loaded, in id order, streamed in
    batches (canonical postings only unless `include_duplicates`). Valid only while the
    iteration runs."""
    with session_scope(engine) as session:
        query = (select(Posting)
                 .options(selectinload(Posting.tag).selectinload(Tag.credentials),
                          selectinload(Posting.duplicates))
                 .order_by(Posting.id))
        if not include_duplicates:
            query = query.where(Posting.duplicate_of.is_(None))
        yield from session.scalars(query.execution_options(yield_per=500))


def iter_summaries(engine: Engine, include_duplicates: bool = False) -> Iterator[dict[str, Any]]:
    """One summary per posting, as `hcjobs export` writes them (canonical postings only)."""
    for posting in iter_postings(engine, include_duplicates):
        yield summary(posting)


def store_stats(engine: Engine) -> dict[str, Any]:
    """Counts over open canonical postings: category x remote, credentials, sources, runs."""
    by_cat_remote: Counter[tuple[str, str]] = Counter()
    creds: dict[str, Counter[str]] = {}
    with session_scope(engine) as session:
        rows = session.execute(
            select(Tag.category, Tag.remote).join(Posting, Posting.id == Tag.posting_id)
            .where(Posting.status == "open", Posting.duplicate_of.is_(None))
        ).all()
        by_cat_remote.update((c, r) for c, r in rows)
        tags = session.scalars(
            select(Tag).join(Posting, Posting.id == Tag.posting_id)
            .where(Posting.status == "open", Posting.duplicate_of.is_(None))
            .options(selectinload(Tag.credentials))
        )
        for tag in tags:
            for cred in tag.credentials:
                creds.setdefault(cred.code, Counter())[cred.requirement] += 1
        total = session.query(Posting).count()
        duplicates = session.query(Posting).filter(Posting.duplicate_of.is_not(None)).count()
        open_count = session.query(Posting).filter(Posting.status == "open",
                                                   Posting.duplicate_of.is_(None)).count()
        sources = session.query(Source).count()
        runs = Counter(s for (s,) in session.execute(select(CrawlRun.status)).all())
        versions = sorted({v for (v,) in session.execute(select(Tag.model_version)).all()})
    categories = sorted({c for c, _ in by_cat_remote})
    return {
        "postings": {"total": total, "open": open_count, "duplicates": duplicates},
        "by_category": {c: sum(n for (cc, _), n in by_cat_remote.items() if cc == c)
                        for c in categories},
        "by_remote": {r: sum(n for (_, rr), n in by_cat_remote.items() if rr == r)
                      for r in ("remote", "hybrid", "onsite")},
        "category_by_remote": {c: {r: by_cat_remote.get((c, r), 0)
                                   for r in ("remote", "hybrid", "onsite")}
                               for c in categories},
        "credentials": {code: {"required": n["required"], "preferred": n["preferred"],
                               "total": n["required"] + n["preferred"]}
                        for code, n in sorted(creds.items(),
                                              key=lambda kv: -sum(kv[1].values()))},
        "sources": sources,
        "runs": dict(runs),
        "model_versions": versions,
    }
