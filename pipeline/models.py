"""SQLAlchemy 2.0 typed models: the store's schema (changed only through Alembic)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from pipeline.normalize import ANNUAL_ASSUMPTION


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back time-zone aware.

    SQLite keeps no time zone, so without this a value written as UTC comes back naive and
    stops comparing equal to what was written.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store times with a time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base; JSON columns map to JSON on SQLite and PostgreSQL alike."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime}


class Source(Base):
    """A configured board (one line of the sources file), mirrored so runs can point at it."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(50))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column()

    runs: Mapped[list[CrawlRun]] = relationship(back_populates="source")


class CrawlRun(Base):
    """One crawl of one source: its outcome, counts and errors."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    started_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    # running | ok | failed | interrupted
    status: Mapped[str] = mapped_column(String(20), default="running")
    seen: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    dropped: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # saw far fewer postings than usual: nothing was closed on its word
    truncated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    error: Mapped[str | None] = mapped_column(Text)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)

    source: Mapped[Source] = relationship(back_populates="runs")


class Posting(Base):
    """One job posting as one source lists it, with its raw payload and clean text."""

    __tablename__ = "postings"
    __table_args__ = (UniqueConstraint("source_id", "external_id", name="uq_posting_source_ext"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    canonical_url: Mapped[str | None] = mapped_column(Text, index=True)
    title: Mapped[str] = mapped_column(Text)
    company: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(Text)
    # the first place that names a city / state / country (see `locations` for all of them)
    city: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str | None] = mapped_column(String(2))
    country: Mapped[str | None] = mapped_column(String(2))
    locations: Mapped[list[Any] | None] = mapped_column(
        JSON, comment="every place named: [{city, state, country, remote}]")
    # FULL_TIME | PART_TIME | CONTRACTOR | TEMPORARY | INTERN | PER_DIEM | OTHER
    employment_type: Mapped[str | None] = mapped_column(String(50))
    posted_at: Mapped[datetime | None] = mapped_column()
    posted_raw: Mapped[str | None] = mapped_column(Text)
    valid_through: Mapped[datetime | None] = mapped_column()
    salary_min: Mapped[float | None] = mapped_column(Float)
    salary_max: Mapped[float | None] = mapped_column(Float)
    salary_currency: Mapped[str | None] = mapped_column(String(3))
    salary_period: Mapped[str | None] = mapped_column(String(10))
    salary_annual_min: Mapped[float | None] = mapped_column(Float, comment=ANNUAL_ASSUMPTION)
    salary_annual_max: Mapped[float | None] = mapped_column(Float, comment=ANNUAL_ASSUMPTION)
    html: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text, default="")
    hints: Mapped[dict[str, Any]] = mapped_column(default=dict)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column()
    last_seen: Mapped[datetime] = mapped_column()
    times_seen: Mapped[int] = mapped_column(Integer, default=1)
    # consecutive successful runs of its source that did not list it
    missed_runs: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # open | closed
    status: Mapped[str] = mapped_column(String(10), default="open")
    closed_at: Mapped[datetime | None] = mapped_column()
    # the canonical posting this one repeats, and why: same_url | near_text | repost
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("postings.id"))
    duplicate_reason: Mapped[str | None] = mapped_column(String(50))
    # near-duplicate fingerprint (pipeline.dedupe): 64-bit SimHash of the text (signed), the
    # normalized title, places and employer, and two indexed look-up keys hashed from them:
    # block_key (title + place) and text_key (SimHash + place)
    simhash: Mapped[int | None] = mapped_column(BigInteger)
    title_key: Mapped[str | None] = mapped_column(String(200))
    location_key: Mapped[str | None] = mapped_column(String(500))
    employer_key: Mapped[str | None] = mapped_column(String(200))
    block_key: Mapped[int | None] = mapped_column(BigInteger, index=True)
    text_key: Mapped[int | None] = mapped_column(BigInteger, index=True)

    tag: Mapped[Tag | None] = relationship(back_populates="posting", uselist=False)
    # the postings that repeat this one (their duplicate_of is this posting's id)
    duplicates: Mapped[list[Posting]] = relationship(
        foreign_keys=[duplicate_of], order_by="Posting.id", viewonly=True)


class Tag(Base):
    """The classifier's output for one posting's content, stamped with the model version."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    posting_id: Mapped[int] = mapped_column(ForeignKey("postings.id"), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(20), index=True)
    category_scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    remote: Mapped[str] = mapped_column(String(10), index=True)
    remote_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    remote_evidence: Mapped[str | None] = mapped_column(Text)
    remote_states: Mapped[list[Any]] = mapped_column(default=list)
    model_version: Mapped[str] = mapped_column(String(80))
    tagged_at: Mapped[datetime] = mapped_column()

    posting: Mapped[Posting] = relationship(back_populates="tag")
    credentials: Mapped[list[CredentialTag]] = relationship(
        back_populates="tag", cascade="all, delete-orphan"
    )
    facets: Mapped[list[FacetTag]] = relationship(
        back_populates="tag", cascade="all, delete-orphan", order_by="FacetTag.id"
    )


