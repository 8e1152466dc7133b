"""Trend series for /api/stats: active, new and closed postings per day, week or month.

The pipeline keeps `daily_stats` (one row per day x category x remote x credential x
requirement); when that table is empty (a store whose stats were never computed) the same
series is derived from the postings' first_seen and closed_at, so the endpoint always
answers and both sources mean the same thing: canonical postings only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from pipeline.models import CredentialTag, DailyStat, Posting, Tag
from web.params import CredentialCode
from web.vocab import Category, RemoteKind, Requirement

MAX_POINTS = 5000


def _day(value: date) -> date:
    if not date(2000, 1, 1) <= value <= date(2100, 1, 1):
        raise ValueError("must be between 2000-01-01 and 2100-01-01")
    return value


Day = Annotated[date, AfterValidator(_day)]


class StatsParams(BaseModel):
    """Which series: its interval, grouping and the postings it counts."""

    model_config = ConfigDict(extra="forbid")

    interval: Literal["day", "week", "month"] = Field("month", description="period length")
    group_by: Literal["category", "remote"] | None = Field(
        None, description="one series per category or per remote kind")
    category: list[Category] = Field(default_factory=list, description="only these categories")
    remote: list[RemoteKind] = Field(default_factory=list, description="only these kinds")
    credential: CredentialCode | None = Field(None, description="only postings asking for it")
    requirement: Requirement | None = Field(None, description="with credential: how it is asked")
    since: Day | None = Field(None, description="first day (YYYY-MM-DD)")
    until: Day | None = Field(None, description="last day (YYYY-MM-DD)")


def period_start(day: date, interval: str) -> date:
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def has_daily_stats(session: Session) -> bool:
    return session.execute(select(DailyStat.day).limit(1)).first() is not None


def _from_daily_stats(session: Session, p: StatsParams) -> Iterable[tuple[date, str | None,
                                                                          int, int, int]]:
    group = getattr(DailyStat, p.group_by) if p.group_by else None
    cols: list[Any] = [DailyStat.day] + ([group] if group is not None else [])
    stmt = select(*cols, func.sum(DailyStat.active), func.sum(DailyStat.new),
                  func.sum(DailyStat.closed))
    if p.credential:
        stmt = stmt.where(DailyStat.credential == p.credential)
        stmt = stmt.where(DailyStat.requirement == p.requirement) if p.requirement \
            else stmt.where(DailyStat.requirement != "*")
    else:
        stmt = stmt.where(DailyStat.credential == "*", DailyStat.requirement == "*")
    if p.category:
        stmt = stmt.where(DailyStat.category.in_(p.category))
    if p.remote:
        stmt = stmt.where(DailyStat.remote.in_(p.remote))
    stmt = stmt.group_by(*cols).order_by(*cols)
    for row in session.execute(stmt):
        if group is not None:
            day, key, active, new, closed = row
        else:
            (day, active, new, closed), key = row, None
        yield day, key, int(active or 0), int(new or 0), int(closed or 0)


def _day_of(column: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def _from_postings(session: Session, p: StatsParams, dialect: str) -> Iterable[
        tuple[date, str | None, int, int, int]]:
    """Daily new / closed / active derived from the postings themselves."""
    group = None
    if p.group_by:
        group = func.coalesce(getattr(Tag, p.group_by), "unknown")
    where: list[Any] = [Posting.duplicate_of.is_(None)]
    if p.category:
        where.append(Tag.category.in_(p.category))
    if p.remote:
        where.append(Tag.remote.in_(p.remote))
    if p.credential:
        cred = [CredentialTag.tag_id == Tag.id, CredentialTag.code == p.credential]
        if p.requirement:
            cred.append(CredentialTag.requirement == p.requirement)
        where.append(exists(select(1).select_from(CredentialTag).where(*cred)))
    counts: dict[tuple[date, str | None], list[int]] = defaultdict(lambda: [0, 0])
    for index, column in enumerate((Posting.first_seen, Posting.closed_at)):
        day = _day_of(column, dialect)
        cols: list[Any] = [day] + ([group] if group is not None else [])
        stmt = (select(*cols, func.count()).select_from(Posting)
                .outerjoin(Tag, Tag.posting_id == Posting.id)
                .where(*where, column.is_not(None)).group_by(*cols))
        for row in session.execute(stmt):
            raw_day, key, n = (row[0], row[1], row[2]) if group is not None \
                else (row[0], None, row[1])
            when = raw_day if isinstance(raw_day, date) else date.fromisoformat(str(raw_day))
            counts[(when, key)][index] += int(n)
    if not counts:
        return
    keys = sorted({k for _, k in counts}, key=lambda k: k or "")
    first, last = min(d for d, _ in counts), max(d for d, _ in counts)
    if (last - first).days > 40_000:
        return
    for key in keys:
        active = 0
        day = first
        while day <= last:
            new, closed = counts.get((day, key), (0, 0))
            active += new - closed
            yield day, key, active, new, closed
            day += timedelta(days=1)


def series(session: Session, p: StatsParams, dialect: str, use_daily_stats: bool
           ) -> list[dict[str, Any]]:
    """The points of the series: one per period (and group), oldest first."""
    rows = _from_daily_stats(session, p) if use_daily_stats \
        else _from_postings(session, p, dialect)
    points: dict[tuple[date, str | None], dict[str, Any]] = {}
    for day, key, active, new, closed in rows:
        if (p.since and day < p.since) or (p.until and day > p.until):
            continue
        start = period_start(day, p.interval)
        point = points.setdefault((start, key), {"period": start.isoformat(), "group": key,
                                                 "active": 0, "new": 0, "closed": 0,
                                                 "_last": None})
        point["new"] += new
        point["closed"] += closed
        if point["_last"] is None or day >= point["_last"]:
            point["_last"], point["active"] = day, active  # a stock: its value at period end
    out = [{k: v for k, v in point.items() if k != "_last"}
           for _, point in sorted(points.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))]
    return out[-MAX_POINTS:]
