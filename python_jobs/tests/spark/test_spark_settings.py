"""The Spark session the portability check opens for its own steps (spark_check)
must be the one dbt's `spark` output opens: same settings, or the two read different
metastores or plan differently."""

from __future__ import annotations

from pathlib import Path

import yaml
from spark_check import PROJECT_ROOT, spark_conf


def test_spark_check_session_matches_the_dbt_spark_profile() -> None:
    profiles = yaml.safe_load((PROJECT_ROOT / "profiles" / "profiles.yml").read_text())
    dbt_side = profiles["claims_fraud"]["outputs"]["spark"]["server_side_parameters"]
    spark_dir = Path("/somewhere/spark")
    ours = spark_conf(spark_dir)
    assert set(dbt_side) == set(ours)
    for key, value in dbt_side.items():
        rendered = value.replace(
            "{{ env_var('CLAIMS_FRAUD_SPARK_DIR', '.local/spark') }}", str(spark_dir)
        ).replace("{{ env_var('CLAIMS_FRAUD_SPARK_DRIVER_MEMORY', '2g') }}", "2g")
        assert rendered == ours[key], key
