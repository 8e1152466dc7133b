"""Turn a crawled item into clean, comparable values: text, safe HTML, dates, places, pay."""

from __future__ import annotations

import email.utils
import hashlib
import html as htmlmod
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import ftfy
import lxml.html
import nh3

US_STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa",
    "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland",
    "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi",
    "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire",
    "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York", "NC": "North Carolina",
    "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee",
    "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming", "DC": "District of Columbia",
}
STATE_BY_NAME = {name.lower(): code for code, name in US_STATES.items()}
UK_WORDS = ("england", "scotland", "wales", "northern ireland", "united kingdom", "uk")

TRACKING_PARAMS = re.compile(r"^(utm_.*|gclid|fbclid|mc_[ce]id|ref|src|source|gh_src|lever-.*)$",
                             re.IGNORECASE)
ESCAPED_TAG = re.compile(r"&(?:amp;)*lt;/?(p|div|ul|ol|li|br|h[1-6]|strong|b|em|span|a)\b",
                         re.IGNORECASE)
BLOCK_TAGS = {"p", "div", "section", "article", "br", "tr", "table", "ul", "ol", "header",
              "footer"}
HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
SAFE_TAGS = {"p", "br", "ul", "ol", "li", "strong", "b", "em", "i", "u", "h2", "h3", "h4",
             "h5", "h6", "a", "span", "div", "table", "thead", "tbody", "tr", "td", "th",
             "blockquote"}
RELATIVE_DATE = re.compile(r"(?:posted\s+)?(\d+)\+?\s+(day|hour|week|month)s?\s+ago", re.I)


@dataclass
class Normalized:
    """The clean values of one posting, ready to store."""

    title: str
    text: str
    html: str | None
    company: str | None
    location: str | None
    state: str | None
    country: str | None
    posted_at: datetime | None
    valid_through: datetime | None
    employment_type: str | None
    canonical_url: str | None
    salary: dict[str, Any] = field(default_factory=dict)
    content_hash: str = ""


def fix_encoding(value: str) -> str:
    """Undo mojibake ("Weâ€™re") and extra layers of HTML escaping."""
    value = ftfy.fix_text(value, uncurl_quotes=False, unescape_html=False)
    for _ in range(2):  # some sites escape their HTML twice
        if not ESCAPED_TAG.search(value) or re.search(r"<(p|div|ul|li|br)\b", value, re.I):
            break
        value = htmlmod.unescape(value)
    return value


def sanitize_html(value: str) -> str:
    """HTML safe to display: an allowlist of tags, no scripts, handlers or javascript: URLs."""
    return nh3.clean(
        value,
        tags=SAFE_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )


def html_to_text(value: str) -> str:
    """Plain text that keeps structure: headings and paragraphs on their own lines, bullets as
    "- " lines. The classifier relies on this to find sections (Requirements, Preferred)."""
    if not value.strip():
        return ""
    try:
        root = lxml.html.fromstring(value)
    except (lxml.etree.ParserError, ValueError):
        return re.sub(r"\s+", " ", value).strip()
    for bad in root.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if "".join(current).strip() == "-":
            return  # a bullet whose text sits in a child block: "<li><p>text</p></li>"
        line = re.sub(r"\s+", " ", "".join(current)).strip()
        if line:
            lines.append(line)
        current.clear()

    def walk(el: Any) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == "li":
            flush()
            current.append("- ")
        elif tag in BLOCK_TAGS or tag in HEADING_TAGS:
            flush()
        if el.text and tag:
            current.append(el.text)
        for child in el:
            walk(child)
        if tag == "li" and "".join(current).strip() == "-":
            current.clear()  # an empty bullet
        if tag in BLOCK_TAGS or tag in HEADING_TAGS or tag == "li":
            flush()
        if el.tail:
            current.append(el.tail)

    walk(root)
    flush()
    return "\n".join(line for line in lines if line != "-")


def parse_date(value: str | None, now: datetime) -> datetime | None:
    """A date from ISO text, epoch seconds or milliseconds, or "Posted 3 Days Ago"."""
    if not value:
        return None
    text = str(value).strip()
    if re.fullmatch(r"\d{10,13}", text):
        number = int(text)
        return datetime.fromtimestamp(number / 1000 if number > 10**11 else number, UTC)
    low = text.lower()
    if "today" in low or "just posted" in low:
        return now
    if "yesterday" in low:
        return now - timedelta(days=1)
    rel = RELATIVE_DATE.search(text)
    if rel:
        n, unit = int(rel.group(1)), rel.group(2).lower()
        days = {"hour": 1 / 24, "day": 1, "week": 7, "month": 30}[unit]
        return now - timedelta(days=n * days)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        match = re.match(r"(\d{4}-\d{2}-\d{2})", text)
        if match:
            parsed = datetime.fromisoformat(match.group(1))
        else:
            try:  # RSS: "Tue, 08 Sep 2026 14:30:00 GMT"
                parsed = email.utils.parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_location(value: str | None) -> tuple[str | None, str | None]:
    """(US state code, country code) of a location string such as "Columbus, OH"."""
    if not value:
        return None, None
    first = re.split(r";|\n|\|", value)[0]
    parts = [p.strip() for p in re.split(r",| - ", first) if p.strip()]
    for part in reversed(parts):
        token = part.upper().strip(". ")
        if re.fullmatch(r"[A-Z]{2}", token) and token in US_STATES:
            return token, "US"
        code = STATE_BY_NAME.get(part.lower())
        if code:
            return code, "US"
    low = first.lower()
    if any(re.search(rf"\b{w}\b", low) for w in UK_WORDS):
        return None, "GB"
    if re.search(r"\b(us|usa|united states)\b", low):
        return None, "US"
    return None, None


