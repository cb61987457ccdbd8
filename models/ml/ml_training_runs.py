from claims_fraud.ml.training_job import train_from_dbt, wants_ground_truth


def model(dbt, session):
    training = dbt.config.meta_get("training")
    truth = dbt.ref("stg_claims__fraud_ground_truth") if wants_ground_truth(training) else None
    return train_from_dbt(
        features=dbt.ref("fct_claim_features"),
        investigations=dbt.ref("stg_claims__siu_investigation"),
        thresholds=dbt.ref("monitoring_thresholds"),
        meta=training,
        ground_truth=truth,
    )
