"""What a posting looks like to a job seeker: summary, tags with evidence, JSON-LD, and the
description with its evidence sentences highlighted.

Descriptions are sanitized again here even though ingest already did it: the web page must
stay safe whatever reached the database (an older ingest, a manual fix, a bug). Everything
that becomes Markup is built from sanitized HTML or escaped text in this module.
"""

from __future__ import annotations

import html as htmlmod
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlsplit

import lxml.html
from markupsafe import Markup
from sqlalchemy import inspect as sa_inspect

from classifier.facets import extract_facets
from pipeline.models import Posting
from pipeline.normalize import sanitize_html
from pipeline.summary import money, one_line
from web.queries import Listed
from web.vocab import CATEGORY_LABELS, CREDENTIAL_NAMES, REMOTE_LABELS, STATES

BLOCKS = {"p", "li", "td", "th", "h2", "h3", "h4", "h5", "h6", "blockquote", "div"}
_SPACE = re.compile(r"\s+")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _norm(value: str) -> str:
    return _SPACE.sub(" ", value).strip()


def safe_url(url: str | None) -> str | None:
    """The employer's link only when it is plain http(s): never a javascript: or data: URL,
    whatever the store holds (the API's consumers put it in href attributes)."""
    if not url:
        return None
    value = url.strip()
    parts = urlsplit(value)
    return value if parts.scheme.lower() in ("http", "https") and parts.netloc else None


# a posting as the pages show it: one loaded whole (detail) or as listed (queries.Listed,
# the same attributes; pipeline.summary reads no others, hence the casts below)
Shown = Posting | Listed


def salary_of(p: Shown) -> dict[str, Any]:
    """Pay as stated, per year (the filter's basis) and as one readable string."""
    return {"min": p.salary_min, "max": p.salary_max, "currency": p.salary_currency,
            "period": p.salary_period, "annual_min": p.salary_annual_min,
            "annual_max": p.salary_annual_max, "text": money(cast(Posting, p))}


def summary_of(p: Shown) -> dict[str, Any]:
    """The listing view of a posting (the API's PostingSummary)."""
    tag = p.tag
    return {
        "id": p.id,
        "url": safe_url(p.url),
        "title": p.title,
        "company": p.company,
        "location": p.location,
        "city": p.city,
        "state": p.state,
        "country": p.country,
        "employment_type": p.employment_type,
        "category": tag.category if tag else None,
        "remote": tag.remote if tag else None,
        "remote_states": list(tag.remote_states or []) if tag else [],
        "credentials": [{"code": c.code, "requirement": c.requirement}
                        for c in (tag.credentials if tag else [])],
        "salary": salary_of(p),
        "posted_at": _iso(p.posted_at),
        "first_seen": _iso(p.first_seen),
        "last_seen": _iso(p.last_seen),
        "status": p.status,
        "summary": one_line(cast(Posting, p)),
    }


@dataclass
class Evidence:
    """A sentence that justifies one or more tags, and where it is marked on the page."""

    anchor: str
    sentence: str
    labels: list[str]
    marked: bool = False
    """Set by `highlighted` when the sentence was found (and marked) in the description."""


def facets_of(p: Posting) -> list[tuple[str, str | None]]:
    """(facet, evidence sentence) as the tagger stored them. A store from before stored
    facets (its tags have none loaded) gets them from the classifier's rules, which is
    what the tagger runs (cheap for the one posting a page shows)."""
    tag = p.tag
    if tag is None:
        return []
    if "facets" not in sa_inspect(tag).unloaded:
        return [(row.facet, row.evidence) for row in tag.facets]
    if tag.category not in ("coding", "administration"):
        return []
    return list(extract_facets(p.text or "", p.title or "", tag.category).facets.items())


def evidence_of(p: Posting) -> list[Evidence]:
    """Every evidence sentence of the posting's tags, each once, with what it supports."""
    by_sentence: dict[str, Evidence] = {}

    def add(sentence: str | None, label: str) -> None:
        if not sentence or not sentence.strip():
            return
        key = _norm(sentence)
        if key not in by_sentence:
            by_sentence[key] = Evidence(f"ev-{len(by_sentence) + 1}", key, [])
        by_sentence[key].labels.append(label)

    tag = p.tag
    if tag is not None:
        add(tag.remote_evidence, REMOTE_LABELS.get(tag.remote, tag.remote))
        for c in tag.credentials:
            add(c.evidence, f"{c.code} {c.requirement}")
    for name, sentence in facets_of(p):
        add(sentence, name)
    return list(by_sentence.values())


def tags_of(p: Posting, evidence: list[Evidence]) -> dict[str, Any]:
    """Every tag with its confidence and evidence sentence, and the anchor of that sentence
    in the description when `highlighted` marked it there (call that first)."""
    anchors = {e.sentence: e.anchor for e in evidence if e.marked}

    def anchor(sentence: str | None) -> str | None:
        return anchors.get(_norm(sentence)) if sentence else None

    tag = p.tag
    if tag is None:
        return {"category": None, "remote": None, "credentials": [], "facets": [],
                "model_version": None, "tagged_at": None}
    scores = {k: float(v) for k, v in (tag.category_scores or {}).items()}
    return {
        "category": {"value": tag.category, "label": CATEGORY_LABELS.get(tag.category),
                     "confidence": scores.get(tag.category), "scores": scores,
                     "evidence": None},
        "remote": {"value": tag.remote, "label": REMOTE_LABELS.get(tag.remote),
                   "confidence": tag.remote_confidence, "evidence": tag.remote_evidence,
                   "anchor": anchor(tag.remote_evidence),
                   "states": list(tag.remote_states or [])},
        "credentials": [{"code": c.code, "name": CREDENTIAL_NAMES.get(c.code),
                         "requirement": c.requirement, "evidence": c.evidence,
                         "confidence": None, "anchor": anchor(c.evidence)}
                        for c in tag.credentials],
        "facets": [{"name": name, "evidence": sentence, "anchor": anchor(sentence)}
                   for name, sentence in facets_of(p)],
        "model_version": tag.model_version,
        "tagged_at": _iso(tag.tagged_at),
    }


