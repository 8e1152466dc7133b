"""Remote / hybrid / onsite, with a confidence, the evidence sentence and eligible US states.

The text wins over structured hints: a "Remote" location on a job whose text says on-site is
on-site. Perks ("work from anywhere one month a year") are not remote work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from classifier.text import Sentence, sentences

STATES = {
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
_STATE_NAME = re.compile(r"\b(" + "|".join(sorted(STATES.values(), key=len, reverse=True))
                         + r")\b")
_STATE_CODE = re.compile(r"\b(" + "|".join(STATES) + r")\b")
_NAME_TO_CODE = {v: k for k, v in STATES.items()}

PERK = re.compile(r"(?i)work (?:from )?anywhere[^.]{0,40}?\b(?:\w+ )?(?:weeks?|months?|days?)"
                  r"\s+(?:a|per|each|every)\s+year|(?:weeks?|months?) of (?:remote|work from "
                  r"anywhere)[^.]{0,20}(?:a|per|each) year|remote working (?:abroad|week)")
ONSITE = re.compile(
    r"(?i)\bnot (?:a |an )?(?:fully |100% )?remote\b|\bnot eligible for remote|\bno remote"
    r"|(?:remote (?:work|working|option)s?|home working|working from home|work from home)"
    r" (?:is|are) not (?:available|offered|possible)|\bremote(?: job| work| position)?\s*:\s*no\b"
    r"|\b(?:fully|100%|entirely|strictly|completely) (?:on[- ]?site|in[- ]office|in[- ]person)"
    r"|\bon[- ]?site (?:only|position|role|job)\b|\b(?:this|the) (?:is an? |position is |role is"
    r" |job is )?(?:on[- ]?site|in[- ]person|in[- ]office) (?:position|role|job)"
    r"|\bmust (?:work|be|report) (?:on[- ]?site|in[- ]person|in (?:the )?office|onsite)"
    r"|\b(?:role|position|job) is (?:based )?(?:on[- ]?site|in[- ]person|office[- ]based)"
    r"|\bin[- ]office (?:five|5) days|cannot be (?:performed|done) remotely"
    r"|\bnot a work[- ]from[- ]home")
# A choice that includes fully remote work makes the job remote ("fully remote or hybrid").
REMOTE_OPTION = re.compile(
    r"(?i)\bremote(?:[- ]\w+)?,? (?:or|/) (?:a )?hybrid\b|\bhybrid(?: \w+)?,? (?:or|/) (?:fully )?"
    r"remote\b|\bwork[- ]from[- ]home,? or hybrid|fully remote, or hybrid")
_N = r"(?:\d|one|two|three|four)"
_PLACE = r"(?:office|site|clinic|campus|hospital)"
# Each entry is one way postings say the job mixes site and home (the guide's hybrid).
HYBRID = re.compile("(?i)" + "|".join([
    rf"\b{_N}\s+days?\s+(?:a|per|each)?\s*weeks?\s+(?:in|at|on)\s+(?:the\s+|our\s+)?"
    rf"(?:[\w-]+\s+){{0,3}}{_PLACE}",
    rf"\b{_N}\s+days?\s+(?:in|at|on)[- ](?:the\s+)?{_PLACE}",
    rf"\b{_N}\s+days?\s+(?:a week\s+)?(?:working\s+)?(?:from|at) home",
    rf"\bon[- ]?site {_N} days",
    rf"\bremote {_N} days",
    # "hybrid" that names a way of working, not a theatre, an event or a product
    r"\bhybrid\b(?![- ](?:events?|theatres?|theaters?|cloud|apps?|vehicles?|cars?|suites?"
    r"|solutions?|infrastructure|operating|imaging|care|model of care|approach to care"
    r"|(?-i:OR\b)))",
    # remote for now, on site later
    r"(?:during (?:the )?(?:current |covid(?:-19)? )?pandemic|due to covid)[^.]{0,80}"
    r"\b(?:from home|remote|remotely|home[- ]based)",
    r"\b(?:from home|remote|remotely)\b[^.]{0,60}(?:during (?:the )?(?:current )?pandemic"
    r"|due to covid|covid-19)",
    r"(?:currently|at present|for now|temporarily)\b[^.]{0,40}\b(?:working|work|involve|be)\b"
    r"[^.]{0,20}(?:from home|remotely)",
    r"\bremote for now|\btemporarily remote",
    r"(?:mon|tues|wednes|thurs|fri)days?\b[^.]{0,40}\bfrom home",
    r"\bpart(?:ly)? home[- ]based|\bpart(?:ly)? (?:remote|from home)|\bpartially remote",
    r"\bon[- ]?site and remote|\bremote and on[- ]?site|\boffice and (?:from )?home"
    r"|\bhome and (?:the )?office",
    r"\bsplit (?:your time )?between (?:home|remote)|\bmix of (?:remote|home) and",
    r"opportunit\w* to (?:be able to )?work (?:from home|remotely)",
    r"\bsome (?:home|remote) working|occasional(?:ly)? (?:work(?:ing)? from home|remote)",
    r"\bflexible working[^.]{0,80}(?:home|remote)|\bflexible (?:and|&) (?:agile|hybrid)",
    r"\bagile work(?!flow)",
]))
REMOTE = re.compile(
    r"(?i)\b(?:fully|100%|completely|entirely|permanently) remote\b|\bremote[- ](?:first|based"
    r"|position|role|job|opportunity|work|worker|employee|coder|team)\b|\bwork(?:ing)? (?:from|at)"
    r" home\b|\bwork[- ]from[- ]home\b|\bwfh\b|\btelecommut\w*|\bteleworking"
    r"|\bhome[- ]based\b(?! (?:care|services?|visits?|support|nursing|treatment|rehab\w*))"
    r"|\bhome working\b|\bremote[- ]friendly|\bremote working (?:company|culture|environment)"
    r"|\b(?:flexible|flexibility) and remote working|#LI-Remote\b|\bremote\)"
    r"|\bwork remotely\b|\bremotely from\b|\bthis (?:is a |position is |role is |job is )?remote"
    r"|\bremote\s*[(\-–:]\s*(?:us|usa|united states|nationwide|within)|\bremote (?:in|within|"
    r"across) (?:the )?(?:us|u\.s\.|united states|\w+ states?)|\bremote,? (?:us|usa)\b"
    r"|\b(?:position|role|job) is remote|\bcan be (?:performed|done|worked) remotely"
    r"|^remote\b(?! (?:patient|monitoring|access|sensing|support|desktop|site))")
AFTER_TRAINING = re.compile(r"(?i)(?:after|following|once)\b[^.]{0,60}\b(?:training|orientation"
                            r"|onboarding|probation|\d+ (?:days|weeks|months))")
EXCLUDE = re.compile(r"(?i)(?:not (?:available|open|eligible)|unable to (?:hire|consider|employ)"
                     r"|cannot (?:hire|consider|employ)|excluding|except(?: for)?|exclud\w*)"
                     r"[^.]{0,40}?(?:in|to|from|residents of|candidates in|the following"
                     r" states:?)?")
INCLUDE = re.compile(r"(?i)(?:must (?:reside|live|be located|be based)|resid\w+ (?:in|of)"
                     r"|open to (?:candidates|residents|applicants)|located in|live in|living in"
                     r"|available (?:to|in) (?:candidates|residents)|following states"
                     r"|hire in|approved states|eligible states)")

# Every remote, hybrid and on-site pattern needs one of these substrings; a sentence without
# any is skipped before the expensive patterns run (substring tests cost next to nothing).
KEYWORDS = ("remote", "home", "site", "office", "hybrid", "person", "telecommut", "telework",
            "anywhere", "flexib", "agile", "wfh", "day", "pandemic", "covid", "part", "split",
            "mix", "clinic", "campus", "hospital", "#li")
ONSITE_KEYS = ("remote", "site", "person", "office", "home", "cannot be")
REMOTE_KEYS = ("remote", "home", "telecommut", "telework", "wfh", "#li")
HYBRID_KEYS = ("hybrid", "day", "home", "remote", "pandemic", "covid", "agile", "flexib")
HINT_LABELS = {"remote": "remote", "hybrid": "hybrid", "on-site": "onsite", "onsite": "onsite",
               "telecommute": "remote", "in-office": "onsite", "in office": "onsite"}


@dataclass
class RemoteTag:
    """The remote tag of a posting, why, and where a remote job may be done from."""

    label: str
    confidence: float
    evidence: str | None
    states: list[str] = field(default_factory=list)


def _states_in(text: str) -> list[str]:
    codes = set(_STATE_CODE.findall(text))
    codes.update(_NAME_TO_CODE[n] for n in _STATE_NAME.findall(text))
    return sorted(codes)


STATE_WORDS = re.compile(r"(?i)resid|live|living|located|based|states?\b|hire|open to|available"
                         r"|eligib|exclud|except|not\b")


def eligible_states(text: str, split: list[Sentence] | None = None) -> list[str]:
    """US states a remote job is open to: named states, or all but the excluded ones.

    An empty list means no state limit is stated. `split`: the text's sentences, if known.
    """
    include: set[str] = set()
    exclude: set[str] = set()
    for sentence in split if split is not None else sentences(text):
        s = sentence.text
        if not STATE_WORDS.search(s):
            continue
        ex = EXCLUDE.search(s)
        if ex and _states_in(s[ex.start():]):
            exclude.update(_states_in(s[ex.start():]))
            continue
        inc = INCLUDE.search(s)
        if inc:
            named = _states_in(s[inc.start():])
            if len(named) >= 1 and re.search(r"(?i)remote|home|resid|live|located|states", s):
                include.update(named)
    if include:
        return sorted(include - exclude)
    if exclude:
        return sorted(set(STATES) - exclude)
    return []


def hint_label(hints: dict[str, Any] | None, location: str | None) -> str | None:
    """What the board's structured fields say (workplaceType, isRemote, TELECOMMUTE, ...)."""
    hints = hints or {}
    for key in ("workplaceType", "workplace_type", "remoteType", "workplace"):
        value = hints.get(key)
        if isinstance(value, str) and value.strip().lower() in HINT_LABELS:
            return HINT_LABELS[value.strip().lower()]
    if str(hints.get("jobLocationType", "")).upper() == "TELECOMMUTE":
        return "remote"
    if hints.get("hybrid") is True:
        return "hybrid"
    if hints.get("isRemote") is True or hints.get("remote") is True:
        return "remote"
    if str(hints.get("TeleworkEligible", "")).lower() == "true":
        return "hybrid"
    loc = (location or "").lower()
    if "hybrid" in loc:
        return "hybrid"
    if hints.get("location_remote") or re.search(r"\bremote\b|work from home|\bwfh\b", loc):
        return "remote"
    return None


