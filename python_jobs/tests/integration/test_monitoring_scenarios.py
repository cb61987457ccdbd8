"""Monitoring scenarios with the generator's knobs, run through the real pipeline: claims
generated from the session dataset's seed (the same population the champion was trained on)
with a knob turned, built into features, scored by that champion, monitored by the SQL
models and turned into alerts.

- ten batches without drift (ten 35-day windows of the session dataset's second year; its
  first year is the warm-up of the point-in-time features): no warn or error from PSI on the
  inputs that do not read the data's history, none from volume, no error from the score
  distribution, and no disparate impact failure for gender. The inputs that read the history
  (READS_HISTORY) do shift against the training window's reference, which holds the warm-up:
  a known limitation, issue 13's closing note;
- a drifted batch (charges and units, generator drift knob): error on the drifted features
  and on no feature the drift does not touch; the alerts job sends to a webhook, exits 3
  because a second channel is down, records everything in mon_alerts and retrains through
  the train selector;
- a batch whose fraud rate is four times as high for women (generator bias knob): the flags
  show it, a warning (it reaches the flags through a few providers), no fail elsewhere.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from harness import (
    PROJECT_ROOT,
    TEST_LINES,
    TEST_SEED,
    DbtProject,
    copy_trained_state,
    make_project,
)

from claims_fraud.cli.main import main as cli_main
from claims_fraud.ml.score import load_champions, score_batch, select_batch
from claims_fraud.ml.tracking import MlflowSettings
from claims_fraud.warehouse.connections import DuckDBWarehouse
from claims_fraud.warehouse.frames import to_pandas

# slow: each test makes a whole state of its own (make test-slow, run by .ci/run)
pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLI = str(Path(sys.executable).with_name("claims-fraud"))
# Features the drift knob moves (charges x exp(0.3 strength), extra units) ...
DRIFTED = {"total_charge_amount", "total_allowed_amount", "total_paid_amount"}
# ... and features it cannot touch (no charge, unit or minute in them).
UNTOUCHED = {
    "claim_type",
    "rendering_specialty",
    "line_count",
    "max_em_level",
    "member_claims_prior_30d",
    "member_claims_prior_90d",
    "is_weekend_service",
    "days_to_payment",
    "has_duplicate_service",
    "allowed_to_charge_ratio",
    "modifier_59_25_line_share",
}
WARN_OR_ERROR = ("warn", "error", "no_data", "missing_reference")
# Inputs computed from the claims before each claim (point in time): they change as the data's
# history fills up, warm-up that the training window's reference profile holds.
READS_HISTORY = frozenset(
    {
        "provider_high_em_share",
        "provider_high_em_share_excess",
        "provider_high_em_share_zscore",
        "provider_modifier_59_25_share",
        "max_charge_peer_zscore",
        "provider_shared_member_share",
        "provider_community_share",
        "provider_network_partners",
        "provider_pair_shared_member_share",
        "member_new_providers_prior_30d",
        "is_new_patient",
        "fraud_probability",
    }
)


@pytest.fixture(scope="module")
def scenario(
    tmp_path_factory: pytest.TempPathFactory, trained_project: DbtProject
) -> Callable[..., DbtProject]:
    """A new project on freshly generated claims (generator options as keyword arguments),
    scored by a copy of the session's trained registry, features built."""

    def _make(name: str, **options: str) -> DbtProject:
        root = tmp_path_factory.mktemp(name)
        raw = root / "raw"
        arguments = ["--lines", str(TEST_LINES), "--seed", str(TEST_SEED)]
        for option, value in options.items():
            arguments += [f"--{option.replace('_', '-')}", value]
        assert cli_main(["generate", *arguments, "--out", str(raw), "--no-progress"]) == 0
        project = make_project(root, raw)
        shutil.copytree(trained_project.mlflow_dir, project.mlflow_dir)
        project.dbt("build", "--selector", "features")
        return project

    return _make


def _score_and_monitor(project: DbtProject, batch: str) -> dict[str, dict]:
    """Score every claim as ``batch`` and monitor it; the status tests' results by name."""
    variables = json.dumps({"scoring_batch_id": batch})
    project.dbt("build", "--selector", "score", "--vars", variables)
    # The status tests may fail the build on purpose; the tables are what is checked.
    project.dbt("build", "--selector", "monitor", "--vars", variables, check=False)
    return {
        result["unique_id"].split(".")[2]: result
        for result in project.run_results()["results"]
        if result["unique_id"].startswith("test.")
    }


def _statuses(project: DbtProject, table: str, batch: str, key: str) -> dict[str, str]:
    rows = project.query(
        f"select {key}, status from main_monitoring.{table} where batch_id = '{batch}'"
    )
    return dict(rows)


