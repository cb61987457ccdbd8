"""The champion/challenger gate with a real MLflow registry, the real feature table and the
disparate impact dbt computes for the challenger (ml_challenger_disparate_impact)."""

from __future__ import annotations

import math
import shutil
from datetime import date, datetime
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from harness import DbtProject, copy_trained_state, make_project
from mlflow.pyfunc import PythonModel
from monitoring_oracle import disparate_impact

from claims_fraud.cli.main import main as cli_main
from claims_fraud.features.spec import load_feature_spec
from claims_fraud.ml.fairness import CHALLENGER_DI_TABLE
from claims_fraud.ml.profile import window_scores
from claims_fraud.ml.promote import data_tests_gate, performance_gate, run_promotion
from claims_fraud.ml.tracking import CHALLENGER, CHAMPION, MlflowSettings, version_by_alias
from claims_fraud.ml.training_job import DATE_COLUMN, log_window_scores, thresholds_from_seed
from claims_fraud.warehouse.connections import DuckDBWarehouse

TOLERANCE = 1e-9

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
    settings: MlflowSettings, model: PythonModel, window: tuple[str, str], features: pd.DataFrame
) -> str:
    """Register `model` as @challenger with its validation window and, as training does, its
    scores on every claim up to the end of the window (reference/scores.parquet)."""
    client = settings.activate()
    days = pd.to_datetime(features[DATE_COLUMN]).dt.date
    start, end = date.fromisoformat(window[0]), date.fromisoformat(window[1])
    train, valid = features[days < start], features[(days >= start) & (days <= end)]
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=model,
            registered_model_name=settings.classifier_name,
            pip_requirements=["mlflow"],
        )
        log_window_scores(
            window_scores(
                train["claim_id"],
                model.predict(None, train),
                valid["claim_id"],
                model.predict(None, valid),
                model.flag_threshold,
            )
        )
    version = str(info.registered_model_version)
    client.set_registered_model_alias(settings.classifier_name, CHALLENGER, version)
    client.set_model_version_tag(settings.classifier_name, version, "validation_start", window[0])
    client.set_model_version_tag(settings.classifier_name, version, "validation_end", window[1])
    return version


def _copy_state(
    project: DbtProject, tmp_path: Path, with_mlflow: bool
) -> tuple[DbtProject, DuckDBWarehouse, MlflowSettings]:
    """The trained project's DuckDB file, and its MLflow store or an empty one."""
    if with_mlflow:
        copy = copy_trained_state(project, tmp_path / "state")
    else:
        copy = make_project(tmp_path / "state", project.raw_dir)
        shutil.copy(project.duckdb_path, copy.duckdb_path)
    return copy, DuckDBWarehouse(copy.duckdb_path), MlflowSettings.local(copy.mlflow_dir)


def _build_challenger_tables(project: DbtProject) -> None:
    """What the train selector builds after training: the challenger's scores and their
    disparate impact, which the gate reads."""
    project.dbt("build", "--select", "ml_challenger_scores", CHALLENGER_DI_TABLE)


def test_a_worse_challenger_is_rejected_and_the_champion_stays(
    trained_project: DbtProject, tmp_path
) -> None:
    project, warehouse, settings = _copy_state(trained_project, tmp_path, with_mlflow=True)
    client = settings.activate()
    champion = client.get_model_version_by_alias(settings.classifier_name, CHAMPION)
    window = (champion.tags["validation_start"], champion.tags["validation_end"])
    features = warehouse.read("fct_claim_features")
    model = RandomScorer(load_feature_spec(), 0.95)
    version = _register_challenger(settings, model, window, features)
    _build_challenger_tables(project)

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
    project, warehouse, settings = _copy_state(trained_project, tmp_path, with_mlflow=False)
    features = warehouse.read("fct_claim_features")
    days = pd.to_datetime(features["claim_start_date"])
    window = (days.min().date().isoformat(), days.max().date().isoformat())
    _register_challenger(settings, RegionScorer(load_feature_spec(), 0.1), window, features)
    _build_challenger_tables(project)

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


