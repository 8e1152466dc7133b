"""Shared fixtures: temporary SQLite files, a fresh database on the local PostgreSQL server,
the demo board on localhost, and a model cache private to the test session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from pipeline.db import open_store
from pipeline.demo.board import DemoBoard

PG_ADMIN_URL = os.environ.get(
    "HCJOBS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Train the model once per session into a private folder, not the user's cache."""
    old = os.environ.get("HCJOBS_MODEL_DIR")
    os.environ["HCJOBS_MODEL_DIR"] = str(tmp_path_factory.mktemp("models"))
    yield
    if old is None:
        os.environ.pop("HCJOBS_MODEL_DIR", None)
    else:
        os.environ["HCJOBS_MODEL_DIR"] = old


def _postgres_admin() -> Engine | None:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception:
        engine.dispose()
        return None
    return engine


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """The local PostgreSQL server; skipped on a laptop without one, an error in CI."""
    engine = _postgres_admin()
    if engine is None:
        message = f"PostgreSQL not reachable at {PG_ADMIN_URL} (set HCJOBS_TEST_PG_URL)"
        if os.environ.get("CI"):
            pytest.fail(message + ": CI must have it")
        pytest.skip(message)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(pg_admin: Engine) -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped after the test."""
    name = f"hcjobs_test_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with pg_admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'jobs.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store's URL on each backend the product supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = open_store(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def board() -> Iterator[DemoBoard]:
    """The bundled demo board on a free localhost port."""
    with DemoBoard() as server:
        yield server


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The labeled evaluation sets beside the project; tests using them skip without them."""
    if not (SHARED_DATA / "dev.jsonl").exists():
        pytest.skip(f"labeled evaluation data not found at {SHARED_DATA}")
    return SHARED_DATA