def description_html(p: Shown) -> str:
    """The posting's description as safe HTML (sanitized now, whatever is stored)."""
    if p.html:
        return sanitize_html(p.html)
    return "".join(f"<p>{htmlmod.escape(line)}</p>" for line in (p.text or "").splitlines()
                   if line.strip())


def highlighted(p: Posting, evidence: list[Evidence]) -> Markup:
    """The sanitized description with each evidence sentence wrapped in <mark id=anchor>.

    A sentence inside one text node is marked exactly; one that spans inline tags marks its
    whole paragraph or list item. Sentences from the title have nothing to mark.
    """
    safe = description_html(p)
    if not safe.strip():
        return Markup("")
    root = lxml.html.fragment_fromstring(safe, create_parent="div")
    for ev in evidence:
        ev.marked = _mark(root, ev)
    inner = htmlmod.escape(root.text or "") + "".join(
        lxml.html.tostring(child, encoding="unicode") for child in root)
    return Markup(inner)  # noqa: S704 (built from sanitized HTML and escaped text only)


def _mark(root: Any, ev: Evidence) -> bool:
    target = None
    for el in root.iter(*BLOCKS):  # the first block holding the sentence, then its innermost
        if target is not None and target not in el.iterancestors():
            break
        if ev.sentence in _norm(el.text_content()):
            target = el
    if target is None:
        return False
    attrs = {"id": ev.anchor, "class": "evidence",
             "title": "Evidence for: " + ", ".join(ev.labels)}
    mark = lxml.html.Element("mark", attrs)
    # exact: the sentence within the block's own text or a child's tail
    if target.text and ev.sentence in target.text:
        before, _, after = target.text.partition(ev.sentence)
        target.text, mark.text, mark.tail = before, ev.sentence, after
        target.insert(0, mark)
        return True
    for index, child in enumerate(target):
        if child.tail and ev.sentence in child.tail:
            before, _, after = child.tail.partition(ev.sentence)
            child.tail, mark.text, mark.tail = before, ev.sentence, after
            target.insert(index + 1, mark)
            return True
    mark.text, target.text = target.text, None
    for child in list(target):
        mark.append(child)
    target.append(mark)
    return True


def jsonld(p: Posting, page_url: str) -> dict[str, Any]:
    """schema.org JobPosting for the posting (what search engines read)."""
    tag = p.tag
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "JobPosting",
        "title": p.title,
        "description": description_html(p),
        "identifier": {"@type": "PropertyValue", "name": "hcjobs", "value": str(p.id)},
        "url": page_url,
        "datePosted": _iso(p.posted_at or p.first_seen),
    }
    if p.valid_through:
        data["validThrough"] = _iso(p.valid_through)
    if p.employment_type:
        data["employmentType"] = p.employment_type
    if p.company:
        data["hiringOrganization"] = {"@type": "Organization", "name": p.company}
    if p.state or p.city or p.country:
        address = {"@type": "PostalAddress", "addressLocality": p.city,
                   "addressRegion": p.state, "addressCountry": p.country}
        data["jobLocation"] = {"@type": "Place",
                               "address": {k: v for k, v in address.items() if v}}
    if tag is not None and tag.remote == "remote":
        data["jobLocationType"] = "TELECOMMUTE"
        data["applicantLocationRequirements"] = (
            [{"@type": "State", "name": STATES.get(s, s)} for s in tag.remote_states]
            if tag.remote_states else [{"@type": "Country", "name": "US"}])
    if p.salary_min is not None or p.salary_max is not None:
        unit = {"hour": "HOUR", "day": "DAY", "week": "WEEK", "month": "MONTH",
                "year": "YEAR"}.get(p.salary_period or "")
        value = {"@type": "QuantitativeValue", "minValue": p.salary_min,
                 "maxValue": p.salary_max, "unitText": unit}
        data["baseSalary"] = {"@type": "MonetaryAmount", "currency": p.salary_currency,
                              "value": {k: v for k, v in value.items() if v is not None}}
    if tag is not None and tag.credentials:
        data["educationRequirements"] = [
            {"@type": "EducationalOccupationalCredential", "credentialCategory": "certificate",
             "name": CREDENTIAL_NAMES.get(c.code, c.code), "identifier": c.code,
             "description": c.requirement}
            for c in tag.credentials]
    return data


def jsonld_script(data: dict[str, Any]) -> Markup:
    """JSON for a <script type="application/ld+json"> block: no "<", ">" or "&" can end the
    script element or open a comment, whatever the posting says."""
    body = (json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
            .replace(">", "\\u003e").replace("&", "\\u0026"))
    return Markup(body)  # noqa: S704 (JSON with markup characters escaped)

