"""The pages in a real browser: Debian's Chromium, headless, driven by Playwright.

A job seeker filters to remote coding jobs requiring CPC, opens one, sees the evidence and
follows the feed link; a planted posting full of hostile HTML runs nothing, even with the
site's Content-Security-Policy switched off (so sanitizing and escaping alone are tested);
the browse page is usable on a phone and passes basic accessibility checks. Screenshots go
to test-artifacts/.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, select

from pipeline.models import CredentialTag, Posting, Source, Tag
from web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from test_web_api import NOW, demo_store

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
HOSTILE_TITLE = ('Coder <script>window.__pwned="title"</script>'
                 '<img src=x onerror="window.__pwned=1">')

if not CHROMIUM.exists():
    reason = f"{CHROMIUM} not found: apt-get install -y chromium"
    if os.environ.get("CI"):
        pytest.fail(reason + " (CI must have it)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)

from playwright.sync_api import Browser, Dialog, Page, expect, sync_playwright  # noqa: E402

HOSTILE_HTML = """
<p>Remote medical coder. CPC required for this role.</p>
<script>window.__pwned = "script"; fetch("/pwned?script")</script>
<img src="x" onerror="window.__pwned = 'img'; fetch('/pwned?img')">
<a href="javascript:window.__pwned='link'">Click for details</a>
<a href="JaVaScRiPt:window.__pwned='mixed-case'">More</a>
<svg onload="window.__pwned='svg'"><circle r="1"/></svg>
<iframe src="javascript:window.top.__pwned='iframe'"></iframe>
<p style="background:url(javascript:window.__pwned='style')" onclick="window.__pwned='click'">
Apply today</p>
<form action="javascript:window.__pwned='form'"><button>Go</button></form>
<math><mtext><table><mglyph><style><img src=x onerror="window.__pwned='mxss'">
<object data="javascript:window.__pwned='object'"></object>
<base href="javascript:/">
<meta http-equiv="refresh" content="0;url=javascript:window.__pwned='meta'">
"""


def _plant_hostile(url: str) -> int:
    """Write a posting with hostile HTML straight into the store, bypassing ingest's
    sanitizer: the pages must be safe whatever the database holds."""
    engine = create_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        source_id = conn.execute(select(Source.id).limit(1)).scalar_one()
        posting_id = conn.execute(insert(Posting).values(
            source_id=source_id, external_id="hostile-1", url="javascript:alert('apply')",
            title=HOSTILE_TITLE, company='"><svg onload="window.__pwned=\'company\'">',
            location="Remote <b onmouseover=alert(1)>US</b>", state="OH", country="US",
            html=HOSTILE_HTML, text="Remote medical coder. CPC required for this role.",
            hints={}, raw={}, content_hash="x" * 64, posted_at=NOW, first_seen=now,
            last_seen=now, status="open").returning(Posting.id)).scalar_one()
        tag_id = conn.execute(insert(Tag).values(
            posting_id=posting_id, content_hash="x" * 64, category="coding",
            category_scores={"coding": 0.9, "administration": 0.05, "other": 0.05},
            remote="remote", remote_confidence=0.9,
            remote_evidence='Remote <img src=x onerror="window.__pwned=\'evidence\'"> role',
            remote_states=["OH"], model_version="planted", tagged_at=now,
        ).returning(Tag.id)).scalar_one()
        conn.execute(insert(CredentialTag).values(
            tag_id=tag_id, code="CPC", requirement="required",
            evidence='CPC required</mark><script>window.__pwned="mark"</script>'))
    engine.dispose()
    return int(posting_id)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The app served by uvicorn on a free port (real HTTP, as a browser needs)."""
    import uvicorn

    url = demo_store(tmp_path_factory)
    hostile_id = _plant_hostile(url)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(url, clock=lambda: NOW), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield {"base": f"http://127.0.0.1:{port}", "hostile_id": hostile_id}
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def _shot(page: Page, name: str, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=full_page)


def test_filter_open_see_evidence_follow_feed(site: dict[str, Any], page: Page) -> None:
    base = site["base"]
    page.goto(base + "/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Find healthcare")
    page.locator("input[name=category][value=coding]").check()
    page.locator("input[name=remote][value=remote]").check()
    page.locator("input[name=credential][value=CPC]").check()
    page.get_by_label("Asked as").select_option("required")
    page.get_by_role("button", name="Show jobs").click()
    page.wait_for_load_state()
    assert "credential=CPC" in page.url and "requirement=required" in page.url
    results = page.locator("ol.postings article")
    count = results.count()
    assert count > 3
    expect(page.locator("#results-heading")).to_contain_text("jobs")
    for index in range(count):
        chips = results.nth(index).locator(".chips")
        expect(chips).to_contain_text("Coding")
        expect(chips).to_contain_text("Remote")
        expect(chips.locator(".chip.required", has_text="CPC")).to_have_count(1)
    _shot(page, "web-browse.png")

    feed_href = page.locator("a.feed").get_attribute("href")
    assert feed_href and "credential=CPC" in feed_href
    # the first real posting (the planted hostile one is newest and has no real evidence)
    results.filter(has_not_text="<script>").first.locator("h3 a").click()
    page.wait_for_load_state()
    assert "/postings/" in page.url
    evidence = page.locator("section.description mark.evidence")
    assert evidence.count() >= 2
    cpc = page.locator(".evidence-list li", has_text="Credential: CPC required")
    expect(cpc).to_have_count(1)
    cpc.get_by_role("link", name="Show in the description").click()
    anchor = page.url.rsplit("#", 1)[1]
    target = page.locator(f"mark#{anchor}")
    expect(target).to_be_visible()
    expect(target).to_contain_text("CPC")
    background = target.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")
    data = page.evaluate("JSON.parse(document.querySelector("
                         "'script[type=\"application/ld+json\"]').textContent)")
    assert data["@type"] == "JobPosting" and data["title"] == page.locator("h1").inner_text()
    _shot(page, "web-posting.png")

    page.go_back()
    page.go_back()
    # a browser may download a feed rather than show it: the response is what counts
    with page.expect_response(lambda r: "/feeds/postings.atom" in r.url) as info, \
            contextlib.suppress(Exception):
        page.locator("a.feed").click()
    response = info.value
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    body = response.text()
    assert body.count("<entry>") == count and "CPC required" in body


