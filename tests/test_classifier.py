"""The tagger: credentials and remote extraction on the guide's hard cases, the category model
on the held-out evaluation sets, and model persistence; and the fast path (trigger prefilter,
lowercase twins, the model's exported arithmetic), checked against the slow one."""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from classifier import category, prefilter, text
from classifier.corpus import load_corpus, read_labeled
from classifier.credentials import extract_credentials
from classifier.evaluate import evaluate
from classifier.facets import extract_facets
from classifier.linear import LinearModel
from classifier.prefilter import (
    RULES,
    SINGLES,
    WORD,
    Doc,
    Folded,
    _twin_ok,
    ascii_twin,
    hoist_boundaries,
    lowercase_twin,
    words,
)
from classifier.remote import classify_remote, eligible_states
from classifier.tagger import Tagger
from classifier.text import ABBREVIATION, sentences


def creds(text: str, title: str = "Coding Specialist") -> dict[str, str]:
    """Credentials asked; the coding title makes even bare acronyms count (see AMBIGUOUS)."""
    return {c.code: c.requirement for c in extract_credentials(text, title)}


@pytest.mark.parametrize(("text", "expected"), [
    ("Requirements\n- CPC or CCS required\n- CRC preferred", {"CPC": "required",
                                                             "CCS": "required",
                                                             "CRC": "preferred"}),
    ("Qualifications:\n- Active CPC, COC or CIC credential", {"CPC": "required",
                                                              "COC": "required",
                                                              "CIC": "required"}),
    ("Preferred Qualifications\n- RHIT/RHIA\n- CCS-P", {"RHIT": "preferred", "RHIA": "preferred",
                                                        "CCS-P": "preferred"}),
    ("Certified Professional Coder (CPC) required; CPC-A welcome.",
     {"CPC": "required", "CPC-A": "required"}),  # an accepted alternative is required
    ("Must obtain CRC certification within 6 months of hire.", {"CRC": "required"}),
    ("Essential\n- Accredited Clinical Coder status\nDesirable\n- Working towards ACC",
     {"ACC": "required"}),
    ("Master's in Health Administration or MBA preferred. FACHE a plus.",
     {"MHA": "preferred", "MBA": "preferred", "FACHE": "preferred"}),
    ("Active registered nurse license required for this CDI role. CCDS or CDIP preferred.",
     {"RN": "required", "CCDS": "preferred", "CDIP": "preferred"}),
    # traps: the same letters in another sense, and mentions that ask nothing of the candidate
    ("We are a Community Interest Company (CIC) providing GP services.", {}),
    ("Category C licence and Driver CPC card required.", {}),
    ("Manage PPC campaigns and reduce CPC (cost-per-click) across channels. Required.", {}),
    ("Support the Clinical Research Coordinator (CRC) with study visits. Required: BSc.", {}),
    ("Our CPC-certified team will mentor you.", {}),
    ("Every chart you code is checked by one of our ACC coders.", {}),
    ("Requirements\n- CPB or CPC a plus, not required", {"CPB": "preferred", "CPC": "preferred"}),
    ("Good to have\n- CHPS", {"CHPS": "preferred"}),
    ("You'll need\n- CPC\nWe'd love it if you have\n- CRC", {"CPC": "required",
                                                            "CRC": "preferred"}),
    ("CPC or COC required (CPC-A is not accepted for this contract)",
     {"CPC": "required", "COC": "required"}),
    ("Master's degree in nursing or health administration preferred", {"MHA": "preferred"}),
    ("Bachelor's degree required; master's degree in public health preferred.",
     {"MPH": "preferred"}),
    ("You will report to our RHIA-credentialed HIM Director.", {}),
    ("We pay for your AAPC membership and CPC exam.", {}),
    ("Bid on Crown Commercial Service (CCS) framework tenders. Procurement experience essential.",
     {}),
])
def test_credentials(text: str, expected: dict[str, str]) -> None:
    assert creds(text) == expected


def test_credential_evidence_is_the_sentence() -> None:
    (cred,) = extract_credentials("About us\nWe code charts.\nRequirements\n- CCS required.",
                                  "Inpatient Coder")
    assert cred.evidence == "CCS required."


