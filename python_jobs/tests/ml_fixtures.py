"""Small synthetic claim-feature frames for the ML unit tests (no dbt, no generated data)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from claims_fraud.features.spec import FeatureSpec, load_feature_spec

SPECIALTIES = ("cardiology", "family_medicine", "dermatology", "radiology", "psychiatry")


def project_spec() -> FeatureSpec:
    """The real feature spec (from the project's features YAML)."""
    return load_feature_spec()


def synthetic_claims(n: int, seed: int, spec: FeatureSpec | None = None) -> pd.DataFrame:
    """A feature table shaped like fct_claim_features, with a learnable ``label``.

    Fraud log-odds = -2.2 + 1.8 * max_charge_peer_zscore + 2.0 * is_out_of_state_provider
    + 1.2 * (rendering_specialty == 'cardiology'), about 20% positives. Any model input of
    ``spec`` not generated below is filled with noise of its type, so the frame always matches
    the spec. Claim dates spread over 2024.
    """
    spec = spec or project_spec()
    rng = np.random.default_rng(seed)
    charge = np.round(rng.lognormal(5.0, 0.8, n), 2)
    ratio = rng.uniform(0.3, 0.9, n)
    allowed = np.round(charge * ratio, 2)
    zscore = rng.normal(size=n)
    zscore[rng.random(n) < 0.02] = np.nan
    high_em = rng.uniform(0, 1, n)
    high_em[rng.random(n) < 0.3] = np.nan
    minutes = rng.uniform(30, 1600, n)
    prior_30 = rng.poisson(1.0, n)
    out_of_state = rng.random(n) < 0.15
    specialty = rng.choice(SPECIALTIES, n)
    frame = pd.DataFrame(
        {
            "claim_id": [f"CLM{i:07d}" for i in range(n)],
            "claim_start_date": [
                date(2024, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 366, n)
            ],
            "total_charge_amount": charge,
            "total_allowed_amount": allowed,
            "total_paid_amount": np.round(allowed * rng.uniform(0.6, 1.0, n), 2),
            "allowed_to_charge_ratio": allowed / charge,
            "total_service_units": rng.integers(1, 10, n).astype(float),
            "line_count": rng.integers(1, 6, n),
            "max_em_level": rng.integers(0, 6, n),
            "max_charge_peer_zscore": zscore,
            "modifier_59_25_line_share": rng.choice([0.0, 0.5, 1.0], n, p=[0.8, 0.15, 0.05]),
            "has_duplicate_service": rng.random(n) < 0.03,
            "provider_high_em_share": high_em,
            "provider_high_em_share_excess": high_em - 0.4,
            "provider_modifier_59_25_share": rng.uniform(0, 0.2, n),
            "provider_max_day_billed_minutes": minutes,
            "is_provider_impossible_day": minutes > 1440,
            "member_claims_prior_30d": prior_30,
            "member_claims_prior_90d": prior_30 + rng.poisson(2.0, n),
            "is_out_of_state_provider": out_of_state,
            "is_weekend_service": rng.random(n) < 0.28,
            "days_to_payment": rng.integers(1, 40, n),
            "claim_type": rng.choice(["professional", "institutional"], n, p=[0.9, 0.1]),
            "rendering_specialty": specialty,
            "gender": rng.choice(["female", "male"], n),
            "age_group": rng.choice(["18-34", "35-49", "65+"], n),
            "member_region": rng.choice(["South", "West"], n),
        }
    )
    for column in spec.numeric:
        if column not in frame:
            frame[column] = rng.normal(size=n)
    for column in spec.boolean:
        if column not in frame:
            frame[column] = rng.random(n) < 0.5
    for column in spec.categorical:
        if column not in frame:
            frame[column] = rng.choice(["a", "b", "c"], n)
    log_odds = (
        -2.2 + 1.8 * np.nan_to_num(zscore) + 2.0 * out_of_state + 1.2 * (specialty == "cardiology")
    )
    frame["label"] = (rng.random(n) < 1.0 / (1.0 + np.exp(-log_odds))).astype("int8")
    return frame
