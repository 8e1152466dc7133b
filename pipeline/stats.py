"""Daily stats: canonical postings per UTC day x category x remote x credential x requirement,
with how many were active (open at the end of the day), new (first seen) and closed.

The table (`daily_stats`, see models.DailyStat) is what trend charts and analysts read
instead of scanning every posting. Rows with credential and requirement "*" count every
posting once; the other rows count the postings asking for one credential one way.
Postings not tagged yet count under category and remote "unknown".
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, insert, literal, or_, select
from sqlalchemy.orm import Session

from pipeline.db import session_scope, utc_date
from pipeline.models import CredentialTag, DailyStat, Posting, Tag
from pipeline.store import promote_open_duplicates, utcnow

ALL = "*"
UNKNOWN = "unknown"

Key = tuple[str, str, str, str]  # category, remote, credential, requirement


def update_daily_stats(engine: Engine, day: date | None = None) -> int:
    """Recompute the rows of `day` (UTC; default: today) from the store; returns how many.

    Idempotent: the day's rows are replaced in one transaction, so calling it after every
    crawl keeps today current, and calling it for a past day rebuilds that day from
    first_seen and closed_at. Groups whose canonical posting closed while a duplicate is
    still open are first handed to that duplicate (pipeline.dedupe), so counts follow jobs
    that are still listed.
    """
    day = day or utcnow().date()
    return rebuild_daily_stats(engine, day, day)


def rebuild_daily_stats(engine: Engine, first: date, last: date) -> int:
    """Recompute the rows of every day from `first` to `last` (UTC) in one pass.

    Only postings listed in that span are read: per category x remote (x credential), the
    ones still listed when `first` began, and per day the ones first seen and the ones
    closed. A day's active count is the first of these, plus what was first seen by its
    end, minus what closed by its end.
    """
    start = datetime.combine(first, time.min, UTC)
    end = datetime.combine(last, time.min, UTC) + timedelta(days=1)
    with session_scope(engine) as session:
        promote_open_duplicates(session)
        listed, new, closed = _counts(session, start, end)
        rows: list[dict[str, Any]] = []
        now = utcnow()
        for key in sorted(set(listed) | set(new) | set(closed)):
            active = listed.get(key, 0)
            day = first
            while day <= last:
                n_new, n_closed = new[key].get(day, 0), closed[key].get(day, 0)
                active += n_new - n_closed
                if active or n_new or n_closed:
                    rows.append({"day": day, "category": key[0], "remote": key[1],
                                 "credential": key[2], "requirement": key[3],
                                 "active": active, "new": n_new, "closed": n_closed,
                                 "updated_at": now})
                day += timedelta(days=1)
        session.execute(delete(DailyStat).where(DailyStat.day >= first, DailyStat.day <= last))
        if rows:
            session.execute(insert(DailyStat), rows)
    return len(rows)


def _grouped(session: Session, where: tuple[Any, ...], day: Any = None) -> list[Any]:
    """Canonical postings matching `where`, counted per key (and per `day` when given):
    once per posting (credential "*"), and once per credential it asks for."""
    category = func.coalesce(Tag.category, UNKNOWN)
    remote = func.coalesce(Tag.remote, UNKNOWN)
    days = [day] if day is not None else []
    totals = (select(category, remote, literal(ALL), literal(ALL), *days, func.count())
              .select_from(Posting).outerjoin(Tag, Tag.posting_id == Posting.id)
              .where(Posting.duplicate_of.is_(None), *where)
              .group_by(category, remote, *days))
    credentials = (select(category, remote, CredentialTag.code, CredentialTag.requirement,
                          *days, func.count())
                   .select_from(Posting).join(Tag, Tag.posting_id == Posting.id)
                   .join(CredentialTag, CredentialTag.tag_id == Tag.id)
                   .where(Posting.duplicate_of.is_(None), *where)
                   .group_by(category, remote, CredentialTag.code, CredentialTag.requirement,
                             *days))
    return [*session.execute(totals), *session.execute(credentials)]


def _counts(session: Session, start: datetime, end: datetime) -> tuple[
        dict[Key, int], dict[Key, dict[date, int]], dict[Key, dict[date, int]]]:
    """(listed when `start` began, first seen per day, closed per day) per key."""
    dialect = session.get_bind().dialect.name
    listed: dict[Key, int] = {}
    for cat, rem, code, requirement, count in _grouped(
            session, (Posting.first_seen < start,
                      or_(Posting.closed_at.is_(None), Posting.closed_at >= start))):
        listed[(cat, rem, code, requirement)] = int(count)
    new: dict[Key, dict[date, int]] = defaultdict(dict)
    closed: dict[Key, dict[date, int]] = defaultdict(dict)
    for column, target, extra in ((Posting.first_seen, new, ()),
                                  (Posting.closed_at, closed, (Posting.status == "closed",))):
        day = utc_date(column, dialect)
        for cat, rem, code, requirement, when, count in _grouped(
                session, (column >= start, column < end, *extra), day):
            when = when if isinstance(when, date) else date.fromisoformat(str(when))
            key = (cat, rem, code, requirement)
            target[key][when] = target[key].get(when, 0) + int(count)
    return listed, new, closed


def daily_stats(engine: Engine, since: date | None = None) -> list[dict[str, Any]]:
    """The stored rows from `since` on (all when None), oldest day first, as plain dicts."""
    query = select(DailyStat).order_by(DailyStat.day, DailyStat.category, DailyStat.remote,
                                       DailyStat.credential, DailyStat.requirement)
    if since is not None:
        query = query.where(DailyStat.day >= since)
    with session_scope(engine) as session:
        return [{"day": r.day.isoformat(), "category": r.category, "remote": r.remote,
                 "credential": r.credential, "requirement": r.requirement,
                 "active": r.active, "new": r.new, "closed": r.closed}
                for r in session.scalars(query)]
