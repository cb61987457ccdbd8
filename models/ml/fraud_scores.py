from claims_fraud.ml.score import score_from_dbt


def model(dbt, session):
    return score_from_dbt(dbt.ref("fct_claim_features"), dbt.config.meta_get("scoring"))
