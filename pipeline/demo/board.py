"""A small job-board server for the demo and the tests.

It serves the postings of `board.json` (or any board dict) on 127.0.0.1 in the formats the
spiders read: the Greenhouse board API, and career sites whose pages carry schema.org
JobPosting JSON-LD, found from a sitemap or a listing page. Faults can be injected per path
(HTTP errors, garbage, truncated or slow bodies) to test how a crawl survives them.
"""

from __future__ import annotations

import html
import json
import threading
import time
import tomllib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import ftfy.bad_codecs  # noqa: F401  (registers sloppy-windows-1252 for the mojibake case)

FAULTS = ("500", "404", "429", "garbage", "truncated", "slow", "empty")


def load_board(path: str | Path | None = None) -> dict[str, Any]:
    """The demo board's content: the bundled board.json unless another file is given."""
    if path is None:
        path = Path(str(resources.files("pipeline.demo").joinpath("board.json")))
    with open(path, encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def _public_url(employer: dict[str, Any], posting: dict[str, Any]) -> str:
    return posting.get("url") or f"{employer['website'].rstrip('/')}/jobs/{posting['id']}"


def _mojibake(text: str) -> str:
    return text.encode("utf-8").decode("sloppy-windows-1252")


def pay_paragraph(salary: dict[str, Any] | None) -> str:
    """A pay-transparency paragraph, as boards without a salary field put it in the text."""
    if not salary:
        return ""
    per = {"HOUR": "per hour", "YEAR": "per year", "MONTH": "per month"}.get(
        str(salary.get("unit")), "")
    symbol = {"USD": "$", "GBP": "£"}.get(str(salary.get("currency")), "$")

    def fmt(v: float) -> str:
        return f"{symbol}{v:,.2f}" if v < 1000 else f"{symbol}{v:,.0f}"

    return (f"<p><strong>Pay range:</strong> {fmt(salary['min'])} - {fmt(salary['max'])} "
            f"{per}</p>")


def greenhouse_jobs(employer: dict[str, Any]) -> dict[str, Any]:
    """The Greenhouse `jobs?content=true` response for one employer."""
    jobs = []
    for index, p in enumerate(employer["postings"]):
        body = (_mojibake(p["html"]) if p.get("mojibake") else p["html"]) + \
            pay_paragraph(p.get("salary"))
        metadata = None
        if p.get("workplace"):
            metadata = [{"id": 9000 + index, "name": "Workplace Type",
                         "value": p["workplace"].title(), "value_type": "single_select"}]
        location = {"name": p["location"]} if p.get("location") else {"name": ""}
        jobs.append({
            "absolute_url": _public_url(employer, p),
            "internal_job_id": 7000000 + index,
            "location": location,
            "metadata": metadata,
            "id": int(p["id"]) if str(p["id"]).isdigit() else p["id"],
            "updated_at": p.get("updated", p["posted"]),
            "requisition_id": f"REQ-{p['id']}",
            "title": p.get("title", ""),
            "company_name": employer["name"],
            "first_published": p["posted"],
            "language": "en",
            "content": html.escape(body),  # Greenhouse escapes the HTML once more
            "departments": [{"id": 100 + index, "name": p.get("department", ""),
                             "child_ids": [], "parent_id": None}],
            "offices": [{"id": 200 + index, "name": p.get("location", ""),
                         "location": p.get("location", "")}],
        })
    return {"jobs": jobs, "meta": {"total": len(jobs)}}


def jobposting_ld(employer: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
    """A schema.org JobPosting object for one posting."""
    description = _mojibake(p["html"]) if p.get("mojibake") else p["html"]
    if p.get("escape_twice"):
        description = html.escape(description)
    ld: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "JobPosting",
        "title": p.get("title", ""),
        "description": description,
        "identifier": {"@type": "PropertyValue", "name": employer["name"], "value": p["id"]},
        "datePosted": p["posted"],
        "employmentType": p.get("employment_type", "FULL_TIME"),
        "hiringOrganization": {"@type": "Organization", "name": employer["name"],
                               "sameAs": employer["website"]},
        "url": _public_url(employer, p),
    }
    if p.get("valid_through"):
        ld["validThrough"] = p["valid_through"]
    if p.get("location"):
        city, _, region = p["location"].partition(",")
        ld["jobLocation"] = {"@type": "Place", "address": {
            "@type": "PostalAddress", "addressLocality": city.strip(),
            "addressRegion": region.strip(), "addressCountry": "US"}}
    if p.get("workplace") == "remote":
        ld["jobLocationType"] = "TELECOMMUTE"
    if p.get("salary"):
        s = p["salary"]
        ld["baseSalary"] = {"@type": "MonetaryAmount", "currency": s.get("currency", "USD"),
                            "value": {"@type": "QuantitativeValue", "minValue": s.get("min"),
                                      "maxValue": s.get("max"), "unitText": s.get("unit")}}
    return ld


def job_page(employer: dict[str, Any], p: dict[str, Any]) -> str:
    """A career-site page for one posting, JSON-LD in the head, a little HTML in the body."""
    ld = json.dumps({"@context": "https://schema.org", "@graph": [
        {"@type": "WebPage", "name": p.get("title", "")}, jobposting_ld(employer, p)]})
    ld = ld.replace("</", "<\\/")
    title = html.escape(p.get("title", ""))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
            f"<script type='application/ld+json'>{ld}</script></head><body>"
            f"<nav><a href='../careers'>All jobs</a> <a href='../about'>About</a></nav>"
            f"<h1>{title}</h1><main>{p['html']}</main></body></html>")


