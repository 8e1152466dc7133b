"""Credentials a posting asks of the candidate: code, required/preferred, evidence sentence.

The vocabulary and its traps are the labeling guide's (docs/labeling-guide.md): the same
letters often mean something else, and a credential the posting only mentions is not asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from classifier.text import Sentence, sentences

_MASTERS = r"(?:master'?s?|(?:post)?graduate degree)\b[^.;]{0,60}?\b"
# canonical code -> alias pattern (matched case-sensitively for acronyms, see _compile)
VOCABULARY: dict[str, list[str]] = {
    "CPC-A": [r"\bCPC[- ]?A\b", r"\bCPC[- ]apprentice\b"],
    "CPC": [r"\bCPC\b(?![- ]?A\b)(?!-P)", r"(?i:certified professional coder)"],
    "COC": [r"\bCOC\b", r"(?i:certified outpatient coder)"],
    "CIC": [r"\bCIC\b", r"(?i:certified inpatient coder)"],
    "CRC": [r"\bCRC\b", r"(?i:certified risk adjustment coder)"],
    "CPMA": [r"\bCPMA\b", r"(?i:certified professional medical auditor)"],
    "CPCO": [r"\bCPCO\b", r"(?i:certified professional compliance officer)"],
    "CPB": [r"\bCPB\b", r"(?i:certified professional biller)"],
    "CDEO": [r"\bCDEO\b", r"(?i:certified documentation expert)"],
    "CEMC": [r"\bCEMC\b", r"(?i:certified (?:e/m|evaluation and management) coder)"],
    "CCA": [r"\bCCA\b", r"(?i:certified coding associate)"],
    "CCS-P": [r"\bCCS[- ]P\b", r"(?i:certified coding specialist[- ]+physician)"],
    "CCS": [r"\bCCS\b(?![- ]P\b)", r"(?i:certified coding specialist)(?![- ]+physician)"],
    "RHIT": [r"\bRHIT\b", r"(?i:registered health information technician)"],
    "RHIA": [r"\bRHIA\b", r"(?i:registered health information administrator)"],
    "CDIP": [r"\bCDIP\b", r"(?i:certified documentation integrity practitioner)"],
    "CHPS": [r"\bCHPS\b", r"(?i:certified in healthcare privacy and security)"],
    "CCDS": [r"\bCCDS(?:-O)?\b", r"(?i:certified clinical documentation specialist)"],
    "ACC": [r"\bACC\b", r"(?i:accredited clinical coder)"],
    "FACHE": [r"\bFACHE\b", r"(?i:fellow of the american college of healthcare executives)"],
    "CMPE": [r"\bCMPE\b", r"(?i:certified medical practice executive)"],
    "CHFP": [r"\bCHFP\b", r"(?i:certified healthcare financial professional)"],
    "CPHQ": [r"\bCPHQ\b", r"(?i:certified professional in healthcare quality)"],
    "CHC": [r"\bCHC\b", r"(?i:certified in healthcare compliance)"],
    # named degrees in a list after "master's" each count ("master's degree in nursing or
    # health administration" names the MHA); the group `n` is the degree's own name
    "MHSA": [r"\bMHSA\b", rf"(?i:{_MASTERS}(?P<n>health services administration))"],
    "MHA": [r"\bMHA\b",
            rf"(?i:{_MASTERS}(?P<n>(?:health|healthcare|hospital|health care) administration))"],
    "MBA": [r"\bMBA\b", rf"(?i:{_MASTERS}(?P<n>business administration))"],
    "MPH": [r"\bMPH\b", rf"(?i:{_MASTERS}(?P<n>public health))"],
    "RN": [r"\bRNs?\b", r"\bRGNs?\b", r"\bRMNs?\b", r"\bRNLDs?\b",
           r"(?i:\bregistered(?:\s+[\w-]+){0,5}?\s+nurses?\b)",
           r"(?i:\bNMC\b[^;\n]{0,25}\bregist(?:ration|ered)|\bregistration\b[^;\n]{0,25}\bNMC\b"
           r"|\bNMC (?:PIN|registered)\b)",
           r"(?i:\b(?:active|current|valid|unrestricted)[\w ,]{0,30}\b(?:nursing|RN) licen[cs]e)",
           r"(?i:\blicen[cs]ed as an? (?:registered )?nurse)"],
}
_COMPILED = {code: [re.compile(p) for p in pats] for code, pats in VOCABULARY.items()}
# A cheap look tells whether a sentence may mention a credential at all: an acronym of the
# vocabulary, or a word every spelled-out name contains. Most sentences mention none, and
# skipping them keeps extraction at thousands of postings per second.
_ACRONYMS = {re.sub(r"-.*", "", code) for code in VOCABULARY} | {"RGN", "RMN", "RNLD", "NMC"}
_UPPER = re.compile(r"[A-Z]{2,5}")
_NAME_WORDS = re.compile(r"(?i)certified|registered|accredited|fellow|master|graduate|nurs|licen")


# Lowercase substrings without which a code's spelled-out name cannot appear; with the
# acronyms present in the text they decide which codes a posting is searched for at all.
NAME_TRIGGERS: dict[str, tuple[str, ...]] = {
    "CPC": ("professional coder",), "CPC-A": (), "COC": ("outpatient coder",),
    "CIC": ("inpatient coder",), "CRC": ("risk adjustment coder",),
    "CPMA": ("medical auditor",), "CPCO": ("compliance officer",),
    "CPB": ("professional biller",), "CDEO": ("documentation expert",),
    "CEMC": ("e/m coder", "management coder"), "CCA": ("coding associate",),
    "CCS-P": ("coding specialist",), "CCS": ("coding specialist",),
    "RHIT": ("information technician",), "RHIA": ("information administrator",),
    "CDIP": ("integrity practitioner",), "CHPS": ("privacy and security",),
    "CCDS": ("documentation specialist",), "ACC": ("accredited clinical coder",),
    "FACHE": ("healthcare executives",), "CMPE": ("practice executive",),
    "CHFP": ("financial professional",), "CPHQ": ("healthcare quality",),
    "CHC": ("healthcare compliance",), "MHSA": ("services administration",),
    "MHA": ("administration",), "MBA": ("business administration",), "MPH": ("public health",),
    "RN": ("nurse", "nmc", "licen"),
}
_ACRONYM_CODES: dict[str, set[str]] = {}
for _code in VOCABULARY:
    _ACRONYM_CODES.setdefault(re.sub(r"-.*", "", _code), set()).add(_code)
for _token in ("RGN", "RMN", "RNLD", "NMC"):
    _ACRONYM_CODES[_token] = {"RN"}


def candidate_codes(text: str, title: str = "") -> set[str]:
    """Codes that can possibly be found in a posting (cheap: no pattern is run)."""
    codes: set[str] = set()
    for token in set(_UPPER.findall(text)):
        codes |= _ACRONYM_CODES.get(token, set())
    low = text.lower()
    codes.update(code for code, triggers in NAME_TRIGGERS.items()
                 if any(t in low for t in triggers))
    return codes


def _may_mention(text: str) -> bool:
    return not _ACRONYMS.isdisjoint(_UPPER.findall(text)) or bool(_NAME_WORDS.search(text))

# Acronym traps: a mention next to these words means the other sense.
TRAPS: dict[str, re.Pattern[str]] = {
    "CIC": re.compile(r"(?i)community interest|infection (?:prevention|control)"
                      r"|\b(?:ltd|limited|healthcare|health|care|trust|services)\s+CIC\b"
                      r"|\bCIC\s+(?:company|organisation|organization)"),
    "CPC": re.compile(r"(?i)driver|\bHGV\b|\bLGV\b|\bPCV\b|\bcat(?:egory)? [CDE]\b|lorry"
                      r"|cost[- ]per[- ]click|\bPPC\b|\bCPM\b|\bCTR\b|tachograph|CPC\+"
                    r"|comprehensive primary care|professional competence|transport manager"),
    "CRC": re.compile(r"(?i)clinical research coordinator|research coordinator|\bCRA\b"
                      r"|clinical trials?"),
    "CCS": re.compile(r"(?i)crown commercial|framework|procurement|\bcompiler\b|build system"),
    "ACC": re.compile(r"(?i)american college of cardiology|\bACC/AHA\b|accident compensation"),
    "CHC": re.compile(r"(?i)community health cent(?:er|re)s?\s*\(CHC\)|\bCHCs\b"
                      r"|continuing healthcare|CHC (?:assessment|funding|nurse|team)"),
    "MBA": re.compile(r"(?i)MBA (?:consulting|group|partners|ltd|llc|inc)"),
    # a midwife's NMC registration is not a nurse's; a veterinary nurse is not one either
    "RN": re.compile(r"(?i)veterinar|\bRVN\b|^(?!.*\b(?:nurse|nursing|RGN|RMN|RNLD|RN)\b).*midwi"),
}
# Acronyms that mostly mean something else outside coding and compliance: counted only in a
# posting about that work, or in a sentence that speaks of credentials.
AMBIGUOUS = {"CIC", "CCS", "CRC", "CPC", "ACC", "CHC", "CCA", "COC", "CPB"}
FIELD_CONTEXT = re.compile(r"(?i)\bcod(?:er|ers|ing)\b|\bAAPC\b|\bAHIMA\b|\bICD-?10|\bCPT\b"
                           r"|\bHCPCS\b|\bDRGs?\b|\bHCC\b|healthcare compliance")
# "Okta CIC", "FICO CCS", "City Health Partnership CIC": an acronym right after a name is the
# name's (a company, a product); credentials follow punctuation, "or", "and" or these words.
NAME_BEFORE = re.compile(r"\b(?!(?:AHIMA|AAPC|Active|Current|Valid|Certified|Required|Preferred"
                         r"|Must|Or|And|The|An?|Hold|Holds|Have|With|Plus|Including|Desirable"
                         r"|Essential|Credential|Certification)\b)[A-Z][A-Za-z]+\s+$")
QUALIFICATION_HEADING = re.compile(r"(?i)qualif|certif|credential|licen|requir|prefer|essential"
                                   r"|desirable")
CRED_CONTEXT = re.compile(r"(?i)certif|credential|\bcoder|\bAAPC\b|\bAHIMA\b|designation"
                          r"|\bexam\b")
ASK = re.compile(
    r"(?i)\b(?:requir|must|essential|prefer|desir|a plus|nice to have|certif|credential"
    r"|licen[cs]|registration|registered|hold|holds|possess|qualif|obtain|working towards"
    r"|eligible|eligibility|accepted|welcome|degree|master|ideal|bonus|candidate|need|have an?"
    r"|active|current|looking for|seeking|opportunit|to join|recruit|applicants|you will be"
    r"|you are|open to)")
# Sentences about perks or other people: a credential named there is not asked of the candidate
# unless the sentence also says required or preferred.
NOT_ASK_SENTENCE = re.compile(r"(?i)\b(?:reimburse|we pay|we cover|membership|sponsor|typically"
                              r"|stipend|exam fees?|we are offering|we offer|welcome payment"
                              r"|package|the role of (?:the|a)|newly (?:registered|qualified)"
                              r"|student nurses|preceptorship|salary range|pay range|pay scale"
                              r"|we'?ll train|learn the difference|tuition|bridge program)\b")
# "our ACC coders", "a shared RN care manager": the letters describe other people
OTHERS_AFTER = re.compile(r"(?i)^[- ]?\s*(?:care |case )?(?:coders?|auditors?|managers?"
                          r"|supervisors?|colleagues|staff|team|leaders?|educators?)\b")
NOT_ASK = re.compile(
    r"(?i)\b(?:your (?:manager|team|supervisor)|reports? to|reporting to|led by"
    r"|we pay|we cover|reimburse|membership|sponsor|support you|help you|training towards"
    r"|work(?:ing)? (?:with|alongside)|under the supervision|supervised by"
    r"|assist(?:ing)? (?:the|a|our)|support(?:ing)? (?:the|a|our))\b")
PREFERRED = re.compile(
    r"(?i)\b(?:preferred|prefer|desirable|desired|a plus|nice[- ]to[- ]have|bonus"
    r"|ideally|advantageous|an advantage|working towards|is helpful|would be helpful|optional"
    r"|encouraged)")
REQUIRED = re.compile(
    r"(?i)\b(?:required|requires?|must|essential|mandatory|necessary|need to|needs to"
    r"|obtain(?:ed)? within|within \d+ (?:days|months))")
PREFERRED_HEADING = re.compile(r"(?i)prefer|desir|nice to have|bonus|plus|ideal|additional"
                               r"|love|good to have|great to have|would be great|extra credit"
                               r"|helpful")
REQUIRED_HEADING = re.compile(r"(?i)requir|essential|minimum|must|qualif|what you.?ll need"
                              r"|what we.?re looking for|skills|experience|education|about you")
REFUSED = re.compile(r"(?i)^\W{0,3}(?:\w+\W+){0,2}?(?:is |are )?not (?:be )?"
                     r"(?:accepted|required|considered|needed|necessary|eligible)"
                     r"|^\W{0,3}(?:will not|won't|cannot|can't) be (?:accepted|considered)")
OBTAIN = re.compile(r"(?i)(?:obtain|earn|achieve|attain)\w*[^.]{0,40}?within\s+(\w+)\s+"
                    r"(day|month|year)s?")
PARENS = re.compile(r"\([^()]*\)")
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
    unambiguous = (set(re.findall(r"\b[A-Z][A-Z-]{1,5}\b", text)) & set(VOCABULARY)) - AMBIGUOUS
    return bool(unambiguous) or (len(text.split()) <= 6
                                 and bool(QUALIFICATION_HEADING.search(sentence.heading)))


def _requirement(sentence: Sentence, start: int, end: int) -> str:
    """required or preferred for the mention at [start, end) of the sentence."""
    # an aside in parentheses speaks of something else ("RN required (compact preferred)")
    text = PARENS.sub(lambda m: m.group(0) if m.start() <= start < m.end()
                      else " " * len(m.group(0)), sentence.text)
    clauses = [(m.start(), m.end()) for m in CLAUSE.finditer(text)]
    lo = max([e for s, e in clauses if e <= start], default=0)
    hi = min([s for s, e in clauses if s >= end], default=len(text))
    clause = text[lo:hi]
    if PREFERRED.search(clause):
        return "preferred"
    if REQUIRED.search(clause):
        return "required"
    pref = [m.start() for m in PREFERRED.finditer(text)]
    req = [m.start() for m in REQUIRED.finditer(text)]
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


def _is_ask(sentence: Sentence, start: int, end: int) -> bool:
    """Whether the mention asks it of the candidate (not our team's, not a perk)."""
    text = sentence.text
    window = text[max(0, start - 40):min(len(text), end + 25)]
    if NOT_ASK.search(window) and not REQUIRED.search(window) and not PREFERRED.search(window):
        return False
    asks_candidate = bool(REQUIRED.search(text) or PREFERRED.search(text)
                          or re.search(r"(?i)\byou(?:r)?\b|candidate|applicant", text))
    if NOT_ASK_SENTENCE.search(text) and not (REQUIRED.search(text) or PREFERRED.search(text)):
        return False
    before = text[max(0, start - 50):start]
    if re.search(r"(?i)\b(?:our|their|his|her)\b", before) and not re.search(
            r"(?i)\bjoin\b[^.]*$", before) and not (REQUIRED.search(window)
                                                  or PREFERRED.search(window)):
        return False  # "our CPC auditors", "our team of CPC- and CRC-certified coders"
    if re.search(r"(?i)\b(?:ex|non)-$", before):
        return False  # "Ex-RN", "non-RN candidates"
    if OTHERS_AFTER.match(text[end:end + 25]) and not (REQUIRED.search(window)
                                                     or PREFERRED.search(window)):
        return False
    if re.match(r"(?:-?\s*(?:and|or|,)\s*[A-Z][A-Z-]+)*-?\s*(?:certified|credentialed)\b",
                text[end:end + 40], re.I) and not asks_candidate:
        return False  # "a CCS-credentialed leader oversees..."
    if re.match(r"[- ]?(?:certified|credentialed)\s+(?:team|staff|coders|auditors|colleagues)",
                text[end:end + 30], re.I):
        return False
    refused = REFUSED.search(text[end:end + 40])  # "CPC-A is not accepted"
    if refused and not PREFERRED.search(text[end:end + refused.end()]):
        return False  # ("a plus, not required" still asks for it, as a preference)
    heading_asks = bool(REQUIRED_HEADING.search(sentence.heading)
                        or PREFERRED_HEADING.search(sentence.heading))
    bare_item = len(text.split()) <= 6  # a bullet that is just "CHPS" or "CHC or CPCO"
    return heading_asks or bare_item or bool(ASK.search(text))


def extract_credentials(text: str, title: str = "",
                        split: list[Sentence] | None = None) -> list[Credential]:
    """Every vocabulary credential the posting asks for, strongest requirement kept per code.

    `split` is the text's sentences when the caller has them already.
    """
    found: dict[str, Credential] = {}
    candidates = candidate_codes(text)
    if not candidates:
        return []
    in_field = bool(FIELD_CONTEXT.search(text) or FIELD_CONTEXT.search(title))
    for sentence in split if split is not None else sentences(text):
        if not _may_mention(sentence.text):
            continue
        spans: list[tuple[int, int, str]] = []
        taken: list[tuple[int, int]] = []
        for code, patterns in _COMPILED.items():
            if code not in candidates:
                continue
            trap = TRAPS.get(code)
            for pattern in patterns:
                for match in pattern.finditer(sentence.text):
                    start, end = match.span("n" if "n" in pattern.groupindex else 0)
                    if any(s <= start < e for s, e in taken):
                        continue  # e.g. "CPC-A" already claimed the CPC letters
                    if trap and trap.search(sentence.text):
                        continue
                    if code in AMBIGUOUS and match.group(0).isupper() and (
                            NAME_BEFORE.search(sentence.text[max(0, start - 30):start])
                            or not in_field and not _credential_context(sentence)):
                        continue
                    if not _is_ask(sentence, start, end):
                        continue
                    taken.append((start, end))
                    spans.append((start, end, code))
                    requirement = _requirement(sentence, start, end)
                    obtain = OBTAIN.search(sentence.text)
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
