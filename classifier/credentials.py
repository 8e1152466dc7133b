"""Credentials a posting asks of the candidate: code, required/preferred, evidence sentence.

The vocabulary and its traps are the labeling guide's (docs/labeling-guide.md): the same
letters often mean something else, and a credential the posting only mentions is not asked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from classifier.prefilter import Doc, Folded, Rule, Rules
from classifier.text import Sentence

# (\b before "master", "graduate", and before each spelled-out name: an "undergraduate degree
# in public health" is not an MPH, an "uncertified professional coder" not a CPC)
_MASTERS = r"\b(?:master'?s?|(?:post)?graduate degree)\b[^.;]{0,60}?\b"
_MASTER_WORDS = ("master", "graduate", "postgraduate")


def _alias(pattern: str, *, words: tuple[str, ...] = (), starts: tuple[str, ...] = ()) -> Rule:
    return Rule(pattern, words=words, starts=starts)


def _named(name: str, also: str, start: str = "certified", after: str = "") -> Rule:
    """A spelled-out name, in any case, from a word start; `also` is a literal part of it, so
    that only a sentence holding it runs the pattern."""
    # ((?i) for the whole pattern when it can be: it then runs as its lowercase twin)
    pattern = rf"(?i:\b{name}){after}" if after else rf"(?i)\b{name}"
    return Rule(pattern, starts=(start,), also=(also,))


# canonical code -> its aliases: the acronym (matched case-sensitively) and the spelled-out
# name, each with its triggers (the acronym as a word, a word of the name)
ALIASES: dict[str, list[Rule]] = {
    "CPC-A": [_alias(r"\bCPC[- ]?A\b", words=("CPC", "CPCA")),
              _alias(r"\bCPC[- ]apprentice\b", words=("CPC",))],
    "CPC": [_alias(r"\bCPC\b(?![- ]?A\b)(?!-P)", words=("CPC",)),
            _named(r"certified professional coder", "professional coder")],
    "COC": [_alias(r"\bCOC\b", words=("COC",)),
            _named(r"certified outpatient coder", "outpatient coder")],
    "CIC": [_alias(r"\bCIC\b", words=("CIC",)),
            _named(r"certified inpatient coder", "inpatient coder")],
    "CRC": [_alias(r"\bCRC\b", words=("CRC",)),
            _named(r"certified risk adjustment coder", "risk adjustment coder")],
    "CPMA": [_alias(r"\bCPMA\b", words=("CPMA",)),
             _named(r"certified professional medical auditor", "medical auditor")],
    "CPCO": [_alias(r"\bCPCO\b", words=("CPCO",)),
             _named(r"certified professional compliance officer", "compliance officer")],
    "CPB": [_alias(r"\bCPB\b", words=("CPB",)),
            _named(r"certified professional biller", "professional biller")],
    "CDEO": [_alias(r"\bCDEO\b", words=("CDEO",)),
             _named(r"certified documentation expert", "documentation expert")],
    "CEMC": [_alias(r"\bCEMC\b", words=("CEMC",)),
             _named(r"certified (?:e/m|evaluation and management) coder", " coder")],
    "CCA": [_alias(r"\bCCA\b", words=("CCA",)),
            _named(r"certified coding associate", "coding associate")],
    "CCS-P": [_alias(r"\bCCS[- ]P\b", words=("CCS",)),
              _named(r"certified coding specialist[- ]+physician", "physician")],
    "CCS": [_alias(r"\bCCS\b(?![- ]P\b)", words=("CCS",)),
            _named(r"certified coding specialist", "coding specialist",
                   after=r"(?![- ]+physician)")],
    "RHIT": [_alias(r"\bRHIT\b", words=("RHIT",)),
             _named(r"registered health information technician", "information technician",
                    start="registered")],
    "RHIA": [_alias(r"\bRHIA\b", words=("RHIA",)),
             _named(r"registered health information administrator", "information administrator",
                    start="registered")],
    "CDIP": [_alias(r"\bCDIP\b", words=("CDIP",)),
             _named(r"certified documentation integrity practitioner", "integrity practitioner")],
    "CHPS": [_alias(r"\bCHPS\b", words=("CHPS",)),
             _named(r"certified in healthcare privacy and security", "privacy and security")],
    "CCDS": [_alias(r"\bCCDS(?:-O)?\b", words=("CCDS",)),
             _named(r"certified clinical documentation specialist", "documentation specialist")],
    "ACC": [_alias(r"\bACC\b", words=("ACC",)),
            _named(r"accredited clinical coder", "clinical coder", start="accredited")],
    "FACHE": [_alias(r"\bFACHE\b", words=("FACHE",)),
              _named(r"fellow of the american college of healthcare executives",
                     "healthcare executives", start="fellow")],
    "CMPE": [_alias(r"\bCMPE\b", words=("CMPE",)),
             _named(r"certified medical practice executive", "practice executive")],
    "CHFP": [_alias(r"\bCHFP\b", words=("CHFP",)),
             _named(r"certified healthcare financial professional", "financial professional")],
    "CPHQ": [_alias(r"\bCPHQ\b", words=("CPHQ",)),
             _named(r"certified professional in healthcare quality", "healthcare quality")],
    "CHC": [_alias(r"\bCHC\b", words=("CHC",)),
            _named(r"certified in healthcare compliance", "healthcare compliance")],
    # named degrees in a list after "master's" each count ("master's degree in nursing or
    # health administration" names the MHA); the group `n` is the degree's own name
    "MHSA": [_alias(r"\bMHSA\b", words=("MHSA",)),
             _alias(rf"(?i){_MASTERS}(?P<n>health services administration)",
                    starts=_MASTER_WORDS)],
    "MHA": [_alias(r"\bMHA\b", words=("MHA",)),
            _alias(rf"(?i){_MASTERS}(?P<n>(?:health|healthcare|hospital|health care)"
                   r" administration)", starts=_MASTER_WORDS)],
    "MBA": [_alias(r"\bMBA\b", words=("MBA",)),
            _alias(rf"(?i){_MASTERS}(?P<n>business administration)",
                   starts=_MASTER_WORDS)],
    "MPH": [_alias(r"\bMPH\b", words=("MPH",)),
            _alias(rf"(?i){_MASTERS}(?P<n>public health)", starts=_MASTER_WORDS)],
    "RN": [_alias(r"\bRNs?\b", words=("RN", "RNs")), _alias(r"\bRGNs?\b", words=("RGN", "RGNs")),
           _alias(r"\bRMNs?\b", words=("RMN", "RMNs")),
           _alias(r"\bRNLDs?\b", words=("RNLD", "RNLDs")),
           _alias(r"(?i)\bregistered(?:\s+[\w-]+){0,5}?\s+nurses?\b", starts=("registered",)),
           _alias(r"(?i)\bNMC\b[^;\n]{0,25}\bregist(?:ration|ered)|\bregistration\b[^;\n]{0,25}"
                  r"\bNMC\b|\bNMC (?:PIN|registered)\b", words=("nmc",)),
           _alias(r"(?i)\b(?:active|current|valid|unrestricted)[\w ,]{0,30}\b(?:nursing|RN)"
                  r" licen[cs]e", starts=("licen",)),
           _alias(r"(?i)\blicen[cs]ed as an? (?:registered )?nurse", starts=("licen",))],
}
VOCABULARY: dict[str, list[str]] = {code: [rule.pattern.pattern for rule in rules]
                                    for code, rules in ALIASES.items()}
"""Canonical code -> its alias patterns (the web's filter takes its codes from here)."""
_ALIASES = Rules(*(rule for rules in ALIASES.values() for rule in rules))
_CODE_OF = {rule: code for code, rules in ALIASES.items() for rule in rules}
_SPAN_GROUP = {rule: "n" if "n" in rule.pattern.groupindex else 0 for rule in _CODE_OF}
"""The group whose span is the credential's mention: `n` where the pattern names it."""
# A cheap look tells whether a sentence may mention a credential at all: an acronym of the
# vocabulary, or a word every spelled-out name contains.
_ACRONYMS = {re.sub(r"-.*", "", code) for code in VOCABULARY} | {"RGN", "RMN", "RNLD", "NMC"}
_UPPER = re.compile(r"[A-Z]{2,5}")
_NAME_WORDS = Folded(r"(?i)certified|registered|accredited|fellow|master|graduate|nurs|licen")


def candidate_codes(text: str, title: str = "", doc: Doc | None = None) -> set[str]:
    """Codes that can possibly be found in a posting (cheap: no pattern is run)."""
    doc = doc if doc is not None else Doc(text, title)
    return {code for code, rules in ALIASES.items() if any(doc.holds(r) for r in rules)}


def _may_mention(text: str, low: str) -> bool:
    return not _ACRONYMS.isdisjoint(_UPPER.findall(text)) or bool(_NAME_WORDS.search(text, low))

# Acronym traps: a mention next to these words means the other sense.
TRAPS: dict[str, Folded] = {
    "CIC": Folded(r"(?i)community interest|infection (?:prevention|control)"
                  r"|\b(?:ltd|limited|healthcare|health|care|trust|services)\s+CIC\b"
                      r"|\bCIC\s+(?:company|organisation|organization)"),
    "CPC": Folded(r"(?i)driver|\bHGV\b|\bLGV\b|\bPCV\b|\bcat(?:egory)? [CDE]\b|lorry"
                      r"|cost[- ]per[- ]click|\bPPC\b|\bCPM\b|\bCTR\b|tachograph|CPC\+"
                    r"|comprehensive primary care|professional competence|transport manager"),
    "CRC": Folded(r"(?i)clinical research coordinator|research coordinator|\bCRA\b"
                      r"|clinical trials?"),
    "CCS": Folded(r"(?i)crown commercial|framework|procurement|\bcompiler\b|build system"),
    "ACC": Folded(r"(?i)american college of cardiology|\bACC/AHA\b|accident compensation"),
    "CHC": Folded(r"(?i)community health cent(?:er|re)s?\s*\(CHC\)|\bCHCs\b"
                      r"|continuing healthcare|CHC (?:assessment|funding|nurse|team)"),
    "MBA": Folded(r"(?i)MBA (?:consulting|group|partners|ltd|llc|inc)"),
    # a midwife's NMC registration is not a nurse's; a veterinary nurse is not one either
    "RN": Folded(r"(?i)veterinar|\bRVN\b|^(?!.*\b(?:nurse|nursing|RGN|RMN|RNLD|RN)\b).*midwi"),
}
# Acronyms that mostly mean something else outside coding and compliance: counted only in a
# posting about that work, or in a sentence that speaks of credentials.
AMBIGUOUS = {"CIC", "CCS", "CRC", "CPC", "ACC", "CHC", "CCA", "COC", "CPB"}
FIELD_CONTEXT = Rule(r"(?i)\bcod(?:er|ers|ing)\b|\bAAPC\b|\bAHIMA\b|\bICD-?10|\bCPT\b"
                     r"|\bHCPCS\b|\bDRGs?\b|\bHCC\b|healthcare compliance",
                     starts=("coder", "coding", "icd", "compliance"),
                     words=("aapc", "ahima", "cpt", "hcpcs", "drg", "drgs", "hcc"))
# "Okta CIC", "FICO CCS", "City Health Partnership CIC": an acronym right after a name is the
# name's (a company, a product); credentials follow punctuation, "or", "and" or these words.
NAME_BEFORE = re.compile(r"\b(?!(?:AHIMA|AAPC|Active|Current|Valid|Certified|Required|Preferred"
                         r"|Must|Or|And|The|An?|Hold|Holds|Have|With|Plus|Including|Desirable"
                         r"|Essential|Credential|Certification)\b)[A-Z][A-Za-z]+\s+$")
QUALIFICATION_HEADING = Folded(r"(?i)qualif|certif|credential|licen|requir|prefer|essential"
                                   r"|desirable")
CRED_CONTEXT = Folded(r"(?i)certif|credential|\bcoder|\bAAPC\b|\bAHIMA\b|designation"
                          r"|\bexam\b")
ASK = Folded(
    r"(?i)\b(?:requir|must|essential|prefer|desir|a plus|nice to have|certif|credential"
    r"|licen[cs]|registration|registered|hold|holds|possess|qualif|obtain|working towards"
    r"|eligible|eligibility|accepted|welcome|degree|master|ideal|bonus|candidate|need|have an?"
    r"|active|current|looking for|seeking|opportunit|to join|recruit|applicants|you will be"
    r"|you are|open to)")
# Sentences about perks or other people: a credential named there is not asked of the candidate
# unless the sentence also says required or preferred.
NOT_ASK_SENTENCE = Folded(r"(?i)\b(?:reimburse|we pay|we cover|membership|sponsor|typically"
                              r"|stipend|exam fees?|we are offering|we offer|welcome payment"
                              r"|package|the role of (?:the|a)|newly (?:registered|qualified)"
                              r"|student nurses|preceptorship|salary range|pay range|pay scale"
                              r"|we'?ll train|learn the difference|tuition|bridge program)\b")
# "our ACC coders", "a shared RN care manager": the letters describe other people
OTHERS_AFTER = Folded(r"(?i)^[- ]?\s*(?:care |case )?(?:coders?|auditors?|managers?"
                          r"|supervisors?|colleagues|staff|team|leaders?|educators?)\b")
NOT_ASK = Folded(
    r"(?i)\b(?:your (?:manager|team|supervisor)|reports? to|reporting to|led by"
    r"|we pay|we cover|reimburse|membership|sponsor|support you|help you|training towards"
    r"|work(?:ing)? (?:with|alongside)|under the supervision|supervised by"
    r"|assist(?:ing)? (?:the|a|our)|support(?:ing)? (?:the|a|our))\b")
PREFERRED = Folded(
    r"(?i)\b(?:preferred|prefer|desirable|desired|a plus|nice[- ]to[- ]have|bonus"
    r"|ideally|advantageous|an advantage|working towards|is helpful|would be helpful|optional"
    r"|encouraged)")
REQUIRED = Folded(
    r"(?i)\b(?:required|requires?|must|essential|mandatory|necessary|need to|needs to"
    r"|obtain(?:ed)? within|within \d+ (?:days|months))")
PREFERRED_HEADING = Folded(r"(?i)prefer|desir|nice to have|bonus|plus|ideal|additional"
                               r"|love|good to have|great to have|would be great|extra credit"
                               r"|helpful")
REQUIRED_HEADING = Folded(r"(?i)requir|essential|minimum|must|qualif|what you.?ll need"
                              r"|what we.?re looking for|skills|experience|education|about you")
REFUSED = Folded(r"(?i)^\W{0,3}(?:\w+\W+){0,2}?(?:is |are )?not (?:be )?"
                     r"(?:accepted|required|considered|needed|necessary|eligible)"
                     r"|^\W{0,3}(?:will not|won't|cannot|can't) be (?:accepted|considered)")
OBTAIN = re.compile(r"(?i)(?:obtain|earn|achieve|attain)\w*[^.]{0,40}?within\s+(\w+)\s+"
                    r"(day|month|year)s?")
PARENS = re.compile(r"\([^()]*\)")
_CODE_LIKE = re.compile(r"\b[A-Z][A-Z-]{1,5}\b")
_CODES = set(ALIASES)
_YOU = Folded(r"(?i)\byou(?:r)?\b|candidate|applicant")
_OTHERS_BEFORE = Folded(r"(?i)\b(?:our|their|his|her)\b")
_JOIN_BEFORE = Folded(r"(?i)\bjoin\b[^.]*$")
_EX_BEFORE = Folded(r"(?i)\b(?:ex|non)-$")
_CERTIFIED_AFTER = Folded(r"(?:-?\s*(?:and|or|,)\s*[A-Z][A-Z-]+)*-?\s*(?:certified|credentialed)\b",
                          re.IGNORECASE)
_TEAM_AFTER = Folded(r"[- ]?(?:certified|credentialed)\s+(?:team|staff|coders|auditors|colleagues)",
                     re.IGNORECASE)
CLAUSE = re.compile(r";|\.\s|, (?=(?:and |or )?(?:[A-Z]{2,}|preferred|required))")


@dataclass(frozen=True)
class Credential:
    """A credential asked of the candidate."""

    code: str
    requirement: str  # required | preferred
    evidence: str
    obtain_within: str | None = None
    any_of: tuple[str, ...] = ()
    """The alternatives asked with it ("CPC or CCS"), itself included; empty when alone."""


def _credential_context(sentence: Sentence) -> bool:
    """Whether a sentence speaks of credentials: the words, an unambiguous code beside the
    ambiguous one, or a bare item under a qualifications heading ("- CHC or CPCO")."""
    text = sentence.text
    if CRED_CONTEXT.search(text):
        return True
    unambiguous = (set(_CODE_LIKE.findall(text)) & _CODES) - AMBIGUOUS
    return bool(unambiguous) or (len(text.split()) <= 6
                                 and bool(QUALIFICATION_HEADING.search(sentence.heading)))


class _Said:
    """What a sentence says, each found once however many mentions it holds: the searches of
    the whole sentence and of its heading that _is_ask() and _requirement() make."""

    def __init__(self, sentence: Sentence, low: str | None) -> None:
        self.sentence = sentence
        self.text = sentence.text
        self.low = low  # the sentence lowercased, when letter for letter (else None)
        self._found: dict[str, Any] = {}

    def _get(self, key: str, compute: Callable[[], Any]) -> Any:
        found = self._found
        if key not in found:
            found[key] = compute()
        return found[key]

    def required(self) -> bool:
        return self._get("req", lambda: bool(REQUIRED.search(self.text, self.low)))

    def preferred(self) -> bool:
        return self._get("pref", lambda: bool(PREFERRED.search(self.text, self.low)))

    def you(self) -> bool:
        return self._get("you", lambda: bool(_YOU.search(self.text, self.low)))

    def not_ask(self) -> bool:
        return self._get("not_ask",
                         lambda: bool(NOT_ASK_SENTENCE.search(self.text, self.low)))

    def ask(self) -> bool:
        return self._get("ask", lambda: bool(ASK.search(self.text, self.low)))

    def heading_asks(self) -> bool:
        heading = self.sentence.heading
        return self._get("heading", lambda: bool(REQUIRED_HEADING.search(heading)
                                                 or PREFERRED_HEADING.search(heading)))

    def obtain(self) -> re.Match[str] | None:
        """OBTAIN's match in the sentence: every match holds "within", which the lowercase
        copy (when letter for letter) shows without running the pattern."""
        low = self.low
        return self._get("obtain", lambda: None if low is not None and "within" not in low
                         else OBTAIN.search(self.text))

    def asks(self) -> tuple[list[int], list[int]]:
        """_asks() of the sentence."""
        return self._get("asks", lambda: _asks(self.text, self.low))

    def slice(self, start: int, end: int) -> tuple[str, str | None]:
        """text[start:end] and its lowercase copy when known."""
        low = self.low
        return self.text[start:end], None if low is None else low[start:end]


def _asks(text: str, low: str | None) -> tuple[list[int], list[int]]:
    """Where PREFERRED and where REQUIRED match in the text (`low`: its lowercase copy, if
    known)."""
    return ([m.start() for m in PREFERRED.finditer(text, low)],
            [m.start() for m in REQUIRED.finditer(text, low)])


def _may_hold(low: str | None, *literals: str) -> bool:
    """Whether text whose lowercase copy is `low` may match a (?i) pattern every match of
    which holds one of the lowercase literals (True when the copy is unknown): a substring
    test that spares running the pattern."""
    return low is None or any(literal in low for literal in literals)


def _requirement(said: _Said, start: int, end: int) -> str:
    """required or preferred for the mention at [start, end) of the sentence."""
    sentence = said.sentence
    # an aside in parentheses speaks of something else ("RN required (compact preferred)")
    text = sentence.text
    if "(" in text:
        text = PARENS.sub(lambda m: m.group(0) if m.start() <= start < m.end()
                          else " " * len(m.group(0)), text)
        pref, req = _asks(text, None)
    else:
        pref, req = said.asks()
    clauses = [(m.start(), m.end()) for m in CLAUSE.finditer(text)]
    lo = max([e for s, e in clauses if e <= start], default=0)
    hi = min([s for s, e in clauses if s >= end], default=len(text))
    # (what the clause asks: no match of PREFERRED or REQUIRED holds a clause break, so the
    # clause's matches are the sentence's that start in it)
    if any(lo <= p < hi for p in pref):
        return "preferred"
    if any(lo <= r < hi for r in req):
        return "required"
    if pref and not req:
        return "preferred"
    if req and not pref:
        return "required"
    if pref and req:
        after = sorted((p, "preferred") for p in pref if p >= end) + \
            sorted((r, "required") for r in req if r >= end)
        if after:
            return min(after)[1]
        return max([(p, "preferred") for p in pref] + [(r, "required") for r in req])[1]
    if PREFERRED_HEADING.search(sentence.heading):
        return "preferred"
    return "required"


def _is_ask(said: _Said, start: int, end: int) -> bool:
    """Whether the mention asks it of the candidate (not our team's, not a perk)."""
    text = said.text
    window, window_low = said.slice(max(0, start - 40), min(len(text), end + 25))
    window_asks: list[bool] = []

    def asks_in_window() -> bool:
        if not window_asks:
            window_asks.append(bool(REQUIRED.search(window, window_low)
                                    or PREFERRED.search(window, window_low)))
        return window_asks[0]

    if NOT_ASK.search(window, window_low) and not asks_in_window():
        return False
    if said.not_ask() and not (said.required() or said.preferred()):
        return False
    # (each pattern below runs only where its literals are: see _may_hold)
    before, before_low = said.slice(max(0, start - 50), start)
    if _may_hold(before_low, "our", "his", "her") and _OTHERS_BEFORE.search(
            before, before_low) and not _JOIN_BEFORE.search(
            before, before_low) and not asks_in_window():
        return False  # "our CPC auditors", "our team of CPC- and CRC-certified coders"
    if before.endswith("-") and _EX_BEFORE.search(before, before_low):
        return False  # "Ex-RN", "non-RN candidates"
    if OTHERS_AFTER.match(*said.slice(end, end + 25)) and not asks_in_window():
        return False
    after, after_low = said.slice(end, end + 40)
    if _may_hold(after_low, "certified", "credentialed"):
        if _CERTIFIED_AFTER.match(after, after_low) and not (
                said.required() or said.preferred() or said.you()):
            return False  # "a CCS-credentialed leader oversees..."
        if _TEAM_AFTER.match(*said.slice(end, end + 30)):
            return False
    # "CPC-A is not accepted"
    refused = REFUSED.search(after, after_low) if _may_hold(after_low, "not", "n't") else None
    if refused and not PREFERRED.search(*said.slice(end, end + refused.end())):
        return False  # ("a plus, not required" still asks for it, as a preference)
    bare_item = len(text.split()) <= 6  # a bullet that is just "CHPS" or "CHC or CPCO"
    return said.heading_asks() or bare_item or said.ask()


def extract_credentials(text: str, title: str = "", split: list[Sentence] | None = None,
                        doc: Doc | None = None) -> list[Credential]:
    """Every vocabulary credential the posting asks for, strongest requirement kept per code.

    `split` is the text's sentences when the caller has them already; `doc` the posting
    prepared by the tagger.
    """
    doc = doc if doc is not None else Doc(text, title, split)
    live: dict[str, list[tuple[Rule, set[int]]]] = {}
    for rule, units in doc.live(_ALIASES):
        live.setdefault(_CODE_OF[rule], []).append((rule, units))
    if not live:
        return []
    field: list[bool] = []  # whether the posting is about coding work; found when needed

    def in_field() -> bool:
        if not field:
            field.append(bool(doc.search_lines(FIELD_CONTEXT)
                              or doc.search(FIELD_CONTEXT, doc.title)))
        return field[0]

    found: dict[str, Credential] = {}
    for i in doc.where(*(rule for pairs in live.values() for rule, _units in pairs), title=False):
        sentence, low = doc.sentences[i], doc.lows[i]
        if not _may_mention(sentence.text, low):
            continue
        said = _Said(sentence, low if doc.folds else None)
        spans: list[tuple[int, int, str]] = []
        taken: list[tuple[int, int]] = []
        for code, pairs in live.items():
            trap = TRAPS.get(code)
            for rule, units in pairs:
                if i not in units:
                    continue
                name = _SPAN_GROUP[rule]
                for match in doc.run_all(rule, i):
                    start, end = match.span(name)
                    if any(s <= start < e for s, e in taken):
                        continue  # e.g. "CPC-A" already claimed the CPC letters
                    if trap and trap.search(sentence.text, low):
                        continue
                    if code in AMBIGUOUS and sentence.text[match.start():match.end()].isupper() \
                            and (NAME_BEFORE.search(sentence.text[max(0, start - 30):start])
                                 or not in_field() and not _credential_context(sentence)):
                        continue
                    if not _is_ask(said, start, end):
                        continue
                    taken.append((start, end))
                    spans.append((start, end, code))
                    requirement = _requirement(said, start, end)
                    obtain = said.obtain()
                    cred = Credential(code, requirement, sentence.text,
                                      f"{obtain.group(1)} {obtain.group(2)}s" if obtain else None)
                    old = found.get(code)
                    if old is None or (old.requirement == "preferred"
                                       and requirement == "required"):
                        found[code] = cred
        for group in _alternatives(sentence.text, spans):
            for code in group:
                if found[code].evidence == sentence.text:
                    found[code] = replace(found[code], any_of=group)
    return list(found.values())


ALTERNATIVE_GAP = re.compile(r"(?i)^[\s,/()]*(?:(?:and/)?or\b|/)?[\s,/()]*(?:an?\s+)?$")


def _alternatives(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[str, ...]]:
    """Groups of codes offered as alternatives: "CPC, COC or CIC", "RHIT/RHIA". Codes joined
    by commas only are a group when the list ends in "or"."""
    groups: list[tuple[str, ...]] = []
    ordered = sorted(spans)
    current: list[tuple[int, int, str]] = ordered[:1]
    saw_or = False
    for prev, nxt in zip(ordered, ordered[1:], strict=False):
        gap = text[prev[1]:nxt[0]]
        if ALTERNATIVE_GAP.match(gap):
            current.append(nxt)
            saw_or = saw_or or bool(re.search(r"(?i)\bor\b|/", gap))
            continue
        if len(current) > 1 and saw_or:
            groups.append(tuple(dict.fromkeys(c for _, _, c in current)))
        current, saw_or = [nxt], False
    if len(current) > 1 and saw_or:
        groups.append(tuple(dict.fromkeys(c for _, _, c in current)))
    return [g for g in groups if len(g) > 1]
