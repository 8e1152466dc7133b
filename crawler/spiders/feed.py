"""Job feeds in RSS 2.0 (also RSS 1.0) or Atom, read with lxml without fetching entities."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from copy import deepcopy
from typing import Any

import scrapy
from lxml import etree
from scrapy.http import Response

from crawler.items import JobPosting
from crawler.spiders.base import BoardSpider

ATOM = "http://www.w3.org/2005/Atom"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
RSS1 = "http://purl.org/rss/1.0/"  # RSS 1.0 (RDF) puts its own elements in a namespace
# Namespaced fields job boards add to their items, by lower-cased local name.
LOCATION_FIELDS = ("location", "joblocation", "city")
COMPANY_FIELDS = ("company", "companyname", "employer", "hiringorganization")
TYPE_FIELDS = ("jobtype", "job_type", "employmenttype", "type")
CLOSING_FIELDS = ("expires", "validthrough", "closingdate", "expirydate")


def _local(el: Any) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _text(el: Any) -> str:
    return "".join(el.itertext()).strip() if el is not None else ""


def _key(el: Any) -> str:
    """`prefix:name` for a namespaced element, so board-specific fields stay recognizable."""
    qname = etree.QName(el)
    return f"{el.prefix}:{qname.localname}" if el.prefix else qname.localname


def element_dict(el: Any) -> dict[str, Any]:
    """An item or entry as a plain dict (text, or attributes when empty; repeats as lists)."""
    out: dict[str, Any] = {}
    for child in el:
        if not isinstance(child.tag, str):
            continue
        value: Any = _text(child)
        if not value and child.attrib:
            value = dict(child.attrib)
        key = _key(child)
        if key in out:
            out[key] = out[key] if isinstance(out[key], list) else [out[key]]
            out[key].append(value)
        else:
            out[key] = value
    return out


def raw_payload(el: Any) -> dict[str, Any]:
    """The item's own XML, untouched, beside its fields as a dict for queries."""
    xml = etree.tostring(el, encoding="unicode", with_tail=False)
    return {"xml": xml, "fields": element_dict(el)}


def _extra(el: Any, names: tuple[str, ...]) -> str | None:
    """The first namespaced child whose local name is one of `names`."""
    for child in el:
        if isinstance(child.tag, str) and etree.QName(child).namespace not in (None, RSS1) \
                and _local(child).lower() in names and _text(child):
            return _text(child)
    return None


def _plain(el: Any, name: str) -> Any:
    """The first child called `name` among RSS's own elements (no namespace, or RSS 1.0's)."""
    for child in el:
        if isinstance(child.tag, str) and _local(child) == name \
                and etree.QName(child).namespace in (None, RSS1):
            return child
    return None


def _atom(el: Any, name: str) -> Any:
    return el.find(f"{{{ATOM}}}{name}")


def xhtml_content(el: Any) -> str | None:
    """Atom `type="xhtml"` content as plain HTML: its elements without their namespace."""
    parts: list[str] = [el.text or ""]
    for child in el:
        copy = deepcopy(child)
        for node in copy.iter():
            if isinstance(node.tag, str):
                node.tag = etree.QName(node).localname
        etree.cleanup_namespaces(copy)
        parts.append(etree.tostring(copy, encoding="unicode", method="html", with_tail=True))
    html = "".join(parts).strip()
    return html or None


