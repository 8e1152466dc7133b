"""The values each filter accepts, taken from the classifier and the pipeline so that the API
can never offer a value the tagger does not produce (nor miss one it does)."""

from __future__ import annotations

from typing import Literal, get_args

from classifier.credentials import VOCABULARY
from classifier.facets import ADMINISTRATION_FACETS, CODING_FACETS
from pipeline.normalize import US_STATES

Category = Literal["coding", "administration", "other"]
RemoteKind = Literal["remote", "hybrid", "onsite"]
Requirement = Literal["required", "preferred"]
Sort = Literal["newest", "salary"]
CATEGORIES: tuple[str, ...] = get_args(Category)
REMOTE_KINDS: tuple[str, ...] = get_args(RemoteKind)
REQUIREMENTS: tuple[str, ...] = get_args(Requirement)
SORTS: tuple[str, ...] = get_args(Sort)
CREDENTIALS: tuple[str, ...] = tuple(VOCABULARY)
STATES: dict[str, str] = dict(US_STATES)
# facet name -> the category whose postings can carry it (as classifier.facets decides)
FACETS: dict[str, str] = {**{name: "coding" for name in CODING_FACETS},
                          **{name: "administration" for name in ADMINISTRATION_FACETS}}

FACET_LABELS = {name: name.capitalize() for name in FACETS} | {
    "cdi": "CDI (documentation integrity)", "pro-fee": "Pro-fee", "him": "HIM (health information)",
    "revenue cycle": "Revenue cycle", "behavioral health": "Behavioral health"}
CATEGORY_LABELS = {"coding": "Coding", "administration": "Administration", "other": "Other"}
REMOTE_LABELS = {"remote": "Remote", "hybrid": "Hybrid", "onsite": "On-site"}
# what each credential is (docs/labeling-guide.md), shown as a tooltip and on posting pages
CREDENTIAL_NAMES = {
    "CPC": "Certified Professional Coder (AAPC)",
    "CPC-A": "Certified Professional Coder - Apprentice (AAPC)",
    "COC": "Certified Outpatient Coder (AAPC)",
    "CIC": "Certified Inpatient Coder (AAPC)",
    "CRC": "Certified Risk Adjustment Coder (AAPC)",
    "CPMA": "Certified Professional Medical Auditor (AAPC)",
    "CPCO": "Certified Professional Compliance Officer (AAPC)",
    "CPB": "Certified Professional Biller (AAPC)",
    "CDEO": "Certified Documentation Expert Outpatient (AAPC)",
    "CEMC": "Certified Evaluation and Management Coder (AAPC)",
    "CCA": "Certified Coding Associate (AHIMA)",
    "CCS": "Certified Coding Specialist (AHIMA)",
    "CCS-P": "Certified Coding Specialist - Physician-based (AHIMA)",
    "RHIT": "Registered Health Information Technician (AHIMA)",
    "RHIA": "Registered Health Information Administrator (AHIMA)",
    "CDIP": "Certified Documentation Integrity Practitioner (AHIMA)",
    "CHPS": "Certified in Healthcare Privacy and Security (AHIMA)",
    "CCDS": "Certified Clinical Documentation Specialist (ACDIS)",
    "ACC": "Accredited Clinical Coder (UK)",
    "FACHE": "Fellow of the American College of Healthcare Executives",
    "CMPE": "Certified Medical Practice Executive",
    "CHFP": "Certified Healthcare Financial Professional",
    "CPHQ": "Certified Professional in Healthcare Quality",
    "CHC": "Certified in Healthcare Compliance",
    "MHA": "Master of Health Administration",
    "MHSA": "Master of Health Services Administration",
    "MBA": "Master of Business Administration",
    "MPH": "Master of Public Health",
    "RN": "Registered Nurse",
}
# the choices the browse page offers; the API takes any amount / any date
SALARY_STEPS = (40_000, 60_000, 80_000, 100_000, 150_000)
POSTED_WINDOWS = {"1d": "Past 24 hours", "7d": "Past week", "30d": "Past month"}
