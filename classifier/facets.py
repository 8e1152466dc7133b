"""Facets of a posting: which kind of coding or administration work, entry level, the
education and years of experience asked. Each facet keeps the sentence that shows it."""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from classifier.prefilter import Doc, Folded, Rule, Rules
from classifier.text import Sentence

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
_EDU_CONTEXT = Folded(r"(?i)degree|diploma|education|graduat|GED|GCSE|qualif|bachelor"
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


# Each facet's triggers (see classifier.prefilter.Rule): word starts and whole words that every
# match of its pattern holds. Keep in step with the patterns; the tests check them.
FACET_TRIGGERS: dict[str, dict[str, tuple[str, ...]]] = {
    "inpatient": {"starts": ("inpatient", "icd", "drg", "msdrg", "aprdrg")},
    "outpatient": {"starts": ("outpatient", "ambulatory", "apc", "observation")},
    "pro-fee": {"starts": ("fee", "profee", "professional", "physician", "evaluation"),
                "subs": ("e/m",)},
    "risk adjustment": {"starts": ("adjustment", "hcc", "hierarchical", "advantage"),
                        "words": ("raf",)},
    "cdi": {"starts": ("documentation", "quer"), "words": ("cdi",)},
    "audit": {"starts": ("audit", "validat", "review")},
    "education": {"starts": ("educat", "trainer")},
    "emergency": {"starts": ("emergency",), "words": ("ed", "er")},
    "surgical": {"starts": ("surg", "operative", "cases")},
    "radiology": {"starts": ("radiology", "imaging")},
    "behavioral health": {"starts": ("behavio", "psychiatr", "mental", "substance")},
    "practice": {"words": ("practice", "clinic", "physician", "surgery", "center", "centre",
                           "medical")},
    "operations": {"starts": ("operations", "department", "service", "directorate", "unit",
                              "ward")},
    "revenue cycle": {"starts": ("revenue", "financial", "billing", "accounts"),
                      "words": ("rcm",)},
    "him": {"starts": ("information", "records"), "words": ("HIM",)},
    "compliance": {"starts": ("complian", "privacy", "hipaa", "quality", "safety",
                              "accreditation", "governance"), "words": ("cqc",)},
    "executive": {"starts": ("chief", "president", "executive", "administrator", "operations"),
                  "words": ("CEO", "COO", "CFO", "CNO", "VP")},
}
_RULES = {category: {name: Rule(pattern, **FACET_TRIGGERS[name])
                     for name, pattern in patterns.items()}
          for category, patterns in _COMPILED.items()}
# entry level: one rule per group of alternatives, so the common words ("experience",
# "years") only run the alternatives that need them
ENTRY = Rules(
    Rule(r"(?i)\bentry[- ]level\b|\bnew (?:grads?|graduates?)\b|\bapprentice(?:ship)?\b"
         r"|\btrainee\b|\bCPC-A\b|\brecent graduates?\b|\bjunior\b",
         starts=("entry", "grad", "apprentice", "trainee", "cpc", "junior")),
    Rule(r"(?i)\bno (?:prior )?experience (?:required|necessary|needed)\b",
         starts=("experience",), also=("no ",)),
    Rule(r"(?i)\b0\s*(?:-|to)\s*(?:1|2) years?\b", starts=("year",), also=("0",)),
    Rule(r"(?i)\bzero\s*(?:-|to)\s*(?:1|2) years?\b", starts=("zero",)),
)
_NOT_ENTRY = Folded(r"(?i)not (?:an? )?(?:entry|apprentice|trainee)|CPC-A (?:is |are )?not")
EDU_TRIGGERS: list[dict[str, tuple[str, ...]]] = [
    {"starts": ("doctor", "phd"), "words": ("ph", "md")},
    {"starts": ("master", "graduate"),
     "words": ("mha", "mba", "mph", "mhsa", "msn", "msc", "ms")},
    {"starts": ("bachelor", "degree"), "words": ("ba", "bs", "bsc", "bsn")},
    {"starts": ("degree",), "words": ("hnd",)},
    {"starts": ("certificat", "diploma")},
    {"starts": ("school", "gcse"), "words": ("ged",)},
]
_EDU_RULES = [Rule(pattern, **EDU_TRIGGERS[rank]) for rank, (_level, pattern) in enumerate(_EDU)]
_PREFERRED = Folded(r"(?i)preferred|a plus|desirable")
# "5years" is one word: the only trigger every match holds is the substring. The search
# leaves out YEARS's optional lead-in ("minimum of", "at least", "over"): it holds no number,
# so the same numbers are found, in the same places, at a third of the cost.
_LEAD_IN = "(?:minimum (?:of )?|at least |over )?"
if _LEAD_IN not in YEARS.pattern:
    raise RuntimeError("YEARS changed: update its search (YEARS_RULE)")
YEARS_RULE = Rule(YEARS.pattern.replace(_LEAD_IN, "", 1), subs=("year",), also=("exp",))


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
                   split: list[Sentence] | None = None, doc: Doc | None = None) -> Facets:
    """Facets for the posting's category (coding or administration facets), plus entry level,
    education and years of experience for any posting.

    The title and then each sentence, in order, are the units of evidence; a pattern runs
    only on the units that hold one of its triggers. `split` is the text's sentences when the
    caller has them already; `doc` the posting prepared by the tagger.
    """
    out = Facets()
    doc = doc if doc is not None else Doc(text, title, split)
    last = doc.title

    def units(found: AbstractSet[int]) -> list[int]:
        """The units of a rule (Doc.of) in order: the title, the sentences."""
        order = sorted(found)
        if order and order[-1] == last:
            order.insert(0, order.pop())
        return order

    for name, rule in _RULES.get(category, {}).items():
        for i in units(doc.of(rule)):
            if doc.run(rule, i):
                out.facets[name] = doc.units[i]
                break
    entry = doc.live(ENTRY)
    for i in units(set().union(*(found for _rule, found in entry))):
        unit = doc.units[i]
        if doc.any(entry, i) and not _NOT_ENTRY.search(unit, doc.lows[i]):
            out.entry_level, out.entry_evidence = True, unit
            break
    # The lowest level asked as a requirement is the floor; failing that, the lowest preferred
    # (the last sentence in sort order when several ask it). So the levels are read from the
    # lowest up, and the first one asked as a requirement ends the search.
    chosen: tuple[int, str] | None = None
    for rank in reversed(range(len(_EDU_RULES))):
        rule = _EDU_RULES[rank]
        required: list[str] = []
        preferred: list[str] = []
        for i in units(doc.of(rule)):
            unit, low = doc.units[i], doc.lows[i]
            if doc.run(rule, i) and _EDU_CONTEXT.search(unit, low):
                (preferred if _PREFERRED.search(unit, low) else required).append(unit)
        if required:
            chosen = rank, max(required)
            break
        if preferred and chosen is None:
            chosen = rank, max(preferred)  # unless a lower level is asked as a requirement
    if chosen is not None:
        out.education, out.education_evidence = _EDU[chosen[0]][0], chosen[1]
    for i in units(doc.of(YEARS_RULE)):
        for match in doc.run_all(YEARS_RULE, i):
            years = _years(match)
            if years <= 30 and (out.years_experience is None or years < out.years_experience):
                out.years_experience, out.years_evidence = years, doc.units[i]
    return out