class FeedSpider(BoardSpider):
    """`GET {url}` (on base_url's host when set): every `<item>` or Atom `<entry>` a posting."""

    name = "feed"
    required_keys = ("url",)
    url_keys = ("url",)

    @classmethod
    def count_listed(cls, body: bytes, entry: dict[str, Any]) -> tuple[int | None, str]:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True)
        root = etree.fromstring(body, parser)
        if root is None or _local(root) not in ("rss", "RDF", "feed"):
            raise ValueError("not an RSS or Atom feed")
        name = "entry" if _local(root) == "feed" else "item"
        return sum(1 for el in root.iter() if _local(el) == name), ""

    async def start(self) -> AsyncIterator[Any]:
        url = str(self.source["url"])
        if self.source.get("base_url"):
            url = self.rebase(url)
        yield self.conditional(scrapy.Request(url, callback=self.parse,
                                              errback=self.fatal_errback))

    def parse(self, response: Response, **kwargs: Any) -> Iterator[JobPosting]:
        if response.status == 304:  # the feed has not changed since the last run
            yield from self.not_modified(response)
            return
        ids = []
        for item in self.parse_feed(response):
            if self.storable(item):
                ids.append(item.external_id)
            yield item
        self.remember(response, ids)

    def parse_feed(self, response: Response) -> Iterator[JobPosting]:
        """Every item or entry of an RSS or Atom document."""
        parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True)
        try:
            root = etree.fromstring(response.body, parser)
        except etree.XMLSyntaxError as exc:
            root, problem = None, str(exc)
        else:
            problem = "no XML document"
        kind = _local(root) if root is not None else ""
        if kind not in ("rss", "RDF", "feed"):
            ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
            found = f"<{kind}> document" if kind else problem
            self.record_error(f"not an RSS or Atom feed at {response.url} "
                              f"(Content-Type {ctype or 'missing'}): {found}", fatal=True)
            return
        fetched = self.now()
        if kind == "feed":
            for entry in root.iterfind(f"{{{ATOM}}}entry"):
                yield from self.atom_item(entry, response.url, fetched)
        else:
            for item in root.iter():
                if _local(item) == "item":
                    yield from self.rss_item(item, response.url, fetched)

    def _common(self, el: Any) -> dict[str, Any]:
        """Fields from the board's own namespaced elements, when it adds them."""
        location = _extra(el, LOCATION_FIELDS)
        return {
            "company": _extra(el, COMPANY_FIELDS) or self.source.get("company"),
            "locations": [location] if location else [],
            "employment_type": _extra(el, TYPE_FIELDS),
            "valid_through_raw": _extra(el, CLOSING_FIELDS),
        }

    def rss_item(self, item: Any, feed_url: str, fetched: str) -> Iterator[JobPosting]:
        """Map one RSS `<item>` (content:encoded preferred over description)."""
        link = _text(_plain(item, "link")) or None
        guid = _text(_plain(item, "guid")) or None
        ident = guid or link
        if not ident:
            self.record_error(f"feed item without guid or link in {feed_url}")
            return
        body = _text(item.find(f"{{{CONTENT}}}encoded")) or _text(_plain(item, "description"))
        posted = _text(_plain(item, "pubDate")) or _extra(item, ("date",))
        yield JobPosting(
            source=self.source_name,
            external_id=ident,
            title=_text(_plain(item, "title")) or None,
            url=link or (guid if guid and guid.startswith("http") else None),
            posted_raw=posted or None,
            description_html=body or None,
            raw=raw_payload(item),
            fetched_at=fetched,
            **self._common(item),
        )

    def atom_item(self, entry: Any, feed_url: str, fetched: str) -> Iterator[JobPosting]:
        """Map one Atom `<entry>` (content preferred over summary; published over updated)."""
        links = entry.findall(f"{{{ATOM}}}link")
        link = next((x.get("href") for x in links if x.get("rel", "alternate") == "alternate"),
                    links[0].get("href") if links else None)
        ident = _text(_atom(entry, "id")) or link
        if not ident:
            self.record_error(f"feed entry without id or link in {feed_url}")
            return
        body_el = _atom(entry, "content")
        if body_el is None or not (_text(body_el) or len(body_el)):
            body_el = _atom(entry, "summary")
        html, text = None, None
        if body_el is not None:
            kind = body_el.get("type", "text")
            if kind == "xhtml":
                html = xhtml_content(body_el)
            elif kind == "html" or kind.endswith("html"):
                html = _text(body_el) or None
            else:
                text = _text(body_el) or None
        posted = _text(_atom(entry, "published")) or _text(_atom(entry, "updated"))
        yield JobPosting(
            source=self.source_name,
            external_id=ident,
            title=_text(_atom(entry, "title")) or None,
            url=link,
            posted_raw=posted or None,
            description_html=html,
            description_text=text,
            raw=raw_payload(entry),
            fetched_at=fetched,
            **self._common(entry),
        )

