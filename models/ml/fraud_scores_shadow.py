from claims_fraud.ml.score import shadow_scores_from_dbt


LINEAGE_ONLY = False


def model(dbt, session):
    # Shadow: the same batch scored by the @challenger (when it is not the champion), for
    # ml_shadow_comparison; nobody acts on these flags. Lineage as in fraud_scores.
    if LINEAGE_ONLY:
        dbt.ref("ml_training_runs")
    dbt.ref("fraud_scores")  # after the champion's scores: the comparison reads both
    return shadow_scores_from_dbt(dbt.ref("fct_claim_features"), dbt.config.meta_get("scoring"))
