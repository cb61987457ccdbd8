"""Policy checks for the GitHub Actions workflows (.github/workflows/*.yml).

The JSON schema (SchemaStore's github-workflow schema) says whether a workflow is well formed;
these checks add the project's own rules, which no schema expresses:
- every `uses:` names a full 40-hex commit SHA followed by a `# vX...` comment (the release);
- the workflow sets top-level `permissions` and `concurrency`;
- no `permissions: write-all` (top level or job), and the top level grants no write scope;
- every job has `timeout-minutes`;
- no `run:` script interpolates `${{ secrets.* }}` (secrets reach scripts through `env:` only,
  so they are never echoed or spliced into a command line);
- no value (`env:` at any level, `with:`, `run:`, anything) holds a credential in plain text:
  a URL with `user:password@`, a webhook token (hooks.slack.com/services/..., slack://...), a
  query `token=`/`key=`..., a Slack, GitHub or Databricks token; a `${{ secrets.NAME }}`
  expression is the way in (`claims_fraud.monitoring.secret_urls`);
- every `BUNDLE_VAR_<name>` a workflow sets names a variable of databricks.yml
  (`bundle_var_problems`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from claims_fraud.monitoring.secret_urls import plain_secret_problems

# `uses: owner/repo[/path]@<sha>  # v1.2.3` (the comment is what Dependabot/Renovate update).
PINNED_USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>[^\s#]+)\s*(?:#\s*(?P<comment>.*\S))?\s*$")
ACTION_REF = re.compile(r"^[\w.-]+/[\w./-]+@(?P<sha>[0-9a-f]{40})$")
VERSION_COMMENT = re.compile(r"^v\d+(\.\d+)*\b")
SECRET_IN_RUN = re.compile(r"\$\{\{[^}]*\bsecrets\.")


def load_workflow(path: Path) -> dict[str, Any]:
    """The workflow as a mapping; YAML 1.1 reads the key `on` as True, which is put back."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a YAML mapping")
    if True in data:
        data["on"] = data.pop(True)
    return data


def _steps(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_id, job in (workflow.get("jobs") or {}).items():
        for step in (job or {}).get("steps") or []:
            if isinstance(step, dict):
                yield job_id, step


def uses_problems(text: str) -> list[str]:
    """Every `uses:` line pinned to a full commit SHA with a `# vX` comment (local ./ excepted)."""
    problems = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        match = PINNED_USES.match(line)
        if not match:
            continue
        ref, comment = match["ref"].strip("'\""), match["comment"]
        if ref.startswith("./"):
            continue
        if not ACTION_REF.match(ref):
            problems.append(f"line {lineno}: `uses: {ref}` is not pinned to a full commit SHA")
        elif not comment or not VERSION_COMMENT.match(comment):
            problems.append(f"line {lineno}: `uses: {ref}` has no `# vX` version comment")
    return problems


def _grants_write(permissions: Any) -> bool:
    if isinstance(permissions, str):
        return permissions == "write-all"
    if isinstance(permissions, dict):
        return any(value == "write" for value in permissions.values())
    return False


def policy_problems(path: Path) -> list[str]:
    """The project's workflow rules broken by the file at `path` (empty when it complies)."""
    text = path.read_text(encoding="utf-8")
    workflow = load_workflow(path)
    problems = uses_problems(text)
    for key in ("permissions", "concurrency"):
        if key not in workflow:
            problems.append(f"no top-level `{key}`")
    if _grants_write(workflow.get("permissions")):
        problems.append("top-level `permissions` grants write: grant it per job instead")
    jobs = workflow.get("jobs") or {}
    for job_id, job in jobs.items():
        job = job or {}
        if job.get("permissions") == "write-all":
            problems.append(f"job {job_id}: `permissions: write-all`")
        if "uses" not in job and "timeout-minutes" not in job:
            problems.append(f"job {job_id}: no `timeout-minutes`")
    for job_id, step in _steps(workflow):
        if SECRET_IN_RUN.search(str(step.get("run", ""))):
            name = step.get("name", step.get("run", "")[:40])
            problems.append(f"job {job_id}, step {name!r}: `${{{{ secrets.* }}}}` inside `run:`")
    fix = "store it as a GitHub secret and pass it as ${{ secrets.NAME }} through env:"
    problems += [f"plain secret: {p}" for p in plain_secret_problems(workflow, fix)]
    return problems


def bundle_var_problems(workflow: dict[str, Any], declared: set[str]) -> list[str]:
    """`BUNDLE_VAR_<name>` env entries (workflow, job or step level) whose <name> is not in
    `declared`, the variables of databricks.yml: the Databricks CLI ignores those silently, so
    a typo would deploy the placeholder default."""
    jobs = workflow.get("jobs") or {}
    scopes = [("workflow", workflow.get("env") or {})]
    scopes += [(job_id, (job or {}).get("env") or {}) for job_id, job in jobs.items()]
    scopes += [(job_id, step.get("env") or {}) for job_id, step in _steps(workflow)]
    return [
        f"{where}: {key} (no variable {name!r} in databricks.yml)"
        for where, env in scopes
        for key in env
        if key.startswith("BUNDLE_VAR_")
        and (name := key.removeprefix("BUNDLE_VAR_")) not in declared
    ]


def schema_errors(workflow: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """JSON-schema errors of a loaded workflow (the schema's own draft, e.g. draft-07)."""
    from jsonschema.validators import validator_for

    validator_cls = validator_for(schema)
    validator_cls.check_schema(schema)
    errors = sorted(validator_cls(schema).iter_errors(workflow), key=lambda e: list(e.path))
    return [f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message[:200]}" for e in errors]
