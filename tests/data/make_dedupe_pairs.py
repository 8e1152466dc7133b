"""Writes dedupe_pairs.jsonl: labeled posting pairs for measuring near-duplicate detection.

    python tests/data/make_dedupe_pairs.py

Every posting is invented. Each is an employer's own text (its introduction and benefits)
around a role description; role descriptions were written independently, two to four per
title, the way two hospitals word the same job differently. Pairs are built the ways
duplicates and look-alikes arise on real boards, with a fixed random seed:

duplicates (label true)
  repost          the same board lists the job again under a new id, lightly edited
  agency          a staffing agency reposts it under its own name, with its own header and
                  footer, sometimes naming the client, sometimes dropping the employer's intro
  aggregator      an aggregator copies it: employer name and location spelled differently,
                  bullets flattened, a board suffix on the title
  same_url        another board links the employer's URL with tracking parameters
  retitled        an aggregator keeps the text but rewrites the title
  repost_edited   a repost whose summary, bullets and pay were rewritten in part
  agency_reworded an agency copy with its bullets reworded, lightly or heavily
  truncated       an aggregator shows the first part of the text and a "read more" link
not duplicates (label false)
  two_hospitals_same_city / two_hospitals   the same title at two employers, own texts
  two_cities      one employer's template posted for two cities (or remote for two states)
  two_specialties the same employer, title and city, for two different specialties
  two_departments one template, one city, two openings whose titles name their department
  outside_window  the same text listed again months after the first listing ended
  agency_other_job  an agency's own posting with the employer's title and city
  unrelated       different jobs (the base rate)

Each line: {"case", "duplicate", "a", "b"}; a and b are crawled items (the JobPosting fields
the store reads) plus "last_seen" when the posting stayed listed after it was posted.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("dedupe_pairs.jsonl")

EMPLOYERS: dict[str, dict[str, Any]] = {
    "riverbend": {
        "name": "Riverbend Health", "city": "Grand Rapids, MI", "site": "riverbendhealth",
        "alt": ["Riverbend Health System", "Riverbend Health, Inc."],
        "intro": "Riverbend Health is a four-hospital system serving West Michigan, with 9,000 "
                 "team members and a Level I trauma center on our downtown campus. Our Health "
                 "Information Management department supports every inpatient and outpatient "
                 "encounter across the system.",
        "benefits": "We offer medical, dental and vision coverage on day one, a 403(b) with a "
                    "5% match, tuition assistance, and paid AHIMA or AAPC dues.",
    },
    "mercylakes": {
        "name": "Mercy Lakes Medical Center", "city": "Grand Rapids, MI", "site": "mercylakes",
        "alt": ["Mercy Lakes Medical Center Inc", "Mercy Lakes"],
        "intro": "Mercy Lakes Medical Center is a 410-bed Catholic teaching hospital on the "
                 "Grand River. For over a century our sisters, physicians and staff have cared "
                 "for the whole person, body, mind and spirit.",
        "benefits": "Benefits include a pension plan, generous paid time off, on-site child "
                    "care, free parking, and an annual continuing education stipend.",
    },
    "lakeshore": {
        "name": "Lakeshore Health System", "city": "Columbus, OH", "site": "lakeshorehealth",
        "alt": ["Lakeshore Health", "Lakeshore Health Systems LLC"],
        "intro": "Lakeshore Health System brings together six hospitals and more than eighty "
                 "outpatient sites across central Ohio. We are a not-for-profit system guided "
                 "by one promise: the right care, close to home.",
        "benefits": "Full-time associates receive medical and prescription coverage, a 401(k) "
                    "with employer contribution, 24 days of PTO, and student loan support.",
    },
    "buckeye": {
        "name": "Buckeye Orthopedic Partners", "city": "Columbus, OH", "site": "buckeyeortho",
        "alt": ["Buckeye Orthopedic Partners, LLC", "Buckeye Orthopedic Partners LLC"],
        "intro": "Buckeye Orthopedic Partners is a physician-owned practice of 64 surgeons, "
                 "two ambulatory surgery centers and a sports medicine institute that cares for "
                 "three Big Ten athletic programs.",
        "benefits": "You will enjoy a profit-sharing plan, a Monday to Friday schedule with no "
                    "weekends, scrubs allowance, and a paid certification exam.",
    },
    "summit": {
        "name": "Summit Valley Health", "city": "Denver, CO", "site": "summitvalley",
        "alt": ["Summit Valley Health System", "Summit Valley Healthcare"],
        "intro": "Summit Valley Health is Colorado's largest independent health system, with "
                 "twelve hospitals from the Front Range to the Western Slope and a growing "
                 "network of virtual care programs.",
        "benefits": "We provide a choice of three medical plans, a 457(b), fertility benefits, "
                    "an outdoor recreation pass and paid volunteer days.",
    },
    "frontrange": {
        "name": "Front Range Physicians Group", "city": "Denver, CO", "site": "frontrangepg",
        "alt": ["Front Range Physicians Group, P.C.", "Front Range Physicians Group PC"],
        "intro": "Front Range Physicians Group is a multispecialty medical group of 300 "
                 "providers practicing in 45 clinics around metro Denver, Boulder and Colorado "
                 "Springs.",
        "benefits": "Our team members receive health and dental insurance, a 401(k) match, "
                    "paid holidays, and an RTD EcoPass for commuting.",
    },
    "keystone": {
        "name": "Keystone Health Plan", "city": "Harrisburg, PA", "site": "keystonehp",
        "alt": ["Keystone Health Plan Inc.", "Keystone Health Plan, Inc"],
        "intro": "Keystone Health Plan is a regional health insurer covering 1.2 million "
                 "members in Medicare Advantage, Medicaid managed care and commercial plans "
                 "across Pennsylvania and its neighbors.",
        "benefits": "Associates enjoy a hybrid-friendly culture, a pension and 401(k), a "
                    "wellness reimbursement, and paid parental leave.",
    },
    "piedmont": {
        "name": "Piedmont Regional Hospital", "city": "Charlotte, NC", "site": "piedmontregional",
        "alt": ["Piedmont Regional Hospital Inc", "Piedmont Regional"],
        "intro": "Piedmont Regional Hospital is a 620-bed academic medical center and the "
                 "region's only pediatric trauma center, affiliated with a top-ranked school "
                 "of medicine.",
        "benefits": "Teammates receive competitive pay with shift differentials, a 403(b) "
                    "match, tuition reimbursement and an employee assistance program.",
    },
    "carolinafm": {
        "name": "Carolina Family Medicine Associates", "city": "Charlotte, NC",
        "site": "carolinafm", "alt": ["Carolina Family Medicine Associates, PA"],
        "intro": "Carolina Family Medicine Associates has cared for Charlotte families for "
                 "forty years, with eleven neighborhood offices, same-day sick visits and "
                 "an in-house lab.",
        "benefits": "We offer medical and dental coverage, a SIMPLE IRA with match, birthday "
                    "PTO, and a relaxed business casual dress code.",
    },
    "cascade": {
        "name": "Cascade Community Health", "city": "Yakima, WA", "site": "cascadechc",
        "alt": ["Cascade Community Health Center", "Cascade Community Health Inc"],
        "intro": "Cascade Community Health is a federally qualified health center serving "
                 "farmworker families in the Yakima Valley with medical, dental and behavioral "
                 "health care in English and Spanish.",
        "benefits": "Staff receive a 100% employer-paid medical plan, loan repayment "
                    "eligibility through NHSC, and 13 paid holidays.",
    },
    "gulfcoast": {
        "name": "Gulf Coast Health Partners", "city": "Tampa, FL", "site": "gulfcoasthp",
        "alt": ["Gulf Coast Health Partners LLC", "Gulf Coast Health Partners, L.L.C."],
        "intro": "Gulf Coast Health Partners is a value-based primary care organization with "
                 "38 senior-focused centers along Florida's west coast.",
        "benefits": "We offer a quarterly performance bonus, medical, dental and vision plans, "
                    "a 401(k) with immediate vesting, and paid community service time.",
    },
    "heartland": {
        "name": "Heartland Rural Health", "city": "Wichita, KS", "site": "heartlandrural",
        "alt": ["Heartland Rural Health Inc.", "Heartland Rural Health Network"],
        "intro": "Heartland Rural Health operates critical access hospitals and rural health "
                 "clinics in 22 Kansas counties, keeping care close to farming communities.",
        "benefits": "Benefits include KPERS retirement, affordable family coverage, relocation "
                    "assistance and a rural service loan repayment program.",
    },
}

AGENCIES = {
    "apex": {"name": "Apex Clinical Staffing", "source": "apex-staffing",
             "head": "Apex Clinical Staffing is recruiting for a {adj} {kind} in {where}. "
                     "This is a {deal} opportunity with one of our longest-standing clients.",
             "tail": "Apex Clinical Staffing has placed health information professionals "
                     "since 2004. Submit your resume today and a recruiter will call you "
                     "within one business day."},
    "medcode": {"name": "MedCode Talent Partners", "source": "medcode-talent",
                "head": "MedCode Talent Partners has an exclusive {deal} search for a {adj} "
                        "{kind}. Our client is located in {where}.",
                "tail": "Why MedCode? Weekly pay, a dedicated coding recruiter, and free CEUs "
                        "for every consultant on assignment."},
    "himconnect": {"name": "HIM Connect Recruiting", "source": "himconnect",
                   "head": "HIM Connect Recruiting is partnering with a {adj} {kind} to fill "
                           "the role below ({deal}).",
                   "tail": "HIM Connect Recruiting is a woman-owned firm specializing in "
                           "health information and revenue cycle careers."},
}
AGGREGATORS = ["healthjobshub", "codingcareers-board", "careerpath-health"]

# Role descriptions: (title, summary, duties, requirements). Several per job, written apart.
ROLES: dict[str, list[dict[str, Any]]] = {
    "inpatient": [
        {"title": "Inpatient Coder II",
         "summary": "The Inpatient Coder II reviews complete inpatient medical records and "
                    "assigns ICD-10-CM and ICD-10-PCS codes that determine the MS-DRG and "
                    "APR-DRG for each stay.",
         "duties": ["Abstract diagnoses and procedures from discharge summaries, operative "
                    "reports and progress notes",
                    "Assign POA indicators and validate the working DRG",
                    "Send compliant queries to physicians when documentation conflicts",
                    "Meet a productivity standard of 2.5 inpatient charts per hour",
                    "Keep DNFB accounts under three days"],
         "reqs": ["CCS credential required; RHIT or RHIA preferred",
                  "Three years of acute care inpatient coding",
                  "Working knowledge of 3M 360 Encompass",
                  "Accuracy of 95% or better on quarterly audits"]},
        {"title": "Inpatient Coder II",
         "summary": "Join our coding team to translate hospital stays into accurate codes. "
                    "You will code complex medical and surgical admissions, including trauma, "
                    "transplant and cardiovascular cases.",
         "duties": ["Code inpatient accounts using Epic and the Optum encoder",
                    "Sequence principal and secondary diagnoses per Official Guidelines",
                    "Collaborate with CDI specialists on query opportunities",
                    "Resolve coding edits and clinical validation denials",
                    "Participate in monthly education on Coding Clinic updates"],
         "reqs": ["Certified Coding Specialist (CCS) or CIC",
                  "Two or more years coding inpatient records at a Level I or II trauma center",
                  "Strong anatomy, physiology and pharmacology background",
                  "Ability to work independently in a remote setting"]},
        {"title": "Inpatient Coder II",
         "summary": "We are looking for an experienced coder to work inpatient charts for our "
                    "community hospitals. Most of our cases are medicine, obstetrics and "
                    "orthopedic joint replacements.",
         "duties": ["Review charts the day after discharge and finalize codes",
                    "Apply DRG grouping logic and check for missed CCs and MCCs",
                    "Work the coding hold queue and communicate with patient accounts",
                    "Document coding rationale for second-level review"],
         "reqs": ["CCS, CIC, RHIT or RHIA required",
                  "At least two years of inpatient facility coding",
                  "Familiarity with MS-DRG and APR-DRG methodologies",
                  "High school diploma; associate degree in HIM preferred"]},
    ],
    "outpatient": [
        {"title": "Outpatient Coding Specialist",
         "summary": "The Outpatient Coding Specialist codes emergency department, observation "
                    "and ancillary encounters for facility billing using ICD-10-CM, CPT and "
                    "HCPCS Level II.",
         "duties": ["Assign E/M facility levels using our ED acuity criteria",
                    "Code infusions, injections and observation hours",
                    "Apply NCCI edits and modifiers 25, 59 and XU correctly",
                    "Review outpatient code editor edits before claims drop",
                    "Code 18 to 22 ED charts per hour while holding 95% accuracy"],
         "reqs": ["CPC, COC or CCS certification required",
                  "One year of hospital outpatient coding",
                  "Knowledge of APC and OPPS payment rules",
                  "Comfortable with dual monitors and Epic"]},
        {"title": "Outpatient Coding Specialist",
         "summary": "In this role you will code same-day surgery, clinic and diagnostic "
                    "imaging visits for our hospital outpatient departments, working closely "
                    "with the revenue integrity team.",
         "duties": ["Code ambulatory surgery cases from operative notes",
                    "Assign CPT codes for radiology, cardiology and GI procedures",
                    "Check medical necessity against LCD and NCD policies",
                    "Correct charge capture discrepancies with department managers",
                    "Track and trend denial reasons for your work queue"],
         "reqs": ["Current COC or CPC; CCS welcome",
                  "Two years of outpatient facility coding experience",
                  "Solid grasp of CPT surgical guidelines",
                  "Excellent written communication"]},
    ],
    "riskadj": [
        {"title": "Risk Adjustment Coder",
         "summary": "As a Risk Adjustment Coder you will review Medicare Advantage member "
                    "records and capture chronic conditions that map to CMS-HCC model "
                    "version 28.",
         "duties": ["Review progress notes for MEAT support of each diagnosis",
                    "Abstract ICD-10-CM codes into our coding platform",
                    "Flag documentation gaps for provider education",
                    "Code three to four charts per hour during retrospective projects",
                    "Take part in inter-rater reliability reviews"],
         "reqs": ["CRC or CPC certification required",
                  "Two years of risk adjustment coding",
                  "Knowledge of HCC hierarchies and RAF scoring",
                  "Reliable high-speed internet and a private workspace"]},
        {"title": "Risk Adjustment Coder",
         "summary": "Our risk adjustment program supports value-based contracts with five "
                    "payers. The coder will perform prospective and retrospective reviews for "
                    "patients attributed to our senior care centers.",
         "duties": ["Prepare pre-visit summaries of suspected conditions for providers",
                    "Validate diagnoses submitted on claims against the medical record",
                    "Report on recapture rates for each care center",
                    "Support RADV audit preparation with documentation packets",
                    "Answer coding questions from clinicians by chat and email"],
         "reqs": ["CRC required within six months of hire; CPC accepted",
                  "Experience in a value-based or Medicare Advantage setting",
                  "Proficiency with athenaOne or eClinicalWorks",
                  "Strong Excel skills including pivot tables"]},
        {"title": "Risk Adjustment Coder",
         "summary": "The coder reviews medical records obtained from network providers for "
                    "our Medicaid and ACA populations, under the HHS-HCC model and state "
                    "chronic illness programs.",
         "duties": ["Code outpatient and inpatient records for HHS-HCC capture",
                    "Identify unsupported diagnoses for deletion",
                    "Maintain quality scores above 95% on weekly audits",
                    "Enter findings into the chart review tool accurately"],
         "reqs": ["CRC, CPC or CCS-P",
                  "One to three years of coding experience in risk adjustment",
                  "Understanding of HHS-HCC and CDPS models",
                  "Able to meet production goals in a fully remote role"]},
    ],
    "profee_ortho": [
        {"title": "Professional Fee Coder",
         "summary": "Code surgeon and clinic services for our orthopedic and sports medicine "
                    "providers, including arthroscopy, total joints, spine and fracture care.",
         "duties": ["Assign CPT, ICD-10-CM and HCPCS codes from operative notes",
                    "Apply global surgical package rules and modifiers 24, 57, 58 and 79",
                    "Code DME and injection supplies with correct units",
                    "Review claim edits and resubmit rejected charges"],
         "reqs": ["CPC or COC required; CPC-O a plus",
                  "Two years of orthopedic surgical coding",
                  "Experience with Modernizing Medicine or Epic",
                  "Attention to detail with high volumes"]},
    ],
    "profee_cardio": [
        {"title": "Professional Fee Coder",
         "summary": "Code professional services for our cardiology division: interventional "
                    "procedures, electrophysiology studies, echocardiography and office "
                    "visits.",
         "duties": ["Code cardiac catheterizations, stents and device implants",
                    "Apply supervision and interpretation rules for imaging",
                    "Validate E/M levels against 2021 office visit guidelines",
                    "Work the cardiology denials queue with the billing team"],
         "reqs": ["CPC required; CCC preferred",
                  "Three years of cardiology professional fee coding",
                  "Understanding of NCCI and MPFS payment policy",
                  "Excellent organization and follow-through"]},
    ],
    "profee_derm": [
        {"title": "Professional Fee Coder",
         "summary": "Support our dermatology and Mohs surgery providers by coding excisions, "
                    "repairs, biopsies and pathology with clean claims in mind.",
         "duties": ["Code lesion excisions by size and morphology",
                    "Assign Mohs surgery stages and repair codes",
                    "Link pathology results to procedures before billing",
                    "Educate medical assistants on charge entry"],
         "reqs": ["CPC or COC",
                  "Dermatology coding experience strongly preferred",
                  "Familiarity with EMA or Nextech",
                  "Friendly team player"]},
    ],
    "auditor": [
        {"title": "Coding Quality Auditor",
         "summary": "The auditor performs pre-bill and retrospective reviews of inpatient and "
                    "outpatient coding, reports trends and delivers targeted education to "
                    "coders.",
         "duties": ["Audit a statistically valid sample of each coder's work every quarter",
                    "Rebut payer DRG downgrades with clinical and coding evidence",
                    "Build education sessions from audit findings",
                    "Present results to the HIM leadership team"],
         "reqs": ["CCS and RHIA or RHIT required",
                  "Five years of coding with two years of auditing",
                  "Expert knowledge of Official Guidelines and Coding Clinic",
                  "Strong presentation skills"]},
        {"title": "Coding Quality Auditor",
         "summary": "We need a detail-driven auditor to review professional fee coding across "
                    "our primary care and specialty clinics and help providers document "
                    "accurately.",
         "duties": ["Review E/M leveling and procedure coding for providers",
                    "Score audits in our compliance tool and write findings",
                    "Meet one-on-one with providers to share results",
                    "Monitor OIG work plan topics and payer policy changes"],
         "reqs": ["CPC plus CPMA required",
                  "Three years of professional fee auditing",
                  "Comfortable giving feedback to physicians",
                  "Bachelor's degree preferred"]},
    ],
    "cdi": [
        {"title": "Clinical Documentation Integrity Specialist",
         "summary": "The CDI Specialist reviews inpatient records concurrently to make sure "
                    "documentation reflects the severity of illness and risk of mortality of "
                    "every patient.",
         "duties": ["Perform initial and follow-up reviews on medical and surgical units",
                    "Issue compliant, non-leading queries to providers",
                    "Reconcile working DRGs with final coded DRGs",
                    "Track query response and agreement rates"],
         "reqs": ["Registered nurse license required; CCDS or CDIP preferred",
                  "Three years of acute care clinical experience",
                  "Knowledge of ACDIS and AHIMA query practice guidelines",
                  "Excellent critical thinking"]},
        {"title": "Clinical Documentation Integrity Specialist",
         "summary": "Our outpatient CDI program focuses on the accuracy of chronic condition "
                    "documentation in clinic notes before claims are submitted.",
         "duties": ["Review upcoming appointments for documentation opportunities",
                    "Provide real-time feedback to providers on specificity",
                    "Measure improvement in HCC capture and quality gaps",
                    "Create tip sheets for specialty clinics"],
         "reqs": ["CDIP, CCDS-O or CRC required",
                  "Clinical background such as RN, LPN or MA preferred",
                  "Experience with Epic In Basket messaging",
                  "Self-starter who enjoys teaching"]},
    ],
    "coding_manager": [
        {"title": "Coding Manager",
         "summary": "Lead a team of 25 inpatient and outpatient coders, set productivity and "
                    "quality goals, and partner with revenue cycle leaders on DNFB and denial "
                    "performance.",
         "duties": ["Hire, coach and evaluate coding staff",
                    "Monitor productivity dashboards and coding backlogs daily",
                    "Own the annual coding compliance plan",
                    "Lead implementation of computer-assisted coding"],
         "reqs": ["RHIA or RHIT plus CCS required",
                  "Five years of coding including three in leadership",
                  "Bachelor's degree in HIM or related field",
                  "Experience managing remote teams"]},
        {"title": "Coding Manager",
         "summary": "The Coding Manager oversees professional fee coding and charge entry for "
                    "a growing physician enterprise, including onboarding of new practices.",
         "duties": ["Supervise coders, charge entry staff and a coding educator",
                    "Set up charge review work queues for newly acquired practices",
                    "Report monthly on charge lag and coding accuracy",
                    "Serve as escalation point for provider coding questions"],
         "reqs": ["CPC required, CPMA or CPC-I preferred",
                  "Four years of supervisory experience in physician billing",
                  "Proficiency with Epic Resolute Professional Billing",
                  "Bachelor's degree or equivalent experience"]},
    ],
    "practice_manager": [
        {"title": "Practice Manager",
         "summary": "The Practice Manager runs day-to-day operations of a busy clinic with "
                    "eight providers and twenty staff, balancing patient experience, access "
                    "and financial results.",
         "duties": ["Manage staffing, schedules and payroll for front and back office",
                    "Monitor patient satisfaction and access metrics",
                    "Prepare and manage the clinic's annual budget",
                    "Ensure compliance with OSHA, CLIA and HIPAA"],
         "reqs": ["Bachelor's degree in healthcare or business administration",
                  "Three years of medical practice management",
                  "CMPE preferred",
                  "Strong leadership and conflict resolution skills"]},
        {"title": "Practice Manager",
         "summary": "We are seeking a hands-on leader for our flagship clinic, someone who "
                    "loves solving problems on the floor and coaching a young team.",
         "duties": ["Open and close the clinic and cover the front desk when needed",
                    "Review daily charge reconciliation and collections",
                    "Recruit and train medical assistants and receptionists",
                    "Work with physicians on template and scheduling changes"],
         "reqs": ["Associate degree required; bachelor's preferred",
                  "Five years in a physician office, two as a supervisor",
                  "Knowledge of payer credentialing and referrals",
                  "Bilingual English and Spanish a plus"]},
    ],
    "rc_director": [
        {"title": "Director, Revenue Cycle",
         "summary": "The Director of Revenue Cycle is accountable for patient access, coding, "
                    "billing and collections, with a net revenue of $1.4 billion.",
         "duties": ["Lead six managers across front, middle and back-end revenue cycle",
                    "Reduce days in accounts receivable and cost to collect",
                    "Negotiate and manage vendor contracts for early-out and denials",
                    "Report performance to the CFO and board finance committee"],
         "reqs": ["Bachelor's degree required; MBA or MHA preferred",
                  "Ten years of revenue cycle experience, five in leadership",
                  "CRCR or CHFP certification preferred",
                  "Experience with Epic conversions"]},
        {"title": "Director, Revenue Cycle",
         "summary": "Our physician group needs a revenue cycle leader to rebuild billing "
                    "operations after a system conversion and set us up for value-based "
                    "contracts.",
         "duties": ["Stabilize charge lag and claim rejections after go-live",
                    "Create a denials prevention program with clinical leaders",
                    "Build dashboards for payer mix and reimbursement trends",
                    "Lead a team of forty billing and coding staff"],
         "reqs": ["Bachelor's degree; master's preferred",
                  "Eight years of physician revenue cycle leadership",
                  "Strong analytical and financial skills",
                  "HFMA certification a plus"]},
    ],
    "compliance": [
        {"title": "Compliance Officer",
         "summary": "The Compliance Officer leads our compliance program, reporting to the "
                    "CEO and the board audit committee, and oversees billing, privacy and "
                    "regulatory risk.",
         "duties": ["Maintain the compliance work plan and risk assessment",
                    "Investigate hotline reports and oversee corrective actions",
                    "Coordinate external audits and government inquiries",
                    "Deliver annual compliance training to all staff"],
         "reqs": ["Bachelor's degree required; JD or master's preferred",
                  "CHC certification required",
                  "Seven years of healthcare compliance experience",
                  "Knowledge of Stark, Anti-Kickback and False Claims Act"]},
        {"title": "Compliance Officer",
         "summary": "Our health plan seeks a Medicare compliance officer to own CMS program "
                    "audits, delegated vendor oversight, and the Medicare compliance "
                    "committee.",
         "duties": ["Monitor CMS memos and implement required changes",
                    "Oversee first tier, downstream and related entities",
                    "Prepare universes for CMS program audits",
                    "Chair the Medicare compliance committee"],
         "reqs": ["Bachelor's degree and CHC or CPCO",
                  "Five years in Medicare Advantage compliance",
                  "Experience leading a CMS program audit",
                  "Excellent regulatory writing"]},
    ],
    "billing": [
        {"title": "Medical Billing Specialist",
         "summary": "The Billing Specialist prepares and submits clean claims and follows up "
                    "on unpaid accounts for our commercial and government payers.",
         "duties": ["Submit claims electronically and correct clearinghouse rejections",
                    "Follow up on accounts over 45 days in AR",
                    "Post payments and adjustments from ERAs",
                    "Call payers to resolve denials and request reconsiderations"],
         "reqs": ["Two years of medical billing experience",
                  "CPB certification preferred",
                  "Knowledge of CMS-1500 and UB-04 claim forms",
                  "Good phone manners and patience"]},
        {"title": "Medical Billing Specialist",
         "summary": "Help patients understand their bills. This billing role focuses on "
                    "patient balances, payment plans and financial assistance applications.",
         "duties": ["Answer patient billing calls and portal messages",
                    "Set up payment plans according to policy",
                    "Screen patients for financial assistance",
                    "Send accounts to collections after review"],
         "reqs": ["One year of customer service in healthcare billing",
                  "Knowledge of EOBs, deductibles and coinsurance",
                  "Calm, empathetic communicator",
                  "High school diploma or GED"]},
    ],
}
DEALS = ["direct hire", "contract-to-hire", "13-week contract", "permanent"]
ADJECTIVES = ["respected", "nationally ranked", "growing", "award-winning"]
KINDS = {"riverbend": "health system", "mercylakes": "teaching hospital",
         "lakeshore": "health system", "buckeye": "orthopedic practice",
         "summit": "health system", "frontrange": "medical group", "keystone": "health plan",
         "piedmont": "academic medical center", "carolinafm": "family practice",
         "cascade": "community health center", "gulfcoast": "primary care organization",
         "heartland": "rural health network"}
OTHER_CITIES = {"riverbend": ["Holland, MI", "Muskegon, MI"], "mercylakes": ["Lansing, MI"],
                "lakeshore": ["Dayton, OH", "Marion, OH"], "buckeye": ["Westerville, OH"],
                "summit": ["Colorado Springs, CO", "Grand Junction, CO"],
                "frontrange": ["Boulder, CO"], "keystone": ["Pittsburgh, PA"],
                "piedmont": ["Gastonia, NC"], "carolinafm": ["Matthews, NC"],
                "cascade": ["Sunnyside, WA"], "gulfcoast": ["St. Petersburg, FL"],
                "heartland": ["Salina, KS"]}
STATE_NAMES = {"MI": "Michigan", "OH": "Ohio", "CO": "Colorado", "PA": "Pennsylvania",
               "NC": "North Carolina", "WA": "Washington", "FL": "Florida", "KS": "Kansas"}
REMOTE_STATES = ["Remote - OH, KY, IN", "Remote - TX", "Remote - CO, WY, UT", "Remote - PA, NJ",
                 "Remote - FL, GA", "Remote - MI"]

rng = random.Random(20261127)
counter = iter(range(100000, 999999))
T0 = date(2026, 3, 2)


def html(employer: dict[str, Any], role: dict[str, Any], *, intro: bool = True,
         pay: str | None = None, drop_bullet: int | None = None) -> str:
    """The posting's HTML: intro, summary, duties, requirements, benefits, pay."""
    duties = [d for i, d in enumerate(role["duties"]) if i != drop_bullet]
    parts = [f"<p>{employer['intro']}</p>"] if intro else []
    parts += [f"<p>{role['summary']}</p>", "<h3>What you will do</h3>",
              "<ul>" + "".join(f"<li>{d}</li>" for d in duties) + "</ul>",
              "<h3>What you bring</h3>",
              "<ul>" + "".join(f"<li>{r}</li>" for r in role["reqs"]) + "</ul>",
              f"<p>{employer['benefits']}</p>"]
    if pay:
        parts.append(f"<p>Pay range: {pay}</p>")
    parts.append(f"<p><em>{employer['name']} is an equal opportunity employer. All qualified "
                 "applicants will receive consideration without regard to race, color, "
                 "religion, sex, national origin, disability or veteran status.</em></p>")
    return "".join(parts)


