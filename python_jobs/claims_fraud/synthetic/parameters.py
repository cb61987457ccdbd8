"""Model parameters of the generator (not reference data: the dbt seeds hold codes, charges,
specialties and regions; see :mod:`claims_fraud.features.reference`).
"""

from __future__ import annotations

from datetime import date

LINES_PER_MEMBER = 20
LINES_PER_PROVIDER = 800
EPOCH = date(1970, 1, 1)
US_PER_DAY = 86_400_000_000
NO_DAY = 10**7  # sentinel epoch day far in the future ("no death", "no second span")

GENDER_P = (0.508, 0.489, 0.003)
RACE_P = (0.60, 0.13, 0.06, 0.01, 0.003, 0.09, 0.107)
AGE_GROUP_P = (0.21, 0.22, 0.19, 0.20, 0.18)
AGE_GROUP_BOUNDS = ((0, 18), (18, 35), (35, 50), (50, 65), (65, 95))
AGE_CLAIM_FACTOR = (0.6, 0.6, 0.85, 1.2, 2.0)
DEATH_P = (0.0015, 0.002, 0.004, 0.01, 0.045)
PLAN_P_BY_AGE = (
    (0.38, 0.27, 0.00, 0.35),
    (0.47, 0.36, 0.00, 0.17),
    (0.50, 0.36, 0.00, 0.14),
    (0.50, 0.36, 0.00, 0.14),
    (0.09, 0.06, 0.85, 0.00),
)
ENROLLMENT_KIND_P = (0.70, 0.10, 0.10, 0.10)  # full, two spans with a gap, joins, leaves
# Approximate 2020 census population (millions) for the state mix; states not listed weigh 1.0.
STATE_POPULATION_M = {
    "AL": 5.0, "AK": 0.73, "AZ": 7.2, "AR": 3.0, "CA": 39.5, "CO": 5.8, "CT": 3.6, "DE": 1.0,
    "DC": 0.69, "FL": 21.5, "GA": 10.7, "HI": 1.46, "ID": 1.8, "IL": 12.8, "IN": 6.8, "IA": 3.2,
    "KS": 2.9, "KY": 4.5, "LA": 4.7, "ME": 1.36, "MD": 6.2, "MA": 7.0, "MI": 10.1, "MN": 5.7,
    "MS": 2.96, "MO": 6.15, "MT": 1.08, "NE": 1.96, "NV": 3.1, "NH": 1.38, "NJ": 9.3, "NM": 2.1,
    "NY": 20.2, "NC": 10.4, "ND": 0.78, "OH": 11.8, "OK": 3.96, "OR": 4.24, "PA": 13.0,
    "RI": 1.1, "SC": 5.1, "SD": 0.89, "TN": 6.9, "TX": 29.1, "UT": 3.27, "VT": 0.64, "VA": 8.6,
    "WA": 7.7, "WV": 1.79, "WI": 5.9, "WY": 0.58,
}  # fmt: skip
INSTITUTIONAL_SHARE = {  # share of a specialty's claims billed on UB-04 by a facility
    "emergency_medicine": 0.55,
    "hospitalist": 0.6,
    "radiology": 0.35,
    "clinical_laboratory": 0.3,
    "physical_therapy": 0.25,
}
INPATIENT_EM_CATEGORY = "em_inpatient"
PLACE_OF_SERVICE_BY_CATEGORY = {
    "em_office": {"11": 1.0},
    "em_emergency": {"23": 1.0},
    "em_inpatient": {"21": 1.0},
    "psychotherapy": {"11": 0.85, "02": 0.10, "10": 0.05},
    "physical_therapy": {"11": 0.8, "22": 0.15, "12": 0.05},
    "chiropractic": {"11": 1.0},
    "laboratory": {"81": 0.6, "11": 0.3, "22": 0.1},
    "imaging": {"22": 0.5, "11": 0.5},
    "cardiology_test": {"11": 0.7, "22": 0.3},
    "procedure": {"11": 0.55, "24": 0.30, "22": 0.15},
    "injection": {"11": 1.0},
    "drug": {"11": 0.8, "22": 0.2},
    "dme": {"12": 1.0},
    "ambulance": {"41": 1.0},
    "telehealth": {"02": 0.7, "10": 0.3},
}
DEFAULT_PLACE_OF_SERVICE = {"11": 1.0}
TELEHEALTH_POS = "02"
TELEHEALTH_ELIGIBLE_CATEGORIES = ("em_office", "psychotherapy")
REVENUE_BY_CATEGORY = {
    "em_office": "0510",
    "em_emergency": "0450",
    "em_inpatient": "0110",
    "psychotherapy": "0914",
    "physical_therapy": "0420",
    "chiropractic": "0940",
    "laboratory": "0300",
    "imaging": "0320",
    "cardiology_test": "0730",
    "procedure": "0360",
    "injection": "0260",
    "drug": "0636",
    "dme": "0290",
    "ambulance": "0540",
    "telehealth": "0780",
}
DEFAULT_REVENUE = "0940"
DIAGNOSES_BY_CATEGORY = {
    "em_office": ("I10", "E119", "E785", "J069", "M545", "Z0000", "R51", "K219"),
    "em_emergency": ("R079", "S0990XA", "R109", "J189", "N390", "S6290XA"),
    "em_inpatient": ("J189", "I5023", "A419", "N179", "J441"),
    "psychotherapy": ("F329", "F411", "F431", "F902", "F331"),
    "physical_therapy": ("M545", "M25561", "M7541", "S83241A", "M6281"),
    "chiropractic": ("M9903", "M545", "M542", "M9901"),
    "laboratory": ("Z0000", "E119", "E785", "R739", "N390", "D649"),
    "imaging": ("M25561", "R079", "R51", "K802", "S83241A", "R109"),
    "cardiology_test": ("I10", "R079", "I4891", "R002"),
    "procedure": ("M1711", "K635", "H2511", "L570", "D485", "B351", "M25561"),
    "injection": ("M545", "J069", "Z23"),
    "drug": ("M545", "J069", "M1711"),
    "dme": ("G4733", "J449", "S82001A", "Z993"),
    "ambulance": ("R079", "I219", "S0990XA", "R55"),
    "telehealth": ("J069", "F411", "I10", "Z7189"),
}
DEFAULT_DIAGNOSES = ("R69",)
SECONDARY_DIAGNOSES = ("I10", "E119", "E785", "Z87891", "J449", "E669", "F17210", "K219")
LATERALITY_CATEGORIES = ("procedure", "imaging")
FAKE_PROCEDURE_CODES = ("99999", "A9999", "0000T", "ZZZZZ")

