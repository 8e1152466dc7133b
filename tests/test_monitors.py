"""Alert state across runs the operator's stop interrupted, the alert records' fields, and
the e-mail notifier's TLS and password keys, against real crawls and a real SMTP server."""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pipeline.crawl import run_crawl
from pipeline.db import open_store, session_scope
from pipeline.demo.board import DemoBoard, load_board
from pipeline.logs import JsonFormatter
from pipeline.models import CrawlRun
from pipeline.monitors import STOPPED, Check, Problem, check_runs, notify
from pipeline.store import finish_run, start_run


def greenhouse_board() -> dict[str, Any]:
    data = load_board()
    return {"employers": [next(e for e in data["employers"] if e["kind"] == "greenhouse")]}


def test_a_stop_neither_alerts_nor_breaks_one_alert_one_recovery(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Broken, stopped, still broken, stopped, fixed: one alert and one recovery in all,
    however the stopped runs fall; a run stopped by its time limit still alerts."""
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    engine = open_store(url)
    caplog.set_level(logging.INFO, logger="hcjobs.alerts")
    outcomes: list[tuple[list[str], list[str]]] = []
    with DemoBoard(greenhouse_board()) as board:
        source = {"name": "plan", "kind": "greenhouse",
                  "board": board.board["employers"][0]["slug"], "base_url": board.url,
                  "schedule": "0 * * * *", "enabled": True}
        prefix = f"/v1/boards/{source['board']}/"
        for step in ("broken", "stopped", "broken", "stopped", "fixed"):
            board.faults.clear()
            board.latency = 0.0
            if step == "broken":
                board.faults[prefix] = "empty"
            if step == "stopped":  # a crawl interrupted mid-request, as a stop does
                board.latency = 5.0
            result = run_crawl(engine, url, [source], timeout=1.5 if step == "stopped" else 60)
            checks = check_runs(engine, result.run_ids, [{"kind": "log"}],
                                stopped=step == "stopped")
            outcomes += [([p.check for p in c.new], c.recovered) for c in checks]
            if step == "stopped":
                assert checks == []
                with session_scope(engine) as session:
                    run = session.get(CrawlRun, result.run_ids[0])
                    assert run is not None and run.status == "interrupted"
                    assert run.stats["monitors"] == {"skipped": STOPPED}
        assert outcomes == [(["zero_postings"], []), ([], []), ([], ["zero_postings"])]
        alerts = [r for r in caplog.records if r.name == "hcjobs.alerts"]
        assert [(r.levelname, r.__dict__["check"]) for r in alerts] == \
            [("WARNING", "zero_postings"), ("INFO", "zero_postings")]

        # the same interruption without the operator's stop (a time limit) is a failure
        board.latency = 5.0
        result = run_crawl(engine, url, [source], timeout=1.5)
        (check,) = check_runs(engine, result.run_ids, [{"kind": "log"}])
        assert [p.check for p in check.new] == ["failed"]
    engine.dispose()


def test_alert_records_carry_source_and_run_id_as_json_fields(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hcjobs.alerts")
    check = Check("humana", 42, [Problem("zero_postings", "none listed")],
                  new=[Problem("zero_postings", "none listed")], recovered=["http_errors"])
    assert notify(check, [{"kind": "log"}]) == 2
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records
             if r.name == "hcjobs.alerts"]
    assert [(line["level"], line["source"], line["run_id"], line["check"]) for line in lines] \
        == [("WARNING", "humana", 42, "zero_postings"), ("INFO", "humana", 42, "http_errors")]
    assert "recovered from http errors" in lines[1]["message"]


def _self_signed(folder: Path) -> ssl.SSLContext:
    """A server TLS context for 127.0.0.1 with a throwaway self-signed certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(hours=1)).sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


def test_email_over_tls_with_the_password_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    logins: list[tuple[bytes, bytes]] = []
    messages: list[str] = []

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                     data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"s3cret")

    class Inbox:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            messages.append(envelope.content.decode())
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(Inbox(), hostname="127.0.0.1", port=port, ssl_context=_self_signed(tmp_path),
                      authenticator=authenticate, auth_require_tls=False)
    smtp.start()
    notifier = {"kind": "email", "host": "127.0.0.1", "port": port, "ssl": True,
                "user": "hcjobs", "password_env": "HCJOBS_TEST_SMTP_PASSWORD",
                "from": "hcjobs@example.org", "to": "ops@example.org"}
    check = Check("plan", 7, [], new=[Problem("zero_postings", "none listed")])
    try:
        assert notify(check, [notifier]) == 0  # the variable is not set: said, not sent
        monkeypatch.setenv("HCJOBS_TEST_SMTP_PASSWORD", "s3cret")
        assert notify(check, [notifier]) == 1
        assert notify(check, [{**notifier, "starttls": True}]) == 0  # both: refused
    finally:
        smtp.stop()
    assert logins == [(b"hcjobs", b"s3cret")]
    assert len(messages) == 1 and "Subject: [hcjobs] plan: zero postings" in messages[0]


def test_a_source_never_checked_is_compared_with_its_last_checked_run(tmp_path: Path) -> None:
    """A run nobody checked (a crawl cut short by Ctrl-C, say) is passed over like a stopped
    one: the problem it would have shown is not alerted twice."""
    engine = open_store(f"sqlite:///{tmp_path / 'jobs.db'}")
    source = {"name": "plan", "kind": "greenhouse", "board": "x", "enabled": True}
    run_ids = []
    for _ in range(3):  # three runs that listed nothing
        run_ids.append(start_run(engine, source))
        finish_run(engine, run_ids[-1], status="ok", error=None, stats={})
    (check,) = check_runs(engine, run_ids[:1], [])
    assert [p.check for p in check.new] == ["zero_postings"]
    (check,) = check_runs(engine, run_ids[2:], [])  # the second run was never checked
    assert check.new == [] and check.recovered == []
    with session_scope(engine) as session:
        monitored = [run.stats.get("monitors") is not None
                     for run in session.scalars(select(CrawlRun).order_by(CrawlRun.id))]
    assert monitored == [True, False, True]
    engine.dispose()