def listing_page(employer: dict[str, Any]) -> str:
    """The career site's list of openings, linking to each job page (relative links)."""
    links = "".join(f"<li><a href='jobs/{html.escape(str(p['id']))}'>"
                    f"{html.escape(p.get('title') or 'Untitled')}</a></li>"
                    for p in employer["postings"])
    return (f"<!doctype html><html><head><title>Careers at {html.escape(employer['name'])}"
            f"</title></head><body><nav><a href='about'>About us</a></nav><ul>{links}</ul>"
            f"</body></html>")


def sitemap(employer: dict[str, Any]) -> str:
    """A sitemap of the career site's job pages, with their public URLs."""
    urls = "".join(f"<url><loc>{html.escape(employer['website'].rstrip('/'))}/jobs/"
                   f"{html.escape(str(p['id']))}</loc></url>" for p in employer["postings"])
    return ("<?xml version='1.0' encoding='UTF-8'?>"
            "<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
            f"<url><loc>{html.escape(employer['website'])}/about</loc></url>{urls}</urlset>")


class _Server(ThreadingHTTPServer):
    # the default listen backlog of 5 drops connections when a crawl opens many at once,
    # and each dropped one stalls the crawl for a second
    request_queue_size = 128
    daemon_threads = True


class DemoBoard:
    """The board server: `start()` returns its base URL; `stop()` shuts it down."""

    def __init__(self, board: dict[str, Any] | None = None,
                 faults: dict[str, str] | None = None, latency: float = 0.0,
                 port: int = 0) -> None:
        self.board = board if board is not None else load_board()
        self.faults = dict(faults or {})
        self.latency = latency
        self.employers = {e["slug"]: e for e in self.board["employers"]}
        self.requests: list[str] = []
        self.port = port
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "board not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        board = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # small responses go out at once

            def log_message(self, *args: Any) -> None:  # keep test and demo output clean
                pass

            def do_GET(self) -> None:
                board.requests.append(self.path)
                if board.latency:
                    time.sleep(board.latency)
                status, ctype, body = board.respond(urlsplit(self.path).path, self)
                if status == 0:
                    return  # the fault handler already answered (or hung up)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                if status == 429:
                    self.send_header("Retry-After", "1")
                self.end_headers()
                self.wfile.write(body)

        self._server = _Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> DemoBoard:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def respond(self, path: str, handler: BaseHTTPRequestHandler) -> tuple[int, str, bytes]:
        """(status, content type, body) for a path; faults first, then the board's pages."""
        for prefix, fault in self.faults.items():
            if path.startswith(prefix):
                return self._fault(fault, handler)
        parts = [p for p in path.split("/") if p]
        if parts == ["robots.txt"]:
            return 200, "text/plain", b"User-agent: *\nAllow: /\n"
        if len(parts) == 4 and parts[:2] == ["v1", "boards"] and parts[3] == "jobs":
            employer = self.employers.get(parts[2])
            if employer is None or employer["kind"] != "greenhouse":
                return 404, "application/json", b'{"status":404,"error":"Job board not found"}'
            return 200, "application/json", json.dumps(greenhouse_jobs(employer)).encode()
        if len(parts) >= 3 and parts[0] == "sites":
            employer = self.employers.get(parts[1])
            if employer is not None:
                page = self._site_page(employer, parts[2:])
                if page is not None:
                    return page
        return 404, "text/html", b"<html><body>Not found</body></html>"

    def _site_page(self, employer: dict[str, Any], rest: list[str]) -> \
            tuple[int, str, bytes] | None:
        if rest == ["sitemap.xml"]:
            return 200, "application/xml", sitemap(employer).encode()
        if rest == ["careers"]:
            return 200, "text/html; charset=utf-8", listing_page(employer).encode()
        if rest == ["about"]:
            return 200, "text/html", b"<html><body><h1>About us</h1></body></html>"
        if len(rest) == 2 and rest[0] == "jobs":
            for p in employer["postings"]:
                if str(p["id"]) == rest[1]:
                    return 200, "text/html; charset=utf-8", job_page(employer, p).encode()
        return None

    def _fault(self, fault: str, handler: BaseHTTPRequestHandler) -> tuple[int, str, bytes]:
        if fault in ("500", "404", "429"):
            return int(fault), "text/html", f"<html>error {fault}</html>".encode()
        if fault == "garbage":
            return 200, "application/json", b"<html><body>We'll be right back!</body></html>"
        if fault == "empty":
            return 200, "application/json", b'{"jobs": [], "meta": {"total": 0}}'
        if fault == "slow":
            time.sleep(5)
            return 200, "application/json", b'{"jobs": []}'
        if fault == "truncated":
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", "5000")
            handler.end_headers()
            handler.wfile.write(b'{"jobs": [{"id": 1, "title": "Coder", "content": "&lt;p')
            handler.wfile.flush()
            handler.close_connection = True
            return 0, "", b""
        raise ValueError(f"unknown fault {fault!r} (known: {', '.join(FAULTS)})")


