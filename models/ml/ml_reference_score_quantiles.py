from claims_fraud.ml.reference_tables import score_quantiles_from_dbt


def model(dbt, session):
    return score_quantiles_from_dbt(dbt.config.meta_get("scoring"))
