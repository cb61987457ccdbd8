"""The retrain that a monitoring failure asks for is not blocked by that failure: the gate's
data-test rule reads only the tests that gate promotion (dbt_test_results.gates_promotion,
false for tests of the scoring and monitoring models). The whole loop (drift error, retrain,
gate) runs in integration/test_monitoring_scenarios.py."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from claims_fraud.ml.promote import data_tests_gate

WHEN = datetime(2026, 12, 1)


def _results(rows: list[tuple[str, str, object]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "test_unique_id": [row[0] for row in rows],
            "status": [row[1] for row in rows],
            "severity": ["ERROR"] * len(rows),
            "completed_at": [WHEN] * len(rows),
            "gates_promotion": pd.array([row[2] for row in rows], dtype="boolean"),
        }
    )


def test_a_failed_monitoring_test_does_not_block_promotion() -> None:
    gate = data_tests_gate(
        _results(
            [
                ("test.claims_fraud.disparate_impact_within_mon_disparate_impact_", "fail", False),
                ("test.claims_fraud.unique_fct_claim_features_claim_id", "pass", True),
            ]
        )
    )
    assert gate.passed
    assert gate.detail["tests_checked"] == 1
    assert gate.detail["tests_of_scoring_and_monitoring_ignored"] == 1


def test_a_failed_test_of_the_training_data_still_blocks() -> None:
    gate = data_tests_gate(
        _results(
            [
                ("test.claims_fraud.psi_within_mon_feature_psi_", "fail", False),
                ("test.claims_fraud.assert_every_valid_claim_has_one_feature_row", "fail", True),
            ]
        )
    )
    assert not gate.passed
    assert gate.detail["failed_tests"] == [
        "test.claims_fraud.assert_every_valid_claim_has_one_feature_row"
    ]


def test_results_recorded_before_the_column_existed_still_count() -> None:
    gate = data_tests_gate(_results([("test.claims_fraud.old_test", "fail", None)]))
    assert not gate.passed