@pytest.mark.parametrize(("text", "expected"), [
    # outside coding work the same letters are a hospital site, a team, a product
    ("Work across the two hospital sites (CIC and WCH). Experience essential.", {}),
    ("Provide supervision to CCS staff. Essential.", {}),
    ("FICO CCS is looking for a DevOps engineer. Required: Kubernetes.", {}),
    ("City Health Care Partnership CIC are looking for practitioners. Essential: degree.", {}),
    ("Okta CIC IAM is where you want to be. Coding in Go required.", {}),
    ("We are offering all registered nurses a welcome payment of £2,500.", {}),
    ("The role of the Registered Nurse is to undertake health assessments.", {}),
    ("Ideally, you'll be a Registered Mental Health Nurse or Occupational Therapist.",
     {"RN": "preferred"}),
    ("Professional Registration as a Registered Learning Disabilities or Mental Health Nurse",
     {"RN": "required"}),
    ("Registered Veterinary Nurse (RVN) with a current licence essential.", {}),
    ("Ex-RN, ex-Royal Marines and ex-Army personnel are welcome.", {}),
    ("You'll have a shared RN care manager and an on-site pharmacy.", {}),
    ("Tuition support for LPN-to-RN bridge programs.", {}),
    ("Requirements\n- Liberty syntax, CCS, statistical characterization and SPICE simulators", {}),
    ("A bachelor's degree; a graduate degree in health administration is strongly preferred.",
     {"MHA": "preferred"}),
    # ...but a sentence about credentials still counts them
    ("CHC or CPCO certification required.", {"CHC": "required", "CPCO": "required"}),
    # nurse registration asked in UK and US words; a midwife's NMC registration is not
    ("We are looking for an experienced RMN to join our ward team.", {"RN": "required"}),
    ("You must have NMC registration and a degree.", {"RN": "required"}),
    ("A midwifery practitioner (NMC registered) is essential.", {}),
    ("You will work with a Registered Nurse to triage calls. Required: typing.", {}),
])
def test_credentials_outside_coding(text: str, expected: dict[str, str]) -> None:
    assert creds(text, title="Team Member") == expected


@pytest.mark.parametrize(("text", "hints", "location", "label"), [
    ("This is a fully remote position. Work from home anywhere in the US.", None, None, "remote"),
    ("Hybrid: three days a week in our Dayton office.", None, None, "hybrid"),
    ("This is not a remote position. You will work at the clinic.", None, None, "onsite"),
    ("This role is fully on-site at our hospital.", {"workplaceType": "remote"}, "Remote",
     "onsite"),
    ("Enjoy work from anywhere for one month a year!\nYou will code at our Tampa office.",
     None, None, "onsite"),
    ("Remote after 90 days of on-site training.", None, None, "remote"),
    ("After 90 days of orientation you may work 2 days from home.", None, None, "hybrid"),
    ("We offer flexible working including home working.", None, None, "hybrid"),
    # an option that includes fully remote work is remote
    ("This position can be fully remote or hybrid in Minneapolis.", None, None, "remote"),
    # "hybrid" that is not about where the job is done
    ("We run two cath labs and a hybrid OR.", None, None, "onsite"),
    ("We help clients run in-person, virtual and hybrid events.", None, None, "onsite"),
    # remote for now, on-site later (the guide's hybrid)
    ("The team is currently working from home during the pandemic.", None, None, "hybrid"),
    ("The post is part home based and part based at Trust sites.", None, None, "hybrid"),
    ("Mondays and Fridays from home, Tuesday to Thursday in our office.", None, None, "hybrid"),
    ("Four days a week in our Bexley Park office and one day working from home.", None, None,
     "hybrid"),
    ("This post is based on site and home working is not available.", None, "Remote", "onsite"),
    ("Remote job: No", None, None, "onsite"),
    ("This role will involve home working, with some travel.", None, None, "remote"),
    ("Provide excellent home based care to patients.", None, None, "onsite"),
    ("Code charts accurately.", {"jobLocationType": "TELECOMMUTE"}, None, "remote"),
    ("Code charts accurately.", None, "Remote - US", "remote"),
    ("Code charts accurately.", None, "Columbus, OH", "onsite"),
])
def test_remote(text: str, hints: dict[str, str] | None, location: str | None,
                label: str) -> None:
    tag = classify_remote(text, "", hints, location)
    assert tag.label == label
    if label != "onsite" or tag.evidence:
        assert tag.evidence


