"""Fraud actors: each scheme's providers (spread over census regions), the provider rings,
and the members that phantom, ring and impossible-day claims move to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from claims_fraud.synthetic.compiled_reference import Ref
from claims_fraud.synthetic.config import (
    EXCESSIVE,
    IMPOSSIBLE,
    NONE,
    PHANTOM,
    RING,
    UNBUNDLING,
    UPCODING,
)
from claims_fraud.synthetic.parameters import RING_CLAIMS_PER_RING, RING_WINDOW_DAYS
from claims_fraud.synthetic.population import Members, Period, Providers
from claims_fraud.synthetic.sampling import sample_in_windows

# The model inputs (fct_claim_features) that carry each scheme's mechanism: what an explanation
# of a flagged claim of that scheme should name among its top reasons
# (python_jobs/tests/integration/test_explanations.py measures the share per scheme).
SCHEME_SIGNATURES: dict[str, tuple[str, ...]] = {
    # E/M visits billed a level or two higher by a pool of providers
    "upcoding": ("max_em_level", "provider_high_em_share", "provider_high_em_share_excess"),
    # services split over lines with modifier 59/25
    "unbundling": ("modifier_59_25_line_share", "provider_modifier_59_25_share", "line_count"),
    # one-line claims for members with no care around them
    "phantom_billing": ("member_claims_prior_30d", "member_claims_prior_90d"),
    # an earlier clean claim billed again
    "duplicate_billing": ("has_duplicate_service",),
    # more units than the codes plausibly need, charged above the code's peers
    "excessive_units": ("total_service_units", "max_charge_peer_zscore", "total_charge_amount"),
    # time-based codes adding up to more minutes than a day has, for one provider
    "impossible_days": ("provider_max_day_billed_minutes", "is_provider_impossible_day"),
    # a ring of providers billing a shared set of members within weeks
    "provider_ring": ("member_claims_prior_30d", "member_claims_prior_90d"),
}


@dataclass(frozen=True)
class FraudActors:
    pools: dict[int, np.ndarray]  # scheme -> provider indices
    ring_providers: np.ndarray
    ring_provider_offsets: np.ndarray
    ring_members: np.ndarray
    ring_member_offsets: np.ndarray
    ring_anchor: np.ndarray
    stable_members: np.ndarray
    phantom_members: np.ndarray


def build_fraud_actors(
    ref: Ref,
    period: Period,
    members: Members,
    providers: Providers,
    scheme: np.ndarray,
    rng: np.random.Generator,
) -> FraudActors:
    rendering_spec = providers.spec[: providers.n_rendering]
    region = ref.state_region[providers.state[: providers.n_rendering]]
    taken = np.zeros(providers.n_rendering, bool)
    n_impossible = int((scheme == IMPOSSIBLE).sum())
    individual = ref.spec_entity[rendering_spec] == 1
    pools = {
        UPCODING: _choose_pool(rng, ref.has_em[rendering_spec], 0.03, taken, region),
        UNBUNDLING: _choose_pool(rng, ref.has_svc[rendering_spec], 0.02, taken, region),
        EXCESSIVE: _choose_pool(rng, ref.has_unit[rendering_spec], 0.02, taken, region),
        IMPOSSIBLE: _choose_pool(
            rng,
            ref.has_time[rendering_spec] & individual,
            0.0,
            taken,
            region,
            size=int(np.clip(n_impossible // 40, 1, 50)),
        ),
    }
    stable = np.flatnonzero(members.stable)
    ring = _build_rings(
        rng,
        rendering_spec,
        individual & ~taken,
        stable,
        members.claim_weight[stable],
        int((scheme == RING).sum()),
        period,
    )
    outside_days = np.clip(members.outside_hi - members.outside_lo + 1, 0, None).sum(axis=1)
    return FraudActors(
        pools=pools,
        ring_providers=ring[0],
        ring_provider_offsets=ring[1],
        ring_members=ring[2],
        ring_member_offsets=ring[3],
        ring_anchor=ring[4],
        stable_members=stable,
        phantom_members=np.flatnonzero(outside_days > 0),
    )


def _choose_pool(
    rng: np.random.Generator,
    eligible: np.ndarray,
    share: float,
    taken: np.ndarray,
    region: np.ndarray,
    size: int | None = None,
) -> np.ndarray:
    """A scheme's fraudulent providers, spread over the census regions in proportion to the
    eligible providers of each (largest remainder). A scheme's few providers flag their own
    local patients through provider-level features; drawn without strata they can land in one
    region and make the flags of an accurate model depend on the member's region."""
    candidates = np.flatnonzero(eligible & ~taken)
    wanted = min(
        size if size is not None else max(1, round(share * candidates.size)), candidates.size
    )
    regions, counts = np.unique(region[candidates], return_counts=True)
    quota = wanted * counts / counts.sum()
    per_region = np.floor(quota).astype(np.int64)
    leftover = wanted - int(per_region.sum())
    per_region[np.argsort(per_region - quota, kind="stable")[:leftover]] += 1
    picks = [
        rng.choice(candidates[region[candidates] == value], size=int(k), replace=False)
        for value, k in zip(regions, per_region, strict=True)
        if k > 0
    ]
    chosen = np.sort(np.concatenate(picks)) if picks else np.empty(0, np.int64)
    taken[chosen] = True
    return chosen


