"""The environment a dbt command of the tests or the benchmarks runs in, built in one place.

Every dbt command outside `make run` (the suites' projects, the Spark target's projects, the
benchmarks) points dbt at this repository's profile and an isolated state through environment
variables: the target, where dbt writes (target and log folders), where the data lives (raw
Parquet, DuckDB file, Spark warehouse and metastore) and the MLflow store. profiles/profiles.yml
reads them; ``spark_settings`` renders the `spark` output's session settings from that same
file, so a Spark session a test opens is the one dbt's session method opens.

Plain functions, no pytest: benchmarks/ imports this module too (it puts this folder on
``sys.path``), and it stays out of the wheel.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROFILES_DIR = PROJECT_ROOT / "profiles"
TARGETS = ("local", "spark")
# What the suites give DuckDB (two workers on a small machine); None keeps the profile's 6GB.
TEST_MEMORY_LIMIT = "2GB"
ENV_VAR = re.compile(r"\{\{\s*env_var\('([A-Z_]+)'(?:,\s*'([^']*)')?\)\s*\}\}")


def dbt_env(
    run_dir: Path,
    target: str = "local",
    *,
    raw_dir: Path | None = None,
    duckdb_path: Path | str | None = None,
    mlflow_dir: Path | None = None,
    spark_dir: Path | None = None,
    spark_schema: str | None = None,
    memory_limit: str | None = TEST_MEMORY_LIMIT,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a dbt command on an isolated state: dbt writes under ``run_dir``
    (``target/``, ``logs/``), reads the profile of this repository with ``target``, and finds
    its data where the keyword arguments say (unset ones keep the profile's defaults). Starts
    from ``base`` (default: this process's environment)."""
    if target not in TARGETS:
        raise ValueError(f"dbt_env: target {target!r} is not one of {TARGETS} (profiles.yml)")
    if target == "spark" and spark_dir is None:
        raise ValueError("dbt_env: the spark target needs spark_dir (warehouse and metastore)")
    env = {
        **(os.environ if base is None else base),
        "DBT_PROJECT_DIR": str(PROJECT_ROOT),
        "DBT_PROFILES_DIR": str(PROFILES_DIR),
        "DBT_TARGET": target,
        "DBT_TARGET_PATH": str(run_dir / "target"),
        "DBT_LOG_PATH": str(run_dir / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    optional = {
        "CLAIMS_FRAUD_RAW_DIR": raw_dir,
        "CLAIMS_FRAUD_DUCKDB_PATH": duckdb_path,
        "CLAIMS_FRAUD_MLFLOW_DIR": mlflow_dir,
        "CLAIMS_FRAUD_MEMORY_LIMIT": memory_limit,
        "CLAIMS_FRAUD_SPARK_DIR": spark_dir,
        "CLAIMS_FRAUD_SPARK_SCHEMA": spark_schema,
    }
    env.update({name: str(value) for name, value in optional.items() if value is not None})
    return env


def spark_settings(spark_dir: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The session settings of the `spark` output in profiles/profiles.yml, rendered for
    ``spark_dir`` (and ``env``'s other variables, default this process's): what a test's own
    Spark session must use to share dbt's warehouse, metastore and planning."""
    variables = {**(os.environ if env is None else env), "CLAIMS_FRAUD_SPARK_DIR": str(spark_dir)}
    profile = yaml.safe_load((PROFILES_DIR / "profiles.yml").read_text())
    settings = profile["claims_fraud"]["outputs"]["spark"]["server_side_parameters"]

    def render(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name not in variables and default is None:
            raise KeyError(f"profiles/profiles.yml: spark setting needs ${name}, which is unset")
        return variables.get(name, default or "")

    rendered = {key: ENV_VAR.sub(render, str(value)) for key, value in settings.items()}
    left = sorted(key for key, value in rendered.items() if "{{" in value or "{%" in value)
    if left:
        raise ValueError(f"profiles/profiles.yml: spark settings {left} use Jinja beyond env_var")
    return rendered
