"""The dbt project run for real on DuckDB over a generated dataset: tables, tests, counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness import DbtProject, copy_trained_state

from claims_fraud.cli.main import main as cli_main
from claims_fraud.cli.summary import collect_summary, format_summary
from claims_fraud.synthetic.generate import MALFORMED_KINDS

pytestmark = pytest.mark.integration

REASON_CODES = MALFORMED_KINDS  # every injected kind is a reason code of its own


@pytest.mark.portable  # also `make test-spark`: the features build on Spark (conftest --target)
def test_build_runs_data_and_unit_tests_without_errors(built_project: DbtProject) -> None:
    results = built_project.run_results(kept="features")["results"]
    statuses = {result["unique_id"]: result["status"] for result in results}
    failed = {node: status for node, status in statuses.items() if status in ("error", "fail")}
    assert failed == {}
    unit_tests = [node for node in statuses if node.startswith("unit_test.")]
    data_tests = [node for node in statuses if node.startswith("test.")]
    assert len(unit_tests) >= 9
    assert len(data_tests) >= 40
    assert "test.claims_fraud.assert_claim_lines_reconcile" in statuses


def test_every_dbt_unit_test_of_the_project_passes(
    trained_project: DbtProject, tmp_path: Path
) -> None:
    """The scheduled jobs (resources/*.yml, make run) build without unit tests: they prove the
    SQL, not the day's data. CI runs every one of them here, on a copy of the trained state
    with the monitoring tables created empty (dbt reads the unit-tested models' column types
    from their relations)."""
    project = copy_trained_state(trained_project, tmp_path / "unit")
    project.dbt("run", "--selector", "monitor", "--empty")
    project.dbt("test", "--select", "test_type:unit")
    manifest = json.loads((project.target_dir / "manifest.json").read_text())
    declared = set(manifest["unit_tests"])
    results = project.run_results()["results"]
    ran = {r["unique_id"]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")}
    assert set(ran) == declared
    assert set(ran.values()) == {"pass"}
    # every folder that has SQL logic has its unit tests
    assert {uid.split(".")[2] for uid in declared} >= {
        "int_claim_lines_checked",
        "fct_claim_features",
        "ml_reference_profile",
        "ml_challenger_disparate_impact",
        "mon_feature_psi",
    }


def test_every_raw_line_is_either_valid_or_quarantined(
    built_project: DbtProject, raw_dataset
) -> None:
    raw_lines = built_project.scalar(
        f"select count(*) from read_parquet('{raw_dataset / 'medical_claim.parquet'}')"
    )
    valid = built_project.scalar("select count(*) from main_intermediate.int_claim_lines_validated")
    quarantined = built_project.scalar("select count(*) from main_marts.claims_quarantine")
    in_both = built_project.scalar(
        "select count(*) from main_intermediate.int_claim_lines_validated as valid_lines "
        "inner join main_marts.claims_quarantine using (claim_line_sk)"
    )
    assert raw_lines == valid + quarantined
    assert in_both == 0
    assert quarantined > 0
    assert valid > 0.9 * raw_lines


def test_each_injected_malformed_kind_lands_in_quarantine_with_its_reason(
    built_project: DbtProject, manifest: dict
) -> None:
    injected = manifest["malformed_counts"]
    assert set(REASON_CODES) <= set(injected)
    for reason in REASON_CODES:
        quarantined = built_project.scalar(
            "select count(*) from main_marts.claims_quarantine "
            f"where list_contains(string_split(rejection_reasons, ','), '{reason}')"
        )
        assert injected[reason] > 0, reason
        assert quarantined >= injected[reason], (reason, quarantined, injected[reason])


def test_quarantine_reasons_are_known_codes(built_project: DbtProject) -> None:
    reasons = {
        row[0]
        for row in built_project.query(
            "select distinct unnest(string_split(rejection_reasons, ',')) "
            "from main_marts.claims_quarantine"
        )
    }
    known = {
        row[0]
        for row in built_project.query(
            "select reason_code from main_reference.ref_quarantine_reasons"
        )
    }
    assert reasons <= known
    assert set(REASON_CODES) <= reasons


def test_features_have_one_row_per_valid_claim(built_project: DbtProject) -> None:
    valid_claims = built_project.scalar(
        "select count(distinct claim_id) from main_intermediate.int_claim_lines_validated"
    )
    rows, distinct = built_project.query(
        "select count(*), count(distinct claim_id) from main_features.fct_claim_features"
    )[0]
    assert rows == distinct == valid_claims


def _mean_by_scheme(project: DbtProject, raw_dataset, expression: str) -> dict[str, float]:
    rows = project.query(
        f"""
        select coalesce(truth.scheme, 'none') as scheme, avg(cast({expression} as double))
        from main_features.fct_claim_features as features
        inner join read_parquet('{raw_dataset / "fraud_ground_truth.parquet"}') as truth
            using (claim_id)
        group by 1
        """
    )
    return dict(rows)


@pytest.mark.parametrize(
    ("scheme", "expression"),
    [
        ("upcoding", "provider_high_em_share_excess"),
        ("unbundling", "modifier_59_25_line_share"),
        ("duplicate_billing", "has_duplicate_service"),
        ("impossible_days", "is_provider_impossible_day"),
        ("excessive_units", "total_service_units"),
    ],
)
def test_features_separate_each_injected_scheme_from_honest_claims(
    built_project: DbtProject, raw_dataset, scheme: str, expression: str
) -> None:
    means = _mean_by_scheme(built_project, raw_dataset, expression)
    assert scheme in means, f"no {scheme} claims reached the feature table"
    assert means[scheme] > 2 * max(means["none"], 0.01), (scheme, means)


def test_protected_attributes_are_marked_not_model_inputs(built_project: DbtProject) -> None:
    manifest = json.loads((built_project.target_dir / "manifest.json").read_text())
    columns = manifest["nodes"]["model.claims_fraud.fct_claim_features"]["columns"]
    inputs = {
        name for name, column in columns.items() if column["config"]["meta"].get("model_input")
    }
    protected = {
        name
        for name, column in columns.items()
        if column["config"]["meta"].get("protected_attribute")
    }
    assert protected == {"gender", "age_group", "member_region"}
    assert not inputs & protected
    assert {"claim_id", "person_id", "claim_start_date"}.isdisjoint(inputs)
    assert len(inputs) >= 20


def test_incremental_rerun_does_not_duplicate_or_change_features(built_project: DbtProject) -> None:
    checksum_sql = (
        "select count(*), count(distinct claim_id), sum(hash(claim_id, total_charge_amount, "
        "member_claims_prior_90d, max_em_level)) from main_features.fct_claim_features"
    )
    before = built_project.query(checksum_sql)[0]
    built_project.dbt("run", "--select", "fct_claim_features")
    after = built_project.query(checksum_sql)[0]
    assert after == before
    assert after[0] == after[1]


def test_every_model_and_column_is_documented_and_docs_generate(
    trained_project: DbtProject,
) -> None:
    """After train and score, so the ML tables are in the catalog too."""
    built_project = trained_project
    built_project.dbt("docs", "generate")
    manifest = json.loads((built_project.target_dir / "manifest.json").read_text())
    catalog = json.loads((built_project.target_dir / "catalog.json").read_text())
    undocumented = []
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] not in ("model", "seed"):
            continue
        if not node["description"].strip():
            undocumented.append(unique_id)
        if node["resource_type"] == "model":
            assert "one row per" in node["description"].lower(), f"{unique_id} states no grain"
        built_columns = catalog["nodes"].get(unique_id, {}).get("columns", {})
        documented = {name.lower() for name, col in node["columns"].items() if col["description"]}
        missing = {name.lower() for name in built_columns} - documented
        if missing:
            undocumented.append(f"{unique_id}: {sorted(missing)}")
    assert undocumented == []
    assert "model.claims_fraud.fct_claim_features" in catalog["nodes"]


def test_summary_reports_counts_and_reasons(built_project: DbtProject) -> None:
    summary = collect_summary(built_project.duckdb_path)
    assert summary.raw_lines == summary.valid_lines + summary.quarantined_lines
    reasons = dict(summary.quarantine_by_reason)
    assert set(REASON_CODES) <= set(reasons)
    names = {table.name for table in summary.tables}
    assert {"fct_claim_features", "claims_quarantine", "stg_claims__medical_claim"} <= names
    text = format_summary(summary)
    assert "fct_claim_features" in text
    assert str(built_project.duckdb_path) in text


def test_summary_command_prints_and_fails_clearly_without_a_database(
    built_project: DbtProject, tmp_path, capsys
) -> None:
    database = str(built_project.duckdb_path)
    assert (
        cli_main(["summary", "--duckdb", database, "--mlflow-dir", str(built_project.mlflow_dir)])
        == 0
    )
    assert "Quarantined lines by reason" in capsys.readouterr().out
    missing = tmp_path / "nowhere.duckdb"
    assert cli_main(["summary", "--duckdb", str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err


def test_source_freshness_is_checked_on_the_claims_feed(built_project: DbtProject) -> None:
    """The demo feed ends in the past, so freshness must report it stale (error), not pass."""
    result = built_project.dbt("source", "freshness", check=False)
    assert result.returncode != 0
    sources = json.loads((built_project.target_dir / "sources.json").read_text())["results"]
    by_source = {entry["unique_id"]: entry for entry in sources}
    claims = by_source["source.claims_fraud.claims.medical_claim"]
    assert claims["status"] == "error"
    newest_ingest = built_project.scalar(
        "select max(ingested_at) from main_staging.stg_claims__medical_claim"
    )
    assert claims["max_loaded_at"].startswith(newest_ingest.date().isoformat())
    assert set(by_source) == {"source.claims_fraud.claims.medical_claim"}
