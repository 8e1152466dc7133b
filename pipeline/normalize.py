"""Turn a crawled item into clean, comparable values: text, safe HTML, dates, places, pay."""

from __future__ import annotations

import email.utils
import hashlib
import html as htmlmod
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import ftfy
import nh3

from classifier.states import STATES

US_STATES = STATES  # one list of states: the classifier's (eligibility uses it too)
STATE_BY_NAME = {name.lower(): code for code, name in US_STATES.items()}

TRACKING_PARAMS = re.compile(r"^(utm_.*|gclid|fbclid|mc_[ce]id|ref|src|source|gh_src|lever-.*)$",
                             re.IGNORECASE)
ESCAPED_TAG = re.compile(r"&(?:amp;)*lt;/?(p|div|ul|ol|li|br|h[1-6]|strong|b|em|span|a)\b",
                         re.IGNORECASE)
BLOCK_TAGS = {"p", "div", "section", "article", "br", "tr", "table", "ul", "ol", "header",
              "footer"}
HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
SAFE_TAGS = {"p", "br", "ul", "ol", "li", "strong", "b", "em", "i", "u", "h1", "h2", "h3", "h4",
             "h5", "h6", "a", "span", "div", "table", "thead", "tbody", "tr", "td", "th",
             "blockquote", "section", "article", "header", "footer"}
"""Tags kept for display; every tag of BLOCK_TAGS and HEADING_TAGS is one, so the text read
from the sanitized HTML (safe_html_text) keeps their line breaks."""
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
    city: str | None = None
    places: list[dict[str, Any]] = field(default_factory=list)
    """Every place the posting names: {city, state, country, remote}."""
    salary_annual_min: float | None = None
    salary_annual_max: float | None = None


# Characters ftfy never changes. Text made only of these (most postings: ASCII plus curly
# quotes, dashes and bullets) skips ftfy, which is the slowest step of normalization. UTF-8
# mojibake always contains a Latin-1 lead byte (Â-ô) or a C1/cp1252 character, none here.
_NEEDS_FTFY = re.compile("[^\t\n\x20-\x7e\u00a0\u00a9\u00ae\u2122\u2010-\u2015"
                         "\u2018\u2019\u201c\u201d\u2022\u2026]")
_PLAIN_ASCII = bytes(range(0x20, 0x7F)) + b"\t\n"


def needs_ftfy(value: str) -> bool:
    """Whether the text holds a character outside _NEEDS_FTFY's set. ASCII text (most
    postings) is tested by deleting its plain bytes (bytes.translate, a table look-up per
    byte): a seventh of the time `re` takes to test its set at every character."""
    if value.isascii():  # (a flag of the string: no scan)
        return bool(value.encode("ascii").translate(None, _PLAIN_ASCII))
    return _NEEDS_FTFY.search(value) is not None


# Entities of HTML escaped as a whole ("&lt;p&gt;"): replaced with str.replace, because
# html.unescape calls back into Python for each of the hundreds of entities of a posting.
# Replacing them cannot make a new entity ("&amp;lt;" holds no "&lt;"), so what remains
# ("&amp;", "&nbsp;", "&#8217;") is unescaped once, as html.unescape would.
_TAG_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"),
                 ("&#34;", '"'), ("&#x27;", "'"))


def unescape(value: str) -> str:
    """html.unescape, several times faster on HTML that was escaped as a whole."""
    if "&" not in value:
        return value
    for entity, char in _TAG_ENTITIES:
        value = value.replace(entity, char)
    return htmlmod.unescape(value) if "&" in value else value


def fix_encoding(value: str) -> str:
    """Undo mojibake ("Weâ€™re") and extra layers of HTML escaping."""
    if needs_ftfy(value):
        value = ftfy.fix_text(value, uncurl_quotes=False, unescape_html=False)
    for _ in range(2):  # some sites escape their HTML twice
        if not ESCAPED_TAG.search(value) or re.search(r"<(p|div|ul|li|br)\b", value, re.I):
            break
        value = unescape(value)
    return value


