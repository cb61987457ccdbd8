"""The suite's Spark session is the one dbt's `spark` output opens: the profile's settings
(dbt_env.spark_settings renders them from profiles/profiles.yml), and dbt's tables land in
its metastore, so the tests, dbt and the Python models read one warehouse."""

from __future__ import annotations

import pytest
from dbt_env import spark_settings
from targets import SparkProject, SparkTarget, schema_of

pytestmark = pytest.mark.spark


def test_the_session_has_the_spark_profiles_settings(spark_target: SparkTarget) -> None:
    settings = spark_settings(spark_target.spark_dir)
    conf = spark_target.session.sparkContext.getConf()
    spark_keys = [key for key in settings if key.startswith("spark.")]
    assert len(spark_keys) >= 8
    for key in spark_keys:
        value = conf.get(key)
        if key == "spark.driver.extraJavaOptions":  # Spark puts its own options first
            value = value[len(value) - len(settings[key]) :]
        if key == "spark.sql.warehouse.dir":  # qualified once a session has used it
            value = value.removeprefix("file:")
        assert value == settings[key], key
    assert str(spark_target.spark_dir) in settings["javax.jdo.option.ConnectionURL"]
    assert spark_target.session.catalog.databaseExists("default")  # opens the metastore
    assert (spark_target.spark_dir / "metastore_db").is_dir()


def test_dbt_builds_into_the_sessions_metastore(
    spark_target: SparkTarget, built_project: SparkProject
) -> None:
    features = f"{schema_of(built_project, 'features')}.fct_claim_features"
    assert spark_target.session.catalog.tableExists(features)
    assert spark_target.session.table(features).count() > 0
