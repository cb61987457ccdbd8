"""The GitHub workflows: schema-valid, pinned, least-privilege; and the repository secret scan.

Two schemas: the copy check-jsonschema vendors (`--builtin-schema vendor.github-workflows`,
offline) and the SchemaStore snapshot vendored in `schemas/` (see schemas/SOURCES.md).
Every rule is also shown to reject a deliberately broken copy, so a check that silently passes
everything would fail here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from workflow_policy import (
    bundle_var_problems,
    load_workflow,
    policy_problems,
    schema_errors,
    uses_problems,
)

REPO = Path(__file__).resolve().parents[2]
WORKFLOW_DIR = REPO / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml"))
SHARED_SCHEMA = REPO / "schemas" / "github-workflow.schema.json"
BASELINE = REPO / ".secrets.baseline"
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    assert path.exists(), f"{name} not installed next to {sys.executable}: run `uv sync`"
    return str(path)


@pytest.fixture(scope="module")
def shared_schema() -> dict:
    assert SHARED_SCHEMA.is_file(), (
        f"workflow schema missing: expected the SchemaStore copy at {SHARED_SCHEMA} "
        "(schemas/github-workflow.schema.json in the repository)"
    )
    return json.loads(SHARED_SCHEMA.read_text(encoding="utf-8"))


def _check_jsonschema(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            _tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _broken_copy(tmp_path: Path, source: Path, old: str, new: str, count: int = 1) -> Path:
    text = source.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {source.name}: update the test"
    broken = tmp_path / source.name
    broken.write_text(text.replace(old, new, count), encoding="utf-8")
    return broken


def test_both_workflows_exist() -> None:
    assert [p.name for p in WORKFLOWS] == ["cd.yml", "ci.yml"]


# --- schemas (the vendored-schema check of the real workflows is `make validate-workflows`) -----


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_validates_against_the_shared_schema(workflow: Path, shared_schema: dict) -> None:
    assert schema_errors(load_workflow(workflow), shared_schema) == []


def test_a_job_without_runs_on_is_rejected_by_both_schemas(
    tmp_path: Path, shared_schema: dict
) -> None:
    broken = _broken_copy(tmp_path, WORKFLOW_DIR / "ci.yml", "    runs-on: ubuntu-24.04\n", "")
    assert _check_jsonschema(broken).returncode != 0
    assert schema_errors(load_workflow(broken), shared_schema)


def test_an_unknown_job_key_is_rejected_by_both_schemas(
    tmp_path: Path, shared_schema: dict
) -> None:
    broken = _broken_copy(tmp_path, WORKFLOW_DIR / "cd.yml", "timeout-minutes:", "timeout-minute:")
    assert _check_jsonschema(broken).returncode != 0
    assert schema_errors(load_workflow(broken), shared_schema)


# --- project rules -----------------------------------------------------------------------------


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_follows_the_project_rules(workflow: Path) -> None:
    assert policy_problems(workflow) == []


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_sha_with_a_version_comment(workflow: Path) -> None:
    uses = re.findall(r"^\s*(?:-\s+)?uses:\s*(.+)$", workflow.read_text(encoding="utf-8"), re.M)
    assert uses, f"{workflow.name} uses no action?"
    for line in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}\s+#\s+v\d+(\.\d+)*", line), line


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683  # v4.2.2",
            "actions/checkout@v4",
            "not pinned to a full commit SHA",
        ),
        (
            "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683  # v4.2.2",
            "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683",
            "no `# vX` version comment",
        ),
        (
            "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683  # v4.2.2",
            "actions/checkout@11bd719  # v4.2.2",
            "not pinned to a full commit SHA",
        ),
        ("permissions:\n  contents: read\n", "permissions: write-all\n", "grants write"),
        ("permissions:\n  contents: read\n", "", "no top-level `permissions`"),
        (
            "concurrency:\n  group: ci-",
            "x-concurrency:\n  group: ci-",
            "no top-level `concurrency`",
        ),
        (
            "    permissions:\n      contents: read\n      id-token: write\n",
            "    permissions: write-all\n",
            "`permissions: write-all`",
        ),
        ("    timeout-minutes: 15\n", "", "no `timeout-minutes`"),
        (
            "          databricks --version\n",
            '          echo "${{ secrets.DATABRICKS_HOST }}"\n',
            "inside `run:`",
        ),
    ],
)
def test_a_broken_ci_copy_is_rejected(tmp_path: Path, old: str, new: str, expected: str) -> None:
    broken = _broken_copy(tmp_path, WORKFLOW_DIR / "ci.yml", old, new)
    problems = policy_problems(broken)
    assert any(expected in p for p in problems), problems


def test_uses_problems_accepts_a_local_action_and_a_pinned_one() -> None:
    text = (
        "    steps:\n"
        "      - uses: ./.github/actions/setup\n"
        "      - uses: actions/setup-java@c5195efecf7bdfc987ee8bae7a71cb8b11521c00  # v4.7.1\n"
    )
    assert uses_problems(text) == []


def test_no_step_interpolates_secrets_into_a_script() -> None:
    for workflow in WORKFLOWS:
        for job_id, job in load_workflow(workflow)["jobs"].items():
            for step in job.get("steps", []):
                run = step.get("run", "")
                assert not re.search(r"\$\{\{[^}]*\bsecrets\.", run), (workflow.name, job_id)


# --- ci.yml ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ci() -> dict:
    return load_workflow(WORKFLOW_DIR / "ci.yml")


@pytest.fixture(scope="module")
def cd() -> dict:
    return load_workflow(WORKFLOW_DIR / "cd.yml")


def test_ci_runs_on_pull_requests_and_pushes(ci: dict) -> None:
    assert "pull_request" in ci["on"]
    assert "push" in ci["on"]


def test_ci_top_level_permissions_are_read_only(ci: dict, cd: dict) -> None:
    assert ci["permissions"] == {"contents": "read"}
    assert cd["permissions"] == {"contents": "read"}


def test_ci_has_the_expected_jobs(ci: dict) -> None:
    jobs = ci["jobs"]
    expected = {"lint", "test", "spark", "bundle", "secrets", "bundle-validate-workspace"}
    assert expected <= set(jobs)
    runs = {
        job_id: " ".join(s.get("run", "") for s in job.get("steps", []))
        for job_id, job in jobs.items()
    }
    assert "make lint" in runs["lint"]
    assert "make test" in runs["test"]
    assert "make test-spark" in runs["spark"]
    assert "claims-fraud bundle validate" in runs["bundle"]
    assert "detect-secrets-hook --baseline .secrets.baseline" in runs["secrets"]
    assert 'databricks bundle validate -t "$TARGET"' in runs["bundle-validate-workspace"]


def test_spark_job_sets_up_java_17(ci: dict) -> None:
    java = [s for s in ci["jobs"]["spark"]["steps"] if "setup-java" in s.get("uses", "")]
    assert len(java) == 1
    assert str(java[0]["with"]["java-version"]) == "17"


def test_workspace_validation_runs_only_when_the_secrets_exist(ci: dict) -> None:
    job = ci["jobs"]["bundle-validate-workspace"]
    needs = job["needs"] if isinstance(job["needs"], list) else [job["needs"]]
    assert "workspace-secrets" in needs
    # A job-level `if:` cannot read `secrets`: it reads the checking job's output instead.
    assert job["if"] == "needs.workspace-secrets.outputs.available == 'true'"
    assert not re.search(r"(?<![\w-])secrets\.", job["if"])
    assert job["strategy"]["matrix"]["target"] == ["dev", "staging", "prod"]
    check = ci["jobs"]["workspace-secrets"]
    assert check["outputs"]["available"] == "${{ steps.check.outputs.available }}"
    assert "permissions" not in check  # inherits contents: read


def test_id_token_write_only_where_oidc_is_used(ci: dict, cd: dict) -> None:
    for workflow in (ci, cd):
        for job_id, job in workflow["jobs"].items():
            perms = job.get("permissions") or {}
            oidc = (workflow.get("env", {}) | job.get("env", {})).get("DATABRICKS_AUTH_TYPE")
            if perms.get("id-token") == "write":
                assert oidc == "github-oidc", job_id


def test_the_databricks_cli_version_is_pinned(ci: dict, cd: dict) -> None:
    versions = {wf["env"]["DATABRICKS_CLI_VERSION"] for wf in (ci, cd)}
    assert len(versions) == 1
    assert re.fullmatch(r"\d+\.\d+\.\d+", versions.pop())


# --- cd.yml ------------------------------------------------------------------------------------


def test_cd_triggers_on_main_and_release_tags(cd: dict) -> None:
    push = cd["on"]["push"]
    assert push["branches"] == ["main"]
    assert push["tags"] == ["v*"]
    assert set(cd["on"]) == {"push"}


def test_deploys_never_overlap_and_are_never_cancelled(cd: dict) -> None:
    assert cd["concurrency"]["cancel-in-progress"] is False
    groups = []
    for job in cd["jobs"].values():
        assert job["concurrency"]["cancel-in-progress"] is False
        groups.append(job["concurrency"]["group"])
        assert job["concurrency"]["group"] == f"deploy-{job['environment']}"
    assert len(groups) == len(set(groups))


def test_cd_flow(cd: dict) -> None:
    jobs = cd["jobs"]
    runs = {job_id: [s.get("run", "") for s in job["steps"]] for job_id, job in jobs.items()}
    assert jobs["deploy-dev"]["if"] == "github.ref == 'refs/heads/main'"
    copy = "databricks fs cp dist/claims_fraud-*.whl"

    def deploy_copy_run(steps: list[str], target: str) -> list[str]:
        picked = [s for s in steps if s.startswith("databricks bundle") or copy in s]
        return [copy if copy in s else s for s in picked]

    # deploy, then the wheel to the artifacts volume (dbt Python models), then the run
    assert deploy_copy_run(runs["deploy-dev"], "dev")[-3:] == [
        "databricks bundle deploy -t dev",
        copy,
        "databricks bundle run -t dev claims_fraud_pipeline",
    ]
    assert jobs["deploy-staging"]["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert deploy_copy_run(runs["deploy-staging"], "staging")[-3:] == [
        "databricks bundle deploy -t staging",
        copy,
        "databricks bundle run -t staging claims_fraud_pipeline",
    ]
    prod = jobs["deploy-prod"]
    assert prod["needs"] == "deploy-staging"
    assert prod["environment"] == "prod"
    assert prod["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert deploy_copy_run(runs["deploy-prod"], "prod")[-2:] == [
        "databricks bundle deploy -t prod",
        copy,
    ]
    for job in ("deploy-dev", "deploy-staging", "deploy-prod"):
        target = job.removeprefix("deploy-")
        assert any(f"bundle validate -t {target} -o json" in s for s in runs[job])


def test_every_bundle_var_the_workflows_set_is_declared(ci: dict, cd: dict) -> None:
    declared = set(yaml.safe_load((REPO / "databricks.yml").read_text())["variables"])
    assert bundle_var_problems(ci, declared) == []
    assert bundle_var_problems(cd, declared) == []
    # the prod deploy sets the serving switch, and a misspelt name is caught
    assert "BUNDLE_VAR_serve_champion" in cd["jobs"]["deploy-prod"]["env"]
    broken = {"jobs": {"deploy-prod": {"env": {"BUNDLE_VAR_serve_champoin": "true"}}}}
    assert bundle_var_problems(broken, declared) == [
        "deploy-prod: BUNDLE_VAR_serve_champoin (no variable 'serve_champoin' in databricks.yml)"
    ]


# --- pre-commit --------------------------------------------------------------------------------


def test_pre_commit_hooks_are_local_and_cover_the_checks() -> None:
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert {repo["repo"] for repo in config["repos"]} == {"local"}
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert set(hooks) >= {
        "ruff-check",
        "ruff-format",
        "sqlfluff-lint",
        "detect-secrets",
        "check-github-workflows",
    }
    assert "--baseline .secrets.baseline" in hooks["detect-secrets"]["entry"]
    assert "vendor.github-workflows" in hooks["check-github-workflows"]["entry"]


# --- secret scan (the scan of every tracked file is `make secrets`) ----------------------------


def _detect_secrets_hook(baseline: Path, files: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_tool("detect-secrets-hook"), "--baseline", str(baseline), *files],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_baseline_has_no_unaudited_or_real_secret() -> None:
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    for filename, findings in baseline["results"].items():
        for finding in findings:
            # Every finding left in the baseline was audited as a dummy.
            assert finding.get("is_secret") is False, (filename, finding["line_number"])


def test_a_new_secret_is_caught(tmp_path: Path) -> None:
    baseline = tmp_path / ".secrets.baseline"
    shutil.copy(BASELINE, baseline)
    leak = tmp_path / "settings.py"
    # Built at run time so that this test file itself holds no secret-looking literal.
    key = "AKIA" + "Q3EGRQ7XN5HJ2WTP"
    leak.write_text(f'AWS_ACCESS_KEY_ID = "{key}"\n', encoding="utf-8")
    result = _detect_secrets_hook(baseline, [str(leak)])
    assert result.returncode != 0
    assert key not in result.stdout + result.stderr  # reported by location, never printed


def test_vendored_schemas_are_the_snapshots_their_sources_pin() -> None:
    """`make secrets` skips the vendored schemas (1 MB of upstream JSON): they are pinned by
    the sha256 in schemas/SOURCES.md instead, so any edit to them (a secret included) fails
    here until SOURCES.md records it."""
    import hashlib

    schemas = Path(__file__).resolve().parents[2] / "schemas"
    pinned = dict(
        re.findall(
            r"^- (\S+\.schema\.json)\s+([0-9a-f]{64})$", (schemas / "SOURCES.md").read_text(), re.M
        )
    )
    assert set(pinned) == {path.name for path in schemas.glob("*.schema.json")}
    for name, digest in pinned.items():
        assert hashlib.sha256((schemas / name).read_bytes()).hexdigest() == digest, name
