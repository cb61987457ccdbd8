"""Arrow tables from the integer-coded arrays: the output schemas and the id, code, date and
decimal columns built from bytes and index lookups (no per-row Python formatting).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa

from claims_fraud.synthetic.claims import Claims
from claims_fraud.synthetic.compiled_reference import Ref
from claims_fraud.synthetic.config import (
    BILL_TYPES,
    CLAIM_TYPES,
    GENDERS,
    MODIFIERS,
    NONE,
    PAYERS,
    PLANS,
    RACES,
    SCHEMES,
    SIU_OUTCOMES,
)
from claims_fraud.synthetic.labels import Labels
from claims_fraud.synthetic.lines import (
    diagnosis_vocabulary,
    place_of_service_vocabulary,
    revenue_vocabulary,
)
from claims_fraud.synthetic.malformed import Malformed
from claims_fraud.synthetic.parameters import NO_DAY
from claims_fraud.synthetic.population import Members, Providers

DATA_SOURCE = "synthetic_claims"
DIAGNOSIS_CODE_TYPE = "icd-10-cm"


MEDICAL_CLAIM_SCHEMA = pa.schema(
    [
        ("claim_id", pa.string()),
        ("claim_line_number", pa.int32()),
        ("claim_type", pa.string()),
        ("person_id", pa.string()),
        ("member_id", pa.string()),
        ("payer", pa.string()),
        ("plan", pa.string()),
        ("claim_start_date", pa.date32()),
        ("claim_end_date", pa.date32()),
        ("claim_line_start_date", pa.date32()),
        ("claim_line_end_date", pa.date32()),
        ("place_of_service_code", pa.string()),
        ("bill_type_code", pa.string()),
        ("revenue_center_code", pa.string()),
        ("service_unit_quantity", pa.float64()),
        ("hcpcs_code", pa.string()),
        ("hcpcs_modifier_1", pa.string()),
        ("hcpcs_modifier_2", pa.string()),
        ("rendering_npi", pa.string()),
        ("billing_npi", pa.string()),
        ("facility_npi", pa.string()),
        ("paid_date", pa.date32()),
        ("paid_amount", pa.decimal128(12, 2)),
        ("allowed_amount", pa.decimal128(12, 2)),
        ("charge_amount", pa.decimal128(12, 2)),
        ("diagnosis_code_type", pa.string()),
        ("diagnosis_code_1", pa.string()),
        ("diagnosis_code_2", pa.string()),
        ("diagnosis_code_3", pa.string()),
        ("data_source", pa.string()),
        ("ingest_datetime", pa.timestamp("us")),
    ]
)
ELIGIBILITY_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("member_id", pa.string()),
        ("gender", pa.string()),
        ("race", pa.string()),
        ("birth_date", pa.date32()),
        ("death_date", pa.date32()),
        ("state", pa.string()),
        ("zip_code", pa.string()),
        ("enrollment_start_date", pa.date32()),
        ("enrollment_end_date", pa.date32()),
        ("payer", pa.string()),
        ("plan", pa.string()),
    ]
)
PROVIDER_SCHEMA = pa.schema(
    [
        ("npi", pa.string()),
        ("provider_specialty", pa.string()),
        ("practice_state", pa.string()),
        ("entity_type", pa.string()),
    ]
)
SIU_SCHEMA = pa.schema(
    [
        ("claim_id", pa.string()),
        ("investigation_closed_date", pa.date32()),
        ("outcome", pa.string()),
    ]
)
GROUND_TRUTH_SCHEMA = pa.schema(
    [("claim_id", pa.string()), ("is_fraud", pa.bool_()), ("scheme", pa.string())]
)
SCHEMAS: Mapping[str, pa.Schema] = {
    "medical_claim": MEDICAL_CLAIM_SCHEMA,
    "eligibility": ELIGIBILITY_SCHEMA,
    "provider": PROVIDER_SCHEMA,
    "siu_investigation": SIU_SCHEMA,
    "fraud_ground_truth": GROUND_TRUTH_SCHEMA,
}


def _fixed_width_strings(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded decimal ``numbers``, built from bytes (no per-row formatting)."""
    numbers = np.asarray(numbers, np.int64)
    n = numbers.size
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = ((numbers[:, None] // powers) % 10 + ord("0")).astype(np.uint8)
    head = np.frombuffer(prefix.encode("ascii"), np.uint8)
    chars = np.ascontiguousarray(
        np.concatenate([np.broadcast_to(head, (n, head.size)), digits], axis=1)
    )
    if n * chars.shape[1] >= 2**31:
        raise ValueError("too many ids for a 32-bit string offset buffer")
    offsets = np.arange(n + 1, dtype=np.int32) * chars.shape[1]
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(chars)])


