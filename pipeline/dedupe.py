"""Near-duplicate postings: the third layer of deduplication, after the same posting id and
the same canonical URL.

Two postings are the same job when they name the same place (location key), the same job
(title key) and say nearly the same thing (SimHash of the text), within a time window. That
collapses a repost under a new id on the same board ("repost") and copies on aggregator and
staffing-agency boards ("near_text"), while the same title at two hospitals (different text)
and the same job in two cities (different place) stay apart.

Each posting stores its fingerprint (`simhash`, `title_key`, `location_key`, `employer_key`)
and two indexed look-up keys hashed from it: `block_key` (title and place) and `text_key`
(SimHash and place: a copy under another title). The store finds a batch's candidates with
one query per key, and `match` decides; `classify_pair` applies the same decision to two
crawled items, which is what the labeled pair set (tests/data/dedupe_pairs.jsonl) measures.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

from pipeline.normalize import normalize, parse_date, parse_places

WINDOW = timedelta(days=60)
# Two texts whose SimHashes differ in at most SAME_BITS of 64 bits are near-verbatim (a
# repost, a copy with a line changed). Further apart, the exact share of the smaller text's
# 3-word shingles found in the other decides, because a copy that adds an agency's header
# and footer, drops the employer's introduction or shows only the first half of the text
# lands 10-25 bits away, as far as two different jobs of one employer that share its
# introduction and benefits. Only postings with the same title and place keys get that far,
# so the exact check is rare. CONTAINED applies when the employers are the same or one text
# names the other's employer, CONTAINED_OTHER when they differ.
SAME_BITS = 8
CONTAINED = 0.6
CONTAINED_OTHER = 0.7
SHINGLE = 3

# Sentences that every posting of an employer (or every posting at all) carries: legal
# boilerplate would make two different jobs of one employer look alike.
BOILERPLATE = ("equal opportunity", "equal employment opportunity", "without regard to",
               "affirmative action", "reasonable accommodation", "e-verify", "drug-free",
               "drug free", "drug screen", "protected veteran", "protected class",
               "background check", "all qualified applicants", "eoe", "pay transparency")
# Words are runs of letters and digits: everything else becomes a space (str.translate is
# several times faster than a regular expression here).
_SPACES = str.maketrans({c: " " for c in (
    "".join(chr(i) for i in range(128) if not chr(i).isalnum())
    + "\u00a0\u2010\u2011\u2012\u2013\u2014\u2015\u2018\u2019\u201c\u201d\u2022\u2026")})

WORKPLACE_WORDS = {"remote", "hybrid", "onsite", "wfh", "telecommute", "telework", "virtual",
                   "nationwide", "anywhere"}
# Words that, alone in a title segment ("Coder - Remote", "(Contract)", "| Direct Hire"),
# say how or where the job is done, not what it is.
NOISE_WORDS = WORKPLACE_WORDS | {
    "on", "site", "in", "office", "person", "work", "from", "home", "full", "part", "time",
    "fulltime", "parttime", "ft", "pt", "contract", "contractor", "temp", "temporary",
    "direct", "hire", "perm", "permanent", "prn", "per", "diem", "urgent", "urgently",
    "hiring", "now", "immediate", "immediately", "new", "job", "position", "opening",
    "opportunity", "w2", "1099", "us", "usa", "only", "based", "to", "and", "or", "the",
    "a", "with", "bonus", "sign", "weekly", "pay", "available", "apply", "today",
}
TITLE_WORDS = {"sr": "senior", "jr": "junior", "mgr": "manager", "asst": "assistant",
               "spec": "specialist", "coord": "coordinator", "dir": "director",
               "rep": "representative", "i": "1", "ii": "2", "iii": "3", "iv": "4",
               "v": "5"}
TITLE_SEGMENTS = re.compile(r"\s+[-\u2013\u2014|/]\s+|\s*[|\u2013\u2014]\s*|:\s+")
EMPLOYER_SUFFIXES = re.compile(
    r"(?:\s+(?:inc|incorporated|llc|l\s?l\s?c|llp|ltd|limited|co|corp|corporation|company|"
    r"pc|pllc|plc|lp|pa|group inc|health\s?systems?|health\s?care\s?systems?|healthcare|"
    r"health\s?care|health|the))+$")
CITY_WORDS = {"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount"}

_MASK = (1 << 64) - 1
_WORD_HASH: dict[str, int] = {}
_P1, _P2, _P3 = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F),
                 np.uint64(0x165667B19E3779F9))


def key_hash(*parts: Any) -> int:
    """A signed 64-bit hash of `parts` (a BIGINT column value), stable across processes."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


