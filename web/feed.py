"""Atom feed of a saved search: any feed reader becomes a job alert.

Built with ElementTree, so every title, company and description is escaped by the XML
writer; descriptions go in as sanitized HTML inside an escaped `type="html"` content.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from web.present import Shown, description_html, safe_url, summary_of

ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml"
# XML 1.0 forbids most control characters; a posting that carries one must not break a feed
_XML_BAD = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32), 0xFFFE, 0xFFFF])


def _clean(value: str | None) -> str:
    return (value or "").translate(_XML_BAD)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: _clean(v) for k, v in attrs.items()})
    if text is not None:
        el.text = _clean(text)
    return el


def _stamp(value: datetime | None) -> str:
    return (value or datetime.now(UTC)).astimezone(UTC).isoformat().replace("+00:00", "Z")


def atom_feed(postings: Sequence[Shown], *, feed_url: str, page_url: str, title: str,
              posting_url: str, host_tag: str) -> bytes:
    """The feed document. `posting_url` has a `{id}` slot for each entry's page."""
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed")
    _sub(root, "id", feed_url)
    _sub(root, "title", title)
    _sub(root, "link", rel="self", href=feed_url, type=MEDIA_TYPE)
    _sub(root, "link", rel="alternate", href=page_url, type="text/html")
    _sub(root, "generator", "hcjobs")
    updated = max((p.last_seen for p in postings if p.last_seen), default=None)
    _sub(root, "updated", _stamp(updated))
    author = _sub(root, "author")
    _sub(author, "name", "hcjobs")
    for p in postings:
        entry = _sub(root, "entry")
        # an id that never changes for the posting, so readers do not repeat alerts
        _sub(entry, "id", f"tag:{host_tag},2026:posting:{p.id}")
        _sub(entry, "title", p.title + (f" - {p.company}" if p.company else ""))
        _sub(entry, "link", rel="alternate", href=posting_url.format(id=p.id), type="text/html")
        employer_url = safe_url(p.url)
        if employer_url:
            _sub(entry, "link", rel="related", href=employer_url, title="Employer's posting")
        _sub(entry, "published", _stamp(p.posted_at or p.first_seen))
        _sub(entry, "updated", _stamp(p.posted_at or p.first_seen))
        summary = summary_of(p)
        _sub(entry, "summary", summary["summary"])
        if p.tag is not None:
            _sub(entry, "category", term=p.tag.category, label=p.tag.category)
            _sub(entry, "category", term=p.tag.remote, label=p.tag.remote)
            for c in p.tag.credentials:
                _sub(entry, "category", term=c.code, label=f"{c.code} {c.requirement}")
        _sub(entry, "content", description_html(p), type="html")
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