def posting(key: str, role: dict[str, Any], *, day: int, source: str | None = None,
            company: str | None = None, title: str | None = None,
            location: str | None = None, body: str | None = None, url: str | None = None,
            last_seen: int | None = None) -> dict[str, Any]:
    """A crawled item of employer `key` posted `day` days after T0."""
    employer = EMPLOYERS[key]
    ext = str(next(counter))
    item: dict[str, Any] = {
        "source": source or key,
        "external_id": ext,
        "title": title or role["title"],
        "company": company or employer["name"],
        "locations": [location or employer["city"]],
        "url": url or f"https://careers.{employer['site']}.example/jobs/{ext}",
        "description_html": body if body is not None else html(employer, role,
                                                                pay=pay_for(role)),
        "posted_raw": (T0 + timedelta(days=day)).isoformat(),
    }
    if last_seen is not None:
        item["last_seen"] = (T0 + timedelta(days=last_seen)).isoformat()
    return item


def pay_for(role: dict[str, Any]) -> str:
    if "Director" in role["title"] or "Officer" in role["title"] or "Manager" in role["title"]:
        low = rng.randrange(85, 150) * 1000
        return f"${low:,} - ${low + rng.randrange(15, 40) * 1000:,} per year"
    low = rng.randrange(21, 32)
    return f"${low}.00 - ${low + rng.randrange(4, 9)}.00 per hour"