def _build_rings(
    rng: np.random.Generator,
    rendering_spec: np.ndarray,
    eligible: np.ndarray,
    stable: np.ndarray,
    stable_weight: np.ndarray,
    n_ring_claims: int,
    period: Period,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rings of 5-8 providers of different specialties sharing 3-200 members each.

    Ring members are drawn in proportion to their claim propensity, like honest claims, so
    that without the bias knob fraud does not depend on a member's age, gender or region.
    """
    empty = np.empty(0, np.int64)
    specs = np.unique(rendering_spec[eligible])
    if n_ring_claims == 0 or stable.size == 0 or specs.size < 2:
        return empty, np.zeros(1, np.int64), empty, np.zeros(1, np.int64), empty
    n_rings = max(1, math.ceil(n_ring_claims / RING_CLAIMS_PER_RING))
    available = eligible.copy()
    ring_providers: list[np.ndarray] = []
    for _ in range(n_rings):  # loop over rings (a handful), not over rows
        chosen_specs = rng.choice(
            specs, size=min(int(rng.integers(5, 9)), specs.size), replace=False
        )
        picks = [_pick_one(rng, available & (rendering_spec == s)) for s in chosen_specs]
        ring = np.array([p for p in picks if p >= 0], np.int64)
        available[ring] = False
        if ring.size >= 2:
            ring_providers.append(ring)
    if not ring_providers:
        return empty, np.zeros(1, np.int64), empty, np.zeros(1, np.int64), empty
    sizes = np.array([r.size for r in ring_providers])
    per_ring = n_ring_claims / len(ring_providers)
    n_members = np.clip(np.rint(per_ring / sizes), 3, 200).astype(np.int64)
    wanted = min(int(n_members.sum()), stable.size)
    pool = rng.choice(stable, size=wanted, replace=False, p=stable_weight / stable_weight.sum())
    member_slots = np.arange(n_members.sum()) % pool.size
    anchor_hi = max(period.start, period.end - RING_WINDOW_DAYS + 1)
    return (
        np.concatenate(ring_providers),
        np.concatenate(([0], np.cumsum(sizes))),
        pool[member_slots],
        np.concatenate(([0], np.cumsum(n_members))),
        rng.integers(period.start, anchor_hi + 1, member_slots.size),
    )


def _pick_one(rng: np.random.Generator, mask: np.ndarray) -> int:
    candidates = np.flatnonzero(mask)
    return int(rng.choice(candidates)) if candidates.size else -1


def drop_unavailable_schemes(scheme: np.ndarray, actors: FraudActors) -> np.ndarray:
    unavailable = [k for k, pool in actors.pools.items() if pool.size == 0]
    if actors.ring_providers.size == 0:
        unavailable.append(RING)
    if actors.phantom_members.size == 0:
        unavailable.append(PHANTOM)
    if actors.stable_members.size == 0:
        unavailable.append(IMPOSSIBLE)
    return np.where(np.isin(scheme, unavailable), NONE, scheme).astype(np.int8)


def override_members(
    period: Period,
    members: Members,
    actors: FraudActors,
    scheme: np.ndarray,
    member: np.ndarray,
    day: np.ndarray,
    hi: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Phantom claims move outside enrollment; ring and impossible-day claims use stable members."""
    member, day, hi = member.copy(), day.copy(), hi.copy()
    phantom = np.flatnonzero(scheme == PHANTOM)
    who = actors.phantom_members[rng.integers(0, max(actors.phantom_members.size, 1), phantom.size)]
    when, _ = sample_in_windows(
        members.outside_lo[who],
        members.outside_hi[who],
        period.uniform_cum(),
        period.start,
        rng.random(phantom.size),
    )
    member[phantom], day[phantom], hi[phantom] = who, when, when
    ring = np.flatnonzero(scheme == RING)
    if ring.size:
        slot = ring_slots(actors, np.arange(ring.size))[1]
        member[ring] = actors.ring_members[slot]
        day[ring] = actors.ring_anchor[slot] + rng.integers(0, RING_WINDOW_DAYS, ring.size)
        day[ring] = np.minimum(day[ring], period.end)
        hi[ring] = period.end
    impossible = np.flatnonzero(scheme == IMPOSSIBLE)
    stable = actors.stable_members
    if impossible.size:
        # Weighted by claim propensity, like honest claims (no protected-attribute skew).
        weight = members.claim_weight[stable]
        member[impossible] = rng.choice(stable, size=impossible.size, p=weight / weight.sum())
    hi[impossible] = period.end  # the day itself is set once the lines (minutes) are known
    return member, day, hi


def ring_slots(actors: FraudActors, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Provider and member slot of the ``rank``-th ring claim (round robin over rings)."""
    n_rings = actors.ring_provider_offsets.size - 1
    ring, q = rank % n_rings, rank // n_rings
    n_prov = np.diff(actors.ring_provider_offsets)[ring]
    n_mem = np.diff(actors.ring_member_offsets)[ring]
    provider_slot = actors.ring_provider_offsets[ring] + q % n_prov
    member_slot = actors.ring_member_offsets[ring] + (q // n_prov) % n_mem
    return provider_slot, member_slot
