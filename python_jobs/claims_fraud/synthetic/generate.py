"""Deterministic, vectorised synthetic health-insurance claims generator.

Everything is built from numpy arrays (no Python loops over members, claims or lines) and turned
into Arrow tables at the end. Reference codes, E/M mixes, charges and regions come from the dbt
seeds via :mod:`claims_fraud.features.reference`. The same config and seed give identical tables.

Tables: ``medical_claim`` (Tuva input layer, one row per claim line), ``eligibility`` (one row per
enrollment span), ``provider``, ``siu_investigation`` and ``fraud_ground_truth``.

This module composes the steps; each lives in its own module of :mod:`claims_fraud.synthetic`:
``config`` (vocabularies, :class:`GeneratorConfig`), ``parameters`` (model parameters),
``compiled_reference`` (the seeds as arrays), ``sampling`` (random streams, day arithmetic,
calendar age), ``population`` (period, members, providers), ``claims`` and ``schemes`` (claim
headers, fraud actors), ``lines`` (service lines), ``amounts``, ``labels`` (SIU), ``malformed``,
``tables`` (Arrow) and ``writer`` (Parquet + manifest). The public names callers use are
re-exported here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from claims_fraud.features.reference import (
    ReferenceData,
    load_reference,
)
from claims_fraud.synthetic import demo_folder
from claims_fraud.synthetic.amounts import build_amounts, copy_duplicate_claims
from claims_fraud.synthetic.claims import build_claims
from claims_fraud.synthetic.compiled_reference import (
    check_config_against_reference,
    compile_reference,
)
from claims_fraud.synthetic.config import (
    AGE_GROUPS,
    BIAS_ATTRIBUTES,
    GENERATION_STAGES,
    GENERATOR_VERSION,
    MALFORMED_KINDS,
    PHANTOM,
    SCHEMES,
    TABLE_NAMES,
    FraudRates,
    GeneratorConfig,
)
from claims_fraud.synthetic.labels import build_labels
from claims_fraud.synthetic.lines import build_lines
from claims_fraud.synthetic.malformed import inject_malformed
from claims_fraud.synthetic.population import build_members, build_period, build_providers
from claims_fraud.synthetic.sampling import random_streams
from claims_fraud.synthetic.tables import SCHEMAS, build_tables
from claims_fraud.synthetic.writer import (
    MANIFEST_FILE,
    NullProgress,
    Progress,
    count_row_groups,
    write_dataset,
)

__all__ = [
    "AGE_GROUPS",
    "BIAS_ATTRIBUTES",
    "GENERATION_STAGES",
    "MALFORMED_KINDS",
    "MANIFEST_FILE",
    "SCHEMAS",
    "SCHEMES",
    "TABLE_NAMES",
    "FraudRates",
    "GenerationResult",
    "GeneratorConfig",
    "NullProgress",
    "Progress",
    "build_manifest",
    "check_config_against_reference",
    "generate",
    "generate_dataset",
    "run_generation",
    "write_dataset",
]


@dataclass(frozen=True)
class GenerationResult:
    """Tables plus what was injected into them (row positions refer to ``medical_claim``)."""

    tables: dict[str, pa.Table]
    malformed_counts: dict[str, int]
    malformed_rows: dict[str, np.ndarray]
    fraud_claim_counts: dict[str, int]
    phantom_billing_lines: int
    n_claims: int
    n_members: int
    n_providers: int


def generate_dataset(
    config: GeneratorConfig,
    reference: ReferenceData | None = None,
    progress: Progress | None = None,
) -> dict[str, pa.Table]:
    """Generate all tables (see :data:`SCHEMAS`) for ``config``."""
    return generate(config, reference, progress).tables


def generate(
    config: GeneratorConfig,
    reference: ReferenceData | None = None,
    progress: Progress | None = None,
) -> GenerationResult:
    """Generate all tables and report the injected fraud and malformed lines."""
    sink = progress or NullProgress()
    reference = reference if reference is not None else load_reference()
    check_config_against_reference(config, reference)
    ref = compile_reference(reference)
    rngs = random_streams(config.seed)
    period = build_period(config)
    members = build_members(config, ref, period, rngs["members"])
    sink.advance("members")
    providers = build_providers(config, ref, rngs["providers"])
    sink.advance("providers")
    claims = build_claims(config, ref, period, members, providers, rngs)
    sink.advance("claims")
    lines = build_lines(config, ref, period, claims, providers, rngs)
    sink.advance("service lines")
    build_amounts(config, ref, period, members, claims, lines, rngs["amounts"])
    copy_duplicate_claims(claims, lines, rngs["claims"])
    sink.advance("amounts")
    labels = build_labels(claims, lines, rngs["labels"])
    sink.advance("labels")
    malformed = inject_malformed(config, ref, members, providers, claims, lines, rngs["malformed"])
    sink.advance("malformed lines")
    tables = build_tables(ref, members, providers, claims, malformed, labels)
    sink.advance("arrow tables")
    counts = np.bincount(claims.scheme[claims.scheme >= 0], minlength=len(SCHEMES))
    return GenerationResult(
        tables=tables,
        malformed_counts={kind: int(rows.size) for kind, rows in malformed.rows.items()},
        malformed_rows=malformed.rows,
        fraud_claim_counts={name: int(c) for name, c in zip(SCHEMES, counts, strict=True)},
        phantom_billing_lines=int(claims.nlines[claims.scheme == PHANTOM].sum()),
        n_claims=claims.n,
        n_members=members.n,
        n_providers=providers.n,
    )


def build_manifest(
    config: GeneratorConfig, result: GenerationResult, elapsed_seconds: float
) -> dict[str, object]:
    """The JSON manifest describing one generated dataset."""
    return {
        "generator_version": GENERATOR_VERSION,
        "config": config.to_dict(),
        "row_counts": {name: table.num_rows for name, table in result.tables.items()},
        "malformed_counts": dict(result.malformed_counts),
        "malformed_total": int(sum(result.malformed_counts.values())),
        "fraud_claims": dict(result.fraud_claim_counts),
        "fraud_claims_total": int(sum(result.fraud_claim_counts.values())),
        "phantom_billing_lines": result.phantom_billing_lines,
        "n_claims": result.n_claims,
        "n_members": result.n_members,
        "n_providers": result.n_providers,
        "elapsed_seconds": round(float(elapsed_seconds), 3),
    }


def run_generation(
    config: GeneratorConfig,
    out_dir: str | Path,
    reference: ReferenceData | None = None,
    progress: Progress | None = None,
) -> Path:
    """Generate, then write tables and manifest to ``out_dir``; return the folder.

    Refuses (:class:`~claims_fraud.synthetic.demo_folder.FolderNotOwnedError`) before generating
    when ``out_dir`` holds files the generator did not write.
    """
    demo_folder.require_writable(Path(out_dir))
    sink = progress or NullProgress()
    started = time.perf_counter()
    sink.expect(len(GENERATION_STAGES))
    result = generate(config, reference, sink)
    sink.expect(count_row_groups(result.tables))
    manifest = build_manifest(config, result, time.perf_counter() - started)
    return write_dataset(result.tables, out_dir, manifest, sink)
