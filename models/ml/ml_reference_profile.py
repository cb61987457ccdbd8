from claims_fraud.ml.reference_tables import reference_profile_from_dbt


def model(dbt, session):
    return reference_profile_from_dbt(dbt.config.meta_get("scoring"))
