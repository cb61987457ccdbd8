"""The dbt Python models on the spark target, as Databricks runs them.

dbt-spark's session method cannot run Python models, so the tests have dbt compile them for the
``spark`` target and execute the compiled code the way the Databricks materialization does:
``model(dbtObj(spark.table), spark)``, the result converted as dbt-databricks converts it and
saved as the model's table, in the session dbt itself uses (targets.SparkTarget).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def to_spark_frame(spark, df):
    """A Python model's result as the Spark DataFrame dbt-databricks 1.12 saves: its
    ``databricks__py_write_table`` converts pandas through the pandas API on Spark when that
    imports (DBR 15.4: pandas 1.5) and falls back to ``spark.createDataFrame`` when it does not
    (here: pandas 3) or when ANSI mode refuses it. Transcribed, not imported: the macro is
    Jinja that only renders inside a Databricks run."""
    from pyspark.sql import DataFrame

    try:
        import pyspark.pandas as ps
    except ImportError:
        ps = None
    if ps is not None and isinstance(df, pd.DataFrame):
        try:
            df = ps.frame.DataFrame(df)
        except Exception as exc:
            message = str(exc).lower()
            ansi = ("pandas_api_on_spark_fail_on_ansi_mode", "ansi mode", "ansimode", "sql_mode")
            if not any(word in message for word in ansi):
                raise
    if isinstance(df, DataFrame):
        return df
    if ps is not None and isinstance(df, ps.frame.DataFrame):
        return df.to_spark()
    if isinstance(df, pd.DataFrame):
        return spark.createDataFrame(df)
    raise TypeError(f"{type(df)} is not a supported type for dbt Python materialization")


def run_compiled_python_model(spark, compiled: Path) -> tuple[str, int]:
    """Execute one model as dbt compiled it for the ``spark`` target (its ref/source/config
    shims included) and save the result as its table; returns the table and its row count."""
    namespace: dict[str, object] = {"__name__": f"dbt_model_{compiled.stem}", "spark": spark}
    code = compile(compiled.read_text(), str(compiled), "exec")
    exec(code, namespace)  # noqa: S102 - the project's own model, compiled by dbt
    dbt = namespace["dbtObj"](spark.table)  # type: ignore[operator]
    frame = to_spark_frame(spark, namespace["model"](dbt, spark))  # type: ignore[operator]
    table = repr(dbt.this)
    spark.sql(f"create database if not exists {table.split('.')[0]}")
    frame.write.mode("overwrite").option("overwriteSchema", "true").saveAsTable(table)
    return table, spark.table(table).count()


def champion_for_the_check(mlflow_dir: Path) -> str:
    """Scoring needs a @champion. On this small sample the promotion gate may decline the
    challenger (say, a disparate impact outside the band): a verdict on the data, recorded in
    ml_promotion_decisions, not a portability failure. The test then makes the challenger (and
    its autoencoder) @champion itself, as promote would. Returns who the champion is and why."""
    from claims_fraud.ml.tracking import CHALLENGER, CHAMPION, MlflowSettings, version_by_alias

    settings = MlflowSettings.local(mlflow_dir)
    client = settings.activate()
    champion = version_by_alias(client, settings.classifier_name, CHAMPION)
    if champion is not None:
        return f"v{champion.version}, promoted by the gate"
    challenger = version_by_alias(client, settings.classifier_name, CHALLENGER)
    if challenger is None:
        raise AssertionError(f"training registered no @challenger in {mlflow_dir}")
    client.set_registered_model_alias(settings.classifier_name, CHAMPION, challenger.version)
    autoencoder = challenger.tags.get("autoencoder_version")
    if autoencoder:
        client.set_registered_model_alias(settings.autoencoder_name, CHAMPION, autoencoder)
    return f"v{challenger.version}, declined by the gate on this sample, made @champion here"