@dataclass
class Fingerprint:
    """What near-duplicate matching compares, for one posting (stored on its row)."""

    simhash: int
    """64-bit SimHash of the text's word shingles, as a signed integer (a BIGINT column)."""
    title_key: str
    location_key: str
    employer_key: str

    @cached_property
    def block_key(self) -> int | None:
        """Indexed look-up key of postings that may repeat this one: same title and place."""
        return key_hash(self.title_key, self.location_key) if self.title_key else None

    @cached_property
    def text_key(self) -> int | None:
        """Indexed look-up key of the same text in the same place (copies under another
        title): the SimHash with the location key."""
        return key_hash(self.simhash, self.location_key) if self.simhash else None


@dataclass
class Candidate:
    """One posting as matching sees it: identity, fingerprint, when it was listed."""

    source_id: Any
    external_id: str
    canonical_url: str | None
    fingerprint: Fingerprint
    first_seen: datetime
    last_seen: datetime
    text: str | None = None
    """The clean text; None until `load_text` reads it (most pairs never need it)."""
    id: int | None = None
    root: int | None = None
    status: str = "open"
    load_text: Callable[[], str] | None = field(default=None, repr=False)
    _words: frozenset[str] | None = field(default=None, repr=False)
    _shingles: np.ndarray | None = field(default=None, repr=False)

    def body(self) -> str:
        """The text, read from the store the first time it is needed."""
        if self.text is None:
            self.text = self.load_text() if self.load_text else ""
        return self.text

    def words(self) -> frozenset[str]:
        """The words of the text, to see whether it names another posting's employer."""
        if self._words is None:
            self._words = frozenset(self.body().lower().translate(_SPACES).split())
        return self._words

    def shingles(self) -> np.ndarray:
        """The text's shingle hashes (sorted, unique), computed when first asked for."""
        if self._shingles is None:
            self._shingles = shingle_hashes(self.body())
        return self._shingles


def _word_hash(word: str) -> int:
    value = _WORD_HASH.get(word)
    if value is None:
        if len(_WORD_HASH) > 500_000:  # a bound, not an LRU: vocabularies are small
            _WORD_HASH.clear()
        value = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
        _WORD_HASH[word] = value
    return value


def content_words(text: str) -> list[str]:
    """The text's words, lower-cased, without sentences of legal boilerplate."""
    low = text.lower()
    for marker in BOILERPLATE:  # str.find: far faster than one regular expression of all
        at = low.find(marker)
        while at >= 0:  # drop the sentence (boards that flatten text keep no lines)
            dot = low.rfind(". ", 0, at)
            start = max(low.rfind("\n", 0, at) + 1, dot + 2 if dot >= 0 else 0)
            ends = [e for e in (low.find("\n", at), low.find(". ", at)) if e >= 0]
            low = low[:start] + (low[min(ends) + 1:] if ends else "")
            at = low.find(marker, start)
    return low.translate(_SPACES).split()