def test_remote_evidence_prefers_text_over_hint() -> None:
    tag = classify_remote("Work from home, US only.", "", {"workplaceType": "on-site"}, None)
    assert tag.label == "remote" and tag.evidence == "Work from home, US only."


@pytest.mark.parametrize(("text", "states"), [
    ("Remote. Must reside in OH, KY or IN.", ["IN", "KY", "OH"]),
    ("Fully remote; open to residents of Texas, Oklahoma and Louisiana.", ["LA", "OK", "TX"]),
    ("Remote (US). Not available to residents of CA or NY.", None),
    ("Remote anywhere in the US.", []),
])
def test_eligible_states(text: str, states: list[str] | None) -> None:
    got = eligible_states(text)
    if states is None:  # an exclusion: every state but those
        assert "CA" not in got and "NY" not in got and "OH" in got and len(got) == 49
    else:
        assert got == states


def test_model_round_trip_and_metrics(tmp_path: Path) -> None:
    model, metrics = category.train(tmp_path, cv=False)
    assert (tmp_path / "category.skops").exists() and (tmp_path / "metrics.json").exists()
    assert (tmp_path / category.LINEAR_FILE).exists()
    assert metrics["n_train"] == len(load_corpus())
    loaded = category.load(tmp_path)
    probe = category.frame([{"title": "Inpatient Coding Specialist",
                             "text": "Assign ICD-10-CM and PCS codes; CCS required."},
                            {"title": "Practice Manager",
                             "text": "Run the practice: staffing, budget, operations."},
                            {"title": "Registered Nurse", "text": "Deliver bedside care."}])
    assert list(loaded.predict(probe)) == list(model.predict(probe))
    assert list(loaded.predict(probe)) == ["coding", "administration", "other"]


def test_tagger_output_shape() -> None:
    tagger = Tagger.load()
    (out,) = tagger.tag([{"id": "x", "title": "Remote Risk Adjustment Coder",
                          "text": "Fully remote. Requirements\n- CRC required"}])
    assert out["category"] == "coding"
    assert set(out["category_scores"]) == {"coding", "administration", "other"}
    assert abs(sum(out["category_scores"].values()) - 1) < 1e-3
    assert out["remote"] == "remote" and out["remote_evidence"] == "Fully remote."
    assert out["credentials"] == [{"code": "CRC", "requirement": "required",
                                   "evidence": "CRC required"}]
    assert out["model_version"] == category.model_version()


def test_training_corpus_is_consistent_with_extractors() -> None:
    """The extractors agree with the corpus labels on most of the corpus (a regression guard:
    the corpus is the project's own and labeled by the guide)."""
    report = evaluate(Tagger.load(), load_corpus())
    assert report["remote_accuracy"] >= 0.85
    assert report["credentials_with_requirement"]["f1"] >= 0.8


# Held-out measures: the figures are reported by bench/quality.py; these floors catch a
# regression without pinning the exact numbers.
def test_held_out_us_sets(shared_data: Path) -> None:
    rows = read_labeled(shared_data / "dev_us_a.jsonl") + \
        read_labeled(shared_data / "dev_us_b.jsonl")
    report = evaluate(Tagger.load(), rows)
    assert report["category_accuracy"] >= 0.88
    assert report["remote_accuracy"] >= 0.93
    assert report["credentials_with_requirement"]["f1"] >= 0.88


def test_held_out_real_postings(shared_data: Path) -> None:
    report = evaluate(Tagger.load(), read_labeled(shared_data / "dev.jsonl"))
    assert report["category_accuracy"] >= 0.80
    assert report["remote_accuracy"] >= 0.85