def test_the_gate_reads_the_disparate_impact_the_challenger_was_built_for(
    trained_project: DbtProject, tmp_path, capsys
) -> None:
    """A new @challenger without its ml_challenger_disparate_impact rows (the train selector
    not rerun): promote stops, naming the table and the command, and records nothing."""
    project, warehouse, settings = _copy_state(trained_project, tmp_path, with_mlflow=True)
    client = settings.activate()
    champion = client.get_model_version_by_alias(settings.classifier_name, CHAMPION)
    window = (champion.tags["validation_start"], champion.tags["validation_end"])
    features = warehouse.read("fct_claim_features")
    version = _register_challenger(
        settings, RandomScorer(load_feature_spec(), 0.95), window, features
    )
    decisions_before = len(warehouse.read("ml_promotion_decisions"))

    exit_code = cli_main(
        ["promote", "--duckdb", str(project.duckdb_path), "--mlflow-dir", str(project.mlflow_dir)]
    )

    assert exit_code == 2
    error = capsys.readouterr().err
    assert f"{CHALLENGER_DI_TABLE} has no rows for @challenger v{version}" in error
    assert "dbt build --selector train" in error
    assert len(warehouse.read("ml_promotion_decisions")) == decisions_before
    after = client.get_model_version_by_alias(settings.classifier_name, CHAMPION)
    assert str(after.version) == str(champion.version)


def test_the_gates_disparate_impact_agrees_with_the_numpy_oracle(
    trained_project: DbtProject,
) -> None:
    """The trained challenger's ml_challenger_disparate_impact (SQL) against the oracle on what
    the gate used to compute in Python: the challenger's flags on every claim up to the end of
    its validation window, reference groups from the seed."""
    warehouse = DuckDBWarehouse(trained_project.duckdb_path)
    table = warehouse.read(CHALLENGER_DI_TABLE)
    settings = MlflowSettings.local(trained_project.mlflow_dir)
    client = settings.activate()
    version = client.get_model_version(settings.classifier_name, table["model_version"].iloc[0])
    model = mlflow.pyfunc.load_model(
        f"models:/{settings.classifier_name}/{version.version}"
    ).unwrap_python_model()
    features = warehouse.read("fct_claim_features")
    end = date.fromisoformat(version.tags["validation_end"])
    claims = features[pd.to_datetime(features[DATE_COLUMN]).dt.date <= end]
    flagged = np.asarray(model.predict(None, claims)) >= model.flag_threshold
    thresholds = thresholds_from_seed(warehouse.read("monitoring_thresholds"))
    seeded = warehouse.read("monitoring_reference_groups")
    references = dict(zip(seeded["attribute_name"], seeded["reference_group"], strict=True))
    protected = load_feature_spec().protected
    assert set(table["attribute_name"]) == set(protected)
    # one Bonferroni family for the model: every attribute's non-reference groups
    groups = [claims[a].fillna("unknown").astype(str).nunique() for a in protected]
    comparisons = sum(groups) - len(protected)
    for attribute in protected:
        expected = disparate_impact(
            claims[attribute],
            flagged,
            reference_group=references.get(attribute),
            alpha=thresholds["disparate_impact_alpha"],
            band=(thresholds["disparate_impact_lower"], thresholds["disparate_impact_upper"]),
            min_expected=thresholds["min_expected_cell_count"],
            clusters=claims["rendering_npi"],
            comparisons=comparisons,
        ).set_index("group")
        actual = table[table["attribute_name"] == attribute].set_index("group_name")
        assert sorted(actual.index) == sorted(expected.index), attribute
        for group, row in expected.iterrows():
            got = actual.loc[group]
            assert got["status"] == row["status"], f"{attribute} {group}"
            assert (got["n"], got["flagged"]) == (row["n"], row["flagged"])
            for column in (
                "disparate_impact",
                "p_adjusted",
                "p_outside_band_adjusted",
                "design_effect",
            ):
                value = row[column]
                if math.isnan(value) or math.isinf(value):
                    assert pd.isna(got[column]), f"{attribute} {group} {column}"
                else:
                    assert abs(got[column] - value) <= TOLERANCE, f"{attribute} {group} {column}"


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