# Built once: nh3.clean() turns its options into a new Rust sanitizer at every call, a third
# of the time of cleaning a posting. Scripts, styles and noscript blocks go with their content.
_CLEANER = nh3.Cleaner(
    tags=SAFE_TAGS,
    clean_content_tags={"script", "style", "noscript"},
    attributes={"a": {"href", "title"}},
    url_schemes={"http", "https", "mailto"},
    link_rel="nofollow noopener noreferrer",
)


def sanitize_html(value: str) -> str:
    """HTML safe to display: an allowlist of tags, no scripts, handlers or javascript: URLs."""
    return _CLEANER.clean(value)


def html_to_text(value: str) -> str:
    """Plain text that keeps structure: headings and paragraphs on their own lines, bullets as
    "- " lines. The classifier relies on this to find sections (Requirements, Preferred)."""
    return safe_html_text(sanitize_html(value)) if value.strip() else ""


# A tag of sanitized HTML: its name lowercase, its attribute values quoted with every ">"
# escaped, and no "<" in its text (html5ever's serializer, which nh3 uses, writes it so).
_SAFE_TAG = re.compile(r"<(/?)([a-z0-9]+)(?:\s[^>]*)?>")
_BREAKS = BLOCK_TAGS | HEADING_TAGS


def safe_html_text(safe: str) -> str:
    """html_to_text() of HTML that sanitize_html() gave: read with one regular expression,
    without parsing it again (the sanitizer's parse already made it well-formed), so the text
    is exactly what the site displays. A bullet whose text sits in a child block
    ("<li><p>text</p></li>") keeps its "- "; an empty bullet is dropped."""
    parts = _SAFE_TAG.split(safe.replace("&nbsp;", " "))
    lines: list[str] = []
    current = parts[0]
    for index in range(1, len(parts), 3):
        name = parts[index + 1]
        if name == "li" or name in _BREAKS:
            closing = parts[index]
            if closing and name == "li" and current.strip() == "-":
                current = ""  # an empty bullet
            line = " ".join(current.split())
            if line != "-":  # "- " alone waits for the bullet's text in a child block
                if line:
                    lines.append(line)
                current = ""
            if name == "li" and not closing:
                current += "- "
        current += parts[index + 2]
    line = " ".join(current.split())
    if line and line != "-":
        lines.append(line)
    text = "\n".join(lines)
    if "&" in text:  # the only entities the serializer writes in text
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text


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


COUNTRY_NAMES = {
    "us": "US", "usa": "US", "u.s.": "US", "u.s.a.": "US", "united states": "US",
    "united states of america": "US", "america": "US",
    "uk": "GB", "u.k.": "GB", "gb": "GB", "great britain": "GB", "united kingdom": "GB",
    "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "canada": "CA", "ireland": "IE", "india": "IN", "philippines": "PH", "mexico": "MX",
    "australia": "AU", "germany": "DE", "puerto rico": "PR",
}
REMOTE_WORDS = re.compile(r"\b(?:remote|work from home|wfh|telecommute|telework|virtual)\b",
                          re.IGNORECASE)
WORKPLACE_WORDS = re.compile(r"\b(?:hybrid|on-?site|in[- ]office|in[- ]person|based)\b",
                             re.IGNORECASE)
NOT_A_PLACE = re.compile(r"^(?:\d+\s+locations?|multiple locations?|various locations?|"
                         r"several locations?|see (?:job )?description|tbd|n/?a|anywhere|"
                         r"nationwide|field|home)$", re.IGNORECASE)
PLACE_SEPARATORS = re.compile(r"(?:^|\s)[-–—|/](?:\s|$)|[()\[\]]")
WORKDAY_PLACE = re.compile(r"^([A-Za-z]{2,3})-([A-Za-z]{2})-(.+)$")  # "US-OH-Columbus"


