from claims_fraud.ml.reference_tables import reference_bins_from_dbt


def model(dbt, session):
    # Lineage, not data: the @champion comes from the MLflow registry that training
    # (ml_training_runs) feeds and `claims-fraud promote` moves; the table is not read.
    dbt.ref("ml_training_runs")
    return reference_bins_from_dbt(dbt.config.meta_get("scoring"))
