"""No secret in plain config (issue 10, defect 11).

The pipeline job reads the alert channels (webhook URLs carry their tokens) from the secret
scope, like the Databricks credentials; and the offline checks, `claims-fraud bundle
validate` and the workflow rules, fail on a value holding a credential in plain text, shown
here on broken copies of the real files. Each problem names the place, never the secret.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from workflow_policy import bundle_var_problems, load_workflow, policy_problems

from claims_fraud.cli.main import cli_spec, main
from claims_fraud.deploy import bundle
from claims_fraud.monitoring.secret_urls import plain_credentials

ROOT = Path(__file__).resolve().parents[3]
TARGETS = ("dev", "staging", "prod")
PIPELINE = "resources/claims_fraud_pipeline.job.yml"
# The job cluster of both jobs is the complex variable job_cluster of databricks.yml.
CLUSTER = "databricks.yml"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ENV = "resources/jobs/claims_fraud_pipeline/job_clusters/0/new_cluster/spark_env_vars"
# Built at run time so that no secret-looking literal sits in this file (secret scan).
TOKEN = "TIiajkdnlazk" + "cOXrIdevi7FQ"
LOGIN_WORD = "s3cret" + "-Pa55"
SLACK_HOOK = "https://hooks.slack.com/services/" + "T1JJ3T3L2/A1BRTD4JD/" + TOKEN


def _edit(project: Path, relative: str, change: Callable[[dict], None]) -> None:
    path = project / relative
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _pipeline(data: dict) -> dict:
    return data["resources"]["jobs"]["claims_fraud_pipeline"]


def _env(data: dict) -> dict:
    return data["variables"]["job_cluster"]["default"]["spark_env_vars"]


def _secret_problems(problems: list[str]) -> list[str]:
    return [p for p in problems if p.startswith("plain secret:")]


# --- the real files ----------------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_alert_urls_come_from_the_secret_scope(target: str) -> None:
    config = bundle.load_bundle(ROOT, target)
    env = bundle.jobs(config)["claims_fraud_pipeline"]["job_clusters"][0]["new_cluster"][
        "spark_env_vars"
    ]
    from_scope = {"CLAIMS_FRAUD_ALERT_URLS": "alert_urls", "DATABRICKS_TOKEN": "token"}
    for name, key in from_scope.items():
        assert env[name] == f"{{{{secrets/claims-fraud/{key}}}}}", name
    # no bundle variable carries channel URLs any more, and CD sets none
    assert "alert_destinations" not in config["variables"]
    declared = set(config["variables"])
    for workflow in WORKFLOWS:
        assert bundle_var_problems(load_workflow(workflow), declared) == [], workflow.name


@pytest.mark.parametrize("target", TARGETS)
def test_the_real_bundle_passes_the_plain_secret_check(target: str, schema: Path) -> None:
    assert bundle.secret_problems(bundle.load_bundle(ROOT, target)) == []
    assert bundle.validate_target(ROOT, target, schema, cli=cli_spec()).problems == []


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_the_real_workflows_pass_the_plain_secret_check(workflow: Path) -> None:
    assert policy_problems(workflow) == []


# --- broken bundle copies ----------------------------------------------------------------------


def _plain_password(data: dict) -> None:
    _env(data)["CLAIMS_FRAUD_ALERT_URLS"] = "json://siu:" + LOGIN_WORD + "@alerts.example.com/hook"


def _variable_with_a_slack_hook(data: dict) -> None:
    data["variables"]["alert_destinations"] = {"description": "channels", "default": SLACK_HOOK}


def _env_from_that_variable(data: dict) -> None:
    _env(data)["CLAIMS_FRAUD_ALERT_URLS"] = "${var.alert_destinations}"


def _token_in_a_wheel_parameter(data: dict) -> None:
    alerts = next(t for t in _pipeline(data)["tasks"] if t["task_key"] == "alerts")
    alerts["python_wheel_task"]["parameters"] += [
        "--notify",
        "json://alerts.example.com/hook?token=" + TOKEN,
    ]


def _databricks_token(data: dict) -> None:
    _env(data)["DATABRICKS_TOKEN"] = "dapi" + "0123456789abcdef" * 2


@pytest.mark.parametrize(
    ("changes", "where", "what", "label"),
    [
        (
            [(CLUSTER, _plain_password)],
            f"{ENV}/CLAIMS_FRAUD_ALERT_URLS",
            "a password in the URL (user:password@)",
            "json://***@alerts.example.com/hook",
        ),
        (
            [("databricks.yml", _variable_with_a_slack_hook), (CLUSTER, _env_from_that_variable)],
            "variables/alert_destinations/default",
            "a Slack webhook token",
            "https://hooks.slack.com/services/***/***/***",
        ),
        (
            [("databricks.yml", _variable_with_a_slack_hook), (CLUSTER, _env_from_that_variable)],
            f"{ENV}/CLAIMS_FRAUD_ALERT_URLS",
            "a Slack webhook token",
            "https://hooks.slack.com/services/***/***/***",
        ),
        (
            [(PIPELINE, _token_in_a_wheel_parameter)],
            "resources/jobs/claims_fraud_pipeline/tasks/3/python_wheel_task/parameters/4",
            "a token in the query string",
            "json://alerts.example.com/hook?token=***",
        ),
        (
            [(CLUSTER, _databricks_token)],
            f"{ENV}/DATABRICKS_TOKEN",
            "an access token",
            "***",
        ),
    ],
    ids=["userinfo", "variable-default", "variable-use", "query-token", "databricks-token"],
)
def test_a_bundle_with_a_plain_secret_is_rejected(
    project: Path, schema: Path, changes: list, where: str, what: str, label: str
) -> None:
    for relative, change in changes:
        _edit(project, relative, change)
    for target in TARGETS:
        problems = bundle.validate_target(project, target, schema, cli=cli_spec()).problems
        found = _secret_problems(problems)
        assert f"plain secret: {where}: {what} in plain config ({label})" in "\n".join(found)
        assert "{{secrets/claims-fraud/<key>}}" in found[0]  # says how to fix it
        assert problems == found  # nothing else broke: the check alone catches it
        for secret in (TOKEN, LOGIN_WORD, "0123456789abcdef"):
            assert secret not in "\n".join(problems)


def test_a_target_override_or_a_var_with_a_secret_fails_that_target_only(
    project: Path, schema: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def declare(data: dict) -> None:
        data["variables"]["alert_destinations"] = {"description": "channels", "default": ""}
        data["targets"]["prod"]["variables"]["alert_destinations"] = (
            "slack://TokenA/TokenB/" + TOKEN
        )

    _edit(project, "databricks.yml", declare)
    _edit(project, CLUSTER, _env_from_that_variable)
    assert bundle.validate_target(project, "dev", schema, cli=cli_spec()).problems == []
    prod = bundle.validate_target(project, "prod", schema, cli=cli_spec()).problems
    assert any(
        "an apprise URL made of tokens in plain config (slack://***/***/***)" in p for p in prod
    )
    # through the CLI, and a --var given on the command line is checked the same way
    args = ["bundle", "validate", "--project-dir", str(project), "--schema", str(schema)]
    assert main([*args, "--target", "dev"]) == 0
    assert main([*args, "--target", "prod"]) == 1
    hook = "json://siu:" + LOGIN_WORD + "@alerts.example.com/a"
    assert main([*args, "--target", "dev", "--var", f"alert_destinations={hook}"]) == 1
    out = capsys.readouterr().out
    assert "json://***@alerts.example.com/a" in out
    assert TOKEN not in out
    assert LOGIN_WORD not in out


@pytest.mark.parametrize(
    "value",
    [
        "{{secrets/another-scope/alert_urls}}",
        "json://alerts.example.com/hook",
        "mailto://mail.example.com?to=siu@example.com",
        "",
    ],
)
def test_references_and_urls_without_credentials_pass(
    project: Path, schema: Path, value: str
) -> None:
    _edit(project, CLUSTER, lambda data: _env(data).update(CLAIMS_FRAUD_ALERT_URLS=value))
    assert bundle.validate_target(project, "prod", schema, cli=cli_spec()).problems == []


# --- broken workflow copies --------------------------------------------------------------------

_ANCHOR = "      BUNDLE_VAR_warehouse_id: ${{ vars.DATABRICKS_WAREHOUSE_ID }}\n"


def _workflow_with(tmp_path: Path, line: str) -> Path:
    text = (ROOT / ".github" / "workflows" / "cd.yml").read_text(encoding="utf-8")
    assert _ANCHOR in text, "cd.yml changed: update the test"
    broken = tmp_path / "cd.yml"
    broken.write_text(text.replace(_ANCHOR, _ANCHOR + line, 1), encoding="utf-8")
    return broken


@pytest.mark.parametrize(
    ("line", "what", "label"),
    [
        (
            f"      ALERT_WEBHOOK: {SLACK_HOOK}\n",
            "a Slack webhook token",
            "https://hooks.slack.com/services/***/***/***",
        ),
        (
            "      ALERT_URLS: mailto://siu:" + LOGIN_WORD + "@mail.example.com\n",
            "a password in the URL (user:password@)",
            "mailto://***@mail.example.com",
        ),
        (
            f"      ALERT_URLS: slack://TokenA/TokenB/{TOKEN}/#siu\n",
            "an apprise URL made of tokens",
            "slack://***/***/***/#siu",
        ),
        (
            f"      SCORING_API: https://api.example.com/score?key={TOKEN}\n",
            "a token in the query string",
            "https://api.example.com/score?key=***",
        ),
    ],
    ids=["slack-hook", "userinfo", "slack-scheme", "query-key"],
)
def test_a_workflow_env_with_a_plain_secret_is_rejected(
    tmp_path: Path, line: str, what: str, label: str
) -> None:
    problems = policy_problems(_workflow_with(tmp_path, line))
    name = line.split(":")[0].strip()
    expected = f"plain secret: jobs/deploy-dev/env/{name}: {what} in plain config ({label})"
    assert any(p.startswith(expected) for p in problems), problems
    assert "${{ secrets.NAME }}" in "\n".join(problems)  # says how to fix it
    for secret in (TOKEN, LOGIN_WORD):
        assert secret not in "\n".join(problems)


def test_a_workflow_env_from_a_secret_expression_passes(tmp_path: Path) -> None:
    line = "      ALERT_WEBHOOK: ${{ secrets.ALERT_WEBHOOK }}\n"
    assert policy_problems(_workflow_with(tmp_path, line)) == []


def test_references_are_not_credentials() -> None:
    assert plain_credentials("{{secrets/claims-fraud/alert_urls}}") == []
    assert plain_credentials("${{ secrets.ALERT_WEBHOOK }}") == []
    assert plain_credentials("https://x-access-token:${{ secrets.GH }}@github.com/o/r") == []
    assert plain_credentials('curl -u "$USER:$PASS" https://$HOST/api') == []
    assert plain_credentials("apprise URLs (slack://..., mailto://..., json://host/path)") == []