def parse_places(value: str | None) -> list[dict[str, Any]]:
    """Every place a location string names, each as {city, state, country, remote}.

    Handles "Columbus, OH", "Hybrid - Tampa, FL", "Remote - TN, KY, AL" (one remote place
    per state), "US-OH-Columbus", "Dayton, Ohio 45402, United States", "Leeds, England", and
    several places separated by ";", "|" or new lines. A US state implies the country US.
    """
    if not value:
        return []
    return [dict(place) for place in _places(value)]


@lru_cache(maxsize=16384)
def _places(value: str) -> tuple[dict[str, Any], ...]:
    """parse_places, cached: boards repeat the same few hundred location strings."""
    places: list[dict[str, Any]] = []
    for segment in re.split(r";|\n|\s\|\s", value):
        places.extend(_parse_place(segment))
    unique: dict[tuple[Any, ...], dict[str, Any]] = {}
    for place in places:
        unique.setdefault(tuple(place.values()), place)
    return tuple(unique.values())


def _parse_place(segment: str) -> list[dict[str, Any]]:
    remote = bool(REMOTE_WORDS.search(segment))
    text = WORKPLACE_WORDS.sub(" ", REMOTE_WORDS.sub(" ", segment))
    text = re.sub(r"\b\d{5}(?:-\d{4})?\b", " ", text)  # ZIP codes
    workday = WORKDAY_PLACE.match(text.strip())
    parts = list(workday.groups()) if workday else PLACE_SEPARATORS.sub(",", f" {text} ").split(",")
    country: str | None = None
    tokens: list[tuple[str, str]] = []  # (kind, value): kind is code, name or city
    for part in parts:
        part = " ".join(part.split()).strip("-–—.: ")
        if not part or NOT_A_PLACE.match(part):
            continue
        low = part.lower()
        if re.fullmatch(r"[A-Za-z]{2}", part) and part.upper() in US_STATES \
                and (part.isupper() or low not in ("in", "me", "or", "oh", "hi", "ok")):
            tokens.append(("code", part.upper()))
        elif low in STATE_BY_NAME:
            tokens.append(("name", part))
        elif low in COUNTRY_NAMES or low.rstrip(".") in COUNTRY_NAMES:
            country = country or COUNTRY_NAMES.get(low) or COUNTRY_NAMES[low.rstrip(".")]
        else:
            tokens.append(("city", part))
    states: list[str] = []
    cities: list[str] = []
    for i, (kind, part) in enumerate(tokens):
        if kind == "name" and any(k == "code" for k, _ in tokens[i + 1:]):
            kind = "city"  # "New York, NY", "Washington, DC": a city named like a state
        if kind == "city":
            cities.append(part)
        else:
            states.append(part if kind == "code" else STATE_BY_NAME[part.lower()])
    if states:
        country = country or "US"
    city = cities[0] if cities else None
    if not (states or city or country or remote):
        return []
    if len(states) > 1:
        return [{"city": None, "state": st, "country": country, "remote": remote}
                for st in dict.fromkeys(states)]
    return [{"city": city, "state": states[0] if states else None, "country": country,
             "remote": remote}]


def parse_location(value: str | None) -> tuple[str | None, str | None]:
    """(US state code, country code) of the first place of a location string."""
    for place in parse_places(value):
        if place["state"] or place["country"]:
            return place["state"], place["country"]
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


EMPLOYMENT_TYPES = ("FULL_TIME", "PART_TIME", "CONTRACTOR", "TEMPORARY", "INTERN", "PER_DIEM",
                    "OTHER")