def shingle_hashes(text: str) -> np.ndarray:
    """The set of the text's 3-word shingles as sorted, unique 64-bit hashes.

    Word hashes are cached and combined with numpy, so a posting costs tens of microseconds.
    """
    words = content_words(text)
    if not words:
        return np.zeros(0, dtype=np.uint64)
    cache = _WORD_HASH
    hashes = np.array([cache.get(w) or _word_hash(w) for w in words], dtype=np.uint64)
    if len(hashes) >= SHINGLE:
        with np.errstate(over="ignore"):
            shingles = hashes[:-2] * _P1 + hashes[1:-1] * _P2 + hashes[2:] * _P3
            shingles ^= shingles >> np.uint64(31)
            shingles *= np.uint64(0xBF58476D1CE4E5B9)
            shingles ^= shingles >> np.uint64(29)
    else:
        shingles = hashes.copy()
    shingles.sort()  # a set of shingles: each counts once, however often it occurs
    if len(shingles) > 1:
        shingles = shingles[np.concatenate(([True], shingles[1:] != shingles[:-1]))]
    return shingles


def simhash(text: str) -> int:
    """64-bit SimHash over the set of 3-word shingles of `text`, as a signed integer
    (a BIGINT column). Texts that differ in a few sentences differ in a few bits."""
    shingles = shingle_hashes(text)
    if not len(shingles):
        return 0
    bits = np.unpackbits(shingles.astype("<u8").view(np.uint8).reshape(-1, 8), axis=1,
                         bitorder="little")
    votes = bits.sum(axis=0, dtype=np.int64) * 2 > len(shingles)
    value = int(np.packbits(votes, bitorder="little").view("<u8")[0])
    return value - (1 << 64) if value >= 1 << 63 else value


def containment(a: np.ndarray, b: np.ndarray) -> float:
    """Share of the smaller shingle set found in the other: 1.0 when one text contains the
    other, whatever a copy added around it."""
    if not len(a) or not len(b):
        return 0.0
    common = len(np.intersect1d(a, b, assume_unique=True))
    return common / min(len(a), len(b))


def hamming(a: int, b: int) -> int:
    """Bits in which two SimHashes differ."""
    return ((a ^ b) & _MASK).bit_count()


@lru_cache(maxsize=65536)
def employer_key(company: str | None) -> str:
    """The employer's name without legal and "Health System" suffixes: "Lakeshore Health
    System", "Lakeshore Health, Inc." and "lakeshore health" are one employer."""
    if not company:
        return ""
    name = company.lower().replace("&", " and ")
    name = name.split(" dba ")[-1].split(" d/b/a ")[-1]
    name = re.sub(r"\([^)]*\)", " ", name)
    name = " ".join(re.findall(r"[a-z0-9]+", name))
    name = re.sub(r"^the\s+", "", name)
    return EMPLOYER_SUFFIXES.sub("", name).strip()[:200]


def same_employer(a: str, b: str) -> bool:
    """Whether two employer keys name one employer: equal, or one starts with the other and
    the shorter has two words or more ("cascade community" and "cascade community health
    center"; not "mercy" and "mercy lakes")."""
    if not a or not b:
        return False
    short, long_ = sorted((a, b), key=len)
    return short == long_ or (long_.startswith(short + " ") and len(short.split()) >= 2)


@lru_cache(maxsize=65536)
def title_key(title: str, company: str | None = None) -> str:
    """The job a title names, without what boards add around it.

    "Medical Coder II - Remote", "Remote Medical Coder 2 (Contract)" and "Medical Coder II |
    Apex Staffing" (posted by Apex) all become "medical coder 2". Segments that only say how
    or where the job is done, or who posts it, are dropped; parentheses that say more
    ("(HCC)") are kept as words.
    """
    own = employer_key(company)
    kept: list[str] = []
    pieces = re.split(r"[()\[\]]", title.replace("&", " and "))
    for index, piece in enumerate(pieces):
        for number, segment in enumerate(TITLE_SEGMENTS.split(piece)):
            words = re.findall(r"[a-z0-9]+", segment.lower())
            if not words or all(w in NOISE_WORDS for w in words):
                continue
            if (index > 0 or number > 0) and _is_place(segment):
                continue  # "Coder - Dayton, OH", "Coder (Columbus, OH)"
            if own and (same_employer(own, " ".join(words))
                        or same_employer(own, employer_key(segment))):
                continue  # "Coder | Apex Staffing" posted by Apex Staffing LLC
            kept.extend(words)
    out = [TITLE_WORDS.get(w, w) for w in kept if w not in WORKPLACE_WORDS]
    return " ".join(out)[:200]


