"""The bundle's Lakeview dashboard against a real monitoring build (monitoring_fixture, on
DuckDB, with mon_alerts written by `claims-fraud alerts`): every dataset's SQL runs on the
mon_* tables and returns rows, and every widget's field expressions run on its dataset. The
offline checks (tests/test_dashboards.py) read the SQL; this runs it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
from monitoring_fixture import MonitoringBuild

from claims_fraud.cli.main import main

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = json.loads((ROOT / "dashboards" / "claims_fraud_monitoring.lvdash.json").read_text())


def _duckdb(expression: str) -> str:
    """A Databricks field expression in DuckDB's quoting (`name` -> "name")."""
    return re.sub(r"`([^`]+)`", r'"\1"', expression)


def test_every_dataset_and_widget_runs_on_the_monitoring_tables(
    monitoring_build: MonitoringBuild,
) -> None:
    path = monitoring_build.project.duckdb_path
    # mon_alerts is written by the alerts job, not dbt: run it (the fixture's batch errors)
    assert main(["alerts", "--duckdb", str(path), "--retrain", "off"]) == 1
    sql = {d["name"]: "".join(d["queryLines"]) for d in DASHBOARD["datasets"]}
    with duckdb.connect(str(path), read_only=True) as con:
        con.execute("set schema = 'main_monitoring'")
        for name, query in sql.items():
            rows = con.execute(query).df()
            assert len(rows) > 0, f"dataset {name} returned no rows"
        widgets = [item["widget"] for page in DASHBOARD["pages"] for item in page["layout"]]
        checked = 0
        for widget in widgets:
            for query in widget.get("queries") or []:
                body = query["query"]
                fields = ", ".join(
                    f'{_duckdb(f["expression"])} as "{f["name"]}"' for f in body["fields"]
                )
                result = con.execute(f"select {fields} from ({sql[body['datasetName']]})").df()
                assert list(result.columns) == [f["name"] for f in body["fields"]]
                assert len(result) > 0, widget["name"]
                checked += 1
    assert checked == 5
