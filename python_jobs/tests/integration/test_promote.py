"""The champion/challenger gate with a real MLflow registry and the real feature table."""

from __future__ import annotations

import shutil
from datetime import datetime

import mlflow
import numpy as np
import pandas as pd
import pytest
from harness import DbtProject
from mlflow.pyfunc import PythonModel

from claims_fraud.cli.main import main as cli_main
from claims_fraud.features.spec import load_feature_spec
from claims_fraud.ml.promote import data_tests_gate, performance_gate, run_promotion
from claims_fraud.ml.tracking import CHALLENGER, CHAMPION, MlflowSettings, version_by_alias
from claims_fraud.warehouse.connections import DuckDBWarehouse

pytestmark = pytest.mark.integration


class RandomScorer(PythonModel):
    """A challenger with no skill: seeded noise."""

    def __init__(self, spec, flag_threshold: float) -> None:
        self.spec = spec
        self.flag_threshold = flag_threshold

    def predict(self, context, model_input, params=None):
        return np.random.default_rng(0).random(len(model_input))


class RegionScorer(PythonModel):
    """A challenger whose flags depend on a protected attribute (member_region)."""

    def __init__(self, spec, flag_threshold: float) -> None:
        self.spec = spec
        self.flag_threshold = flag_threshold

    def predict(self, context, model_input, params=None):
        south = model_input["member_region"].astype(str).eq("South").to_numpy()
        return (
            np.where(south, 0.2, 0.01)
            + model_input["total_charge_amount"].astype(float).rank(pct=True).to_numpy() * 0.001
        )


def _register_challenger(
    settings: MlflowSettings, model: PythonModel, window: tuple[str, str]
) -> str:
    client = settings.activate()
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=model,
            registered_model_name=settings.classifier_name,
            pip_requirements=["mlflow"],
        )
    version = str(info.registered_model_version)
    client.set_registered_model_alias(settings.classifier_name, CHALLENGER, version)
    client.set_model_version_tag(settings.classifier_name, version, "validation_start", window[0])
    client.set_model_version_tag(settings.classifier_name, version, "validation_end", window[1])
    return version


def _copy_state(
    project: DbtProject, tmp_path, with_mlflow: bool
) -> tuple[DuckDBWarehouse, MlflowSettings]:
    db = tmp_path / "copy.duckdb"
    shutil.copy(project.duckdb_path, db)
    mlflow_dir = tmp_path / "mlflow"
    if with_mlflow:
        shutil.copytree(project.mlflow_dir, mlflow_dir)
    return DuckDBWarehouse(db), MlflowSettings.local(mlflow_dir)


def test_a_worse_challenger_is_rejected_and_the_champion_stays(
    trained_project: DbtProject, tmp_path
) -> None:
    warehouse, settings = _copy_state(trained_project, tmp_path, with_mlflow=True)
    client = settings.activate()
    champion = client.get_model_version_by_alias(settings.classifier_name, CHAMPION)
    window = (champion.tags["validation_start"], champion.tags["validation_end"])
    version = _register_challenger(settings, RandomScorer(load_feature_spec(), 0.95), window)

    decision = run_promotion(warehouse, settings)

    assert not decision.promoted
    gates = {gate.name: gate for gate in decision.gates}
    assert not gates["performance"].passed
    assert gates["performance"].value < gates["performance"].detail["champion_pr_auc"] - 0.02
    after = client.get_model_version_by_alias(settings.classifier_name, CHAMPION)
    assert str(after.version) == str(champion.version) != version
    row = warehouse.read("ml_promotion_decisions").iloc[-1]
    assert row["challenger_version"] == version
    assert not row["is_promoted"]
    assert not row["performance_passed"]


def test_an_unfair_challenger_is_never_promoted_even_without_a_champion(
    trained_project: DbtProject, tmp_path
) -> None:
    warehouse, settings = _copy_state(trained_project, tmp_path, with_mlflow=False)
    features = warehouse.read("fct_claim_features")
    days = pd.to_datetime(features["claim_start_date"])
    window = (days.min().date().isoformat(), days.max().date().isoformat())
    _register_challenger(settings, RegionScorer(load_feature_spec(), 0.1), window)

    decision = run_promotion(warehouse, settings)

    gates = {gate.name: gate for gate in decision.gates}
    assert gates["performance"].passed  # no champion to compare with
    assert not gates["fairness"].passed
    statuses = {
        group["group"]: group["status"] for group in gates["fairness"].detail["member_region"]
    }
    assert "fail" in statuses.values()
    assert not decision.promoted
    assert version_by_alias(settings.activate(), settings.classifier_name, CHAMPION) is None


def test_promote_without_a_challenger_fails_clearly(
    trained_project: DbtProject, tmp_path, capsys
) -> None:
    exit_code = cli_main(
        [
            "promote",
            "--duckdb",
            str(trained_project.duckdb_path),
            "--mlflow-dir",
            str(tmp_path / "empty"),
        ]
    )
    assert exit_code == 2
    assert "@challenger" in capsys.readouterr().err


def test_performance_gate_tolerance() -> None:
    assert performance_gate(0.50, None, 0.02).passed
    assert performance_gate(0.49, 0.50, 0.02).passed
    assert not performance_gate(0.47, 0.50, 0.02).passed


def test_data_tests_gate_uses_the_latest_result_of_each_error_test() -> None:
    older, newer = datetime(2026, 1, 1), datetime(2026, 1, 2)
    results = pd.DataFrame(
        {
            "test_unique_id": ["test.a", "test.a", "test.b", "test.c"],
            "status": ["fail", "pass", "warn", "fail"],
            "severity": ["ERROR", "ERROR", "WARN", "WARN"],
            "completed_at": [older, newer, newer, newer],
        }
    )
    assert data_tests_gate(results).passed  # a fixed, a warned, c is warn-severity
    failing = pd.concat(
        [
            results,
            pd.DataFrame(
                {
                    "test_unique_id": ["test.d"],
                    "status": ["error"],
                    "severity": ["ERROR"],
                    "completed_at": [newer],
                }
            ),
        ]
    )
    gate = data_tests_gate(failing)
    assert not gate.passed
    assert gate.detail["failed_tests"] == ["test.d"]
    assert not data_tests_gate(None).passed
