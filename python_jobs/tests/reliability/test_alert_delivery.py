"""Alerts that nobody received must not pass for sent (issue 10, defect 9).

`claims-fraud alerts` run through its CLI on a real DuckDB file holding small hand-made
monitoring tables, sending through apprise to real HTTP endpoints on 127.0.0.1: one path that
accepts (200), one that fails (500), and a port where nothing listens. Exit codes: 0 fine,
1 verdict at error, 2 refused at start, 3 a channel did not get the summary (wins over 1).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from claims_fraud.cli.main import main
from claims_fraud.deploy import bundle
from claims_fraud.monitoring import alerts
from claims_fraud.warehouse.connections import DuckDBWarehouse

ROOT = Path(__file__).resolve().parents[3]
# Built at run time so that no secret-looking literal sits in this file (secret scan).
TOKEN = "TIiajkdnlazk" + "cOXrIdevi7FQ"
LOGIN_WORD = "s3cret" + "-Pa55"


class _Hook(BaseHTTPRequestHandler):
    """/a accepts, anything else answers 500; every POST is recorded."""

    received: list[str] = []  # noqa: RUF012 - read by the tests

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(self.path)
        self.send_response(200 if self.path == "/a" else 500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def port() -> Iterator[int]:
    _Hook.received = []
    httpd = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_port
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _warehouse(path: Path, status: str) -> Path:
    """Monitoring tables of one batch b1 whose score distribution is at ``status`` (ok, warn,
    error) and nothing else to report."""
    score = {
        "batch_id": "b1",
        "model_version": "3",
        "scored_at": datetime(2026, 3, 2, 6),
        "n": 1000,
        "flag_rate": 0.05,
        "expected_flag_rate": 0.05,
        "flag_rate_p_value": 0.9,
        "fraud_probability_p95": 0.6,
        "ks_statistic": 0.1,
        "score_psi": 0.05,
        "score_psi_status": "ok",
        "status": status,
    }
    tables = {
        "mon_score_distribution": pd.DataFrame([score]),
        "mon_feature_psi": pd.DataFrame(columns=["batch_id", "feature_name", "psi", "status"]),
        "mon_disparate_impact": pd.DataFrame(
            columns=["batch_id", "status", "group_name", "attribute_name"]
        ),
        "mon_data_volume": pd.DataFrame(columns=["batch_id", "status"]),
        "mon_model_performance": pd.DataFrame(columns=["batch_id", "model_version", "status"]),
    }
    with duckdb.connect(str(path)) as con:
        con.execute("create schema main_monitoring")
        for name, frame in tables.items():
            con.register("frame", frame)
            con.execute(f"create table main_monitoring.{name} as select * from frame")
            con.unregister("frame")
    return path


def _alerts(duckdb_path: Path, *urls: str) -> int:
    notify = [arg for url in urls for arg in ("--notify", url)]
    return main(["alerts", "--duckdb", str(duckdb_path), "--retrain", "off", *notify])


def _recorded(duckdb_path: Path) -> pd.DataFrame:
    return DuckDBWarehouse(duckdb_path, "main_monitoring").read(alerts.ALERTS_TABLE)


# --- a failed delivery is a failure ------------------------------------------------------------


def test_every_channel_down_exits_delivery_failed(
    tmp_path: Path, closed_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _warehouse(tmp_path / "w.duckdb", "ok")
    code = _alerts(store, f"json://127.0.0.1:{closed_port}/")
    out = capsys.readouterr().out
    assert code == alerts.EXIT_DELIVERY_FAILED == 3
    assert f"channel json://127.0.0.1:{closed_port}/: NOT sent" in out
    assert "DELIVERY FAILED: 1 of 1 channel(s)" in out
    recorded = _recorded(store)
    assert recorded["delivered"].eq(False).all()  # the verdict is kept all the same


@pytest.mark.parametrize(
    ("verdict", "paths", "expected"),
    [
        ("ok", (), alerts.EXIT_OK),
        ("warn", ("a",), alerts.EXIT_OK),
        ("error", (), alerts.EXIT_ALERT),
        ("error", ("a",), alerts.EXIT_ALERT),
        ("warn", ("b",), alerts.EXIT_DELIVERY_FAILED),
        ("error", ("b",), alerts.EXIT_DELIVERY_FAILED),  # nobody told: delivery wins
        ("error", ("a", "b"), alerts.EXIT_DELIVERY_FAILED),  # one channel missed it
    ],
    ids=lambda value: "-".join(value) if isinstance(value, tuple) else str(value),
)
def test_exit_code_contract(
    tmp_path: Path, port: int, verdict: str, paths: tuple[str, ...], expected: int
) -> None:
    store = _warehouse(tmp_path / "w.duckdb", verdict)
    assert _alerts(store, *(f"json://127.0.0.1:{port}/{p}" for p in paths)) == expected
    assert sorted(_Hook.received) == sorted(f"/{p}" for p in paths)  # every channel was tried


# --- two channels on one host ------------------------------------------------------------------


def test_two_channels_on_one_host_are_told_apart(
    tmp_path: Path, port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _warehouse(tmp_path / "w.duckdb", "error")
    good, bad = f"json://127.0.0.1:{port}/a", f"json://127.0.0.1:{port}/b"
    assert _alerts(store, good, bad) == alerts.EXIT_DELIVERY_FAILED
    out = capsys.readouterr().out
    assert f"channel {good}: sent" in out
    assert f"channel {bad}: NOT sent (not delivered)" in out
    recorded = _recorded(store)
    assert set(recorded["channels"]) == {f"{good}, {bad}"}
    summary = recorded[recorded["alert_type"] == "batch_summary"].iloc[0]
    details = json.loads(summary["details"])
    assert details["deliveries"] == {good: True, bad: False}
    assert details["delivery_errors"] == f"{bad}: not delivered"
    assert summary["delivered"] == False  # noqa: E712 - a pandas boolean


def test_channel_labels_keep_no_secret_and_stay_distinct() -> None:
    slack = f"slack://T1JJ3T3L2/A1BRTD4JD/{TOKEN}/#fraud"
    mail = "mailto://siu:" + LOGIN_WORD + "@mail.example.com?to=siu@example.com"
    hook = "https://hooks.slack.com/services/TABCDEFGH/BABCDEFGH/" + TOKEN
    urls = [slack, mail, hook, "json://127.0.0.1:8080/path?token=" + TOKEN, slack]
    labels = alerts.channel_labels(urls)
    assert labels == [
        "slack://***/***/***/#fraud (channel 1)",
        "mailto://***@mail.example.com?to=***",
        "https://hooks.slack.com/services/***/***/***",
        "json://127.0.0.1:8080/path?token=***",
        "slack://***/***/***/#fraud (channel 5)",
    ]
    for secret in (TOKEN, LOGIN_WORD, "T1JJ3T3L2", "TABCDEFGH", "siu:"):
        assert not any(secret in label for label in labels), secret


# --- a bad URL is refused at start -------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "label", "why"),
    [
        (
            f"slakc://T1JJ3T3L2/A1BRTD4JD/{TOKEN}",
            "slakc://***/***/***",
            "unknown scheme slakc://",
        ),
        (
            "json://siu:" + LOGIN_WORD + "@127.0.0.1:notaport/hook",
            "json://***@127.0.0.1:<not a port>/hook",
            "a malformed json:// URL",
        ),
        ("slack://" + TOKEN, "slack://***", "a malformed slack:// URL"),
        ("hooks.example.com/hook", "hooks.example.com/hook", "not a URL (no scheme://)"),
        (
            "https://example.com/hook?token=" + TOKEN,
            "https://example.com/hook?token=***",
            "https:// is accepted only for the webhooks of services apprise knows",
        ),
    ],
    ids=["mistyped-scheme", "bad-port", "missing-tokens", "no-scheme", "generic-https"],
)
def test_a_bad_channel_url_is_refused_before_anything_is_read_or_sent(
    tmp_path: Path, port: int, capsys: pytest.CaptureFixture[str], url: str, label: str, why: str
) -> None:
    missing = tmp_path / "not-built.duckdb"  # reading it would fail with another message
    code = _alerts(missing, f"json://127.0.0.1:{port}/a", url)
    out, err = capsys.readouterr()
    assert code == alerts.EXIT_REFUSED == 2
    assert f"channel 2 of 2 (--notify): {label}: {why}" in err
    assert "how to fix:" in err
    assert "slack://TokenA/TokenB/TokenC/#channel" in err  # what a good URL looks like
    for secret in (TOKEN, LOGIN_WORD):
        assert secret not in out + err
    assert _Hook.received == []  # the good channel was not sent to either
    assert not missing.exists()
    assert "does not exist" not in err


def test_a_bad_url_in_the_environment_is_refused_and_nothing_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _warehouse(tmp_path / "w.duckdb", "error")
    monkeypatch.setenv("CLAIMS_FRAUD_ALERT_URLS", "json://127.0.0.1:9/ok, slakc://x/y/z")
    assert _alerts(store) == alerts.EXIT_REFUSED
    err = capsys.readouterr().err
    assert "channel 2 of 2 ($CLAIMS_FRAUD_ALERT_URLS): slakc://***/***/***" in err
    with pytest.raises(Exception, match="mon_alerts not found"):
        _recorded(store)
    # the library entry point refuses the same way, before reading the warehouse
    with pytest.raises(alerts.ChannelConfigError, match="unknown scheme slakc://"):
        alerts.run_alerts(DuckDBWarehouse(tmp_path / "absent.duckdb"), ["slakc://x/y/z"])


# --- the pipeline treats exit 3 as a failure ---------------------------------------------------


def test_the_local_bundle_run_fails_when_alerts_exits_delivery_failed() -> None:
    job = bundle.jobs(bundle.load_bundle(ROOT, "dev"))["claims_fraud_pipeline"]
    lines: list[str] = []

    def runner(argv: list[str]) -> int:
        return alerts.EXIT_DELIVERY_FAILED if argv[1:2] == ["alerts"] else 0

    code = bundle.run_job(job, bundle.LocalSettings(), runner=runner, echo=lines.append)
    assert code == 1
    assert any(line.startswith("[4/7 alerts] failed in ") for line in lines), lines
    assert any("tasks not successful: alerts" in line for line in lines), lines