EM_FIRST_LINE_P = 0.9
UPCODED_LEVEL_SHARES = (0.0, 0.0, 0.0, 0.4, 0.6)
MODIFIER_25_P, MODIFIER_59_P, LATERALITY_P = 0.05, 0.03, 0.25
UNBUNDLING_MODIFIER_P, UNBUNDLING_SPLIT_P = 0.8, 0.6
TELEHEALTH_BASE_P, TELEHEALTH_DRIFT_P = 0.05, 0.2
DRIFT_LOG_CHARGE, DRIFT_EXTRA_UNITS = 0.3, 0.5
INSTITUTIONAL_CHARGE_FACTOR = 1.8
IMPOSSIBLE_DAY_MINUTES = 1500  # > 1440 minutes in a day
IMPOSSIBLE_MIN_LINE_MINUTES = 30
# Share of claims drawn from the member's own state (honest) or, for a fraudulent provider's
# claims, from the provider's state: fraud is as local as care is.
IN_STATE_SHARE = 0.85
# Shares of a member's honest claims billed by the member's home provider and by a second
# regular one (the rest: any provider, in state at IN_STATE_SHARE, by volume).
HOME_PROVIDER_SHARE = 0.5
SECOND_PROVIDER_SHARE = 0.25
# A claim is drawn in the member's state this often (regular providers, or in state): the rate
# at which a ring's members live in its state.
REGULAR_SHARE = HOME_PROVIDER_SHARE + SECOND_PROVIDER_SHARE
LOCAL_CLAIM_SHARE = REGULAR_SHARE + (1 - REGULAR_SHARE) * IN_STATE_SHARE
RING_CLAIMS_PER_RING = 200
RING_WINDOW_DAYS = 15
SIU_TARGET_SHARE = 0.05
SIU_CHARGE_SLOPE, SIU_FRAUD_LIFT = 1.1, 2.3
SIU_OUTCOME_P_FRAUD = (0.85, 0.05, 0.10)  # confirmed, no_fraud, inconclusive
SIU_OUTCOME_P_CLEAN = (0.02, 0.90, 0.08)
