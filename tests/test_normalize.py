"""Normalization: structure-keeping text, safe HTML, encodings, dates, places, URLs, pay."""

from __future__ import annotations

from datetime import UTC, datetime

import lxml.html

from pipeline.normalize import (
    _NEEDS_FTFY,
    canonical_url,
    fix_encoding,
    html_to_text,
    needs_ftfy,
    normalize,
    parse_date,
    parse_location,
    parse_salary,
    sanitize_html,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_text_keeps_headings_and_bullets() -> None:
    html = ("<p>About the role</p><h3>Requirements</h3><ul><li>CPC <b>required</b></li>"
            "<li>Two years of coding</li></ul><p>Apply now.</p>")
    assert html_to_text(html).splitlines() == [
        "About the role", "Requirements", "- CPC required", "- Two years of coding", "Apply now."]


def test_bullets_whose_text_is_a_paragraph() -> None:
    html = "<ul><li><p>CPC required</p></li><li></li><li><p>Epic</p><p>and 3M</p></li></ul>"
    assert html_to_text(html).splitlines() == ["- CPC required", "- Epic", "and 3M"]


def test_text_is_read_from_the_sanitized_html() -> None:
    """The text comes from the sanitizer's output (one parse): every block tag the text breaks
    lines at is kept for display; entities, no-break spaces and noscript come out as shown."""
    from pipeline.normalize import BLOCK_TAGS, HEADING_TAGS, SAFE_TAGS, safe_html_text

    assert BLOCK_TAGS | HEADING_TAGS <= SAFE_TAGS
    html = ("<section><h1>Coder</h1><header>Remote</header></section><article>5 &lt; 6 "
            "&amp;lt;b&amp;gt; &quot;AT&amp;T&quot;</article><footer>a&nbsp;\u00a0 b "
            "<a href='x' title='1 > 0'>link</a></footer><noscript><p>Enable JS</p></noscript>")
    assert html_to_text(html).splitlines() == [
        "Coder", "Remote", '5 < 6 &lt;b&gt; "AT&T"', "a b link"]
    assert safe_html_text(sanitize_html(html)) == html_to_text(html)
    # stray table rows are dropped as a browser drops them: their text joins the line
    assert html_to_text("<p>x</p><tr>CPC</tr><tr>required</tr>") == "x\nCPCrequired"
    # a bullet inside a bullet whose own text is empty, and bullets closed implicitly
    assert html_to_text("<ul><li><ul><li>CPC</li></ul></li><li>Epic<li>3M</ul>").splitlines() \
        == ["- - CPC", "- Epic", "- 3M"]
    assert html_to_text("   ") == "" and html_to_text("plain words") == "plain words"


def test_hostile_html_is_sanitized() -> None:
    dirty = ('<p onclick="x()">Hi<script>alert(1)</script></p><img src=x onerror="alert(2)">'
             '<a href="javascript:alert(3)">link</a><style>p{}</style><a href="https://ok">ok</a>')
    clean = sanitize_html(dirty)
    tree = lxml.html.fromstring(f"<div>{clean}</div>")
    assert not tree.xpath("//script|//style|//img|//*[@onclick]|//*[@onerror]")
    hrefs = tree.xpath("//a/@href")
    assert hrefs == ["https://ok"]
    assert "javascript" not in clean
    assert "alert" not in html_to_text(dirty)


def test_escaped_twice_and_mojibake_are_repaired() -> None:
    assert fix_encoding("&amp;lt;p&amp;gt;Coder&amp;lt;/p&amp;gt;") == "<p>Coder</p>"
    assert fix_encoding("&lt;p&gt;Coder &amp;amp; Biller&lt;/p&gt;") == "<p>Coder &amp; Biller</p>"
    assert fix_encoding("We\u00e2\u20ac\u2122re hiring \u00e2\u20ac\u201d now") == \
        "We\u2019re hiring \u2014 now"
    assert fix_encoding("<p>5 &lt; 6</p>") == "<p>5 &lt; 6</p>"  # real HTML left alone


def test_the_ascii_shortcut_finds_what_the_set_finds() -> None:
    """needs_ftfy() tests ASCII text by bytes.translate, other text by the regex: the same
    answer for every character, ASCII controls included."""
    for code in range(0x300):
        for sample in (chr(code), f"plain text {chr(code)} more", f"caf\u00e9 {chr(code)}"):
            assert needs_ftfy(sample) == bool(_NEEDS_FTFY.search(sample)), (code, sample)
    assert not needs_ftfy("Two lines\n\tand a tab") and needs_ftfy("a\rb")
    assert needs_ftfy("We\u00e2\u20ac\u2122re") and not needs_ftfy("We\u2019re")


def test_dates_in_every_published_form() -> None:
    assert parse_date("1700000000000", NOW) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert parse_date("2026-10-06T09:30:44-04:00", NOW) == datetime(2026, 10, 6, 13, 30, 44,
                                                                     tzinfo=UTC)
    assert parse_date("2026-10-06", NOW) == datetime(2026, 10, 6, tzinfo=UTC)
    assert parse_date("Posted 3 Days Ago", NOW) == datetime(2026, 11, 17, 12, 0, tzinfo=UTC)
    assert parse_date("Posted 30+ Days Ago", NOW) == datetime(2026, 10, 21, 12, 0, tzinfo=UTC)
    assert parse_date("Posted Today", NOW) == NOW
    assert parse_date("Tue, 08 Sep 2026 14:30:00 GMT", NOW) == datetime(2026, 9, 8, 14, 30,
                                                                         tzinfo=UTC)
    assert parse_date("soon", NOW) is None
    assert parse_date(None, NOW) is None


def test_locations() -> None:
    assert parse_location("Columbus, OH") == ("OH", "US")
    assert parse_location("Hybrid - Tampa, FL") == ("FL", "US")
    assert parse_location("Austin, Texas; Remote") == ("TX", "US")
    assert parse_location("Leeds, England") == (None, "GB")
    assert parse_location("Remote - US") == (None, "US")
    assert parse_location(None) == (None, None)


def test_canonical_url_strips_tracking() -> None:
    a = canonical_url("https://Careers.X.example/jobs/R-1/?utm_source=agency&utm_medium=b#apply")
    assert a == "https://careers.x.example/jobs/R-1"
    assert canonical_url("http://careers.x.example/jobs/R-1?id=7&gclid=1") == \
        "https://careers.x.example/jobs/R-1?id=7"
    assert canonical_url("not a url") is None


def test_salary_swapped_and_free_text() -> None:
    assert parse_salary({"min": "118000", "max": 96000, "currency": "USD", "unit": "YEAR"}) == \
        {"min": 96000.0, "max": 118000.0, "currency": "USD", "period": "year"}
    assert parse_salary({"min": "DOE", "max": None, "currency": "USD"}) == {}
    assert parse_salary(None) == {}


def test_normalize_item_hash_changes_with_content() -> None:
    item = {"source": "s", "external_id": "1", "title": "  Medical   Coder ",
            "description_html": "<p>Code charts.</p>", "locations": ["Dayton, OH"],
            "posted_raw": "Posted 2 Days Ago", "company": "Acme"}
    a = normalize(item, NOW)
    assert (a.title, a.state, a.text) == ("Medical Coder", "OH", "Code charts.")
    b = normalize({**item, "description_html": "<p>Code charts daily.</p>"}, NOW)
    assert a.content_hash != b.content_hash
    assert normalize(dict(item), NOW).content_hash == a.content_hash


def test_salary_from_text() -> None:
    from pipeline.normalize import parse_salary_text

    assert parse_salary_text("Pay: $22.50 - $28.00 per hour, plus benefits") == \
        {"min": 22.5, "max": 28.0, "currency": "USD", "period": "hour"}
    assert parse_salary_text("Pay range: $118,000 - $96,000 per year") == \
        {"min": 96000.0, "max": 118000.0, "currency": "USD", "period": "year"}
    assert parse_salary_text("£25,147 - £27,596 a year") == \
        {"min": 25147.0, "max": 27596.0, "currency": "GBP", "period": "year"}
    assert parse_salary_text("We pay $2.10 per chart") == \
        {"min": 2.1, "max": 2.1, "currency": "USD", "period": "chart"}
    assert parse_salary_text("$80k-$95k DOE") == \
        {"min": 80000.0, "max": 95000.0, "currency": "USD", "period": "year"}
    assert parse_salary_text("Salary: DOE, competitive") == {}
    assert parse_salary_text("a $500 sign-on bonus") == {}


def test_comment_and_processing_instruction_keep_the_text_after_them() -> None:
    """Text after a comment stays; a script goes with its content."""
    from pipeline.normalize import html_to_text

    assert html_to_text("<p>CPC<!-- from the ATS --> required</p>") == "CPC required"
    assert html_to_text("<p>a<script>x()</script>b</p>") == "ab"


def test_fix_encoding_skips_clean_text_but_not_mojibake() -> None:
    clean = "Coder \u2013 \u201cremote\u201d \u2022 We\u2019re hiring\u2026 \u00a9 2026"
    assert fix_encoding(clean) == clean
    assert fix_encoding("caf\u00c3\u00a9") == "caf\u00e9"  # Latin-1 lead byte: ftfy runs


def test_places_city_state_country_and_several() -> None:
    from pipeline.normalize import parse_places

    def cities(value: str) -> list[tuple[str | None, str | None, str | None, bool]]:
        return [(p["city"], p["state"], p["country"], p["remote"]) for p in parse_places(value)]

    assert cities("Columbus, OH") == [("Columbus", "OH", "US", False)]
    assert cities("Hybrid - Tampa, FL") == [("Tampa", "FL", "US", False)]
    assert cities("US-OH-Columbus") == [("Columbus", "OH", "US", False)]
    assert cities("Dayton, Ohio 45402, United States") == [("Dayton", "OH", "US", False)]
    assert cities("New York, NY") == [("New York", "NY", "US", False)]
    assert cities("Washington, DC") == [("Washington", "DC", "US", False)]
    assert cities("Indiana, PA") == [("Indiana", "PA", "US", False)]
    assert cities("Leeds, England") == [("Leeds", None, "GB", False)]
    assert cities("Remote - US") == [(None, None, "US", True)]
    assert cities("Remote - TN, KY") == [(None, "TN", "US", True), (None, "KY", "US", True)]
    assert cities("Denver, CO; Aurora, CO") == [("Denver", "CO", "US", False),
                                                ("Aurora", "CO", "US", False)]
    assert cities("2 Locations") == []
    assert parse_places("Columbus, OH") is not parse_places("Columbus, OH")  # cached, copied


def test_normalize_keeps_every_place_and_the_first_city() -> None:
    item = {"source": "s", "external_id": "1", "title": "Coder", "description_text": "x",
            "locations": ["Remote - OH, KY", "Columbus, OH"], "employment_type": "Full-time"}
    norm = normalize(item, NOW)
    assert (norm.city, norm.state, norm.country) == ("Columbus", "OH", "US")
    assert [p["state"] for p in norm.places] == ["OH", "KY", "OH"]
    assert norm.employment_type == "FULL_TIME"


def test_employment_types_from_every_spelling() -> None:
    from pipeline.normalize import parse_employment_type as kind

    spellings = {
        "FULL_TIME": ["Full-time", "FullTime", "full_time", "Full Time", "FULL_TIME",
                      "Regular Full Time", "Permanent", "Direct Hire"],
        "PART_TIME": ["Part-time", "PartTime", "part_time", "Regular Part-Time", "PT"],
        "CONTRACTOR": ["Contract", "contract", "Contractor", "Contract to Hire", "1099",
                       "Freelance"],
        "TEMPORARY": ["Temporary", "Temp", "Seasonal", "Temporary Full-time", "Locum"],
        "INTERN": ["Intern", "Internship", "internship", "Co-op"],
        "PER_DIEM": ["PRN", "Per Diem", "per-diem", "As Needed", "Casual", "Intermittent"],
        "OTHER": ["Multiple Schedules", "other", "Volunteer"],
    }
    for expected, values in spellings.items():
        for value in values:
            assert kind(value) == expected, value
    assert kind(["FULL_TIME", "PART_TIME"]) == "PART_TIME"  # JSON-LD lists: the narrower wins
    assert kind(None) is None and kind("  ") is None


def test_yearly_pay_under_the_stated_assumption() -> None:
    from pipeline.normalize import ANNUAL_ASSUMPTION, annualize

    assert annualize({"min": 24.0, "max": 30.0, "period": "hour"}) == (49920.0, 62400.0)
    assert annualize({"min": 200.0, "max": None, "period": "day"}) == (52000.0, None)
    assert annualize({"min": 1000.0, "max": 1200.0, "period": "week"}) == (52000.0, 62400.0)
    assert annualize({"min": 5000.0, "max": 6000.0, "period": "month"}) == (60000.0, 72000.0)
    assert annualize({"min": 96000.0, "max": 118000.0, "period": "year"}) == (96000.0, 118000.0)
    assert annualize({"min": 2.1, "max": 2.1, "period": "chart"}) == (None, None)
    assert annualize({}) == (None, None)
    assert "2,080" in ANNUAL_ASSUMPTION
    item = {"source": "s", "external_id": "1", "title": "Coder",
            "description_text": "Pay: $22.50 - $28.00 per hour. DOE."}
    norm = normalize(item, NOW)
    assert (norm.salary["period"], norm.salary_annual_min, norm.salary_annual_max) == \
        ("hour", 46800.0, 58240.0)
    chart = normalize({**item, "description_text": "We pay $2.10 per chart"}, NOW)
    assert chart.salary["period"] == "chart" and chart.salary_annual_min is None
    doe = normalize({**item, "description_text": "Salary: DOE, competitive"}, NOW)
    assert doe.salary == {} and doe.salary_annual_min is None


def test_unescape_agrees_with_html_unescape() -> None:
    """The fast path must unescape exactly once, as html.unescape does, whatever the mix of
    tag entities, double escapes, named, numeric and unterminated entities."""
    import html
    import random

    from pipeline.normalize import unescape

    pieces = ["&lt;", "&gt;", "&amp;", "&amp;lt;", "&quot;", "&#39;", "&#x27;", "&#34;",
              "&nbsp;", "&rsquo;", "&lt", "&amp", "&", ";", "a", " ", "<p>", "&#8217;",
              "&copy", "&notin;", "&not", "&LT;", "&#0;", "&#xD800;", "lt;", "&#", "&#x"]
    rng = random.Random(3)
    for _ in range(20_000):
        value = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 10)))
        assert unescape(value) == html.unescape(value), value
    assert unescape("&lt;p&gt;Coder &amp;amp; biller&lt;/p&gt;") == "<p>Coder &amp; biller</p>"