def flatten(body: str) -> str:
    """What an aggregator makes of HTML: one paragraph, bullets run together with dots."""
    text = (body.replace("</li><li>", ". ").replace("<li>", "").replace("</li>", ". ")
            .replace("<h3>", "").replace("</h3>", ": "))
    for tag in ("<ul>", "</ul>", "<p>", "<em>", "</em>"):
        text = text.replace(tag, "")
    return "<p>" + text.replace("</p>", " ") + "</p>"


REWORDS = [("Review", "Evaluate"), ("Assign", "Select"), ("Code ", "Accurately code "),
           ("required", "is a must"), ("preferred", "is a plus"), ("experience", "background"),
           ("Work", "Manage"), ("Maintain", "Sustain"), ("Build", "Develop"),
           ("Monitor", "Watch"), ("with", "alongside"), ("knowledge", "understanding")]


def reword(line: str) -> str:
    """A recruiter's light rewrite of one bullet: one or two words swapped."""
    for old, new in rng.sample(REWORDS, len(REWORDS)):
        if old in line:
            line = line.replace(old, new, 1)
            break
    return line


def truncate(body: str, share: float) -> str:
    """The first `share` of a posting's text, cut at a word, then "Read more"."""
    text = flatten(body)[3:-4]
    cut = text[: int(len(text) * share)].rsplit(" ", 1)[0]
    return f"<p>{cut}... Read more</p>"


