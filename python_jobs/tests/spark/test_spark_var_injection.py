"""The var rules and the quoting macro on the Spark target: a hostile var fails before any
Spark SQL runs, and an allowed value with quotes and backslashes (Spark reads a backslash as an
escape) comes back unchanged. The DuckDB half is tests/reliability/test_var_injection.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from spark_check import dbt_env, run_dbt

pytestmark = pytest.mark.spark


def _env(tmp_path: Path) -> dict[str, str]:
    spark_dir = tmp_path / "spark"
    (spark_dir / "raw").mkdir(parents=True)
    return dbt_env(spark_dir, "spark", tmp_path / "run")


@pytest.mark.parametrize(
    ("selector", "variables", "words"),
    [
        ("monitor", {"scoring_batch_id": "a' || 'b"}, "var scoring_batch_id = a' || 'b"),
        ("features", {"raw_schema": "raw`; drop"}, "var raw_schema = raw`; drop"),
    ],
)
def test_hostile_vars_fail_before_any_spark_sql(
    tmp_path: Path, selector: str, variables: dict, words: str
) -> None:
    if shutil.which("java") is None:
        pytest.fail("Java is not on PATH: the Spark tests need a JDK (17)")
    log = tmp_path / "dbt.log"
    ok, _ = run_dbt(
        ["build", "--selector", selector, "--vars", json.dumps(variables)], _env(tmp_path), log
    )
    output = log.read_text()
    assert not ok
    assert words in output
    assert "is not allowed" in output
    assert " START " not in output  # no node ran


def test_the_quoting_macro_round_trips_on_spark(tmp_path: Path) -> None:
    if shutil.which("java") is None:
        pytest.fail("Java is not on PATH: the Spark tests need a JDK (17)")
    value = "it's a \\ back'slash'' \\'"
    log = tmp_path / "show.log"
    ok, _ = run_dbt(
        [
            "show",
            "--inline",
            "select {{ sql_literal(" + json.dumps(value) + ") }} as v",
            "--output",
            "json",
            "--log-format",
            "json",
        ],
        _env(tmp_path),
        log,
    )
    assert ok, log.read_text()[-4000:]
    previews = [
        json.loads(line)["data"]["preview"]
        for line in log.read_text().splitlines()
        if line.startswith("{") and '"preview"' in line
    ]
    assert previews, log.read_text()[-4000:]
    assert json.loads(previews[-1]) == [{"v": value}]
