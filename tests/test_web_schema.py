"""Schemathesis against the app's own OpenAPI document: generated requests (valid and
boundary values of every parameter) never get a server error, and every answer matches the
schema the document promises."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from test_web_api import NOW, demo_store

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with")
EXAMPLES = 20


# Schemathesis' fixture-based loader does not work with pytest 9 (it sets Function._nodeid),
# so the schema comes from an app made at import; the app opens its store on first request,
# and the module fixture below puts the demo store in place before any request is made.
STORE_DIR = Path(tempfile.mkdtemp(prefix="hcjobs-schema-"))
APP = create_app(f"sqlite:///{STORE_DIR / 'jobs.db'}", clock=lambda: NOW)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def _demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    source = Path(demo_store(tmp_path_factory).removeprefix("sqlite:///"))
    shutil.copy(source, STORE_DIR / "jobs.db")
    yield
    APP.state.open_store.dispose()
    shutil.rmtree(STORE_DIR, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_error_and_answers_match_the_schema(case: Any) -> None:
    case.call_and_validate(checks=[not_a_server_error, status_code_conformance,
                                   content_type_conformance, response_schema_conformance])


def test_openapi_document_lists_every_filter() -> None:
    spec = APP.openapi()
    params = {p["name"] for p in spec["paths"]["/api/postings"]["get"]["parameters"]}
    assert params >= {"category", "remote", "credential", "requirement", "open_to", "state",
                      "employer", "facet", "salary_min", "posted_since", "q",
                      "include_closed", "sort", "cursor", "limit"}
    assert set(spec["paths"]) >= {"/api/postings", "/api/postings/{posting_id}",
                                  "/api/facets", "/api/stats", "/feeds/postings.atom"}
