"""Remote / hybrid / onsite, with a confidence, the evidence sentence and eligible US states.

The text wins over structured hints: a "Remote" location on a job whose text says on-site is
on-site. Perks ("work from anywhere one month a year") are not remote work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from classifier.prefilter import Doc, Folded, Rule, Rules
from classifier.states import STATES
from classifier.text import Sentence

_STATE_NAME = re.compile(r"\b(" + "|".join(sorted(STATES.values(), key=len, reverse=True))
                         + r")\b")
_STATE_CODE = re.compile(r"\b(" + "|".join(STATES) + r")\b")
_NAME_TO_CODE = {v: k for k, v in STATES.items()}

_I = "(?i)"
# A perk, not a way of working: "work from anywhere for one month a year".
PERK = Rules(
    Rule(_I + r"work (?:from )?anywhere[^.]{0,40}?\b(?:\w+ )?(?:weeks?|months?|days?)"
         r"\s+(?:a|per|each|every)\s+year", starts=["anywhere"]),
    Rule(_I + r"(?:weeks?|months?) of (?:remote|work from anywhere)[^.]{0,20}(?:a|per|each) year",
         starts=["remote", "anywhere"], also=["year"]),
    Rule(_I + r"remote working (?:abroad|week)", starts=["abroad", "week"]),
)
ONSITE = Rules(
    Rule(_I + r"\bnot (?:a |an )?(?:fully |100% )?remote\b|\bnot eligible for remote|\bno remote"
         r"|\bremote(?: job| work| position)?\s*:\s*no\b|cannot be (?:performed|done) remotely",
         starts=["remote"], also=["no"]),
    Rule(_I + r"(?:remote (?:work|working|option)s?|home working|working from home|work from home)"
         r" (?:is|are) not (?:available|offered|possible)",
         starts=["available", "offered", "possible"], also=[" not "]),
    Rule(_I + r"\b(?:fully|100%|entirely|strictly|completely) (?:on[- ]?site|in[- ]office"
         r"|in[- ]person)", starts=["fully", "entirely", "strictly", "completely"],
         words=["100"]),
    # (the on-site phrases: one rule per place word, each run only on the sentences that hold
    # the word and the literal text around it in every match, `also`)
    Rule(_I + r"\bon[- ]?site (?:only|position|role|job)\b|\b(?:this|the) (?:is an? |position is "
         r"|role is |job is )?on[- ]?site (?:position|role|job)",
         starts=["site", "onsite"], also=["site "]),
    Rule(_I + r"\b(?:this|the) (?:is an? |position is |role is |job is )?in[- ]person "
         r"(?:position|role|job)", starts=["person"], also=["person "]),
    Rule(_I + r"\b(?:this|the) (?:is an? |position is |role is |job is )?in[- ]office "
         r"(?:position|role|job)", starts=["office"], also=["office "]),
    Rule(_I + r"\b(?:role|position|job) is (?:based )?on[- ]?site", starts=["site", "onsite"],
         also=[" is ", "site"]),
    Rule(_I + r"\b(?:role|position|job) is (?:based )?in[- ]person", starts=["person"],
         also=[" is ", "person"]),
    Rule(_I + r"\b(?:role|position|job) is (?:based )?office[- ]based", starts=["office"],
         also=[" is ", "based"]),
    Rule(_I + r"\bmust (?:work|be|report) (?:on[- ]?site|in[- ]person|in (?:the )?office|onsite)",
         starts=["must"]),
    Rule(_I + r"\bin[- ]office (?:five|5) days", starts=["office"], also=["days"]),
    Rule(_I + r"\bnot a work[- ]from[- ]home", starts=["home"], also=["not a work"]),
)
# A choice that includes fully remote work makes the job remote ("fully remote or hybrid").
REMOTE_OPTION = Rules(Rule(
    _I + r"\bremote(?:[- ]\w+)?,? (?:or|/) (?:a )?hybrid\b|\bhybrid(?: \w+)?,? (?:or|/) (?:fully )?"
    r"remote\b|\bwork[- ]from[- ]home,? or hybrid|fully remote, or hybrid", starts=["hybrid"]))
_N = r"(?:\d|one|two|three|four)"
_PLACE = r"(?:office|site|clinic|campus|hospital)"
# Each entry is one way postings say the job mixes site and home (the guide's hybrid).
HYBRID = Rules(
    # ("N days" written once for the first three: `re` then tries it once per position)
    Rule(_I + rf"\b{_N}\s+days?\s+(?:"
         rf"(?:a|per|each)?\s*weeks?\s+(?:in|at|on)\s+(?:the\s+|our\s+)?"
         rf"(?:[\w-]+\s+){{0,3}}{_PLACE}"
         rf"|(?:in|at|on)[- ](?:the\s+)?{_PLACE}"
         rf"|(?:a week\s+)?(?:working\s+)?(?:from|at) home)"
         rf"|\bon[- ]?site {_N} days|\bremote {_N} days", starts=["day"]),
    # "hybrid" that names a way of working, not a theatre, an event or a product
    Rule(_I + r"\bhybrid\b(?![- ](?:events?|theatres?|theaters?|cloud|apps?|vehicles?|cars?"
         r"|suites?|solutions?|infrastructure|operating|imaging|care|model of care"
         r"|approach to care|(?-i:OR\b)))", starts=["hybrid"]),
    # remote for now, on site later
    Rule(_I + r"(?:during (?:the )?(?:current |covid(?:-19)? )?pandemic|due to covid)[^.]{0,80}"
         r"\b(?:from home|remote|remotely|home[- ]based)", starts=["pandemic", "covid"]),
    Rule(_I + r"\b(?:from home|remote|remotely)\b[^.]{0,60}(?:during (?:the )?(?:current )?"
         r"pandemic|due to covid|covid-19)", starts=["pandemic"], subs=["covid"]),
    # (\b added before the words that could end a longer one: "concurrently" is not "currently")
    Rule(_I + r"\b(?:currently|at present|for now|temporarily)\b[^.]{0,40}\b(?:working|work"
         r"|involve|be)\b[^.]{0,20}(?:from home|\bremotely)|\bremote for now|\btemporarily remote",
         starts=["currently", "present", "now", "temporarily"]),
    Rule(_I + r"\b(?:mon|tues|wednes|thurs|fri)days?\b[^.]{0,40}\bfrom home",
         starts=["monday", "tuesday", "wednesday", "thursday", "friday"], also=["from home"]),
    Rule(_I + r"\bopportunit\w* to (?:be able to )?work (?:from home|remotely)",
         starts=["opportunit"]),
    Rule(_I + r"\bsome (?:home|remote) working", starts=["some"], also=[" working"]),
    Rule(_I + r"\boccasional(?:ly)? (?:work(?:ing)? from home|remote)", starts=["occasional"]),
    Rule(_I + r"\bpart(?:ly)? home[- ]based|\bpart(?:ly)? from home", starts=["part"],
         also=["home"]),
    Rule(_I + r"\bpart(?:ly)? remote|\bpartially remote", starts=["part"], also=["remote"]),
    Rule(_I + r"\bon[- ]?site and remote|\bremote and on[- ]?site", starts=["remote"],
         also=[" and ", "site"]),
    Rule(_I + r"\boffice and (?:from )?home|\bhome and (?:the )?office", starts=["office"],
         also=[" and ", "home"]),
    Rule(_I + r"\bsplit (?:your time )?between (?:home|remote)|\bmix of (?:remote|home) and",
         starts=["split", "mix"]),
    Rule(_I + r"\bflexible working[^.]{0,80}(?:home|remote)|\bflexible (?:and|&) (?:agile|hybrid)"
         r"|\bagile work(?!flow)", starts=["flexible", "agile"]),
)
REMOTE = Rules(
    Rule(_I + r"\b(?:fully|100%|completely|entirely|permanently) remote\b|\bremote[- ](?:first"
         r"|based|position|role|job|opportunity|work|worker|employee|coder|team)\b"
         r"|\bremote[- ]friendly|\bremote working (?:company|culture|environment)"
         r"|\b(?:flexible|flexibility) and remote working|#LI-Remote\b|\bremote\)"
         r"|\bwork remotely\b|\bremotely from\b|\bthis (?:is a |position is |role is |job is )?"
         r"remote|\bremote\s*[(\-–:]\s*(?:us|usa|united states|nationwide|within)|\bremote (?:in"
         r"|within|across) (?:the )?(?:us|u\.s\.|united states|\w+ states?)|\bremote,? (?:us|usa)"
         r"\b|\b(?:position|role|job) is remote|\bcan be (?:performed|done|worked) remotely"
         r"|^remote\b(?! (?:patient|monitoring|access|sensing|support|desktop|site))",
         starts=["remote"]),
    Rule(_I + r"\bwork(?:ing)? (?:from|at) home\b|\bwork[- ]from[- ]home\b"
         r"|\bhome[- ]based\b(?! (?:care|services?|visits?|support|nursing|treatment|rehab\w*))"
         r"|\bhome working\b", starts=["home"]),
    Rule(_I + r"\bwfh\b|\btelecommut\w*|\bteleworking", starts=["wfh", "telecommut", "telework"]),
)
AFTER_TRAINING = Folded(r"(?i)(?:after|following|once)\b[^.]{0,60}\b(?:training|orientation"
                            r"|onboarding|probation|\d+ (?:days|weeks|months))")
_DAYS_FROM = Folded(r"(?i)\bdays?\b[^.]{0,20}(home|remote)")
# a sentence needs one of these to vote (the perk test runs only on those that do)
_VOTERS = (REMOTE_OPTION, ONSITE, HYBRID, REMOTE)
# (\b added before the words that could end a longer one: "unexceptional", "president of",
# "New Hampshire in" are not exclusions or residence rules)
EXCLUDE = Rule(r"(?i)\b(?:not (?:available|open|eligible)|unable to (?:hire|consider|employ)"
               r"|cannot (?:hire|consider|employ)|excluding|except(?: for)?|exclud\w*)"
               r"[^.]{0,40}?(?:in|to|from|residents of|candidates in|the following"
               r" states:?)?", starts=["not", "unable", "cannot", "exclud", "except"])
INCLUDE = Rule(r"(?i)\b(?:must (?:reside|live|be located|be based)|resid\w+ (?:in|of)"
               r"|open to (?:candidates|residents|applicants)|located in|live in|living in"
               r"|available (?:to|in) (?:candidates|residents)|following states"
               r"|hire in|approved states|eligible states)",
               starts=["must", "resid", "open", "located", "live", "living", "available",
                       "following", "hire", "approved", "eligible"])
_RESIDENCE = Folded(r"(?i)remote|home|resid|live|located|states")

_REMOTE_LOCATION = re.compile(r"\bremote\b|work from home|\bwfh\b")
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


def eligible_states(text: str, split: list[Sentence] | None = None,
                    doc: Doc | None = None) -> list[str]:
    """US states a remote job is open to: named states, or all but the excluded ones.

    An empty list means no state limit is stated. `split`: the text's sentences, if known;
    `doc`: the posting prepared by the tagger, if known.
    """
    doc = doc if doc is not None else Doc(text, split=split)
    include: set[str] = set()
    exclude: set[str] = set()
    for i in doc.where(EXCLUDE, INCLUDE, title=False):
        s = doc.units[i]
        ex = doc.search(EXCLUDE, i)
        if ex and _states_in(s[ex.start():]):
            exclude.update(_states_in(s[ex.start():]))
            continue
        inc = doc.search(INCLUDE, i)
        if inc:
            named = _states_in(s[inc.start():])
            if len(named) >= 1 and _RESIDENCE.search(s, doc.lows[i]):
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
    if hints.get("location_remote") or _REMOTE_LOCATION.search(loc):
        return "remote"
    return None


def classify_remote(text: str, title: str = "", hints: dict[str, Any] | None = None,
                    location: str | None = None, split: list[Sentence] | None = None,
                    doc: Doc | None = None) -> RemoteTag:
    """The remote tag from the text, falling back to structured hints when the text is silent.

    `split` is the text's sentences when the caller has them already; `doc` the posting
    prepared by the tagger (title included).
    """
    doc = doc if doc is not None else Doc(text, title, split)
    votes: dict[str, str] = {}
    perk, option, onsite, hybrid, remote = (doc.live(rules) for rules in (PERK, *_VOTERS))
    voters = set().union(*(units for family in (option, onsite, hybrid, remote)
                           for _rule, units in family))
    # the sentences in order, the title last: a sentence of the description is the better
    # evidence
    for i in sorted(voters):
        s = doc.units[i]
        if perk and doc.any(perk, i):
            continue
        if option and doc.any(option, i):
            votes.setdefault("remote", s)
        elif onsite and doc.any(onsite, i):
            votes.setdefault("onsite", s)
        elif hybrid and doc.any(hybrid, i):
            votes.setdefault("hybrid", s)
        elif remote and doc.any(remote, i):
            low = doc.lows[i]
            if AFTER_TRAINING.search(s, low) and _DAYS_FROM.search(s, low):
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
                         eligible_states(text, doc=doc) if hint == "remote" else [])
    else:
        return RemoteTag("onsite", 0.6, None, [])
    states = eligible_states(text, doc=doc) if label in ("remote", "hybrid") else []
    return RemoteTag(label, conf, votes[label], states)
