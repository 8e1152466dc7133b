"""Loaders for analysts: the store's history as tidy pandas tables, and the monthly shares
behind the trend reports, each with the counts it rests on (so a small month looks small).

Every column is described in docs/data-dictionary.md; a test keeps the two in step.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select

from pipeline.db import make_engine
from pipeline.models import CredentialTag, Posting, Source, Tag

POSTING_COLUMNS = [
    "posting_id", "source", "external_id", "url", "title", "company", "location", "city",
    "state", "country", "employment_type", "posted_at", "first_seen", "last_seen",
    "closed_at", "status", "times_seen", "salary_min", "salary_max", "salary_currency",
    "salary_period", "salary_annual_min", "salary_annual_max", "salary_annual_mid",
    "category", "category_score", "remote", "remote_confidence", "remote_states",
    "credentials_required", "credentials_preferred", "model_version", "duplicate_of",
    "duplicate_reason", "month",
]
CREDENTIAL_COLUMNS = ["posting_id", "code", "requirement", "category", "remote", "first_seen",
                      "month", "salary_annual_mid"]


def _engine(db: str | Engine | None) -> Engine:
    return db if isinstance(db, Engine) else make_engine(db)


def _window(query: Any, since: datetime | str | None, until: datetime | str | None) -> Any:
    """Postings active in [since, until): first seen before `until`, last seen from `since`."""
    if since is not None:
        query = query.where(Posting.last_seen >= _utc(since))
    if until is not None:
        query = query.where(Posting.first_seen < _utc(until))
    return query


def _utc(value: datetime | str) -> datetime:
    """A bound as an aware UTC datetime; a date without a zone is taken as UTC."""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    result: datetime = stamp.to_pydatetime()
    return result


def load_postings(db: str | Engine | None = None, since: datetime | str | None = None,
                  until: datetime | str | None = None,
                  include_duplicates: bool = False) -> pd.DataFrame:
    """One row per canonical posting (duplicates too, marked, when asked) with its tags,
    lifecycle dates and annualized pay. Times are UTC; `month` is the month first seen."""
    engine = _engine(db)
    query = (select(Posting, Source.name, Tag)
             .join(Source, Source.id == Posting.source_id)
             .outerjoin(Tag, Tag.posting_id == Posting.id)
             .order_by(Posting.id))
    if not include_duplicates:
        query = query.where(Posting.duplicate_of.is_(None))
    query = _window(query, since, until)
    creds: dict[int, dict[str, list[str]]] = {}
    with engine.connect() as conn:
        for posting_id, code, requirement in conn.execute(
                select(Tag.posting_id, CredentialTag.code, CredentialTag.requirement)
                .join(CredentialTag, CredentialTag.tag_id == Tag.id)
                .order_by(CredentialTag.code)):
            creds.setdefault(posting_id, {"required": [], "preferred": []})[requirement] \
                .append(code)
    rows = []
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        for posting, source, tag in session.execute(query):
            asked = creds.get(posting.id, {"required": [], "preferred": []})
            scores = (tag.category_scores or {}) if tag is not None else {}
            rows.append({
                "posting_id": posting.id, "source": source,
                "external_id": posting.external_id, "url": posting.url, "title": posting.title,
                "company": posting.company, "location": posting.location,
                "city": getattr(posting, "city", None), "state": posting.state,
                "country": posting.country, "employment_type": posting.employment_type,
                "posted_at": posting.posted_at, "first_seen": posting.first_seen,
                "last_seen": posting.last_seen, "closed_at": posting.closed_at,
                "status": posting.status, "times_seen": posting.times_seen,
                "salary_min": posting.salary_min, "salary_max": posting.salary_max,
                "salary_currency": posting.salary_currency,
                "salary_period": posting.salary_period,
                "salary_annual_min": getattr(posting, "salary_annual_min", None),
                "salary_annual_max": getattr(posting, "salary_annual_max", None),
                "category": tag.category if tag is not None else None,
                "category_score": max(scores.values()) if scores else None,
                "remote": tag.remote if tag is not None else None,
                "remote_confidence": tag.remote_confidence if tag is not None else None,
                "remote_states": ",".join(tag.remote_states or []) if tag is not None else "",
                "credentials_required": ",".join(asked["required"]),
                "credentials_preferred": ",".join(asked["preferred"]),
                "model_version": tag.model_version if tag is not None else None,
                "duplicate_of": posting.duplicate_of,
                "duplicate_reason": posting.duplicate_reason,
            })
    frame = pd.DataFrame(rows, columns=[c for c in POSTING_COLUMNS
                                        if c not in ("salary_annual_mid", "month")])
    for column in ("posted_at", "first_seen", "last_seen", "closed_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["salary_annual_mid"] = frame[["salary_annual_min", "salary_annual_max"]] \
        .astype(float).mean(axis=1)
    frame["month"] = frame["first_seen"].dt.strftime("%Y-%m")
    return frame[POSTING_COLUMNS]


def load_credentials(db: str | Engine | None = None, since: datetime | str | None = None,
                     until: datetime | str | None = None) -> pd.DataFrame:
    """The long table: one row per (canonical posting, credential asked), with the posting's
    category, remote tag, month first seen and annualized pay mid-point."""
    postings = load_postings(db, since, until)
    rows = []
    for record in postings.itertuples(index=False):
        for requirement, codes in (("required", record.credentials_required),
                                   ("preferred", record.credentials_preferred)):
            for code in filter(None, str(codes).split(",")):
                rows.append({"posting_id": record.posting_id, "code": code,
                             "requirement": requirement, "category": record.category,
                             "remote": record.remote, "first_seen": record.first_seen,
                             "month": record.month,
                             "salary_annual_mid": record.salary_annual_mid})
    return pd.DataFrame(rows, columns=CREDENTIAL_COLUMNS)


def monthly_share(postings: pd.DataFrame, by: str, flag: pd.Series,
                  basis: str = "new") -> pd.DataFrame:
    """Share of postings with `flag` per month and `by` group, with n (postings in the
    group that month) and k (those flagged) beside every share.

    basis "new": postings first seen in the month; "active": postings open at any time in
    the month (first seen by its end, not closed before it began).
    """
    frame = postings.assign(_flag=flag.astype(bool).to_numpy())
    if basis == "new":
        expanded = frame
    elif basis == "active":
        expanded = _active_by_month(frame)
    else:
        raise ValueError("basis is 'new' or 'active'")
    grouped = expanded.groupby(["month", by], dropna=False)["_flag"]
    out = pd.DataFrame({"n": grouped.size(), "k": grouped.sum()}).reset_index()
    out["share"] = out["k"] / out["n"]
    return out.sort_values(["month", by]).reset_index(drop=True)


def _active_by_month(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return frame.assign(month=pd.Series(dtype=str))
    first = frame["first_seen"].min().tz_convert(None).to_period("M")
    last = frame["last_seen"].max().tz_convert(None).to_period("M")
    parts = []
    for period in pd.period_range(first, last, freq="M"):
        start = period.start_time.tz_localize("UTC")
        end = period.end_time.tz_localize("UTC")
        alive = (frame["first_seen"] <= end) & (frame["closed_at"].isna()
                                                 | (frame["closed_at"] >= start))
        parts.append(frame[alive].assign(month=str(period)))
    return pd.concat(parts, ignore_index=True)


def remote_share_by_month(postings: pd.DataFrame,
                          categories: tuple[str, ...] = ("coding", "administration"),
                          basis: str = "new") -> pd.DataFrame:
    """Fully remote share of postings per month and category (hybrid is not remote)."""
    chosen = postings[postings["category"].isin(categories)]
    return monthly_share(chosen, "category", chosen["remote"] == "remote", basis)


def credential_prevalence_by_month(postings: pd.DataFrame, credentials: pd.DataFrame,
                                   codes: list[str] | None = None) -> pd.DataFrame:
    """Per month, code and requirement: k postings asking, n postings that month, share."""
    n = postings.groupby("month").size().rename("n")
    chosen = credentials if codes is None else credentials[credentials["code"].isin(codes)]
    k = chosen.groupby(["month", "code", "requirement"]).size().rename("k").reset_index()
    out = k.merge(n, left_on="month", right_index=True)
    out["share"] = out["k"] / out["n"]
    return out.sort_values(["month", "code", "requirement"]).reset_index(drop=True)


def pay_by_credential(credentials: pd.DataFrame) -> pd.DataFrame:
    """Annualized pay mid-point by credential and remote tag: n with pay, median, quartiles."""
    paid = credentials.dropna(subset=["salary_annual_mid"])
    grouped = paid.groupby(["code", "remote"])["salary_annual_mid"]
    out = pd.DataFrame({"n": grouped.size(), "median": grouped.median(),
                        "q1": grouped.quantile(0.25), "q3": grouped.quantile(0.75)})
    return out.reset_index().sort_values(["code", "remote"]).reset_index(drop=True)


def new_and_closed_by_month(postings: pd.DataFrame) -> pd.DataFrame:
    """Postings first seen, closed, and active at the month's end, per month."""
    new = postings.groupby("month").size().rename("new")
    closed = postings.dropna(subset=["closed_at"]).assign(
        closed_month=lambda f: f["closed_at"].dt.strftime("%Y-%m")
    ).groupby("closed_month").size().rename("closed")
    months = sorted(set(new.index) | set(closed.index))
    out = pd.DataFrame({"month": months})
    out["new"] = out["month"].map(new).fillna(0).astype(int)
    out["closed"] = out["month"].map(closed).fillna(0).astype(int)
    out["active_end"] = (out["new"] - out["closed"]).cumsum()
    return out


def top_employers(postings: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """Employers with the most postings, with how many are coding / administration."""
    grouped = postings.groupby("company")
    out = pd.DataFrame({
        "postings": grouped.size(),
        "coding": grouped["category"].apply(lambda s: int((s == "coding").sum())),
        "administration": grouped["category"].apply(
            lambda s: int((s == "administration").sum())),
        "remote": grouped["remote"].apply(lambda s: int((s == "remote").sum())),
    })
    return out.sort_values("postings", ascending=False).head(n).reset_index()


def export_parquet(db: str | Engine | None, out: Path) -> list[Path]:
    """postings.parquet and credentials.parquet for analysts who use other tools."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in (("postings", load_postings(db)), ("credentials", load_credentials(db))):
        path = out / f"{name}.parquet"
        frame.to_parquet(path, index=False)
        written.append(path)
    return written
