"""No value from outside runs SQL: hostile dbt vars, CLI arguments and a raw-data path fail
before any SQL runs, with a message naming the var and its rule (macros/validation/ and its
Python twin claims_fraud.warehouse.params);
a value that is allowed but holds a quote is rendered by the
one quoting macro and comes back unchanged. The Spark half is
python_jobs/tests/spark/test_spark_var_injection.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from harness import PROJECT_ROOT, DbtProject, copy_trained_state, make_project

from claims_fraud.ml.score import score_from_dbt, select_batch
from claims_fraud.warehouse import params
from claims_fraud.warehouse.connections import SparkWarehouse

CLAIMS_FRAUD = str(Path(sys.executable).with_name("claims-fraud"))

# End to end through dbt, one var per way it is checked: at parse time, where a model reads it
# with checked_var (max_plausible_units, in int_claim_lines_checked), and in the on-run-start
# hook (raw_schema, which only the sources YAML reads). The batch id has its own test below.
HOSTILE_VARS = [
    ("max_plausible_units", "500 or 1=1", "a number greater than 0"),
    ("raw_schema", "raw_claims; drop schema main cascade", "an identifier"),
]

# The rules themselves, hostile and plain values alike, fed to the Jinja rules (macros/validation,
# in one dbt run-operation) and to their Python twin (claims_fraud.warehouse.params) where it
# has one.
RULE_CASES = [
    ("a' || 'b", "batch_id", False),
    ("x'; drop table main_ml.fraud_scores; --", "batch_id", False),
    ("", "batch_id", False),
    ("x" * 65, "batch_id", False),
    ("-lead", "batch_id", False),
    ("b\n1", "batch_id", False),
    ("bätch", "batch_id", False),
    ("all_claims", "batch_id", True),
    ("2024-W09", "batch_id", True),
    ("b.1:late-2025", "batch_id", True),
    ("x" * 64, "batch_id", True),
    ("2025-02-30", "optional_timestamp", False),
    ("2025-13-01", "optional_timestamp", False),
    ("2025-1-1", "optional_timestamp", False),
    ("2025-01-01' or '1'='1", "optional_timestamp", False),
    ("2025-01-01 25:00", "optional_timestamp", False),
    ("", "optional_timestamp", True),
    ("2024-02-29", "optional_timestamp", True),
    ("2024-02-29T10:30", "optional_timestamp", True),
    ("2023-02-29", "optional_timestamp", False),
    ("raw_claims", "identifier", True),
    ("raw_claims; drop", "identifier", False),
    ("cat`alog", "identifier", False),
    ("1abc", "identifier", False),
    ("a.b", "identifier", False),
    (500, "positive_number", True),
    (0, "positive_number", False),
    ("500 or 1=1", "positive_number", False),
    (7, "non_negative_integer", True),
    (-1, "non_negative_integer", False),
    (1.5, "non_negative_integer", False),
    # vars read from the environment (CLAIMS_FRAUD_*, dbt_project.yml) arrive as text
    ("7", "non_negative_integer", True),
    ("0", "non_negative_integer", True),
    ("-1", "non_negative_integer", False),
    ("7; drop table t", "non_negative_integer", False),
    ("7.0", "non_negative_integer", False),
    ("", "non_negative_integer", False),
    (["gender", "age_group"], "identifier_list", True),
    (["gender'"], "identifier_list", False),
    ("gender", "identifier_list", False),
    ("/data/raw claims", "path", True),
    ("/srv/it's", "path", False),
    ("/srv/x; rm", "path", False),
]
PYTHON_TWIN = {
    "batch_id": params.batch_id,
    "identifier": params.identifier,
    "optional_timestamp": params.optional_timestamp,
    "non_negative_integer": params.non_negative_integer,
}
PLAN = {
    "scoring_batch_id": "week",
    "scoring_window_start": "2025-09-29",
    "scoring_window_end": "2025-10-15 06:00",
    "scoring_batch_days": "7",
}
LITERALS = ["it's a \\ back'slash''", "plain", "", "x'); drop table t; --"]


def test_python_window_rule_reads_dates_and_empty_bounds() -> None:
    assert params.optional_timestamp("") is None
    assert params.optional_timestamp("2024-02-29").isoformat() == "2024-02-29T00:00:00"
    assert params.optional_timestamp("2024-02-29T10:30").hour == 10


def test_scoring_refuses_a_hostile_batch_id_or_window_before_loading_a_model() -> None:
    features = pd.DataFrame({"ingested_at": pd.to_datetime(["2025-01-01"])})
    with pytest.raises(params.InvalidParameterError, match=r"scoring_batch_id = .* a batch id"):
        score_from_dbt(features, {"batch_id": "a' || 'b", "mlflow": {"tracking": "nowhere"}})
    with pytest.raises(params.InvalidParameterError, match=r"scoring_window_end = .* real date"):
        select_batch(features, "2025-01-01", "2025-02-30")
    assert len(select_batch(features, "2024-12-31", "2025-01-01 00:00:01")) == 1


@pytest.mark.parametrize("name", ["claims`fraud", "a.b", "1abc", "x; drop", ""])
def test_spark_warehouse_refuses_names_that_are_not_identifiers(name: str) -> None:
    with pytest.raises(params.InvalidParameterError, match=r"catalog = .* an identifier"):
        SparkWarehouse(spark=object(), catalog=name, schema="claims_fraud")


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["report", "--batch-id", "a' || 'b"], "--batch-id = \"a' || 'b\" is not allowed"),
        (["alerts", "--schema", "s`x"], "--schema = 's`x' is not allowed"),
        (["promote", "--catalog", "c; drop"], "--catalog = 'c; drop' is not allowed"),
    ],
)
def test_cli_refuses_hostile_arguments_before_reading_anything(
    arguments: list[str], words: str, tmp_path: Path
) -> None:
    missing = tmp_path / "no.duckdb"
    result = subprocess.run(
        [CLAIMS_FRAUD, *arguments, "--duckdb", str(missing)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert words in result.stderr
    assert not missing.exists()


def test_hostile_batch_id_fails_before_any_sql_and_changes_nothing(
    trained_project: DbtProject, tmp_path: Path
) -> None:
    project = copy_trained_state(trained_project, tmp_path / "state")
    scores_before = project.scalar("select count(*) from main_ml.fraud_scores")
    monitoring_tables = (
        "select count(*) from information_schema.tables where table_schema = 'main_monitoring'"
    )
    tables_before = project.scalar(monitoring_tables)
    hostile = "x'; drop table main_ml.fraud_scores; select '"
    for selector in ("monitor", "score"):
        result = project.dbt(
            "build",
            "--selector",
            selector,
            "--vars",
            json.dumps({"scoring_batch_id": hostile}),
            check=False,
        )
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert "var scoring_batch_id = x'; drop table" in output
        assert "must be a batch id" in output
        # nothing ran: no node started
        assert " START " not in output
    assert project.scalar("select count(*) from main_ml.fraud_scores") == scores_before
    # the monitoring run did not start: it created nothing
    assert project.scalar(monitoring_tables) == tables_before


@pytest.mark.parametrize(("name", "value", "rule"), HOSTILE_VARS)
def test_every_var_that_reaches_sql_is_checked_before_anything_runs(
    built_project: DbtProject, tmp_path: Path, name: str, value, rule: str
) -> None:
    project = make_project(tmp_path / "dbt", built_project.raw_dir)
    result = project.dbt(
        "build",
        "--select",
        "stg_claims__provider",
        "--vars",
        json.dumps({name: value}),
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"var {name} = " in output
    assert rule in output
    assert " START " not in output
    assert not project.duckdb_path.exists() or project.query(
        "select count(*) from information_schema.tables where table_schema like 'main_%'"
    ) == [(0,)]


def test_a_raw_folder_path_with_a_quote_is_refused(
    built_project: DbtProject, tmp_path: Path
) -> None:
    hostile = tmp_path / "it's raw"
    shutil.copytree(built_project.raw_dir, hostile)
    project = make_project(tmp_path / "dbt", hostile)
    result = project.dbt("build", "--select", "stg_claims__provider", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "env var CLAIMS_FRAUD_RAW_DIR" in output
    assert "without quotes" in output


def test_jinja_rules_and_their_python_twin_agree_and_literals_round_trip(
    built_project: DbtProject, tmp_path: Path
) -> None:
    project = make_project(tmp_path / "dbt", built_project.raw_dir)
    arguments = {"cases": [[value, rule] for value, rule, _ in RULE_CASES], "literals": LITERALS}
    result = project.dbt(
        "run-operation",
        "var_rule_verdicts",
        "--args",
        json.dumps(arguments),
        "--vars",
        json.dumps(PLAN),
    )
    line = next(line for line in result.stdout.splitlines() if "var_rule_verdicts {" in line)
    logged = json.loads(line[line.index("{") :])
    jinja = dict(zip([(repr(v), r) for v, r, _ in RULE_CASES], logged["verdicts"], strict=True))
    for value, rule, allowed in RULE_CASES:
        assert jinja[(repr(value), rule)] is allowed, f"Jinja rule {rule} on {value!r}"
        if rule in PYTHON_TWIN:
            try:
                PYTHON_TWIN[rule](value)
                python_allowed = True
            except params.InvalidParameterError:
                python_allowed = False
            assert python_allowed is allowed, f"Python rule {rule} on {value!r}"
    # sql_literal: what the warehouse reads back is the value, quotes and backslashes included
    assert logged["literals"] == LITERALS
    # the scoring batches: what mon_batches lists and the post-hooks replace (Jinja) is what
    # fraud_scores writes (Python); three weekly batches, the last one cut short
    python_plan = params.scoring_batches(*PLAN.values())
    assert len(python_plan) == 3
    assert logged["scoring_batches"] == [
        [b.batch_id, f"{b.start:%Y-%m-%d %H:%M:%S}", f"{b.end:%Y-%m-%d %H:%M:%S}"]
        for b in python_plan
    ]


def test_every_var_in_dbt_project_yml_that_reaches_sql_has_a_rule() -> None:
    """A new var used in SQL without a rule would bypass the check: var_rules.sql must list it."""
    rules = (PROJECT_ROOT / "macros/validation/var_rules.sql").read_text()
    used = set()
    for path in [*PROJECT_ROOT.glob("models/**/*.sql"), *PROJECT_ROOT.glob("macros/**/*.sql")]:
        used |= set(re.findall(r"(?<!env_)var\(\s*['\"](\w+)", path.read_text()))
    # var() itself appears in checked_var.sql (it reads the var); the rest must go through it.
    unchecked = {
        name
        for name in used
        if name
        and f"'{name}':" not in rules
        and name not in {"check_raw_columns", "python_submission_method", "claims_fraud_wheel"}
    }
    assert unchecked == set()
