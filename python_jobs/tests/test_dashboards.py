"""The bundle's Lakeview dashboard, checked offline (claims_fraud.deploy.dashboards): the
shipped file passes, and each kind of mistake is named."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from claims_fraud.deploy.dashboards import dashboard_problems, declared_columns

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "dashboards" / "claims_fraud_monitoring.lvdash.json"


def _bundle(file_path: str = "../dashboards/claims_fraud_monitoring.lvdash.json") -> dict:
    return {"resources": {"dashboards": {"monitoring": {"file_path": file_path}}}}


def _problems(tmp_path: Path, document: dict) -> list[str]:
    """The document checked as if it were the project's (the project's models and YAML)."""
    (tmp_path / "resources").mkdir()
    (tmp_path / "models").symlink_to(ROOT / "models")
    (tmp_path / "d.lvdash.json").write_text(json.dumps(document))
    return dashboard_problems(_bundle("../d.lvdash.json"), tmp_path)


def _shipped() -> dict:
    return json.loads(SHIPPED.read_text())


def test_the_shipped_dashboard_passes_and_reads_the_monitoring_tables() -> None:
    assert dashboard_problems(_bundle(), ROOT) == []
    sql = " ".join("".join(d["queryLines"]) for d in _shipped()["datasets"])
    for table in ("mon_feature_psi", "mon_disparate_impact", "mon_model_performance"):
        assert table in sql


def test_declared_columns_hold_models_and_the_jobs_sources() -> None:
    declared = declared_columns(ROOT / "models")
    assert "realized_precision" in declared["mon_model_performance"]
    assert "message" in declared["mon_alerts"]  # a source: written by claims-fraud alerts


def _widget(document: dict, name: str) -> dict:
    layout = document["pages"][0]["layout"]
    return next(item["widget"] for item in layout if item["widget"]["name"] == name)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: _widget(d, "psi_over_time")["spec"].update(widgetType="lines"),
            "not a Lakeview dashboard",
        ),
        (
            lambda d: _widget(d, "psi_over_time")["queries"][0]["query"]["fields"].append(
                {"name": "x", "expression": "`psi_value`"}
            ),
            "widget psi_over_time reads `psi_value`, not a column of dataset psi_by_batch",
        ),
        (
            lambda d: _widget(d, "psi_over_time")["spec"]["encodings"]["y"].update(
                fieldName="value"
            ),
            "widget psi_over_time's y encodes value, not one of its fields",
        ),
        (
            lambda d: _widget(d, "claims_per_batch")["queries"][0]["query"].update(
                datasetName="nope"
            ),
            "widget claims_per_batch reads dataset nope, not in the file",
        ),
        (
            lambda d: d["datasets"][0].update(queryLines=["select psi from mon_feature_drift"]),
            "dataset psi_by_batch reads mon_feature_drift, not a table the project declares",
        ),
        (
            lambda d: d["datasets"][0].update(
                queryLines=["select psi from prod.mon.mon_feature_psi"]
            ),
            "read tables unqualified",
        ),
        (
            lambda d: d["datasets"][0].update(
                queryLines=["select psi, drift from mon_feature_psi"]
            ),
            "dataset psi_by_batch reads column drift, which mon_feature_psi does not declare",
        ),
        (
            lambda d: d["pages"][0]["layout"][1]["widget"].update(spec_v2={}),
            "is not a Lakeview key",
        ),
    ],
)
def test_each_mistake_is_named(tmp_path: Path, change, message: str) -> None:
    document = copy.deepcopy(_shipped())
    change(document)
    problems = _problems(tmp_path, document)
    assert any(message in problem for problem in problems), problems


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "resources").mkdir()
    problems = dashboard_problems(_bundle("../missing.lvdash.json"), tmp_path)
    assert problems == [
        f"dashboard monitoring: file_path ../missing.lvdash.json is not a file "
        f"({tmp_path / 'missing.lvdash.json'})"
    ]
