"""Facets of a posting: which kind of coding or administration work, entry level, the
education and years of experience asked. Each facet keeps the sentence that shows it."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from classifier.text import Sentence, sentences

CODING_FACETS: dict[str, str] = {
    "inpatient": r"\binpatient\b|\bICD-?10-?PCS\b|\bMS-?DRGs?\b|\bAPR-?DRGs?\b|\bDRG\b",
    "outpatient": r"\boutpatient\b|\bambulatory\b|\bAPCs?\b|\bobservation (?:stays|encounters)",
    "pro-fee": r"\bpro-?fee\b|\bprofessional (?:fee|services|billing|coding)|\bphysician "
               r"(?:coding|billing|services)|\bE/M\b|\bevaluation and management\b",
    "risk adjustment": r"\brisk adjustment\b|\bHCCs?\b|\bhierarchical condition|\bRAF\b"
                       r"|\bMedicare Advantage\b",
    "cdi": r"\bCDI\b|\bclinical documentation (?:integrity|improvement|specialist)"
           r"|\bphysician quer(?:y|ies)\b|\bdocumentation integrity\b",
    "audit": r"\baudit(?:s|or|ors|ing)?\b|\bvalidation\b|\bvalidator\b|\bquality review",
    "education": r"\beducat(?:or|ion program|e (?:coders|providers|physicians))\b|\btrainer\b"
                 r"|\bprovider education\b|\bcoding education\b",
    "emergency": r"\bemergency (?:department|room|medicine)\b|\bED (?:coding|coder|visits|"
                 r"facility|encounters|charts)\b|\bER coder\b",
    "surgical": r"\bsurg(?:ical|ery|eries)\b|\boperative (?:reports|notes)\b|\bOR cases\b",
    "radiology": r"\bradiology\b|\binterventional radiology\b|\bimaging\b",
    "behavioral health": r"\bbehavio(?:u)?ral health\b|\bpsychiatr(?:y|ic)\b|\bmental health\b"
                         r"|\bsubstance use\b",
}
ADMINISTRATION_FACETS: dict[str, str] = {
    "practice": r"\bpractice (?:manager|administrator|management)\b|\bclinic (?:manager|"
                r"operations|director)\b|\bphysician (?:practice|office|group)\b|\bGP (?:practice|"
                r"surgery)\b|\bhealth cent(?:er|re) manager\b|\bmedical (?:office|group)\b",
    "operations": r"\boperations\b|\bdepartment (?:manager|administrator|director)\b"
                  r"|\bservice manager\b|\bdirectorate\b|\bunit (?:manager|budget)\b"
                  r"|\bward manager\b",
    "revenue cycle": r"\brevenue cycle\b|\bpatient financial services\b|\bbilling (?:manager|"
                     r"director|operations|office)\b|\bpatient accounts\b|\bRCM\b",
    "him": r"\bhealth information management\b|\bHIM\b|\bmedical records (?:department|"
           r"manager|director)\b|\brelease of information\b",
    "compliance": r"\bcomplian(?:ce|t)\b|\bprivacy officer\b|\bHIPAA\b|\bquality (?:improvement|"
                  r"assurance|manager|director|and patient safety)\b|\bpatient safety\b"
                  r"|\baccreditation\b|\bCQC\b|\bclinical governance\b",
    "executive": r"\b(?:chief (?:executive|operating|financial|nursing) officer|CEO|COO|CFO|CNO"
                 r"|vice president|VP|president|executive director|administrator of|hospital "
                 r"administrator|director of operations)\b",
}
ENTRY = re.compile(
    r"(?i)\bentry[- ]level\b|\bnew (?:grads?|graduates?)\b|\bapprentice(?:ship)?\b|\btrainee\b"
    r"|\bCPC-A\b|\bno (?:prior )?experience (?:required|necessary|needed)\b"
    r"|\b(?:0|zero)\s*(?:-|to)\s*(?:1|2) years?\b|\brecent graduates?\b|\bjunior\b")
EDUCATION_LEVELS: list[tuple[str, str]] = [
    ("doctorate", r"\b(?:doctorate|doctoral degree|ph\.?d|MD/DO)\b"),
    ("master", r"\bmaster'?s?\b|\b(?:MHA|MBA|MPH|MHSA|MSN|MSc|MS in)\b|\bgraduate degree\b"),
    ("bachelor", r"\bbachelor'?s?\b|\b(?:BA|BS|BSc|BSN)\b|\bundergraduate degree\b"
                 r"|\bfour-year degree\b|\b(?:university|college) degree\b"),
    ("associate", r"\bassociate'?s? degree\b|\b(?:AAS|AS) degree\b|\btwo-year degree\b"
                  r"|\bHND\b|\bfoundation degree\b"),
    ("certificate", r"\bcertificate program\b|\bcoding certificate\b|\bdiploma in\b"
                    r"|\bcertification program\b"),
    ("high school", r"\bhigh school\b|\bGED\b|\bGCSEs?\b|\bsecondary school\b"),
]
_EDU = [(level, re.compile(pattern, re.IGNORECASE)) for level, pattern in EDUCATION_LEVELS]
_EDU_CONTEXT = re.compile(r"(?i)degree|diploma|education|graduat|GED|GCSE|qualif|bachelor"
                          r"|master|associate|certificate|required|preferred")
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10}
_N = r"(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)"
YEARS = re.compile(rf"(?i)(?:minimum (?:of )?|at least |over )?{_N}\s*(?:\+|plus)?\s*"
                   rf"(?:(?:-|–|to)\s*{_N}\s*)?(?:\+\s*)?years?'?(?: of)?(?: [\w-]+){{0,4}}? "
                   r"(?:experience|exp\b)")
_COMPILED = {
    "coding": {name: re.compile(p, re.IGNORECASE if name not in ("him",) else 0)
               for name, p in CODING_FACETS.items()},
    "administration": {name: re.compile(p, 0 if name in ("him", "executive") else re.IGNORECASE)
                       for name, p in ADMINISTRATION_FACETS.items()},
}


# Lowercase substrings a facet's pattern cannot match without: a substring test skips the
# pattern for most postings, which keeps facet extraction cheap. Keep in step with the patterns.
TRIGGERS: dict[str, tuple[str, ...]] = {
    "inpatient": ("inpatient", "pcs", "drg"),
    "outpatient": ("outpatient", "ambulatory", "apc", "observation"),
    "pro-fee": ("pro-fee", "profee", "professional", "physician", "e/m", "evaluation and"),
    "risk adjustment": ("risk adjustment", "hcc", "hierarchical", "raf", "medicare advantage"),
    "cdi": ("cdi", "clinical documentation", "quer", "documentation integrity"),
    "audit": ("audit", "validat", "quality review"),
    "education": ("educat", "trainer"),
    "emergency": ("emergency", "ed ", "er coder"),
    "surgical": ("surg", "operative", "or cases"),
    "radiology": ("radiology", "imaging"),
    "behavioral health": ("behavio", "psychiatr", "mental health", "substance"),
    "practice": ("practice", "clinic", "physician", "gp ", "health cent", "medical "),
    "operations": ("operations", "department", "service manager", "directorate", "unit ",
                   "ward manager"),
    "revenue cycle": ("revenue cycle", "patient financial", "billing", "patient accounts", "rcm"),
    "him": ("health information", "him", "medical records", "release of information"),
    "compliance": ("complian", "privacy", "hipaa", "quality", "patient safety", "accreditation",
                   "cqc", "governance"),
    "executive": ("chief", "ceo", "coo", "cfo", "cno", "vice president", "vp", "president",
                  "executive director", "administrator"),
}
ENTRY_TRIGGERS = ("entry", "new grad", "new graduate", "appren", "trainee", "cpc-a",
                  "experience", "year", "recent grad", "junior")
EDU_TRIGGERS = [("doctor", "ph.d", "phd", "md/do"),
                ("master", "mha", "mba", "mph", "mhsa", "msn", "msc", "ms in", "graduate degree"),
                ("bachelor", "ba", "bs", "undergraduate", "four-year", "university", "college"),
                ("associate", "aas", "as degree", "two-year", "hnd", "foundation degree"),
                ("certificate", "diploma", "certification program"),
                ("high school", "ged", "gcse", "secondary school")]


@dataclass
class Facets:
    """Facets with their evidence, and the asks about experience and education."""

    facets: dict[str, str] = field(default_factory=dict)  # name -> evidence sentence
    entry_level: bool = False
    entry_evidence: str | None = None
    education: str | None = None  # the lowest level stated as required or asked
    education_evidence: str | None = None
    years_experience: int | None = None  # the smallest minimum stated
    years_evidence: str | None = None


def _years(match: re.Match[str]) -> int:
    raw = match.group(1).lower()
    return int(raw) if raw.isdigit() else _NUMBER_WORDS[raw]


def extract_facets(text: str, title: str, category: str,
                   split: list[Sentence] | None = None) -> Facets:
    """Facets for the posting's category (coding or administration facets), plus entry level,
    education and years of experience for any posting.

    Each pattern runs once over the whole posting; only a match is traced back to its
    sentence for the evidence (one search per pattern, not per sentence, keeps this fast).
    """
    out = Facets()
    split = split if split is not None else sentences(text)
    units = [title, *(s.text for s in split)]
    starts: list[int] = []
    offset = 0
    for unit in units:
        starts.append(offset)
        offset += len(unit) + 1
    joined = "\n".join(units)

    def unit_at(position: int) -> str:
        return units[bisect.bisect_right(starts, position) - 1]

    low = joined.lower()
    for name, pattern in _COMPILED.get(category, {}).items():
        if not any(t in low for t in TRIGGERS[name]):
            continue  # a substring test is far cheaper than the pattern
        match = pattern.search(joined)
        if match:
            out.facets[name] = unit_at(match.start())
    for match in ENTRY.finditer(joined) if any(t in low for t in ENTRY_TRIGGERS) else ():
        unit = unit_at(match.start())
        if not re.search(r"(?i)not (?:an? )?(?:entry|apprentice|trainee)|CPC-A (?:is |are )?not",
                         unit):
            out.entry_level, out.entry_evidence = True, unit
            break
    required: list[tuple[int, str]] = []
    preferred: list[tuple[int, str]] = []
    for rank, (_level, pattern) in enumerate(_EDU):
        if not any(t in low for t in EDU_TRIGGERS[rank]):
            continue
        for match in pattern.finditer(joined):
            unit = unit_at(match.start())
            if _EDU_CONTEXT.search(unit):
                asked = preferred if re.search(r"(?i)preferred|a plus|desirable", unit) \
                    else required
                asked.append((rank, unit))
    # the lowest level asked as a requirement is the floor; failing that, the lowest preferred
    chosen = max(required or preferred, default=None)
    if chosen is not None:
        out.education, out.education_evidence = _EDU[chosen[0]][0], chosen[1]
    for match in YEARS.finditer(joined) if "year" in low else ():
        years = _years(match)
        if years <= 30 and (out.years_experience is None or years < out.years_experience):
            out.years_experience, out.years_evidence = years, unit_at(match.start())
    return out