def _is_place(segment: str) -> bool:
    places = parse_places(segment)
    return bool(places) and all(p["state"] or p["country"] for p in places) \
        and len(segment.split()) <= 5


def _city(city: str) -> str:
    return " ".join(CITY_WORDS.get(w, w) for w in re.findall(r"[a-z0-9]+", city.lower()))


def location_key(places: Iterable[dict[str, Any]]) -> str:
    """The places a posting names, in a canonical order: "dayton:oh@us", "remote:ky|remote:oh".

    A remote place counts by its state (or country outside the US), never by a city; the
    same job in two cities has two different keys, which is why it is never merged.
    """
    keys = set()
    for place in places:
        state = (place.get("state") or "").lower()
        country = (place.get("country") or "").lower()
        if place.get("remote") and not place.get("city"):
            key = "remote" + (f":{state}" if state else "") + \
                (f"@{country}" if country and country != "us" else "")
        else:
            key = f"{_city(place.get('city') or '')}:{state}@{country or ('us' if state else '')}"
        keys.add(key)
    return "|".join(sorted(keys))[:500]


def fingerprint(title: str, company: str | None, places: Sequence[dict[str, Any]],
                text: str) -> Fingerprint:
    """The fingerprint of one normalized posting. The SimHash covers the text only, so a
    copy that keeps the text under another title has the same SimHash (and is found by it)."""
    return Fingerprint(simhash=simhash(text), title_key=title_key(title, company),
                       location_key=location_key(places), employer_key=employer_key(company))


def _title_overlap(a: str, b: str) -> float:
    """Share of the shorter title's words in the other ("inpatient coder 2" is contained in
    "hospital inpatient coder 2")."""
    wa, wb = set(a.split()), set(b.split())
    return len(wa & wb) / min(len(wa), len(wb)) if wa and wb else 0.0


def _names(words: frozenset[str], employer: str) -> bool:
    """Whether a text names an employer (every word of its key, keys of 4+ letters only)."""
    parts = employer.split()
    return len(employer) >= 4 and all(p in words for p in parts)


def within_window(a: Candidate, b: Candidate, window: timedelta = WINDOW) -> bool:
    """Whether the two were listed within `window` of each other (or overlapped)."""
    return a.first_seen <= b.last_seen + window and b.first_seen <= a.last_seen + window


def match(new: Candidate, old: Candidate, window: timedelta = WINDOW) -> str | None:
    """Why `new` repeats `old` ("same_url", "repost", "near_text"), or None when it does not.

    - same_url: another source links the same canonical URL (tracking parameters stripped),
      and the titles mostly agree (a generic "apply here" URL does not make every posting
      one job).
    - repost: the same source lists it under a new id, within the window.
    - near_text: another source (aggregator, staffing agency) lists it, within the window.
    Both of the last two need the same location key, the same title key (or, for a copy
    retitled by another board, the very same text) and near-identical text (SAME_BITS,
    else shingle containment).
    """
    fa, fb = new.fingerprint, old.fingerprint
    if new.source_id == old.source_id and new.external_id == old.external_id:
        return None  # the same posting, not a duplicate of itself
    if (new.canonical_url and new.canonical_url == old.canonical_url
            and new.source_id != old.source_id
            and _title_overlap(fa.title_key, fb.title_key) >= 0.5):
        return "same_url"
    if fa.location_key != fb.location_key or not within_window(new, old, window):
        return None
    distance = hamming(fa.simhash, fb.simhash)
    if fa.title_key != fb.title_key or not fa.title_key:
        # retitled by another board: only the very same text (found by its SimHash) counts.
        # One board giving one text two titles ("- Hospital Billing", "- Physician
        # Billing") lists two openings.
        if distance or not fa.simhash or new.source_id == old.source_id \
                or _title_overlap(fa.title_key, fb.title_key) < 0.5:
            return None
    elif distance > SAME_BITS:
        named = same_employer(fa.employer_key, fb.employer_key) \
            or (bool(fa.employer_key) and _names(old.words(), fa.employer_key)) \
            or (bool(fb.employer_key) and _names(new.words(), fb.employer_key))
        if containment(new.shingles(), old.shingles()) < (CONTAINED if named
                                                          else CONTAINED_OTHER):
            return None
    return "repost" if new.source_id == old.source_id else "near_text"


