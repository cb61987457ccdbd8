from claims_fraud.ml.explain import contributions_from_dbt


def model(dbt, session):
    # The classifier version that scored each flagged claim (fraud_scores.model_version) is
    # loaded from the MLflow registry by version; the top TreeSHAP contributions of the
    # batch's flagged claims come back (claims_fraud.ml.explain).
    return contributions_from_dbt(
        dbt.ref("fraud_scores"), dbt.ref("fct_claim_features"), dbt.config.meta_get("scoring")
    )