def pick(family: str | None = None) -> tuple[str, dict[str, Any]]:
    fam = family or rng.choice(list(ROLES))
    return fam, rng.choice(ROLES[fam])


def employer_keys() -> list[str]:
    return list(EMPLOYERS)


def pairs() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(case: str, duplicate: bool, a: dict[str, Any], b: dict[str, Any]) -> None:
        out.append({"case": case, "duplicate": duplicate, "a": a, "b": b})

    keys = employer_keys()
    # --- duplicates ---------------------------------------------------------------
    for _ in range(14):  # repost on the same board under a new id
        key = rng.choice(keys)
        _, role = pick()
        day = rng.randrange(0, 120)
        a = posting(key, role, day=day, last_seen=day + rng.randrange(10, 40))
        gap = rng.randrange(5, 50)
        body = html(EMPLOYERS[key], role, pay=pay_for(role),
                    drop_bullet=rng.choice([None, None, 1, 2]))
        title = rng.choice([role["title"], role["title"], role["title"] + " - Remote",
                            role["title"] + " (Full Time)"])
        b = posting(key, role, day=day + gap, title=title, body=body,
                    location=a["locations"][0])
        add("repost", True, a, b)
    for _ in range(14):  # staffing agency repost
        key = rng.choice(keys)
        _, role = pick()
        agency = AGENCIES[rng.choice(list(AGENCIES))]
        day = rng.randrange(0, 120)
        a = posting(key, role, day=day, last_seen=day + rng.randrange(20, 50))
        names_client = rng.random() < 0.5
        where = EMPLOYERS[key]["name"] if names_client else EMPLOYERS[key]["city"]
        head = agency["head"].format(adj=rng.choice(ADJECTIVES), kind=KINDS[key], where=where,
                                     deal=rng.choice(DEALS))
        keep_intro = names_client or rng.random() < 0.5
        body = (f"<p>{head}</p>" + html(EMPLOYERS[key], role, intro=keep_intro,
                                        pay=pay_for(role)) + f"<p>{agency['tail']}</p>")
        title = rng.choice([role["title"], role["title"] + " - Direct Hire",
                            role["title"] + " (Contract)", role["title"] + " | " +
                            agency["name"]])
        b = posting(key, role, day=day + rng.randrange(1, 20), source=agency["source"],
                    company=agency["name"], title=title, body=body,
                    url=f"https://jobs.{agency['source']}.example/{next(counter)}")
        add("agency", True, a, b)
    for _ in range(12):  # aggregator copy
        key = rng.choice(keys)
        _, role = pick()
        employer = EMPLOYERS[key]
        day = rng.randrange(0, 120)
        a = posting(key, role, day=day, last_seen=day + rng.randrange(10, 40))
        board = rng.choice(AGGREGATORS)
        city, _, st = employer["city"].partition(", ")
        location = rng.choice([f"{city}, {STATE_NAMES[st]}",
                               f"{city}, {st} 4{rng.randrange(1000, 9999)}", f"{city}, {st}, US"])
        body = flatten(a["description_html"])
        title = rng.choice([role["title"], f"{role['title']} | {employer['name']}",
                            f"{role['title']} - {employer['city']}"])
        b = posting(key, role, day=day + rng.randrange(0, 10), source=board,
                    company=rng.choice(employer["alt"]), title=title, body=body,
                    location=location, url=f"https://www.{board}.example/job/{next(counter)}")
        add("aggregator", True, a, b)
    for _ in range(7):  # same URL with tracking parameters on another board
        key = rng.choice(keys)
        _, role = pick()
        day = rng.randrange(0, 120)
        a = posting(key, role, day=day)
        board = rng.choice(AGGREGATORS + [ag["source"] for ag in AGENCIES.values()])
        b = posting(key, role, day=day + rng.randrange(0, 30), source=board,
                    url=a["url"] + f"?utm_source={board}&utm_medium=feed&gclid=x{day}",
                    body=f"<p>{role['summary']}</p><p>Apply on the employer's site.</p>",
                    location=a["locations"][0])
        add("same_url", True, a, b)
    for _ in range(5):  # an aggregator rewrites the title, keeps the text
        key = rng.choice(keys)
        family, role = pick(rng.choice(["inpatient", "outpatient", "riskadj", "billing"]))
        day = rng.randrange(0, 120)
        a = posting(key, role, day=day, last_seen=day + 30)
        new_title = {"inpatient": "Hospital Inpatient Medical Coder",
                     "outpatient": "Outpatient Medical Coding Specialist",
                     "riskadj": "Risk Adjustment Medical Coder (HCC)",
                     "billing": "Medical Billing and Collections Specialist"}[family]
        b = posting(key, role, day=day + 3, source=rng.choice(AGGREGATORS), title=new_title,
                    body=a["description_html"], location=a["locations"][0],
                    url=f"https://www.aggregator.example/{next(counter)}")
        add("retitled", True, a, b)
    for _ in range(4):  # a repost with the summary, two bullets and the pay rewritten
        key = rng.choice(keys)
        _, role = pick()
        day = rng.randrange(0, 120)
        a = posting(key, role, day=day, last_seen=day + 20)
        edited = dict(role, summary=rng.choice(["We are growing and need another "
                                                "teammate for this role.",
                                                "This opening replaces a retiring "
                                                "colleague with twenty years here."]),
                      duties=[reword(d) for d in role["duties"][:-1]] + ["Other duties as "
                                                                          "assigned"])
        b = posting(key, role, day=day + rng.randrange(20, 40),
                    body=html(EMPLOYERS[key], edited, pay=pay_for(role)),
                    location=a["locations"][0])
        add("repost_edited", True, a, b)
    for times in (1, 1, 1, 3, 3):  # an agency copy with every bullet reworded (3: heavily)
        key = rng.choice(keys)
        _, role = pick()
        agency = AGENCIES[rng.choice(list(AGENCIES))]
        day = rng.randrange(0, 120)
        a = posting(key, role, day=day, last_seen=day + 30)
        head = agency["head"].format(adj=rng.choice(ADJECTIVES), kind=KINDS[key],
                                     where=EMPLOYERS[key]["name"], deal=rng.choice(DEALS))
        duties, reqs = list(role["duties"]), list(role["reqs"])
        for _ in range(times):
            duties, reqs = [reword(d) for d in duties], [reword(r) for r in reqs]
        reworded = dict(role, duties=duties, reqs=reqs)
        body = (f"<p>{head}</p>" + html(EMPLOYERS[key], reworded, intro=False)
                + f"<p>{agency['tail']}</p>")
        b = posting(key, role, day=day + 4, source=agency["source"], company=agency["name"],
                    body=body, url=f"https://jobs.{agency['source']}.example/{next(counter)}")
        add("agency_reworded", True, a, b)
    for _ in range(4):  # an aggregator shows the first half of the text
        key = rng.choice(keys)
        _, role = pick()
        day = rng.randrange(0, 120)
        a = posting(key, role, day=day, last_seen=day + 30)
        b = posting(key, role, day=day + 2, source=rng.choice(AGGREGATORS),
                    body=truncate(a["description_html"], rng.uniform(0.4, 0.6)),
                    location=a["locations"][0],
                    url=f"https://www.aggregator.example/{next(counter)}")
        add("truncated", True, a, b)
    # --- not duplicates -----------------------------------------------------------
    same_city = [("riverbend", "mercylakes"), ("lakeshore", "buckeye"), ("summit", "frontrange"),
                 ("piedmont", "carolinafm")]
    for i in range(14):  # same title, two employers in one city, each its own text
        k1, k2 = same_city[i % len(same_city)]
        family = rng.choice([f for f in ROLES if len(ROLES[f]) >= 2])
        r1, r2 = rng.sample(ROLES[family], 2)
        day = rng.randrange(0, 120)
        a = posting(k1, r1, day=day, last_seen=day + 30)
        b = posting(k2, r2, day=day + rng.randrange(0, 20), title=r1["title"],
                    location=a["locations"][0])
        add("two_hospitals_same_city", False, a, b)
    for _ in range(8):  # same title at two employers in different cities
        k1, k2 = rng.sample(keys, 2)
        family = rng.choice([f for f in ROLES if len(ROLES[f]) >= 2])
        r1, r2 = rng.sample(ROLES[family], 2)
        day = rng.randrange(0, 120)
        add("two_hospitals", False, posting(k1, r1, day=day, last_seen=day + 30),
            posting(k2, r2, day=day + rng.randrange(0, 20), title=r1["title"]))
    for _ in range(10):  # one employer's template posted for two cities
        key = rng.choice(list(OTHER_CITIES))
        _, role = pick()
        day = rng.randrange(0, 120)
        body = html(EMPLOYERS[key], role, pay=pay_for(role))
        a = posting(key, role, day=day, body=body, last_seen=day + 30)
        b = posting(key, role, day=day + rng.randrange(0, 10), body=body,
                    location=rng.choice(OTHER_CITIES[key]))
        add("two_cities", False, a, b)
    for _ in range(6):  # remote, the same template for two sets of states
        key = rng.choice(["keystone", "gulfcoast", "summit", "lakeshore"])
        _, role = pick(rng.choice(["riskadj", "outpatient", "auditor", "cdi"]))
        s1, s2 = rng.sample(REMOTE_STATES, 2)
        body = html(EMPLOYERS[key], role, pay=pay_for(role))
        day = rng.randrange(0, 120)
        add("two_cities", False, posting(key, role, day=day, body=body, location=s1),
            posting(key, role, day=day + 2, body=body, location=s2))
    specialties = ["profee_ortho", "profee_cardio", "profee_derm"]
    for _ in range(10):  # same employer, title and city; another specialty
        key = rng.choice(["frontrange", "summit", "carolinafm", "buckeye", "gulfcoast"])
        f1, f2 = rng.sample(specialties, 2)
        day = rng.randrange(0, 120)
        a = posting(key, ROLES[f1][0], day=day, last_seen=day + 30)
        b = posting(key, ROLES[f2][0], day=day + rng.randrange(0, 30))
        add("two_specialties", False, a, b)
    for _ in range(6):  # listed again long after the first listing ended
        key = rng.choice(keys)
        _, role = pick()
        day = rng.randrange(0, 60)
        a = posting(key, role, day=day, last_seen=day + 20)
        b = posting(key, role, day=day + 20 + rng.randrange(75, 150),
                    body=a["description_html"])
        add("outside_window", False, a, b)
    for _ in range(8):  # an agency's own posting with the employer's title and city
        key = rng.choice(keys)
        family = rng.choice([f for f in ROLES if len(ROLES[f]) >= 2])
        r1, r2 = rng.sample(ROLES[family], 2)
        agency = AGENCIES[rng.choice(list(AGENCIES))]
        head = agency["head"].format(adj=rng.choice(ADJECTIVES), kind="hospital",
                                     where=EMPLOYERS[key]["city"], deal=rng.choice(DEALS))
        body = (f"<p>{head}</p><p>{r2['summary']}</p><ul>"
                + "".join(f"<li>{d}</li>" for d in r2["duties"] + r2["reqs"])
                + f"</ul><p>{agency['tail']}</p>")
        day = rng.randrange(0, 120)
        a = posting(key, r1, day=day, last_seen=day + 30)
        b = posting(key, r2, day=day + 5, source=agency["source"], company=agency["name"],
                    title=r1["title"], body=body, location=a["locations"][0],
                    url=f"https://jobs.{agency['source']}.example/{next(counter)}")
        add("agency_other_job", False, a, b)
    departments = [("Emergency Department", "the emergency department, nights and weekends"),
                   ("Outpatient Registration", "outpatient registration, weekdays"),
                   ("Surgery Center", "our ambulatory surgery center, early mornings"),
                   ("Women's Health", "the women's health pavilion, day shift")]
    for _ in range(6):  # one template, two departments in one city
        key = rng.choice(keys)
        (d1, w1), (d2, w2) = rng.sample(departments, 2)
        role = {"title": "Patient Access Representative",
                "summary": "Patient Access Representatives greet patients, verify insurance "
                           "and collect copays so every visit starts right.",
                "duties": ["Register patients and verify demographics",
                           "Verify eligibility and benefits in real time",
                           "Collect copays and explain estimates",
                           "Scan consents, IDs and insurance cards"],
                "reqs": ["High school diploma or GED", "One year of customer service",
                         "Comfort with computers and multitasking"]}
        day = rng.randrange(0, 120)
        r1 = dict(role, summary=role["summary"] + f" This position works in {w1}.")
        r2 = dict(role, summary=role["summary"] + f" This position works in {w2}.")
        add("two_departments", False,
            posting(key, r1, day=day, title=f"{role['title']} - {d1}",
                    body=html(EMPLOYERS[key], r1)),
            posting(key, r2, day=day + 1, title=f"{role['title']} - {d2}",
                    body=html(EMPLOYERS[key], r2)))
    for _ in range(4):  # same, with identical texts: only the titles tell them apart
        key = rng.choice(keys)
        _, role = pick("billing")
        body = html(EMPLOYERS[key], role)
        day = rng.randrange(0, 120)
        add("two_departments", False,
            posting(key, role, day=day, title=f"{role['title']} - Hospital Billing",
                    body=body),
            posting(key, role, day=day + 1, title=f"{role['title']} - Physician Billing",
                    body=body))
    for _ in range(14):  # unrelated jobs
        k1, k2 = rng.choice(keys), rng.choice(keys)
        f1, f2 = rng.sample(list(ROLES), 2)
        day = rng.randrange(0, 120)
        add("unrelated", False, posting(k1, rng.choice(ROLES[f1]), day=day),
            posting(k2, rng.choice(ROLES[f2]), day=day + rng.randrange(0, 30)))
    return out


def main() -> None:
    rows = pairs()
    with open(OUT, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    dup = sum(r["duplicate"] for r in rows)
    print(f"wrote {len(rows)} pairs ({dup} duplicates, {dup / len(rows):.0%}) to {OUT}")


if __name__ == "__main__":
    main()
