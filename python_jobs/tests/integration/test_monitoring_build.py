"""The monitoring build on the --target engine (portable: DuckDB in `make test`, Spark in
`make test-spark`): ml_reference_profile and the monitor selector's models, seeds, data and
unit tests over monitoring_fixture's random inputs, and the verdicts those inputs are built to
produce. The numbers themselves: test_monitoring_sql.py (numpy oracle, DuckDB) and the parity
test (spark/test_parity.py: Spark == DuckDB within 1e-9)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from monitoring_fixture import (
    ALL_NULL_BATCH,
    ALL_NULL_FEATURE,
    DRIFTED,
    EMPTY_BATCH,
    NO_PROFILE_BATCH,
    SPIKE,
    MonitoringBuild,
    not_ok,
)
from targets import read_table

from claims_fraud.features.spec import load_feature_spec

pytestmark = pytest.mark.portable
TOLERANCE = 1e-9


def _indexed(build: MonitoringBuild, name: str, keys: list[str]) -> pd.DataFrame:
    return read_table(build.project, "monitoring", name).set_index(keys).sort_index()


def test_reference_profile_builds_with_its_tests(monitoring_build: MonitoringBuild) -> None:
    results = monitoring_build.reference_profile
    assert not_ok(results) == []
    assert "model.claims_fraud.ml_reference_profile" in results
    assert any(uid.startswith("test.") for uid in results)
    profile = read_table(monitoring_build.project, "ml", "ml_reference_profile")
    shares = profile.groupby("feature_name")["reference_share"].sum()
    assert len(shares) == len(load_feature_spec().inputs) + 1  # the features and the score
    assert ((shares - 1).abs() <= TOLERANCE).all()


def test_monitor_build_passes_but_for_the_verdicts(monitoring_build: MonitoringBuild) -> None:
    results = monitoring_build.monitor
    assert not_ok(results) == []
    models = {uid.split(".")[-1] for uid in results if uid.startswith("model.")}
    assert {"mon_batches", "mon_feature_psi", "mon_disparate_impact"} <= models
    assert sum(uid.startswith("unit_test.") for uid in results) >= 5
    assert sum(uid.startswith("test.") for uid in results) >= 20
    assert sum(uid.startswith("seed.") for uid in results) == 2


def test_status_tests_give_the_verdicts_of_the_empty_latest_batch(
    monitoring_build: MonitoringBuild,
) -> None:
    """The run monitors the empty batch last: every PSI row is no_data (an error status),
    every disparate impact row insufficient_data (a warn status)."""
    verdicts = {
        uid.split(".")[2]: status
        for uid, status in monitoring_build.monitor.items()
        if uid.startswith("test.")
    }
    assert verdicts["psi_within_mon_feature_psi_"] == "fail"
    assert verdicts["disparate_impact_within_mon_disparate_impact_"] == "warn"


def test_psi_flags_drift_missing_reference_and_empty_batches(
    monitoring_build: MonitoringBuild,
) -> None:
    psi = _indexed(monitoring_build, "mon_feature_psi", ["batch_id", "feature_name"])
    drifted = psi.loc[DRIFTED]
    assert (drifted.loc[list(load_feature_spec().numeric), "status"] == "error").all()
    assert drifted.loc["fraud_probability", "status"] == "error"
    all_null = psi.loc[(ALL_NULL_BATCH, ALL_NULL_FEATURE)]
    assert all_null["status"] == "error"
    assert all_null["current_null_share"] == 1.0
    assert all_null["top_bin_kind"] == "null"
    assert set(psi.loc[NO_PROFILE_BATCH, "status"]) == {"missing_reference"}
    assert set(psi.loc[EMPTY_BATCH, "status"]) == {"no_data"}
    assert psi.loc[EMPTY_BATCH, "psi"].isna().all()
    assert not np.isinf(psi[["psi", "critical_value"]].to_numpy(dtype=float)).any()


def test_score_distribution_volume_and_fairness_statuses(
    monitoring_build: MonitoringBuild,
) -> None:
    scores = _indexed(monitoring_build, "mon_score_distribution", ["batch_id"])
    assert scores.loc[DRIFTED, "status"] == "error"
    assert scores.loc[NO_PROFILE_BATCH, "status"] == "missing_reference"
    assert scores.loc[EMPTY_BATCH, "status"] == "no_data"
    assert scores.loc[EMPTY_BATCH, "n"] == 0
    volume = _indexed(monitoring_build, "mon_data_volume", ["batch_id", "metric_name", "subject"])
    assert volume.loc[(SPIKE, "row_count", "claims"), "status"] == "error"
    assert volume.loc[(ALL_NULL_BATCH, "null_rate", ALL_NULL_FEATURE), "status"] == "error"
    assert volume.loc[(EMPTY_BATCH, "row_count", "claims"), "status"] == "no_data"
    fairness = _indexed(
        monitoring_build, "mon_disparate_impact", ["batch_id", "attribute_name", "group_name"]
    )
    assert fairness.loc[("b5", "member_region", "West"), "status"] == "fail"
    assert set(fairness.loc[EMPTY_BATCH, "status"]) == {"insufficient_data"}
    assert len(fairness.loc[EMPTY_BATCH]) == 3
