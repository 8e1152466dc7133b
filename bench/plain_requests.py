"""The baseline: what a user would write instead of hcjobs, with requests and lxml.

One page after the other: read the sitemap, fetch each job page, pull the JSON-LD JobPosting
out with lxml, keep title, company, location, date and the description's text, and insert it
into SQLite; or fetch a Greenhouse board's JSON and do the same per job. No retries, no
robots.txt, no politeness, no normalization or deduplication: the least a working script does.
Used by bench/crawl_scale.py; runnable alone against any such board:

    python bench/plain_requests.py SITEMAP_URL [--limit N]
"""

from __future__ import annotations

import argparse
import html
import json
import sqlite3
import time
from typing import Any

import lxml.etree
import lxml.html

try:
    import requests
except ImportError:  # pragma: no cover - the stdlib fallback
    requests = None  # type: ignore[assignment]

SCHEMA = """create table if not exists postings (
    id text primary key, title text, company text, location text, posted text, text text)"""


class _Client:
    """requests.Session when installed, else urllib (same interface for what we need)."""

    def __init__(self) -> None:
        self.session = requests.Session() if requests is not None else None

    def get(self, url: str) -> bytes:
        if self.session is not None:
            reply = self.session.get(url, timeout=30)
            reply.raise_for_status()
            return bytes(reply.content)
        import urllib.request

        with urllib.request.urlopen(url, timeout=30) as reply:
            return bytes(reply.read())


def _text(fragment: str | None) -> str:
    if not fragment:
        return ""
    return lxml.html.fromstring(f"<div>{fragment}</div>").text_content().strip()


def _store(db: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    db.executemany("insert or replace into postings values (?, ?, ?, ?, ?, ?)", rows)
    db.commit()


def crawl_pages(sitemap_url: str, db_path: str, limit: int | None = None,
                rebase: str | None = None, public: str | None = None) -> dict[str, Any]:
    """Sitemap, then each job page in turn; `rebase` replaces the `public` site prefix."""
    client = _Client()
    db = sqlite3.connect(db_path)
    db.execute(SCHEMA)
    start = time.perf_counter()
    tree = lxml.etree.fromstring(client.get(sitemap_url))
    locs = [el.text or "" for el in tree.iter("{*}loc") if "/jobs/" in (el.text or "")]
    locs = locs[:limit] if limit else locs
    rows: list[tuple[Any, ...]] = []
    for loc in locs:
        url = loc.replace(public, rebase, 1) if rebase and public else loc
        page = lxml.html.fromstring(client.get(url))
        for script in page.xpath('//script[@type="application/ld+json"]/text()'):
            data = json.loads(script)
            for node in data.get("@graph", [data]) if isinstance(data, dict) else data:
                if not isinstance(node, dict) or node.get("@type") != "JobPosting":
                    continue
                ident = node.get("identifier")
                place = ((node.get("jobLocation") or {}).get("address") or {})
                rows.append((str(ident.get("value") if isinstance(ident, dict) else url),
                             node.get("title"), (node.get("hiringOrganization") or {}).get("name"),
                             place.get("addressLocality"), node.get("datePosted"),
                             _text(html.unescape(node.get("description") or ""))))
        if len(rows) >= 200:
            _store(db, rows)
            rows = []
    _store(db, rows)
    seconds = time.perf_counter() - start
    stored = db.execute("select count(*) from postings").fetchone()[0]
    db.close()
    return {"pages": len(locs), "stored": stored, "seconds": seconds}


def crawl_api(url: str, db_path: str) -> dict[str, Any]:
    """A Greenhouse-style board: one request, every job inserted."""
    client = _Client()
    db = sqlite3.connect(db_path)
    db.execute(SCHEMA)
    start = time.perf_counter()
    jobs = json.loads(client.get(url))["jobs"]
    rows = [(f"gh-{job['id']}", job.get("title"), job.get("company_name"),
             (job.get("location") or {}).get("name"), job.get("first_published"),
             _text(html.unescape(job.get("content") or ""))) for job in jobs]
    _store(db, rows)
    seconds = time.perf_counter() - start
    db.close()
    return {"postings": len(rows), "seconds": seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sitemap")
    parser.add_argument("--db", default="plain.db")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    result = crawl_pages(args.sitemap, args.db, args.limit)
    print(f"{result['pages']} pages in {result['seconds']:.1f} s = "
          f"{result['pages'] / result['seconds']:.1f} pages/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
