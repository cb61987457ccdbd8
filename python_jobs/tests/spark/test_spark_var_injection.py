"""The var rules and the quoting macro on the Spark target: a hostile var fails before any
Spark SQL runs, and an allowed value with quotes and backslashes (Spark reads a backslash as an
escape) comes back unchanged. The DuckDB half is tests/reliability/test_var_injection.py."""

from __future__ import annotations

import json

import pytest
from targets import SparkProject, SparkTarget

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def project(spark_target: SparkTarget, tmp_path_factory: pytest.TempPathFactory) -> SparkProject:
    root = tmp_path_factory.mktemp("var_checks")
    return spark_target.project(root, root / "raw", "var_checks")


@pytest.mark.parametrize(
    ("selector", "variables", "words"),
    [
        ("monitor", {"scoring_batch_id": "a' || 'b"}, "var scoring_batch_id = a' || 'b"),
        ("features", {"raw_schema": "raw`; drop"}, "var raw_schema = raw`; drop"),
    ],
)
def test_hostile_vars_fail_before_any_spark_sql(
    project: SparkProject, selector: str, variables: dict, words: str
) -> None:
    result = project.dbt(
        "build", "--selector", selector, "--vars", json.dumps(variables), check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert words in output
    assert "is not allowed" in output
    assert " START " not in output  # no node ran


def test_the_quoting_macro_round_trips_on_spark(project: SparkProject) -> None:
    value = "it's a \\ back'slash'' \\'"
    result = project.dbt(
        "show",
        "--inline",
        "select {{ sql_literal(" + json.dumps(value) + ") }} as v",
        "--output",
        "json",
        "--log-format",
        "json",
    )
    previews = [
        json.loads(line)["data"]["preview"]
        for line in result.stdout.splitlines()
        if line.startswith("{") and '"preview"' in line
    ]
    assert previews, result.stdout[-4000:]
    assert json.loads(previews[-1]) == [{"v": value}]