# Checked in this order, so the most specific arrangement wins: "Temporary Full-time" is
# TEMPORARY, "Regular Part-Time" is PART_TIME, "Contract to hire" is CONTRACTOR.
EMPLOYMENT_PATTERNS = [
    ("PER_DIEM", re.compile(r"per[\s_-]*diem|\bprn\b|as[\s_-]+needed|\bcasual\b|\brelief\b|"
                            r"intermittent|\bpool\b")),
    ("INTERN", re.compile(r"\bintern(?:ship)?s?\b|\bco[\s_-]?op\b|\bextern(?:ship)?\b")),
    ("TEMPORARY", re.compile(r"\btemp(?:orary)?\b|seasonal|\bterm\b|locum")),
    ("CONTRACTOR", re.compile(r"contract|freelance|\b1099\b|consultant|\bc2h\b|corp[\s_-]*to")),
    ("PART_TIME", re.compile(r"part[\s_-]*time|\bpt\b")),
    ("FULL_TIME", re.compile(r"full[\s_-]*time|\bft\b|permanent|\bregular\b|direct[\s_-]*hire|"
                             r"salaried")),
]


def parse_employment_type(value: Any) -> str | None:
    """One of EMPLOYMENT_TYPES (schema.org's values) from the many spellings boards use
    ("Full-time", "FullTime", "full_time", "PRN", "Contract to Hire"); OTHER for a stated
    type we cannot place ("Multiple Schedules"), None when nothing is stated."""
    if isinstance(value, (list, tuple)):
        value = " ".join(str(v) for v in value if v)
    if value is None or not str(value).strip():
        return None
    low = str(value).strip().lower()
    if low.upper() in EMPLOYMENT_TYPES:
        return low.upper()
    for name, pattern in EMPLOYMENT_PATTERNS:
        if pattern.search(low):
            return name
    return "OTHER"


# How a stated period becomes a yearly figure: 40 hours x 52 weeks = 2,080 hours; 5 days x
# 52 weeks = 260 days. Pay per chart (production coding) has no yearly equivalent.
ANNUAL_FACTORS = {"hour": 2080, "day": 260, "week": 52, "month": 12, "year": 1}
ANNUAL_ASSUMPTION = ("salary_annual_min/max = pay x 2,080 for hourly (40 h x 52 weeks), x 260 "
                     "daily, x 52 weekly, x 12 monthly, x 1 yearly; empty for pay per chart "
                     "and when no period is stated")


def annualize(salary: dict[str, Any]) -> tuple[float | None, float | None]:
    """(min, max) pay per year, in the stated currency, under ANNUAL_ASSUMPTION.

    Full-time hours are assumed because boards state an hourly rate, not the hours; a
    part-time posting's yearly figure is therefore an upper bound.
    """
    factor = ANNUAL_FACTORS.get(str(salary.get("period")))
    if factor is None:
        return None, None
    low, high = salary.get("min"), salary.get("max")
    return (None if low is None else round(low * factor, 2),
            None if high is None else round(high * factor, 2))


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
        safe = sanitize_html(html_value)
        text = safe_html_text(safe)
    else:
        text = fix_encoding(item.get("description_text") or "")
        safe = None
    title = " ".join(fix_encoding(item.get("title") or "").split())
    locations = [fix_encoding(loc).strip() for loc in item.get("locations") or [] if loc]
    location = "; ".join(locations) or None
    places = [place for loc in locations for place in parse_places(loc)]
    state = next((p["state"] for p in places if p["state"]), None)
    country = next((p["country"] for p in places if p["country"]), None)
    city = next((p["city"] for p in places if p["city"]), None)
    company = fix_encoding(item["company"]).strip() if item.get("company") else None
    salary = parse_salary(item.get("salary")) or parse_salary_text(text)
    annual_min, annual_max = annualize(salary)
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
        employment_type=parse_employment_type(item.get("employment_type")),
        canonical_url=canonical_url(item.get("url")),
        salary=salary,
        content_hash=content_hash(title, company, location, text),
        city=city,
        places=places,
        salary_annual_min=annual_min,
        salary_annual_max=annual_max,
    )