def _age(posting_id: int | None) -> int:
    """Sort key: stored postings (positive ids) oldest first, then this batch's (negative)."""
    if posting_id is None:
        return 1 << 62
    return posting_id if posting_id > 0 else (1 << 61) - posting_id


def best_match(new: Candidate, olds: Iterable[Candidate],
               window: timedelta = WINDOW) -> tuple[Candidate, str] | None:
    """The candidate `new` repeats most clearly: same URL first, then the closest text,
    then the oldest posting (stored ones before those of the batch being stored)."""
    found: list[tuple[int, int, int, Candidate, str]] = []
    for old in olds:
        reason = match(new, old, window)
        if reason:
            found.append((0 if reason == "same_url" else 1,
                          hamming(new.fingerprint.simhash, old.fingerprint.simhash),
                          _age(old.id), old, reason))
    if not found:
        return None
    found.sort(key=lambda f: f[:3])
    return found[0][3], found[0][4]


def item_candidate(item: dict[str, Any], now: datetime | None = None) -> Candidate:
    """A crawled item (a JobPosting as a dict) as matching sees it, normalized as the store
    would. It is listed from its posting date to its `last_seen` (ISO), if given."""
    posted = parse_date(item.get("posted_raw"), now or datetime.now(UTC))
    last = parse_date(item.get("last_seen"), now or datetime.now(UTC)) or posted
    anchor = now or last or datetime.now(UTC)
    norm = normalize(item, anchor)
    return Candidate(source_id=item.get("source"), external_id=str(item["external_id"]),
                     canonical_url=norm.canonical_url,
                     fingerprint=fingerprint(norm.title, norm.company, norm.places, norm.text),
                     first_seen=posted or anchor, last_seen=last or anchor, text=norm.text)


def classify_pair(a: dict[str, Any], b: dict[str, Any],
                  window: timedelta = WINDOW) -> str | None:
    """Whether two crawled items are one job: the reason, or None. The later-posted one is
    matched against the earlier, as the store would see them arrive."""
    first, second = item_candidate(a), item_candidate(b)
    if second.first_seen < first.first_seen:
        first, second = second, first
    return match(second, first, window)


def evaluate_pairs(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Pair precision and recall of `classify_pair` on labeled pairs ({"a", "b", "duplicate",
    "case"}), with per-case counts and the misclassified pairs."""
    tp = fp = fn = tn = 0
    cases: dict[str, dict[str, int]] = {}
    errors: list[dict[str, Any]] = []
    for row in rows:
        reason = classify_pair(row["a"], row["b"])
        predicted, actual = reason is not None, bool(row["duplicate"])
        tp += predicted and actual
        fp += predicted and not actual
        fn += actual and not predicted
        tn += not predicted and not actual
        case = cases.setdefault(row.get("case", "?"), {"pairs": 0, "right": 0})
        case["pairs"] += 1
        case["right"] += predicted == actual
        if predicted != actual:
            errors.append({"case": row.get("case"), "duplicate": actual, "reason": reason,
                           "a": row["a"]["title"], "b": row["b"]["title"]})
    return {"pairs": tp + fp + fn + tn, "duplicates": tp + fn,
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0,
            "tp": tp, "fp": fp, "fn": fn, "tn": tn, "cases": cases, "errors": errors}