def classify_remote(text: str, title: str = "", hints: dict[str, Any] | None = None,
                    location: str | None = None,
                    split: list[Sentence] | None = None) -> RemoteTag:
    """The remote tag from the text, falling back to structured hints when the text is silent.

    `split` is the text's sentences when the caller has them already.
    """
    votes: dict[str, str] = {}
    split = split if split is not None else sentences(text)
    # the title last: a sentence of the description is the better evidence
    for s in [*(sentence.text for sentence in split), title]:
        low = s.lower()
        if not any(k in low for k in KEYWORDS):
            continue
        if ("anywhere" in low or "abroad" in low or " of remote" in low) and PERK.search(s):
            continue
        if "hybrid" in low and REMOTE_OPTION.search(s):
            votes.setdefault("remote", s)
        elif any(k in low for k in ONSITE_KEYS) and ONSITE.search(s):
            votes.setdefault("onsite", s)
        elif any(k in low for k in HYBRID_KEYS) and HYBRID.search(s):
            votes.setdefault("hybrid", s)
        elif any(k in low for k in REMOTE_KEYS) and REMOTE.search(s):
            if AFTER_TRAINING.search(s) and re.search(r"(?i)\bdays?\b[^.]{0,20}(home|remote)", s):
                votes.setdefault("hybrid", s)
            else:
                votes.setdefault("remote", s)
    hint = hint_label(hints, location)
    if "hybrid" in votes and not ("remote" in votes and REMOTE_OPTION.search(votes["remote"])):
        label, conf = "hybrid", 0.85
    elif "remote" in votes and "onsite" in votes:
        # "on-site for 90 days of training, then fully remote" is remote; otherwise on-site wins
        onsite_ev = votes["onsite"]
        label = "remote" if AFTER_TRAINING.search(votes["remote"] + " " + onsite_ev) else "onsite"
        conf = 0.7
    elif "remote" in votes:
        label, conf = "remote", 0.9
    elif "onsite" in votes:
        label, conf = "onsite", 0.9
    elif hint:
        return RemoteTag(hint, 0.7, f"board field says {hint}",
                         eligible_states(text, split) if hint == "remote" else [])
    else:
        return RemoteTag("onsite", 0.6, None, [])
    states = eligible_states(text, split) if label in ("remote", "hybrid") else []
    return RemoteTag(label, conf, votes[label], states)