def test_evaluate_figures_and_model_card(tmp_path: Path) -> None:
    from classifier.evaluate import model_card

    rows = [
        {"id": "1", "title": "Inpatient Coder", "text": "Remote. Requirements\n- CCS required",
         "label": {"category": "coding", "remote": "remote", "credentials": {"CCS": "required"}}},
        {"id": "2", "title": "Registered Nurse", "text": "Bedside care on our ward.",
         "label": {"category": "other", "remote": "onsite", "credentials": {}}},
        {"id": "3", "title": "Practice Manager", "text": "Run the clinic. MHA preferred.",
         "label": {"category": "administration", "remote": "hybrid",
                   "credentials": {"MHA": "required"}}},
    ]
    report = evaluate(Tagger.load(), rows)
    assert report["n"] == 3
    assert report["category_accuracy"] == 1.0 and report["category_macro_f1"] == 1.0
    assert report["remote_accuracy"] == round(2 / 3, 4)  # the practice says nothing of home
    assert report["remote_confusion"]["hybrid->onsite"] == 1
    assert report["credentials_code"]["f1"] == 1.0  # both codes found...
    assert report["credentials_requirement_accuracy"] == 0.5  # ...one with the wrong strength
    assert len(report["errors"]) == 1
    card = model_card("v1", {"n_train": 10, "classes": {"coding": 10}}, {"tiny": report})
    assert "| tiny | 3 | 1.000 | 0.667 | 1.000 | 0.500 | 0 |" in card
    assert "Below target: remote_accuracy, credentials_requirement_accuracy." in card


def test_any_of_groups() -> None:
    (cpc, coc, cic, crc) = extract_credentials(
        "Requirements\n- CPC, COC or CIC required; CRC preferred", "Coder")
    assert cpc.any_of == coc.any_of == cic.any_of == ("CPC", "COC", "CIC")
    assert crc.any_of == ()
    both = extract_credentials("CPC and CCS required", "Coder")
    assert [c.any_of for c in both] == [(), ()]  # "and" asks for both, not either
    slash = extract_credentials("RHIT/RHIA required", "Coder")
    assert {c.any_of for c in slash} == {("RHIT", "RHIA")}


def test_facets_for_coding_and_administration() -> None:
    from classifier.facets import extract_facets

    coding = extract_facets(
        "Review inpatient records and assign ICD-10-PCS codes and MS-DRGs.\n"
        "Requirements\n- High school diploma or GED required; associate degree preferred\n"
        "- 3+ years of inpatient coding experience\n- Send queries through our CDI team",
        "Inpatient Coder II", "coding")
    assert set(coding.facets) == {"inpatient", "cdi"}
    assert coding.education == "high school" and coding.years_experience == 3
    assert coding.years_evidence == "3+ years of inpatient coding experience"
    assert not coding.entry_level

    admin = extract_facets(
        "Lead revenue cycle and billing office operations. Bachelor's degree required. "
        "Minimum of two years of supervisory experience.", "Practice Manager",
        "administration")
    assert {"practice", "revenue cycle", "operations"} <= set(admin.facets)
    assert admin.education == "bachelor" and admin.years_experience == 2

    apprentice = extract_facets("Entry-level coding apprenticeship; CPC-A welcome.",
                                "Coding Apprentice", "coding")
    assert apprentice.entry_level and apprentice.entry_evidence
    other = extract_facets("Bedside care in our emergency department.", "RN", "other")
    assert other.facets == {}  # facets describe coding and administration work only


# --- the fast path: the same tags, faster ---------------------------------------------------

ODD_TEXTS = [  # letters that lowercase to more letters or fold differently under (?i)
    "İstanbul office: this is a fully remote position. CPC required.",
    "Remote work is not available. Certified profeſſional coder (CPC) required.",
    "Hybrıd: two days a week in the office. RN licenſe required.",
    "Work from home \u212aansas, \u00a0three days a week at the clinic. Must reside in KS.",
    "ΣΑΣ. Requirements:\n- CCS required\n- 3+ years of inpatient coding experience",
]


def _postings() -> list[dict[str, Any]]:
    rows = load_corpus()
    return [{"id": r["id"], "title": r.get("title"), "text": r.get("text"),
             "location": r.get("location")} for r in rows] + \
        [{"id": f"odd-{i}", "title": "Coder", "text": t} for i, t in enumerate(ODD_TEXTS)]


def test_batch_tags_equal_one_by_one_tags() -> None:
    """A posting's tags do not depend on the batch it is tagged in."""
    tagger = Tagger.load()
    postings = _postings()[::5]
    assert tagger.tag(postings) == [tagger.tag([p])[0] for p in postings]


