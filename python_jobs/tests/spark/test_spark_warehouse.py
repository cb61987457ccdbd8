"""SparkWarehouse on a real local Spark session (the suite's, --target spark): tables found
across dbt's schemas, appends that create the table in the default schema, clear errors."""

from __future__ import annotations

import pandas as pd
import pytest
from targets import SparkTarget

from claims_fraud.warehouse.connections import SparkWarehouse, TableNotFoundError

pytestmark = pytest.mark.spark


def test_tables_are_found_across_the_target_schemas(spark_target: SparkTarget) -> None:
    spark = spark_target.session
    spark.sql("create schema if not exists cf")
    spark.sql("create schema if not exists cf_monitoring")
    spark.sql("create schema if not exists other_monitoring")
    spark.createDataFrame(pd.DataFrame({"batch_id": ["b1"], "n": [3]})).write.mode(
        "overwrite"
    ).saveAsTable("spark_catalog.cf_monitoring.mon_score_distribution")
    spark.createDataFrame(pd.DataFrame({"x": [1]})).write.mode("overwrite").saveAsTable(
        "spark_catalog.other_monitoring.mon_feature_psi"
    )
    warehouse = SparkWarehouse(spark, "spark_catalog", "cf", default_schema="monitoring")
    frame = warehouse.read("mon_score_distribution")
    assert frame.to_dict("records") == [{"batch_id": "b1", "n": 3}]
    # a table of another project's schema is not this project's
    with pytest.raises(TableNotFoundError, match=r"mon_feature_psi not found in spark_catalog.cf"):
        warehouse.read("mon_feature_psi")
    # a new table goes to <schema>_<default_schema>, later appends find it
    warehouse.append("mon_alerts", pd.DataFrame({"alert_id": ["a1"], "severity": ["error"]}))
    warehouse.append("mon_alerts", pd.DataFrame({"alert_id": ["a2"], "severity": ["warn"]}))
    assert spark.catalog.tableExists("spark_catalog.cf_monitoring.mon_alerts")
    assert sorted(warehouse.read("mon_alerts")["alert_id"]) == ["a1", "a2"]