class CredentialTag(Base):
    """One credential a posting asks for: code, required/preferred, and the sentence saying so."""

    __tablename__ = "credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(10), index=True)
    requirement: Mapped[str] = mapped_column(String(10))
    evidence: Mapped[str | None] = mapped_column(Text)

    tag: Mapped[Tag] = relationship(back_populates="credentials")


class FacetTag(Base):
    """One facet (kind of work: inpatient, revenue cycle, ...) a posting shows, with the
    sentence that shows it.

    Written by the tagger with the rest of the tag, so searches filter and count facets on
    an index instead of running the classifier's patterns over every posting's text.
    """

    __tablename__ = "facet_tags"
    __table_args__ = (UniqueConstraint("tag_id", "facet", name="uq_facet_tags_tag_facet"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"))
    facet: Mapped[str] = mapped_column(String(40))
    evidence: Mapped[str | None] = mapped_column(Text)

    tag: Mapped[Tag] = relationship(back_populates="facets")


class Listing:
    """A canonical posting as the job seekers' searches filter and sort it: its sort keys
    and every filtered value in one narrow row, so a search's first page is read from one
    index (migration 0007, which explains the layout).

    The database keeps the listings in step with postings, tags, credentials and
    facet_tags (triggers of migrations 0007 and 0008): Python only reads them. Lists are
    packed as "|A|B|" text (None: none): credentials as "|CPC:required|CCS:preferred|",
    states from `state` and every place of `locations`.
    """

    posting_id: Mapped[int] = mapped_column(primary_key=True)
    newest: Mapped[datetime] = mapped_column(comment="coalesce(posted_at, first_seen)")
    pay: Mapped[float] = mapped_column(
        Float, comment="coalesce(salary_annual_max, salary_annual_min, -1.0)")
    currency: Mapped[str | None] = mapped_column(String(3))
    employer: Mapped[str | None] = mapped_column(Text, comment="lower(company)")
    country: Mapped[str | None] = mapped_column(String(2))
    states: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(20))
    remote: Mapped[str | None] = mapped_column(String(10))
    remote_states: Mapped[str | None] = mapped_column(Text)
    credentials: Mapped[str | None] = mapped_column(Text)
    facets: Mapped[str | None] = mapped_column(Text)


class OpenListing(Listing, Base):
    """The listing of each open canonical posting (migration 0007)."""

    __tablename__ = "open_listings"


class ClosedListing(Listing, Base):
    """The listing of each closed canonical posting (migration 0008)."""

    __tablename__ = "closed_listings"


class DailyStat(Base):
    """Counts of canonical postings for one UTC day, by category x remote x credential.

    `credential` and `requirement` are "*" on the rows that count every posting once;
    the other rows count postings asking for that credential (a posting asking for two
    credentials is on two rows). Untagged postings count under category and remote
    "unknown". active: open at the end of the day; new: first seen that day; closed:
    closed that day.
    """

    __tablename__ = "daily_stats"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    category: Mapped[str] = mapped_column(String(20), primary_key=True)
    remote: Mapped[str] = mapped_column(String(10), primary_key=True)
    credential: Mapped[str] = mapped_column(String(10), primary_key=True)
    requirement: Mapped[str] = mapped_column(String(10), primary_key=True)
    active: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    new: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    closed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column()


Index("ix_postings_status", Posting.status)
# Daily stats scan canonical postings by when they were listed, and dedupe finds a group's
# members by duplicate_of: one index serves both, and covers the stats scan, so it never
# reads the wide rows (text, HTML, raw payload).
Index("ix_postings_lifespan", Posting.duplicate_of, Posting.first_seen, Posting.closed_at,
      Posting.status)
Index("ix_tags_facets", Tag.posting_id, Tag.category, Tag.remote)
Index("ix_credentials_tag_code", CredentialTag.tag_id, CredentialTag.code,
      CredentialTag.requirement)
# "postings with facet X" starts from the facet (the unique constraint serves "does this
# tag have facet X")
Index("ix_facet_tags_facet_tag", FacetTag.facet, FacetTag.tag_id)
