"""Summaries of the store: per posting (one line for the site) and overall (counts)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import selectinload

from pipeline.db import session_scope
from pipeline.models import CrawlRun, Posting, Source, Tag

PERIOD_WORDS = {"hour": "/hour", "day": "/day", "week": "/week", "month": "/month",
                "year": "/year"}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def money(posting: Posting) -> str | None:
    """"$22-$28/hour" style pay, or None when the posting states none."""
    low, high = posting.salary_min, posting.salary_max
    if low is None and high is None:
        return None
    symbol = {"USD": "$", "GBP": "£", "EUR": "€"}.get(posting.salary_currency or "", "")

    def fmt(v: float | None) -> str:
        if v is None:
            return ""
        return f"{symbol}{v:,.0f}" if v >= 1000 else f"{symbol}{v:,.2f}".replace(".00", "")

    span = fmt(low) if high is None or low == high else (
        fmt(high) if low is None else f"{fmt(low)}-{fmt(high)}")
    return span + PERIOD_WORDS.get(posting.salary_period or "", "")


def one_line(posting: Posting) -> str:
    """The one-line summary shown in listings: what, where, how, what it asks, pay."""
    tag = posting.tag
    parts = [posting.title]
    if posting.company:
        parts.append(f"at {posting.company}")
    if tag is not None:
        where = {"remote": "remote", "hybrid": "hybrid", "onsite": "on-site"}[tag.remote]
        if tag.remote == "remote" and tag.remote_states:
            where += f" ({', '.join(tag.remote_states[:6])}"
            where += ", ...)" if len(tag.remote_states) > 6 else ")"
        parts.append(f"- {tag.category}, {where}")
    elif posting.location:
        parts.append(f"- {posting.location}")
    if tag is not None and tag.credentials:
        req = [c.code for c in tag.credentials if c.requirement == "required"]
        pref = [c.code for c in tag.credentials if c.requirement == "preferred"]
        asks = []
        if req:
            asks.append(" or ".join(req) + " required")
        if pref:
            asks.append(", ".join(pref) + " preferred")
        parts.append("; " + "; ".join(asks))
    pay = money(posting)
    if pay:
        parts.append(f"; {pay}")
    return " ".join(parts).replace(" ;", ";")


def iter_summaries(engine: Engine, include_duplicates: bool = False) -> Iterator[dict[str, Any]]:
    """One summary per posting, as `hcjobs export` writes them (canonical postings only)."""
    with session_scope(engine) as session:
        query = (select(Posting)
                 .options(selectinload(Posting.tag).selectinload(Tag.credentials))
                 .order_by(Posting.id))
        if not include_duplicates:
            query = query.where(Posting.duplicate_of.is_(None))
        for posting in session.scalars(query).yield_per(500):
            tag = posting.tag
            yield {
                "id": posting.id,
                "url": posting.url,
                "title": posting.title,
                "company": posting.company,
                "location": posting.location,
                "state": posting.state,
                "country": posting.country,
                "category": tag.category if tag else None,
                "remote": tag.remote if tag else None,
                "remote_states": list(tag.remote_states) if tag else [],
                "credentials": [{"code": c.code, "requirement": c.requirement,
                                 "evidence": c.evidence} for c in tag.credentials] if tag else [],
                "salary": {"min": posting.salary_min, "max": posting.salary_max,
                           "currency": posting.salary_currency,
                           "period": posting.salary_period},
                "posted_at": _iso(posting.posted_at),
                "first_seen": _iso(posting.first_seen),
                "last_seen": _iso(posting.last_seen),
                "status": posting.status,
                "summary": one_line(posting),
            }


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
