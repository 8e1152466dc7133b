"""Facets of a posting: which kind of coding or administration work, entry level, the
education and years of experience asked. Each facet keeps the sentence that shows it."""

from __future__ import annotations

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
    education and years of experience for any posting."""
    out = Facets()
    split = split if split is not None else sentences(text)
    units = [title, *(s.text for s in split)]
    patterns = _COMPILED.get(category, {})
    for unit in units:
        for name, pattern in patterns.items():
            if name not in out.facets and pattern.search(unit):
                out.facets[name] = unit
        if not out.entry_level and ENTRY.search(unit) and not re.search(
                r"(?i)not (?:an? )?(?:entry|apprentice|trainee)|CPC-A (?:is |are )?not", unit):
            out.entry_level, out.entry_evidence = True, unit
        if _EDU_CONTEXT.search(unit):
            for rank, (level, pattern) in enumerate(_EDU):
                if pattern.search(unit) and not re.search(r"(?i)preferred|a plus|desirable",
                                                          unit):
                    current = next((i for i, (lv, _) in enumerate(_EDU)
                                    if lv == out.education), -1)
                    if rank > current:  # the lowest level asked is the floor
                        out.education, out.education_evidence = level, unit
        for match in YEARS.finditer(unit):
            years = _years(match)
            if years <= 30 and (out.years_experience is None or years < out.years_experience):
                out.years_experience, out.years_evidence = years, unit
    if out.education is None:  # only preferred levels stated: report the lowest of them
        for unit in units:
            for rank, (level, pattern) in enumerate(_EDU):
                if _EDU_CONTEXT.search(unit) and pattern.search(unit):
                    current = next((i for i, (lv, _) in enumerate(_EDU)
                                    if lv == out.education), -1)
                    if rank > current:
                        out.education, out.education_evidence = level, unit
    return out