def test_hostile_posting_runs_nothing(site: dict[str, Any], browser: Browser) -> None:
    # CSP off: the site's policy would block scripts anyway; this proves the escaping alone
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    dialogs: list[str] = []
    requests: list[str] = []
    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("request", lambda r: requests.append(r.url))
    base = site["base"]
    try:
        page.goto(base + "/?q=medical+coder&credential=CPC")
        expect(page.locator("ol.postings")).to_contain_text('Coder <script>')
        page.goto(f"{base}/postings/{site['hostile_id']}")
        expect(page.locator("h1")).to_have_text(HOSTILE_TITLE)
        for text in ("Click for details", "Apply today", "Go"):
            locator = page.get_by_text(text, exact=True)
            if locator.count():
                locator.first.click(timeout=2000, no_wait_after=True)
        page.locator("section.description").hover()
        page.wait_for_timeout(300)
        _shot(page, "web-hostile.png")
        assert page.evaluate("window.__pwned") is None
        assert page.evaluate("window.top.__pwned") is None
        assert dialogs == []
        assert not [u for u in requests if "pwned" in u or u.startswith("javascript")]
        scripts = page.evaluate("[...document.scripts].map(s => s.type)")
        assert scripts == ["application/ld+json"]
        handlers = page.evaluate("""[...document.querySelectorAll('*')].flatMap(el =>
            [...el.attributes].filter(a => a.name.startsWith('on')).map(a => a.name))""")
        assert handlers == []
        hrefs = page.evaluate("[...document.querySelectorAll('[href],[src],[action],[data]')]"
                              ".map(el => el.href || el.src || el.action || el.data || '')")
        assert not [h for h in hrefs if str(h).lower().startswith("javascript")]
        assert page.locator("iframe, object, embed, form.description, svg, math").count() == 0
        assert page.get_by_role("link", name="See the job on the employer's site").count() == 0
        data = page.evaluate("JSON.parse(document.querySelector("
                             "'script[type=\"application/ld+json\"]').textContent)")
        assert data["title"] == HOSTILE_TITLE and "<script" not in data["description"]
        # the same posting through the API and the feed: no live markup, no javascript: link
        api = page.request.get(f"{base}/api/postings/{site['hostile_id']}").json()
        assert api["url"] is None and api["title"] == HOSTILE_TITLE
        for field in (api["description_html"], api["jsonld"]["description"]):
            assert "<script" not in field and "onerror" not in field
            assert "javascript:" not in field.lower()
        feed = page.request.get(f"{base}/feeds/postings.atom?q=medical+coder").text()
        assert "javascript:" not in feed.lower() and "<script" not in feed
    finally:
        context.close()


CONTRAST_JS = """
(selectors) => {
  const lum = (c) => {
    const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(Number).map(v => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const bg = getComputedStyle(e).backgroundColor;
      const parts = bg.match(/[\\d.]+/g);
      if (parts && (parts.length < 4 || Number(parts[3]) > 0)) return bg;
    }
    return 'rgb(255, 255, 255)';
  };
  const out = [];
  for (const sel of selectors) {
    for (const el of document.querySelectorAll(sel)) {
      if (!el.offsetParent && el.tagName !== 'BODY') continue;
      const a = lum(getComputedStyle(el).color), b = lum(background(el));
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      out.push([sel, Math.round(ratio * 100) / 100]);
    }
  }
  return out;
}
"""


def test_phone_layout_and_accessibility(site: dict[str, Any], browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844},
                                  device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(site["base"] + "/?remote=remote&category=coding")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        _shot(page, "web-browse-phone.png", full_page=False)  # what a phone shows first
        assert page.locator("h1").count() == 1
        levels = page.evaluate("[...document.querySelectorAll('h1,h2,h3,h4')]"
                               ".map(h => Number(h.tagName[1]))")
        assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), levels
        unlabeled = page.evaluate("""[...document.querySelectorAll(
            'input:not([type=hidden]), select, textarea')].filter(el =>
            !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
            .map(el => el.name)""")
        assert unlabeled == []
        assert page.evaluate("document.documentElement.lang") == "en"
        ratios = page.evaluate(CONTRAST_JS, ["body", "a", ".meta", ".count", ".hint",
                                             ".chip", "button", "label", "legend"])
        low = [(sel, r) for sel, r in ratios if r < 4.5]
        assert ratios and not low, low
        # the filter form works with the keyboard alone
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        real = page.locator("ol.postings article").filter(has_not_text="<script>").first
        real.locator("h3 a").click()
        page.wait_for_load_state()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        ratios = page.evaluate(CONTRAST_JS, ["mark", "q", ".evidence-list p", "dd", "dt"])
        assert ratios and not [(s, r) for s, r in ratios if r < 4.5]
        _shot(page, "web-posting-phone.png", full_page=False)
    finally:
        context.close()