def _all_tags(postings: list[dict[str, Any]]) -> list[Any]:
    tagger = Tagger.load()
    out: list[Any] = tagger.tag(postings)
    for p in postings:  # facets of every category, not only the predicted one
        for name in ("coding", "administration", "other"):
            out.append(dataclasses.asdict(extract_facets(p["text"] or "", p["title"] or "", name)))
    return out


def test_fast_path_never_changes_a_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every tag, evidence sentence and facet with the fast path (triggers, lowercase twins)
    is the one the patterns as written give on every sentence."""
    postings = _postings()
    fast = _all_tags(postings)
    monkeypatch.setattr(prefilter, "FAST", False)
    assert _all_tags(postings) == fast


def test_sentences_given_by_the_caller_give_the_same_tags() -> None:
    """A Doc made from sentences the caller split (each indexed on its own) tags like one
    that splits the text itself (indexed line by line)."""
    for p in _postings():
        body, title = p["text"] or "", p["title"] or ""
        split = sentences(body)
        assert extract_credentials(body, title, split) == extract_credentials(body, title)
        assert classify_remote(body, title, split=split) == classify_remote(body, title)
        for name in ("coding", "administration", "other"):
            assert extract_facets(body, title, name, split) == \
                extract_facets(body, title, name)


def test_word_memory_forgets_without_changing_a_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    """The words learnt across postings are bounded: forgetting them midway changes nothing."""
    postings = _postings()[:40]
    want = Tagger.load().tag(postings)
    monkeypatch.setattr(prefilter._Words, "LIMIT", 300)
    prefilter._forget()
    assert Tagger.load().tag(postings) == want
    assert len(prefilter._WORDS_SEEN.checked) <= 300


def _units(rows: list[dict[str, Any]]) -> list[tuple[Doc, int]]:
    out: list[tuple[Doc, int]] = []
    for row in rows:
        doc = Doc(row.get("text") or "", row.get("title") or "")
        out.extend((doc, i) for i in range(len(doc.units)))
    return out


@pytest.fixture(scope="module")
def corpus_units() -> list[tuple[Doc, int]]:
    return _units(load_corpus() + [{"text": t, "title": "Coder"} for t in ODD_TEXTS])


def test_every_match_holds_a_trigger(corpus_units: list[tuple[Doc, int]]) -> None:
    """The prefilter never drops a sentence (or title) that a rule's pattern matches: each
    rule's triggers are in every match, over the whole training corpus."""
    checked = 0
    for rule in RULES:
        for doc, i in corpus_units:
            if rule.pattern.search(doc.units[i]):
                checked += 1
                assert i in doc.of(rule), (rule, doc.units[i])
                assert rule.may_match(doc.units[i], doc.lows[i]), (rule, doc.units[i])
    assert checked > 1000  # the corpus exercises the rules


def test_every_match_holds_a_trigger_on_held_out_postings(shared_data: Path) -> None:
    rows = [r for name in ("dev.jsonl", "dev_us_a.jsonl", "dev_us_b.jsonl")
            for r in read_labeled(shared_data / name)]
    for doc, i in _units(rows):
        for rule in RULES:
            if rule.pattern.search(doc.units[i]):
                assert i in doc.of(rule), (rule, doc.units[i])


def test_lowercase_twins_match_where_their_patterns_do(
        corpus_units: list[tuple[Doc, int]]) -> None:
    folded = [r for r in RULES if r.twin is not None]
    assert len(folded) > 40
    for doc, i in corpus_units:
        unit, low = doc.units[i], doc.lows[i]
        for rule in folded:
            want = [m.span() for m in rule.pattern.finditer(unit)]
            if _twin_ok(unit, low) and rule.twin is not None:
                assert [m.span() for m in rule.twin.finditer(low)] == want, rule
            assert [m.span() for m in rule.finditer(unit, low)] == (
                want if rule.may_match(unit, low) else [])


