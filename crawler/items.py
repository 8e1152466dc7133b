"""The one item every spider fills, whatever the board's format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class JobPosting:
    """A posting as one source lists it: raw values kept beside parsed ones for re-parsing."""

    source: str
    """Name of the source entry (sources.toml) the posting came from."""
    external_id: str
    """The board's own id for the posting; with `source` it identifies the posting."""
    title: str | None = None
    """Job title as published."""
    url: str | None = None
    """Public URL of the posting (may carry tracking parameters; canonicalized later)."""
    company: str | None = None
    """Hiring organization's name."""
    locations: list[str] = field(default_factory=list)
    """Locations as published ("Columbus, OH", "Remote - US"); several when listed."""
    posted_raw: str | None = None
    """Posting date exactly as given (ISO string, epoch ms, "Posted 3 Days Ago")."""
    valid_through_raw: str | None = None
    """Closing date as given, when the board states one."""
    employment_type: str | None = None
    """FULL_TIME, PART_TIME, ... as given."""
    description_html: str | None = None
    """Description HTML after the board's own escaping is undone once."""
    description_text: str | None = None
    """Plain-text description when the board provides one and no HTML."""
    salary: dict[str, Any] | None = None
    """Structured pay as given: {min, max, currency, unit}."""
    hints: dict[str, Any] = field(default_factory=dict)
    """Structured remote hints (workplaceType, jobLocationType, ...) for the classifier."""
    raw: dict[str, Any] = field(default_factory=dict)
    """The untouched payload of the posting, so it can be parsed again later."""
    fetched_at: str | None = None
    """When the response was received (ISO 8601, UTC)."""
    unchanged: bool = False
    """Listed again and unchanged since the last good run, so not fetched or parsed again: only
    `source` and `external_id` are set, and the store just marks the posting seen."""