def demo_sources(board: dict[str, Any], board_url: str) -> list[dict[str, Any]]:
    """Source entries that crawl every employer of `board` served at `board_url`."""
    entries = []
    for e in board["employers"]:
        entry: dict[str, Any] = {"name": e["slug"], "kind": e["kind"], "company": e["name"],
                                 "schedule": "0 */6 * * *", "enabled": True}
        if e["kind"] == "greenhouse":
            entry.update(board=e["slug"], base_url=board_url)
        elif e.get("discovery") == "sitemap":
            entry.update(sitemap=f"{e['website'].rstrip('/')}/sitemap.xml",
                         link_pattern="/jobs/", base_url=f"{board_url}/sites/{e['slug']}")
        else:
            entry.update(listing=f"{e['website'].rstrip('/')}/careers", link_pattern="/jobs/",
                         base_url=f"{board_url}/sites/{e['slug']}")
        entries.append(entry)
    return entries


def sources_text(entries: list[dict[str, Any]]) -> str:
    """A sources file for `entries` (flat values), with a log notifier, for the sandbox."""
    lines = ["# Written by `hcjobs board`: the demo board's employers as sources.", ""]
    for entry in entries:
        lines.append("[[source]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in entry.items()]
        lines.append("")
    lines += ["[[notifier]]", 'kind = "log"', ""]
    return "\n".join(lines)


def write_sources(path: Path, entries: list[dict[str, Any]]) -> Path:
    """Write sources_text(entries) to `path`."""
    path.write_text(sources_text(entries), encoding="utf-8")
    return path


def sandbox_entries(board: dict[str, Any], board_url: str, schedule: str) -> list[dict[str, Any]]:
    """demo_sources, every one on `schedule`: what `hcjobs board` writes."""
    return [{**e, "schedule": schedule} for e in demo_sources(board, board_url)]


def _as_written(text: str, board: dict[str, Any]) -> str | None:
    """The file `hcjobs board` would have written for the address and schedule `text`'s
    first source names, or None when `text` is not a sources file of that shape."""
    try:
        first = tomllib.loads(text)["source"][0]
        parts = urlsplit(str(first["base_url"]))
        return sources_text(sandbox_entries(board, f"{parts.scheme}://{parts.netloc}",
                                            str(first["schedule"])))
    except (tomllib.TOMLDecodeError, KeyError, IndexError, TypeError, ValueError):
        return None


@dataclass
class SavedSources:
    """What save_sandbox_sources did: `outcome` is "written" (new file, or forced),
    "unchanged", "updated" (it was exactly an earlier `hcjobs board` file, for another port
    or schedule) or "kept" (it has the operator's edits); `points_here`: whether the file
    on disk names the board's address."""

    outcome: str
    sources: int
    points_here: bool


def save_sandbox_sources(path: Path, board: dict[str, Any], board_url: str, schedule: str,
                         force: bool = False) -> SavedSources:
    """Write the sandbox's sources file without ever losing an operator's edits (an added
    notifier, a source broken on purpose): a file that differs from what `hcjobs board`
    writes is rewritten only with `force`. Nothing is written when nothing would change,
    so a running scheduler does not re-read it."""
    entries = sandbox_entries(board, board_url, schedule)
    wanted = sources_text(entries)
    current = path.read_text(encoding="utf-8") if path.exists() else None
    if current == wanted:
        outcome = "unchanged"
    elif current is None or force:
        outcome = "written"
    elif _as_written(current, board) == current:
        outcome = "updated"
    else:
        here = f'"{board_url}"' in current or f'"{board_url}/' in current
        return SavedSources("kept", len(entries), here)
    if outcome != "unchanged":
        path.write_text(wanted, encoding="utf-8")
    return SavedSources(outcome, len(entries), True)