def test_ascii_twins_match_where_the_twins_do(corpus_units: list[tuple[Doc, int]]) -> None:
    """On ASCII text a rule runs as its twin compiled with re.ASCII: the same spans on every
    ASCII sentence of the corpus, and on the characters where ASCII and Unicode classes could
    part (the separators \\x1c-\\x1f are \\s in a str pattern, not in an ASCII one)."""
    folded = [r for r in RULES if r.twin is not None]
    assert sum(r.ascii is not r.twin for r in folded) > 40
    odd = ["remote\x1cwork", "on\x1fsite", "fully\tremote", "must\x1dreside in oh",
           "cpc\x1e required", "5\x1fyears", "_remote_", "work from\x0bhome"]
    subjects = [doc.lows[i] for doc, i in corpus_units if doc.lows[i].isascii()] + odd
    for rule in folded:
        assert rule.ascii is not None and rule.twin is not None
        for low in subjects:
            assert [m.span() for m in rule.ascii.finditer(low)] == \
                [m.span() for m in rule.twin.finditer(low)], (rule, low)
    assert Doc("Remote\x1cwork, fully remote.").ascii
    assert not Doc("Remote \u2013 fully remote.").ascii  # the Unicode twin there


@pytest.mark.parametrize(("source", "spelled"), [
    (r"\bon\s+site\b", r"\bon[\x20\t\n\r\f\v\x1c-\x1f]+site\b"),
    (r"[\s,/]+or", r"[\x20\t\n\r\f\v\x1c-\x1f,/]+or"),
    (r"[^\s]+\S", r"[^\x20\t\n\r\f\v\x1c-\x1f]+[^\x20\t\n\r\f\v\x1c-\x1f]"),
    (r"[]\s]a\\s", r"[]\x20\t\n\r\f\v\x1c-\x1f]a\\s"),
    (r"[\S]x", None),  # \S inside a set cannot be spelled: the twin itself
])
def test_ascii_twin_spells_out_whitespace(source: str, spelled: str | None) -> None:
    twin = re.compile(source)
    out = ascii_twin(twin)
    if spelled is None:
        assert out is twin
        return
    assert out.pattern == spelled and out.flags & re.ASCII
    for sample in ["on  site", "on\x1csite", "a, or b / or", "x]\\s", "\x1f]a\\s"]:
        assert [m.span() for m in out.finditer(sample)] == \
            [m.span() for m in twin.finditer(sample)], sample


@pytest.mark.parametrize("pattern", [
    r"(?i)\bremote\b|\bhybrid|work from home|\bwfh\b",
    r"(?i)[|(]x|\b(?:y|z)|\bq(?-i:Q)",
    r"(?i)\bCPC-A\b|[A-Z]{2}\s*\d",
    r"(?i)(?P<n>master)'?s?\b",
    r"(?i)(?P<Deg>master)'?s? (?P=Deg)",
])
def test_lowercase_twin_or_none(pattern: str) -> None:
    compiled = re.compile(pattern)
    twin = lowercase_twin(compiled)
    if "(?-i" in pattern:
        assert twin is None  # scoped flags: the pattern runs as written
        return
    assert twin is not None and not twin.flags & re.IGNORECASE
    for sample in ["Remote, hybrid or WFH", "x|Y Z q", "CPC-a ab 1", "MASTER'S", "İ ſ ı",
                   "Master's MASTER"]:
        if _twin_ok(sample, sample.lower()):
            assert [m.span() for m in twin.finditer(sample.lower())] == \
                [m.span() for m in compiled.finditer(sample)]


def test_folded_pattern_on_letters_that_fold_oddly() -> None:
    folded = Folded(r"(?i)\bprofessional\b|\bhybrid\b")
    for sample in ["Profeſſional", "Hybrıd", "HYBRID", "İstanbul hybrid"]:
        assert bool(folded.search(sample)) == bool(folded.pattern.search(sample)), sample


@pytest.mark.parametrize(("source", "hoisted"), [
    (r"\ba|\bb|c|\bd|\be", r"\b(?:a|b)|c|\b(?:d|e)"),
    (r"[|(]x|\b(?:y|z)|\bq", r"[|(]x|\b(?:(?:y|z)|q)"),
    (r"[]|]|\ba|\bb", r"[]|]|\b(?:a|b)"),
    (r"x\|y|\bz", r"x\|y|\bz"),
])
def test_hoist_boundaries(source: str, hoisted: str) -> None:
    assert hoist_boundaries(source) == hoisted
    for sample in ["a b c d e", "x|y z q", "(x y ]a b", "ab ba cd"]:
        assert [m.span() for m in re.finditer(hoisted, sample)] == \
            [m.span() for m in re.finditer(source, sample)]


