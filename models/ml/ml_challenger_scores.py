from claims_fraud.ml.reference_tables import challenger_scores_from_dbt


def model(dbt, session):
    # After training (in the train selector): the @challenger it has just set.
    dbt.ref("ml_training_runs")
    return challenger_scores_from_dbt(dbt.config.meta_get("scoring"))