def test_ten_batches_without_drift_raise_nothing(
    tmp_path: Path, trained_project: DbtProject
) -> None:
    project = copy_trained_state(trained_project, tmp_path / "no_drift")
    champions = load_champions(MlflowSettings.local(project.mlflow_dir))
    with duckdb.connect(str(project.duckdb_path)) as con:
        features = to_pandas(con.sql("select * from main_features.fct_claim_features"))
        con.execute("delete from main_ml.fraud_scores")
    # Ten batches scored by the real champion (as the fraud_scores model does), monitored in
    # one dbt run: the incremental models pick up every new batch.
    # In the data's second year (35-day windows): its first year is the features' warm-up.
    first, scored_at = date(2025, 1, 1), datetime(2026, 6, 1)
    batches = []
    for i in range(10):
        start, end = first + timedelta(days=35 * i), first + timedelta(days=35 * (i + 1))
        claims = select_batch(features, start.isoformat(), end.isoformat())
        at = scored_at + timedelta(days=i)
        batches.append(score_batch(claims, champions, f"w{i:02d}", scored_at=at))
    DuckDBWarehouse(project.duckdb_path).append("fraud_scores", pd.concat(batches))
    # check=False: disparate impact may fail the build (see below); drift must not.
    project.dbt("build", "--selector", "monitor", "--vars", "{scoring_batch_id: w09}", check=False)
    results = {
        result["unique_id"].split(".")[2]: result["status"]
        for result in project.run_results()["results"]
    }
    assert results["volume_stable_mon_data_volume_"] == "pass"
    assert results["mon_data_volume"] == "success"

    sizes = project.query("select batch_id, n from main_monitoring.mon_score_distribution")
    assert len(sizes) == 10
    assert min(n for _, n in sizes) > 500
    findings = project.query(
        "select 'psi', batch_id, feature_name, status from main_monitoring.mon_feature_psi "
        "union all select 'score', batch_id, '', status "
        "from main_monitoring.mon_score_distribution "
        "union all select 'volume', batch_id, subject, status "
        "from main_monitoring.mon_data_volume"
    )
    raised = [row for row in findings if row[3] in WARN_OR_ERROR]
    errors = [row for row in findings if row[3] == "error"]
    print(  # the figures the issue asks for (pytest -s shows them)
        f"ten quiet batches: {len(errors)} error(s) of {len(findings)} PSI/score/volume checks "
        f"({[row[1:3] for row in errors]}), {len(raised)} warn or error"
    )
    # Known limitation (issue 13's closing note): the point-in-time inputs that read the data's
    # history fill up over its two years while the reference is the training window, which
    # holds the warm-up, so they (and the score that reads them) shift without any drift.
    # Every other input, the volume and the score's tests at error stay quiet.
    assert [row for row in raised if row[2] not in READS_HISTORY and row[0] != "score"] == []
    assert [row for row in findings if row[0] == "score" and row[3] == "error"] == []
    judged = [row for row in findings if row[0] == "volume" and row[3] == "ok"]
    assert len(judged) >= 5  # the last batches had enough history for a real verdict
    # Disparate impact, cluster-robust by provider: no group of any attribute fails on quiet
    # batches (a test treating claims as independent failed region or age groups here: rings
    # and local providers make flags cluster by provider and place).
    checks = project.query(
        "select status from main_monitoring.mon_disparate_impact "
        "where group_name <> reference_group"
    )
    assert len(checks) >= 50
    assert [status for (status,) in checks if status == "fail"] == []
    print(f"ten quiet batches: 0 disparate impact fail of {len(checks)} group checks")

    # The same claims as one batch with women's flag rate doubled (unflagged claims of women
    # flagged at random): an injected x2 bias fails gender, and nothing else.
    together = pd.concat(batches, ignore_index=True)
    gender = together[["claim_id"]].merge(features[["claim_id", "gender"]], on="claim_id")
    women = together["claim_id"].isin(gender.loc[gender["gender"] == "female", "claim_id"])
    extra = together.loc[women & ~together["is_flagged"]].sample(
        n=int((women & together["is_flagged"]).sum()), random_state=7
    )
    biased = together.assign(batch_id="bias-x2", scored_at=scored_at + timedelta(days=30))
    biased.loc[extra.index, "is_flagged"] = True
    DuckDBWarehouse(project.duckdb_path).append("fraud_scores", biased)
    project.dbt(
        "build", "--selector", "monitor", "--vars", "{scoring_batch_id: bias-x2}", check=False
    )
    verdicts = project.query(
        "select attribute_name, group_name, status, disparate_impact "
        "from main_monitoring.mon_disparate_impact where batch_id = 'bias-x2'"
    )
    failed = {(attribute, group) for attribute, group, state, _ in verdicts if state == "fail"}
    print(f"injected x2 flag rate for women: fail {sorted(failed)}, verdicts {verdicts}")
    assert failed in ({("gender", "male")}, {("gender", "female")})


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []  # noqa: RUF012 - shared with the test on purpose

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append({"path": self.path, "body": json.loads(body)})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def webhook() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"json://127.0.0.1:{server.server_port}/alerts"
    server.shutdown()