def test_words_are_the_model_tokens() -> None:
    """words() and Doc.counts (less its single characters) are WORD's, which are the tokens
    scikit-learn's default token_pattern gives."""
    samples = [r["text"] for r in load_corpus()] + ODD_TEXTS + [
        "a_b c\u00a0d é_f ’xy’ 3× ½ x²y ١٢ ß ǅ \x1cab\x1fcd tab\there\r\nnext\x85x\u2028y",
        "".join(map(chr, range(0x3000))), "", "\n \n"]
    pattern = re.compile(r"(?u)\b\w\w+\b")
    for sample in samples:
        low = sample.lower()
        assert words(low) == WORD.findall(low) == pattern.findall(low)
        counts = Doc(sample, "A title").counts
        assert Counter({t: n for t, n in counts.items() if len(t) > 1}) == Counter(words(low))
        assert all(t in SINGLES for t in counts if len(t) == 1)


def test_abbreviation_precheck_covers_the_pattern() -> None:
    listed = set(re.findall(r"\(\?:(.*)\)", ABBREVIATION.pattern)[0].split("|"))
    assert {a.replace("\\.", ".") for a in listed} == set(text._ABBREVIATIONS)
    assert [s.text for s in sentences("See e.g. NMC rules. Approx. 3 days. Inc. Done.")] == \
        ["See e.g. NMC rules.", "Approx. 3 days.", "Inc. Done."]


def test_sentence_split_and_heading_memory_are_the_plain_ones() -> None:
    """_split() (re.split in C, punctuation put back) splits as the lookbehind pattern does,
    and the remembered heading decision of a short line is _is_heading()'s."""
    breaks = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
    lines = [line.strip() for r in load_corpus() for line in (r["text"] or "").splitlines()]
    lines += ["a. B. c", "Hello! World? Yes. ok. 3 done.", "e.g. x.  (y) \"q' end", ".  A"]
    for line in filter(None, lines):
        assert text._split(line) == breaks.split(line), line
        if len(line) <= text._SHORT_LINE:
            assert text._short_heading(line) == text._is_heading(line, False), line


def test_linear_model_scores_as_the_pipeline(tmp_path: Path) -> None:
    """The exported arithmetic gives the fitted pipeline's probabilities, saved and loaded
    without pickle, with or without the words a Doc counted."""
    pipeline, _ = category.train(tmp_path, cv=False)
    model = category.load_linear(tmp_path)
    rows = _postings() + [{"title": "", "text": ""}, {"title": "İ ſ", "text": "Köln\tcoder"}]
    want = pipeline.predict_proba(category.frame(rows))
    columns = category.columns(rows)
    assert np.allclose(model.predict_proba(columns), want, rtol=0, atol=1e-9)
    counts = [Doc(t).counts for t in columns["text"]]
    assert np.allclose(model.predict_proba(columns, {"text": counts}), want, rtol=0, atol=1e-9)
    reloaded = LinearModel.load(tmp_path / category.LINEAR_FILE)
    assert np.array_equal(reloaded.predict_proba(columns), model.predict_proba(columns))
    meta = json.loads(str(np.load(tmp_path / category.LINEAR_FILE)["meta"]))
    assert [b["name"] for b in meta["blocks"]] == ["title_words", "title_chars", "text_words"]


@pytest.mark.parametrize(("text_", "title", "expected"), [
    # a word inside a longer one is not the word: \b before the spelled-out names
    ("Bachelor's or undergraduate degree in public health required.", "Team Member", {}),
    ("A graduate degree in public health is required.", "Team Member", {"MPH": "required"}),
    ("Uncertified professional coder applicants welcome. Required: typing.", "Coder", {}),
])
def test_credential_names_start_a_word(text_: str, title: str,
                                       expected: dict[str, str]) -> None:
    assert creds(text_, title) == expected


def test_residence_rule_words_start_a_word() -> None:
    # "President of" is no residence rule ("resid..."), "Hampshire in" no "hire in"
    assert eligible_states("This remote role reports to the Vice President of Operations in "
                           "Ohio.") == []
    assert eligible_states("Remote role: we hire in Ohio and Kentucky only.") == ["KY", "OH"]
