from claims_fraud.ml.reference_tables import reference_scores_from_dbt


LINEAGE_ONLY = False


def model(dbt, session):
    # Lineage, not data: the @champion comes from the MLflow registry that training
    # (ml_training_runs) feeds and `claims-fraud promote` moves. dbt reads refs from the code
    # when it parses, so the ref sits in a branch that never runs: loading the table would
    # fail where only the registry holds the training (a new DuckDB file, another schema).
    if LINEAGE_ONLY:
        dbt.ref("ml_training_runs")
    return reference_scores_from_dbt(dbt.config.meta_get("scoring"))