def test_drifted_batch_errors_on_drifted_features_alerts_and_retrains(
    scenario: Callable[..., DbtProject], webhook: str
) -> None:
    project = scenario("drift", drift_start="2024-01-02", drift_strength="3")
    tests = _score_and_monitor(project, "drifted")
    psi = _statuses(project, "mon_feature_psi", "drifted", "feature_name")
    errors = {feature for feature, status in psi.items() if status == "error"}
    assert errors >= DRIFTED
    assert not errors & UNTOUCHED
    # the status test errors, and counts the rows at error
    psi_test = tests["psi_within_mon_feature_psi_"]
    assert psi_test["status"] == "fail"
    assert psi_test["failures"] == len(errors)

    result = subprocess.run(
        [
            CLI,
            "alerts",
            "--duckdb",
            str(project.duckdb_path),
            "--mlflow-dir",
            str(project.mlflow_dir),
            "--project-dir",
            str(PROJECT_ROOT),
            "--notify",
            webhook,
            "--notify",
            "json://127.0.0.1:9/unreachable",
        ],
        env=project.absolute_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    # 3, not 1: a channel did not get the alert (alerts.EXIT_DELIVERY_FAILED wins)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "total_charge_amount: PSI" in result.stdout
    assert "driven by bin" in result.stdout
    # the webhook got the summary; the unreachable channel is reported, by its own label
    assert len(_Hook.received) == 1
    assert "total_charge_amount" in _Hook.received[0]["body"]["message"]
    assert "channel json://127.0.0.1:9/unreachable: NOT sent" in result.stdout
    alerts = project.query(
        "select alert_type, severity, subject, delivered from main_monitoring.mon_alerts"
    )
    kinds = {(kind, subject) for kind, _, subject, _ in alerts}
    assert ("feature_drift", "total_charge_amount") in kinds
    assert {row[3] for row in alerts} == {False}  # one of two channels was down
    trigger = [row for row in alerts if row[0] == "retrain_trigger"]
    assert len(trigger) == 1
    assert trigger[0][1] == "info", result.stdout
    # the train selector really ran: a new training run was recorded
    assert project.scalar("select count(*) from main_ml.ml_training_runs") >= 1
    assert "`claims-fraud bundle run claims_fraud_training` exited 0" in result.stdout
    # The drift error that asked for the retrain does not block it: the gate skips the tests
    # of the scoring and monitoring models (they judge the champion being replaced).
    recorded = project.query(
        "select status, gates_promotion from main_audit.dbt_test_results "
        "where test_unique_id like '%psi_within_mon_feature_psi%' order by completed_at desc"
    )
    assert recorded[0] == ("fail", False)
    decision = project.query(
        "select data_tests_passed, data_tests_detail, performance_passed, fairness_passed, "
        "is_promoted from main_ml.ml_promotion_decisions order by decided_at desc limit 1"
    )[0]
    data_tests_passed, detail, performance_passed, fairness_passed, promoted = decision
    assert data_tests_passed, detail
    assert json.loads(detail)["tests_of_scoring_and_monitoring_ignored"] > 0
    assert promoted == (performance_passed and fairness_passed)


def test_a_gender_biased_fraud_rate_reaches_the_flags_and_warns(
    scenario: Callable[..., DbtProject],
) -> None:
    # The generator's bias knob: four times the fraud rate for women. It reaches the flags
    # (male DI below the band) but through the providers that defraud them: the flags of a
    # few fraudulent providers, so the cluster-robust test calls it a warning, not evidence
    # (measured: male DI 0.64, design effect 4.4, p outside the band 0.078). A x2 bias on the
    # flags themselves fails: test_ten_batches_without_drift_raise_nothing.
    project = scenario("bias", bias_attribute="gender", bias_group="female", bias_factor="4")
    tests = _score_and_monitor(project, "biased")
    assert tests["disparate_impact_within_mon_disparate_impact_"]["status"] in ("warn", "fail")
    rows = project.query(
        "select attribute_name, group_name, status, disparate_impact "
        "from main_monitoring.mon_disparate_impact where batch_id = 'biased'"
    )
    gender = {group: (state, di) for attribute, group, state, di in rows if attribute == "gender"}
    female_state, female_di = gender["female"]
    male_state, male_di = gender["male"]
    # whichever of the two is the reference, women are flagged far more often than men
    assert female_di / male_di > 1.25
    assert {female_state, male_state} & {"warn_not_significant", "fail"}
    assert [row for row in rows if row[0] != "gender" and row[2] == "fail"] == []