def _lookup(vocabulary: pa.Array | tuple[str, ...], index: np.ndarray) -> pa.Array:
    """Strings ``vocabulary[index]``; a negative index gives null."""
    dictionary = (
        vocabulary if isinstance(vocabulary, pa.Array) else pa.array(vocabulary, pa.string())
    )
    null = index < 0
    positions = np.where(null, 0, index).astype(np.int32)
    return dictionary.take(pa.array(positions, mask=null if null.any() else None))


def _dates(days: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    mask = null if null is not None and null.any() else None
    return pa.array(days.astype(np.int32), type=pa.date32(), mask=mask)


def _cents(cents: np.ndarray, null: np.ndarray) -> pa.Array:
    """decimal128(12, 2) from integer cents (two's complement 128-bit words)."""
    words = np.empty((cents.size, 2), np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63
    validity = pa.py_buffer(np.packbits(~null, bitorder="little")) if null.any() else None
    return pa.Array.from_buffers(
        pa.decimal128(12, 2),
        cents.size,
        [validity, pa.py_buffer(words)],
        null_count=int(null.sum()),
    )


def build_tables(
    ref: Ref,
    members: Members,
    providers: Providers,
    claims: Claims,
    malformed: Malformed,
    labels: Labels,
) -> dict[str, pa.Table]:
    order = np.argsort(claims.ingest, kind="stable")
    claim_number = np.empty(claims.n, np.int64)
    claim_number[order] = np.arange(1, claims.n + 1)
    claim_ids = _fixed_width_strings("CLM", claim_number, 10)
    n_unknown = malformed.rows["unknown_member"].size
    member_numbers = np.concatenate(
        [np.arange(1, members.n + 1), 900_000_001 + np.arange(n_unknown)]
    )
    person_ids = _fixed_width_strings("P", member_numbers, 9)
    member_ids = _fixed_width_strings("M", member_numbers, 9)
    npis = _fixed_width_strings("", np.concatenate([providers.npi, malformed.unknown_npis]), 10)
    return {
        "medical_claim": _medical_claim_table(
            ref, malformed, claim_ids, person_ids, member_ids, npis
        ),
        "eligibility": _eligibility_table(ref, members, person_ids, member_ids),
        "provider": _provider_table(ref, providers, npis),
        "siu_investigation": pa.Table.from_arrays(
            [
                claim_ids.take(pa.array(labels.investigated)),
                _dates(labels.closed),
                _lookup(SIU_OUTCOMES, labels.outcome),
            ],
            schema=SIU_SCHEMA,
        ),
        "fraud_ground_truth": pa.Table.from_arrays(
            [
                claim_ids,
                pa.array(claims.scheme != NONE),
                _lookup(SCHEMES, claims.scheme.astype(np.int64)),
            ],
            schema=GROUND_TRUTH_SCHEMA,
        ),
    }


def _medical_claim_table(
    ref: Ref,
    malformed: Malformed,
    claim_ids: pa.Array,
    person_ids: pa.Array,
    member_ids: pa.Array,
    npis: pa.Array,
) -> pa.Table:
    v, null = malformed.columns.values, malformed.columns.null
    n = v["claim_id"].size
    line_number = v["claim_line_number"]
    units = v["service_unit_quantity"]
    diagnoses = diagnosis_vocabulary()
    arrays = {
        "claim_id": _lookup(claim_ids, v["claim_id"]),
        "claim_line_number": pa.array(
            line_number.astype(np.int32), mask=line_number < 0 if (line_number < 0).any() else None
        ),
        "claim_type": _lookup(CLAIM_TYPES, v["claim_type"]),
        "person_id": _lookup(person_ids, v["person_id"]),
        "member_id": _lookup(member_ids, v["member_id"]),
        "payer": _lookup(PAYERS, v["plan"]),
        "plan": _lookup(PLANS, v["plan"]),
        "claim_start_date": _dates(v["claim_start_date"]),
        "claim_end_date": _dates(v["claim_end_date"]),
        "claim_line_start_date": _dates(v["claim_line_start_date"]),
        "claim_line_end_date": _dates(v["claim_line_end_date"]),
        "place_of_service_code": _lookup(place_of_service_vocabulary(), v["place_of_service_code"]),
        "bill_type_code": _lookup(BILL_TYPES, v["bill_type_code"]),
        "revenue_center_code": _lookup(revenue_vocabulary(), v["revenue_center_code"]),
        "service_unit_quantity": pa.array(units, mask=np.isnan(units)),
        "hcpcs_code": _lookup((*ref.codes, *malformed.fake_codes), v["hcpcs_code"]),
        "hcpcs_modifier_1": _lookup(MODIFIERS, v["hcpcs_modifier_1"]),
        "hcpcs_modifier_2": _lookup(MODIFIERS, v["hcpcs_modifier_2"]),
        "rendering_npi": _lookup(npis, v["rendering_npi"]),
        "billing_npi": _lookup(npis, v["billing_npi"]),
        "facility_npi": _lookup(npis, v["facility_npi"]),
        "paid_date": _dates(v["paid_date"]),
        "paid_amount": _cents(v["paid_amount"], null["paid_amount"]),
        "allowed_amount": _cents(v["allowed_amount"], null["allowed_amount"]),
        "charge_amount": _cents(v["charge_amount"], null["charge_amount"]),
        "diagnosis_code_type": pa.repeat(pa.scalar(DIAGNOSIS_CODE_TYPE), n),
        "diagnosis_code_1": _lookup(diagnoses, v["diagnosis_code_1"]),
        "diagnosis_code_2": _lookup(diagnoses, v["diagnosis_code_2"]),
        "diagnosis_code_3": _lookup(diagnoses, v["diagnosis_code_3"]),
        "data_source": pa.repeat(pa.scalar(DATA_SOURCE), n),
        "ingest_datetime": pa.array(v["ingest_datetime"], type=pa.timestamp("us")),
    }
    return pa.Table.from_arrays(
        [arrays[name] for name in MEDICAL_CLAIM_SCHEMA.names], schema=MEDICAL_CLAIM_SCHEMA
    )


def _eligibility_table(
    ref: Ref, members: Members, person_ids: pa.Array, member_ids: pa.Array
) -> pa.Table:
    has_span = members.span_start <= members.span_end
    member, span = np.nonzero(has_span)  # row-major: member order, then span order
    death = members.death[member]
    no_death = death >= NO_DAY
    arrays = [
        _lookup(person_ids, member),
        _lookup(member_ids, member),
        _lookup(GENDERS, members.gender[member]),
        _lookup(RACES, members.race[member]),
        _dates(members.birth[member]),
        _dates(np.where(no_death, 0, death), no_death),
        _lookup(ref.states, members.state[member]),
        _fixed_width_strings("", members.zip_code[member], 5),
        _dates(members.span_start[member, span]),
        _dates(members.span_end[member, span]),
        _lookup(PAYERS, members.plan[member]),
        _lookup(PLANS, members.plan[member]),
    ]
    return pa.Table.from_arrays(arrays, schema=ELIGIBILITY_SCHEMA)


def _provider_table(ref: Ref, providers: Providers, npis: pa.Array) -> pa.Table:
    arrays = [
        npis.slice(0, providers.n),
        _lookup(ref.specialties, providers.spec),
        _lookup(ref.states, providers.state),
        _lookup(("1", "2"), providers.entity.astype(np.int64) - 1),
    ]
    return pa.Table.from_arrays(arrays, schema=PROVIDER_SCHEMA)
