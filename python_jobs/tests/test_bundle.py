"""The Databricks Asset Bundle, offline: every target validates and broken copies do not (the
local runner is test_bundle_local_run.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from claims_fraud.cli.main import cli_spec, main
from claims_fraud.deploy import bundle

ROOT = Path(__file__).resolve().parents[2]
TARGETS = ("dev", "staging", "prod")
PIPELINE = "resources/claims_fraud_pipeline.job.yml"


def _edit(project: Path, relative: str, change) -> None:
    path = project / relative
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _pipeline_task(data: dict, key: str) -> dict:
    tasks = data["resources"]["jobs"]["claims_fraud_pipeline"]["tasks"]
    return next(task for task in tasks if task["task_key"] == key)


@pytest.mark.parametrize("target", TARGETS)
def test_every_target_validates(target: str, schema: Path) -> None:
    report = bundle.validate_target(ROOT, target, schema, cli=cli_spec())
    assert report.problems == []
    assert report.jobs == {
        "claims_fraud_pipeline": 7,
        "claims_fraud_training": 2,
        "claims_fraud_rollback": 1,
    }


def test_whole_document_with_targets_matches_the_schema(schema: Path) -> None:
    assert bundle.validate_schema(bundle.load_document(ROOT), schema) == []


def test_serving_endpoint_is_off_unless_the_variable_turns_it_on(schema: Path) -> None:
    def endpoints(target: str, **variables: str) -> dict:
        config = bundle.load_bundle(ROOT, target, variables=variables)
        return config["resources"].get("model_serving_endpoints", {})

    for target in TARGETS:
        assert endpoints(target) == {}
        assert endpoints(target, serve_champion="false") == {}
    on = endpoints("prod", serve_champion="true", champion_model_version="7")
    served = on["claims_fraud_champion"]["config"]["served_entities"][0]
    assert served["entity_name"] == "claims_fraud_prod.claims_fraud.claims_fraud_classifier"
    assert served["entity_version"] == "7"
    assert on["claims_fraud_champion"]["name"] == "claims-fraud-champion-prod"
    # the endpoint the loader adds is checked like YAML resources are
    report = bundle.validate_target(
        ROOT, "staging", schema, {"serve_champion": "true"}, cli=cli_spec()
    )
    assert report.problems == []
    assert report.other_resources["model_serving_endpoints"] == 1


def test_unknown_variable_and_broken_python_loader_are_rejected(
    project: Path, schema: Path
) -> None:
    with pytest.raises(bundle.BundleError, match="--var serve_chmpion: no such variable"):
        bundle.load_bundle(ROOT, "dev", variables={"serve_chmpion": "true"})
    loader = project / "resources" / "champion_serving.py"
    loader.write_text(loader.read_text().replace('"workload_size"', '"workload_sise"'))
    problems = bundle.validate_target(
        project, "dev", schema, {"serve_champion": "true"}, cli=cli_spec()
    ).problems
    assert any("workload_sise" in p for p in problems), problems


def test_targets_get_their_own_catalog_and_prod_alone_is_unpaused() -> None:
    for target in TARGETS:
        config = bundle.load_bundle(ROOT, target)
        assert config["variables"]["catalog"]["default"] == f"claims_fraud_{target}"
        job = config["resources"]["jobs"]["claims_fraud_pipeline"]
        assert job["tasks"][0]["dbt_task"]["catalog"] == f"claims_fraud_{target}"
        assert job["schedule"]["pause_status"] == ("UNPAUSED" if target == "prod" else "PAUSED")
        assert job["name"] == f"claims-fraud-pipeline-{target}"


def test_drift_retrains_through_the_jobs_own_condition_and_run_job_task() -> None:
    """No SDK call from code: alerts sets a task value, a condition task reads it, and its true
    branch runs the training job (as databricks/mlops-stacks does)."""
    all_jobs = bundle.jobs(bundle.load_bundle(ROOT, "prod"))
    pipeline = {"resources": {"jobs": all_jobs}}
    alerts = _pipeline_task(pipeline, "alerts")
    assert alerts["python_wheel_task"]["parameters"] == ["alerts", "--retrain", "task-value"]
    condition = _pipeline_task(pipeline, "retrain_needed")
    assert condition["condition_task"] == {
        "op": "EQUAL_TO",
        "left": "{{tasks.alerts.values.retrain}}",
        "right": "true",
    }
    assert condition["run_if"] == "ALL_DONE"  # alerts exits 1 on the very drift it reports
    retrain = _pipeline_task(pipeline, "retrain")
    assert retrain["depends_on"] == [{"task_key": "retrain_needed", "outcome": "true"}]
    run = retrain["run_job_task"]
    assert run["job_id"] == "${resources.jobs.claims_fraud_training.id}"
    declared = {p["name"] for p in all_jobs["claims_fraud_training"]["parameters"]}
    assert set(run["job_parameters"]) == {"trigger", "batch_id"}
    # the training window is the retrain's default: every claim ingested so far
    assert declared == {"trigger", "batch_id", "training_cutoff", "training_warmup_days"}


@pytest.mark.parametrize("target", TARGETS)
def test_a_canary_splits_the_endpoint_between_champion_and_challenger(
    target: str, schema: Path
) -> None:
    canary = {
        "serve_champion": "true",
        "champion_model_version": "7",
        "challenger_model_version": "8",
        "canary_traffic_percentage": "10",
    }
    config = bundle.load_bundle(ROOT, target, variables=canary)
    endpoint = config["resources"]["model_serving_endpoints"]["claims_fraud_champion"]["config"]
    served = {entity["name"]: entity["entity_version"] for entity in endpoint["served_entities"]}
    assert served == {"champion": "7", "challenger": "8"}
    routes = {
        r["served_model_name"]: r["traffic_percentage"]
        for r in endpoint["traffic_config"]["routes"]
    }
    assert routes == {"champion": 90, "challenger": 10}
    report = bundle.validate_target(ROOT, target, schema, canary, cli=cli_spec())
    assert report.problems == []
    # without the canary variables: the champion alone, all traffic
    alone = bundle.load_bundle(ROOT, target, variables={"serve_champion": "true"})
    only = alone["resources"]["model_serving_endpoints"]["claims_fraud_champion"]["config"]
    assert [r["traffic_percentage"] for r in only["traffic_config"]["routes"]] == [100]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"challenger_model_version": "8"}, "needs both"),
        ({"canary_traffic_percentage": "10"}, "needs both"),
        ({"challenger_model_version": "8", "canary_traffic_percentage": "60"}, "1 to 50"),
        ({"challenger_model_version": "8", "canary_traffic_percentage": "ten"}, "whole number"),
    ],
)
def test_a_half_set_or_oversized_canary_is_refused(
    variables: dict[str, str], message: str, schema: Path
) -> None:
    report = bundle.validate_target(
        ROOT, "prod", schema, {"serve_champion": "true", **variables}, cli=cli_spec()
    )
    assert any(message in problem for problem in report.problems), report.problems


def test_the_cluster_spec_is_written_once_for_every_job() -> None:
    raw = bundle.load_bundle(ROOT, "prod", resolve=False)
    for job in bundle.jobs(raw).values():
        assert job["job_clusters"] == [
            {"job_cluster_key": "claims_fraud_cluster", "new_cluster": "${var.job_cluster}"}
        ]
    resolved = bundle.jobs(bundle.load_bundle(ROOT, "prod"))
    clusters = [job["job_clusters"][0]["new_cluster"] for job in resolved.values()]
    assert len(clusters) == 3
    pipeline = clusters[0]
    assert all(cluster == pipeline for cluster in clusters)
    assert pipeline["spark_env_vars"]["CLAIMS_FRAUD_CATALOG"] == "claims_fraud_prod"
    assert pipeline["spark_version"] == "15.4.x-scala2.12"


def test_databricks_yml_points_at_the_vendored_schema() -> None:
    first = (ROOT / "databricks.yml").read_text().splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    assert (ROOT / first.split("$schema=", 1)[1]).is_file()


def _edit_task(project: Path, key: str, change) -> None:
    _edit(project, PIPELINE, lambda data: change(_pipeline_task(data, key)))


@pytest.mark.parametrize(
    ("task", "change", "expected"),
    [
        (
            "retrain_needed",
            lambda t: t["condition_task"].update(left="{{tasks.alerts.values.retrian}}"),
            "task alerts sets no task value 'retrian' (it sets: batch_id, retrain)",
        ),
        (
            "retrain_needed",
            lambda t: t["condition_task"].update(left="{{tasks.report.values.retrain}}"),
            "{{tasks.report.values.retrain}} reads task report, which is not upstream",
        ),
        (
            "retrain_needed",
            lambda t: t["condition_task"].update(left="{{job.trigger.type}}"),
            "{{job.trigger.type}}: only task values and job parameters are used here",
        ),
        (
            "alerts",
            lambda t: t["python_wheel_task"].update(parameters=["alerts", "--retrain", "off"]),
            "task alerts sets no task value 'retrain' (it sets: none)",
        ),
        (
            "retrain",
            lambda t: t["run_job_task"].update(job_id="${resources.jobs.claims_fraud_trainig.id}"),
            "job_id '${resources.jobs.claims_fraud_trainig.id}' is not ${resources.jobs.<key>.id}",
        ),
        (
            "retrain",
            lambda t: t["run_job_task"]["job_parameters"].update(reason="drift"),
            "job claims_fraud_training has no parameter 'reason' (has: batch_id, "
            "training_cutoff, training_warmup_days, trigger)",
        ),
        (
            "retrain",
            lambda t: t.update(depends_on=[{"task_key": "alerts", "outcome": "true"}]),
            "depends_on alerts with outcome, but alerts is no condition",
        ),
        (
            "retrain",
            lambda t: t.update(depends_on=[{"task_key": "retrain_needed", "outcome": "yes"}]),
            "outcome 'yes' of retrain_needed is neither 'true' nor 'false'",
        ),
    ],
    ids=[
        "unknown-task-value",
        "not-upstream",
        "unsupported-reference",
        "value-not-set",
        "unknown-job",
        "undeclared-parameter",
        "outcome-of-no-condition",
        "bad-outcome",
    ],
)
def test_broken_control_flow_is_rejected(
    project: Path, schema: Path, task: str, change, expected: str
) -> None:
    _edit_task(project, task, change)
    problems = bundle.validate_target(project, "dev", schema, cli=cli_spec()).problems
    assert any(expected in p for p in problems), problems


def test_an_unknown_condition_op_is_rejected_by_schema_and_job_parser(
    project: Path, schema: Path
) -> None:
    _edit_task(project, "retrain_needed", lambda t: t["condition_task"].update(op="EQUALS"))
    problems = bundle.validate_target(project, "dev", schema, cli=cli_spec()).problems
    assert any("schema" in p and "EQUALS" in p for p in problems), problems
    assert any("databricks-bundles" in p and "EQUALS" in p for p in problems), problems


def test_misspelled_key_is_rejected_by_schema_and_job_parser(project: Path, schema: Path) -> None:
    def misspell(data: dict) -> None:
        task = _pipeline_task(data, "dbt_score")
        task["dependson"] = task.pop("depends_on")

    _edit(project, PIPELINE, misspell)
    problems = bundle.validate_target(project, "dev", schema, cli=cli_spec()).problems
    assert any("schema" in p and "dependson" in p for p in problems), problems
    assert any("databricks-bundles" in p and "dependson" in p for p in problems), problems


def test_wrong_type_is_rejected(project: Path, schema: Path) -> None:
    def wrong(data: dict) -> None:
        data["resources"]["jobs"]["claims_fraud_pipeline"]["max_concurrent_runs"] = [1]

    _edit(project, PIPELINE, wrong)
    problems = bundle.validate_target(project, "dev", schema, cli=cli_spec()).problems
    assert any("max_concurrent_runs" in p for p in problems), problems
    assert any("databricks-bundles" in p for p in problems), problems


def test_missing_entry_point_is_rejected(project: Path, schema: Path) -> None:
    def rename(data: dict) -> None:
        _pipeline_task(data, "report")["python_wheel_task"]["entry_point"] = "claims-fraud-report"

    _edit(project, PIPELINE, rename)
    problems = bundle.validate_target(project, "dev", schema, cli=cli_spec()).problems
    assert any("entry_point 'claims-fraud-report'" in p for p in problems), problems


def test_unknown_subcommand_or_option_is_rejected(project: Path, schema: Path) -> None:
    def break_params(data: dict) -> None:
        _pipeline_task(data, "report")["python_wheel_task"]["parameters"] = ["reports"]
        _pipeline_task(data, "alerts")["python_wheel_task"]["parameters"] += ["--no-such-flag"]

    _edit(project, PIPELINE, break_params)
    problems = bundle.validate_target(project, "dev", schema, cli=cli_spec()).problems
    assert any("'reports' is not a claims-fraud subcommand" in p for p in problems), problems
    assert any("--no-such-flag" in p for p in problems), problems


def test_unknown_selector_is_rejected(project: Path, schema: Path) -> None:
    def select(data: dict) -> None:
        _pipeline_task(data, "dbt_monitor")["dbt_task"]["commands"] = [
            "dbt build --selector monitoring --target ${bundle.target}"
        ]

    _edit(project, PIPELINE, select)
    problems = bundle.validate_target(project, "dev", schema, cli=cli_spec()).problems
    assert any("selector 'monitoring' is not in selectors.yml" in p for p in problems), problems


def test_non_dbt_command_is_rejected(project: Path, schema: Path) -> None:
    def command(data: dict) -> None:
        _pipeline_task(data, "dbt_features")["dbt_task"]["commands"] = ["dbt buidl"]

    _edit(project, PIPELINE, command)
    problems = bundle.validate_target(project, "dev", schema, cli=cli_spec()).problems
    assert any("is not a dbt command" in p for p in problems), problems


def test_depends_on_cycle_and_unknown_task_are_rejected(project: Path, schema: Path) -> None:
    def cycle(data: dict) -> None:
        _pipeline_task(data, "dbt_features")["depends_on"] = [{"task_key": "dbt_monitor"}]
        _pipeline_task(data, "report")["depends_on"] = [{"task_key": "dbt_monitr"}]

    _edit(project, PIPELINE, cycle)
    problems = bundle.validate_target(project, "dev", schema, cli=cli_spec()).problems
    assert any("unknown task(s) ['dbt_monitr']" in p for p in problems), problems
    job = bundle.jobs(bundle.load_bundle(project, "dev"))["claims_fraud_pipeline"]
    _pipeline_task({"resources": {"jobs": {"claims_fraud_pipeline": job}}}, "report")[
        "depends_on"
    ] = [{"task_key": "dbt_monitor"}]
    with pytest.raises(bundle.BundleError, match="cycle"):
        bundle.task_order(job)


def test_undeclared_target_variable_is_reported(project: Path, schema: Path) -> None:
    _edit(
        project,
        "databricks.yml",
        lambda data: data["targets"]["staging"]["variables"].update(catlog="x"),
    )
    problems = bundle.validate_target(project, "staging", schema, cli=cli_spec()).problems
    assert any("catlog" in p for p in problems), problems


def test_missing_schema_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(bundle.SCHEMA_ENV, raising=False)
    with pytest.raises(bundle.BundleError, match="schema not found"):
        bundle.find_schema(tmp_path / "repo")


def test_ecma_patterns_translate_for_python_re() -> None:
    import re

    pattern = r"\$\{(var(\.\p{L}+([-_]*[\p{L}\p{N}]+)*(\[[0-9]+\])*)+)\}"
    compiled = re.compile(bundle.ecma_to_python_regex(pattern))
    assert compiled.search("/Volumes/${var.catalog}/x")
    assert compiled.search("${var.übersicht_2}")
    assert not compiled.search("${var.2x}")


def test_cli_validate_exit_codes(project: Path, schema: Path, capsys) -> None:
    assert main(["bundle", "validate", "--project-dir", str(ROOT), "--schema", str(schema)]) == 0
    out = capsys.readouterr().out
    for target in TARGETS:
        assert f"target {target}: ok" in out
    _edit(project, PIPELINE, lambda data: _pipeline_task(data, "alerts").update(run_if="SOMETIMES"))
    args = ["bundle", "validate", "--project-dir", str(project), "--schema", str(schema)]
    assert main([*args, "--target", "dev"]) == 1
    assert "run_if" in capsys.readouterr().out


def test_adding_uat_is_one_block(project: Path, schema: Path) -> None:
    def add_uat(data: dict) -> None:
        data["targets"]["uat"] = {
            **data["targets"]["staging"],
            "variables": {"catalog": "claims_fraud_uat"},
        }

    _edit(project, "databricks.yml", add_uat)
    assert bundle.validate_target(project, "uat", schema, cli=cli_spec()).problems == []
    job = bundle.jobs(bundle.load_bundle(project, "uat"))["claims_fraud_pipeline"]
    assert job["name"] == "claims-fraud-pipeline-uat"
    assert job["tasks"][0]["dbt_task"]["catalog"] == "claims_fraud_uat"


def test_wrong_wheel_package_is_rejected(project: Path, schema: Path) -> None:
    def rename(data: dict) -> None:
        _pipeline_task(data, "alerts")["python_wheel_task"]["package_name"] = "claims_fraud_jobs"
        _pipeline_task(data, "report")["python_wheel_task"]["package_name"] = "claims-fraud"

    _edit(project, PIPELINE, rename)
    problems = bundle.validate_target(project, "dev", schema, cli=cli_spec()).problems
    assert [p for p in problems if "package_name" in p] == [
        "job claims_fraud_pipeline task alerts: package_name 'claims_fraud_jobs' is not the "
        "wheel's package (['claims_fraud'])"
    ]


@pytest.mark.parametrize("target", TARGETS)
def test_served_model_name_is_the_one_the_jobs_register(target: str) -> None:
    """The serving endpoint's entity and the CLI's --mlflow databricks name the same model."""
    from claims_fraud.ml.tracking import MlflowSettings

    variables = bundle.load_bundle(ROOT, target)["variables"]
    values = {name: spec.get("value", spec.get("default")) for name, spec in variables.items()}
    settings = MlflowSettings.databricks(values["catalog"], values["schema"], "/Shared/x")
    assert values["classifier_model_name"] == settings.classifier_name
    assert values["autoencoder_model_name"] == settings.autoencoder_name


@pytest.mark.parametrize(
    "job", ["claims_fraud_pipeline", "claims_fraud_training", "claims_fraud_rollback"]
)
def test_wheel_tasks_read_unity_catalog_and_the_workspace_mlflow(job: str) -> None:
    """On Databricks the CLI must not fall back to its local defaults (DuckDB, sqlite)."""
    config = bundle.load_bundle(ROOT, "prod")
    env = bundle.jobs(config)[job]["job_clusters"][0]["new_cluster"]["spark_env_vars"]
    assert env["CLAIMS_FRAUD_WAREHOUSE"] == "spark"
    assert env["CLAIMS_FRAUD_MLFLOW"] == "databricks"
    assert env["CLAIMS_FRAUD_CATALOG"] == "claims_fraud_prod"


PROD_MANIFEST = ROOT / "target" / "parse-prod" / "manifest.json"
PARSE_INPUTS = ("models", "macros", "tests", "seeds", "profiles")
PARSE_FILES = ("dbt_project.yml", "selectors.yml", "pyproject.toml")


def _prod_manifest() -> Path:
    """The manifest `make parse-databricks` wrote for the prod target (make test runs that check
    beside pytest; scripts/parse_databricks.py moves a finished folder into place), parsed
    here into a folder of the test's own only when it is missing or older than a project file."""
    import subprocess
    import sys

    inputs = [p for d in PARSE_INPUTS for p in (ROOT / d).rglob("*") if p.is_file()]
    newest = max(p.stat().st_mtime for p in [*inputs, *(ROOT / f for f in PARSE_FILES)])
    if PROD_MANIFEST.exists() and PROD_MANIFEST.stat().st_mtime > newest:
        return PROD_MANIFEST
    own = ROOT / "target" / "pytest-parse-prod"
    script = [sys.executable, str(ROOT / "scripts" / "parse_databricks.py"), "prod"]
    result = subprocess.run(
        [*script, "--target-root", str(own)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return own / "parse-prod" / "manifest.json"


@pytest.mark.integration
def test_python_models_on_databricks_install_this_wheel() -> None:
    """dbt parse for a Databricks target: every Python model is submitted as configured and
    installs the wheel of this version from the target's artifacts volume."""
    import json
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert yaml.safe_load((ROOT / "dbt_project.yml").read_text())["version"] == version
    manifest = _prod_manifest()
    nodes = json.loads(manifest.read_text())["nodes"].values()
    python_models = [
        n for n in nodes if n["resource_type"] == "model" and n["language"] == "python"
    ]
    assert {n["name"] for n in python_models} == {
        "ml_training_runs",
        "ml_challenger_scores",
        "fraud_scores",
        "fraud_scores_shadow",
        "ml_score_contributions",
        "ml_reference_bins",
        "ml_reference_scores",
        "ml_reference_score_quantiles",
        "ml_validation_scores",
    }
    wheel = (
        f"/Volumes/claims_fraud_prod/claims_fraud/artifacts/claims_fraud-{version}-py3-none-any.whl"
    )
    for node in python_models:
        config = node["config"]
        assert config["submission_method"] == "job_cluster", node["name"]
        assert config["additional_libs"] == [{"whl": wheel}], node["name"]
        assert config["job_cluster_config"]["spark_version"].startswith("15.4."), node["name"]
