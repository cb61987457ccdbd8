"""The whole Spark portability check (spark_check) as one test: raw data into a
local Spark metastore, `dbt build --selector features --target spark`, and the monitoring
models on Spark and DuckDB from the same fixture, compared within 1e-9."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from spark_check import PROJECT_ROOT

pytestmark = pytest.mark.spark


def test_spark_check_passes() -> None:
    if shutil.which("java") is None:
        pytest.fail("Java is not on PATH: the Spark check needs a JDK (17)")
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("spark_check.py"))],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    summary = result.stdout[result.stdout.rfind("=== spark check summary ===") :]
    assert result.returncode == 0, f"{result.stdout[-8000:]}\n{result.stderr[-4000:]}"
    print(summary)