def canonical_url(url: str | None) -> str | None:
    """The URL without tracking parameters, fragment, default port or trailing slash."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return None
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not TRACKING_PARAMS.match(k)]
    netloc = parts.netloc.lower().removesuffix(":443").removesuffix(":80")
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https" if parts.scheme in ("http", "https") else parts.scheme,
                       netloc, path, urlencode(sorted(query)), ""))


PERIODS = {"HOUR": "hour", "DAY": "day", "WEEK": "week", "MONTH": "month", "YEAR": "year",
           "CHART": "chart"}


def parse_salary(value: dict[str, Any] | None) -> dict[str, Any]:
    """Structured pay as {min, max, currency, period}; swapped bounds put back in order."""
    if not value:
        return {}

    def number(raw: Any) -> float | None:
        if raw is None or raw == "":
            return None
        try:
            return float(re.sub(r"[^\d.]", "", str(raw)) or "nan")
        except ValueError:
            return None

    low, high = number(value.get("min")), number(value.get("max"))
    low = None if low != low else low  # NaN from a value with no digits
    high = None if high != high else high
    if low is None and high is None:
        return {}
    if low is not None and high is not None and low > high:
        low, high = high, low
    unit = str(value.get("unit") or "").upper()
    return {"min": low, "max": high, "currency": value.get("currency") or None,
            "period": PERIODS.get(unit)}


PAY = re.compile(
    r"(?P<cur>[$£€])\s?(?P<lo>\d[\d,]*(?:\.\d+)?)\s?(?P<k1>[kK])?"
    r"(?:\s*(?:-|–|—|to)\s*[$£€]?\s?(?P<hi>\d[\d,]*(?:\.\d+)?)\s?(?P<k2>[kK])?)?"
    r"(?:\s*(?:USD|GBP|EUR))?"
    r"(?:\s*(?:per|an|a|/|each)\s*(?P<per>hour|hr|year|yr|annum|month|week|day|chart|encounter))?"
    r"(?P<annual>\s*annually)?", re.IGNORECASE)
CURRENCY = {"$": "USD", "£": "GBP", "€": "EUR"}
PERIOD_ALIASES = {"hr": "hour", "yr": "year", "annum": "year", "encounter": "chart"}


def parse_salary_text(text: str) -> dict[str, Any]:
    """Pay stated in the text ("$22.50 - $28.00 per hour", "$96k-$118k", "$2.10 per chart").

    Without a stated period, amounts under 200 are taken as hourly and over 10,000 as yearly;
    anything else is left empty rather than guessed.
    """
    for match in PAY.finditer(text):
        def amount(raw: str | None, k: str | None) -> float | None:
            if raw is None:
                return None
            return float(raw.replace(",", "")) * (1000 if k else 1)

        low = amount(match.group("lo"), match.group("k1"))
        high = amount(match.group("hi"), match.group("k2") or match.group("k1"))
        period = match.group("per")
        period = PERIOD_ALIASES.get(period.lower(), period.lower()) if period else None
        if match.group("annual"):
            period = "year"
        top = max(v for v in (low, high) if v is not None)
        if period is None:
            period = "hour" if top < 200 else "year" if top >= 10000 else None
        if period is None or (low is not None and low < 1):
            continue
        return parse_salary({"min": low, "max": high if high is not None else low,
                             "currency": CURRENCY[match.group("cur")], "unit": period.upper()})
    return {}


def content_hash(*parts: str | None) -> str:
    """Hash of what a posting says; a change means the posting changed and needs re-tagging."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update((part or "").encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


def normalize(item: dict[str, Any], now: datetime) -> Normalized:
    """Normalize one crawled item (a JobPosting as a dict). `now` anchors relative dates."""
    raw_html = item.get("description_html")
    html_value = fix_encoding(raw_html) if raw_html else None
    if html_value:
        text = html_to_text(html_value)
        safe = sanitize_html(html_value)
    else:
        text = fix_encoding(item.get("description_text") or "")
        safe = None
    title = re.sub(r"\s+", " ", fix_encoding(item.get("title") or "")).strip()
    locations = [fix_encoding(loc).strip() for loc in item.get("locations") or [] if loc]
    location = "; ".join(locations) or None
    state, country = parse_location(location)
    company = fix_encoding(item["company"]).strip() if item.get("company") else None
    return Normalized(
        title=title,
        text=text,
        html=safe,
        company=company,
        location=location,
        state=state,
        country=country,
        posted_at=parse_date(item.get("posted_raw"), now),
        valid_through=parse_date(item.get("valid_through_raw"), now),
        employment_type=item.get("employment_type"),
        canonical_url=canonical_url(item.get("url")),
        salary=parse_salary(item.get("salary")) or parse_salary_text(text),
        content_hash=content_hash(title, company, location, text),
    )
