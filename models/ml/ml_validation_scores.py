from claims_fraud.ml.reference_tables import validation_scores_from_dbt


LINEAGE_ONLY = False


def model(dbt, session):
    # Lineage, not data, as in ml_reference_scores: the @champion comes from the MLflow
    # registry that training (ml_training_runs) feeds and `claims-fraud promote` moves.
    if LINEAGE_ONLY:
        dbt.ref("ml_training_runs")
    return validation_scores_from_dbt(dbt.config.meta_get("scoring"))
