"""Fraud actors: each scheme's providers (spread over census regions), the provider rings,
and the members that fraudulent claims are billed for.

Fraud is local, as it is in real claims: a scheme's providers bill their own patients (the
members of their honest claims), and a ring is a handful of providers of one state sharing
members who mostly live there (``LOCAL_CLAIM_SHARE``). Each scheme keeps its own mechanism (the
signature below); none of them is told apart by where the member lives.
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
from claims_fraud.synthetic.parameters import (
    LOCAL_CLAIM_SHARE,
    RING_CLAIMS_PER_RING,
    RING_WINDOW_DAYS,
)
from claims_fraud.synthetic.population import Members, Period, Providers
from claims_fraud.synthetic.sampling import grouped_choice, sample_in_windows

# The model inputs (fct_claim_features) that carry each scheme's mechanism: what an explanation
# of a flagged claim of that scheme should name among its top reasons
# (python_jobs/tests/integration/test_explanations.py measures the share per scheme).
SCHEME_SIGNATURES: dict[str, tuple[str, ...]] = {
    # E/M visits billed a level or two higher by a pool of providers
    "upcoding": (
        "max_em_level",
        "provider_high_em_share",
        "provider_high_em_share_excess",
        "provider_high_em_share_zscore",
    ),
    # services split over lines with modifier 59/25
    "unbundling": ("modifier_59_25_line_share", "provider_modifier_59_25_share", "line_count"),
    # one-line claims for members with no care around them
    "phantom_billing": ("member_claims_prior_30d", "member_claims_prior_90d"),
    # an earlier clean claim billed again
    "duplicate_billing": ("has_duplicate_service",),
    # more units than the codes plausibly need, charged above the code's peers
    "excessive_units": (
        "max_units_to_code_limit",
        "total_service_units",
        "max_charge_peer_zscore",
        "total_charge_amount",
    ),
    # time-based codes adding up to more minutes than a day has, for one provider
    "impossible_days": ("provider_max_day_billed_minutes", "is_provider_impossible_day"),
    # a ring of providers (one state) billing a shared set of members within weeks: each
    # member goes to every provider of the ring, all new to them
    "provider_ring": (
        "member_new_providers_prior_30d",
        "provider_pair_shared_member_share",
        "provider_community_share",
        "provider_network_partners",
        "provider_shared_member_share",
        "member_claims_prior_30d",
    ),
}
POOL_SCHEMES = (UPCODING, UNBUNDLING, EXCESSIVE)  # claims of a pool provider's own patients


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
            # one provider per 40 claims; one per region once each still gets 16 (enough
            # time-based claims to overbook its days), so that no region is spared
            size=int(np.clip(max(n_impossible // 40, _one_per_region(n_impossible, ref)), 1, 50)),
        ),
    }
    stable = np.flatnonzero(members.stable)
    member_region = ref.state_region[members.state]
    region_volume = np.bincount(
        member_region, weights=members.claim_weight, minlength=len(ref.regions)
    )
    ring = _build_rings(
        rng,
        rendering_spec,
        providers.state[: providers.n_rendering],
        ref.state_region,
        region_volume,
        individual & ~taken,
        stable,
        members.state[stable],
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


def _one_per_region(n_claims: int, ref: Ref, per_provider: int = 16) -> int:
    """The number of regions when each region's provider would get ``per_provider`` claims."""
    return len(ref.regions) if n_claims >= per_provider * len(ref.regions) else 0


def _choose_pool(
    rng: np.random.Generator,
    eligible: np.ndarray,
    share: float,
    taken: np.ndarray,
    region: np.ndarray,
    size: int | None = None,
) -> np.ndarray:
    """A scheme's fraudulent providers, at least one per census region (unless ``size`` says
    how many) and the rest spread in
    proportion to the eligible providers of each (largest remainder). A scheme's few providers
    defraud their own local patients; drawn without strata they can land in one region and make
    the flags of an accurate model depend on the member's region."""
    candidates = np.flatnonzero(eligible & ~taken)
    regions, counts = np.unique(region[candidates], return_counts=True)
    # at least one provider per region that has candidates, so that no region's members are
    # spared a scheme because its few providers were drawn elsewhere
    # (a pool of a given size keeps it: impossible days need enough claims per provider)
    wanted = min(
        size if size is not None else max(round(share * candidates.size), regions.size),
        candidates.size,
    )
    per_region = np.minimum(counts, 1 if wanted >= regions.size else 0)
    quota = (wanted - per_region.sum()) * counts / counts.sum()
    per_region = per_region + np.floor(quota).astype(np.int64)
    leftover = wanted - int(per_region.sum())
    per_region[np.argsort(np.floor(quota) - quota, kind="stable")[:leftover]] += 1
    per_region = np.minimum(per_region, counts)
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
    rendering_state: np.ndarray,
    state_region: np.ndarray,
    region_volume: np.ndarray,
    eligible: np.ndarray,
    stable: np.ndarray,
    stable_state: np.ndarray,
    stable_weight: np.ndarray,
    n_ring_claims: int,
    period: Period,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rings of 5-8 providers of different specialties in one state, sharing 3-200 members.

    The rings are spread over the census regions in proportion to the regions' claims (largest
    remainder), so that rings, being local, do not make one region's members the defrauded ones.

    A ring's members live in its state at the honest local rate (``LOCAL_CLAIM_SHARE``), the
    rest anywhere; they are drawn in proportion to their claim propensity, like honest claims,
    so that without the bias knob fraud does not depend on a member's age, gender or region.
    """
    empty = np.empty(0, np.int64)
    no_rings = empty, np.zeros(1, np.int64), empty, np.zeros(1, np.int64), empty
    if n_ring_claims == 0 or stable.size == 0 or np.unique(rendering_spec[eligible]).size < 2:
        return no_rings
    n_rings = max(1, math.ceil(n_ring_claims / RING_CLAIMS_PER_RING))
    available = eligible.copy()
    rings: list[tuple[np.ndarray, int]] = []
    for region in _ring_regions(region_volume, n_rings):  # a handful of rings, not rows
        in_region = available & (state_region[rendering_state] == region)
        state, n_specs = _ring_state(rng, rendering_spec, rendering_state, in_region)
        if n_specs < 5:  # no state of the region can host a full ring: any region's
            state = max(
                (state, n_specs),
                _ring_state(rng, rendering_spec, rendering_state, available),
                key=lambda found: found[1],
            )[0]
        if state < 0:
            break
        here = available & (rendering_state == state)
        specs = np.unique(rendering_spec[here])
        chosen_specs = rng.choice(
            specs, size=min(int(rng.integers(5, 9)), specs.size), replace=False
        )
        ring = np.array([_pick_one(rng, here & (rendering_spec == s)) for s in chosen_specs])
        available[ring] = False
        rings.append((ring.astype(np.int64), state))
    if not rings:
        return no_rings
    sizes = np.array([r.size for r, _ in rings])
    per_ring = n_ring_claims / len(rings)
    n_members = np.clip(np.rint(per_ring / sizes), 3, 200).astype(np.int64)
    members = [
        _ring_members(rng, stable, stable_state, stable_weight, state, int(k))
        for (_, state), k in zip(rings, n_members, strict=True)
    ]
    anchor_hi = max(period.start, period.end - RING_WINDOW_DAYS + 1)
    member_slots = np.concatenate(members)
    return (
        np.concatenate([r for r, _ in rings]),
        np.concatenate(([0], np.cumsum(sizes))),
        member_slots,
        np.concatenate(([0], np.cumsum([m.size for m in members]))),
        rng.integers(period.start, anchor_hi + 1, member_slots.size),
    )


def _ring_regions(region_volume: np.ndarray, n_rings: int) -> np.ndarray:
    """The region of each ring: counts in proportion to ``region_volume`` (largest remainder),
    the regions with the most claims first."""
    quota = n_rings * region_volume / region_volume.sum()
    counts = np.floor(quota).astype(np.int64)
    leftover = n_rings - int(counts.sum())
    counts[np.argsort(counts - quota, kind="stable")[:leftover]] += 1
    order = np.argsort(-region_volume, kind="stable")
    return np.repeat(order, counts[order])


def _ring_state(
    rng: np.random.Generator,
    rendering_spec: np.ndarray,
    rendering_state: np.ndarray,
    available: np.ndarray,
) -> tuple[int, int]:
    """A state for the next ring and its number of specialties (at most 5 counted): weighted by
    its available providers, among the states with the most specialties up to 5 (a ring needs
    at least 2 specialties); (-1, 0) when none has 2."""
    pairs = np.unique(np.stack([rendering_state[available], rendering_spec[available]]), axis=1)
    if pairs.size == 0:
        return -1, 0
    states, n_specs = np.unique(pairs[0], return_counts=True)
    best = min(int(n_specs.max()), 5)
    if best < 2:
        return -1, 0
    candidates = states[n_specs >= best]
    weight = np.array([(available & (rendering_state == s)).sum() for s in candidates], float)
    return int(rng.choice(candidates, p=weight / weight.sum())), best


def _ring_members(
    rng: np.random.Generator,
    stable: np.ndarray,
    stable_state: np.ndarray,
    stable_weight: np.ndarray,
    state: int,
    wanted: int,
) -> np.ndarray:
    """``wanted`` distinct stable members of a ring in ``state``: local at the in-state rate."""
    local = stable_state == state
    n_local = min(int(rng.binomial(wanted, LOCAL_CLAIM_SHARE)), int(local.sum()))
    picks = _weighted_sample(rng, np.flatnonzero(local), stable_weight, n_local)
    rest = np.ones(stable.size, bool)
    rest[picks] = False
    others = _weighted_sample(
        rng, np.flatnonzero(rest), stable_weight, min(wanted - n_local, int(rest.sum()))
    )
    return stable[np.concatenate([picks, others])]


def _weighted_sample(
    rng: np.random.Generator, candidates: np.ndarray, weight: np.ndarray, size: int
) -> np.ndarray:
    """``size`` distinct entries of ``candidates``, drawn in proportion to ``weight``."""
    if size <= 0 or candidates.size == 0:
        return np.empty(0, np.int64)
    w = weight[candidates]
    p = w / w.sum() if w.sum() > 0 else None
    return rng.choice(candidates, size=min(size, candidates.size), replace=False, p=p)


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
    """Phantom claims move outside enrollment; ring claims go to the ring's members and days;
    impossible-day claims keep a window to the end of the period (their members and days come
    later: ``local_fraud_members``, the lines' minutes)."""
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
    # impossible-day claims get their (stable) members in local_fraud_members, and their day
    # once the lines (minutes) are known
    hi[scheme == IMPOSSIBLE] = period.end
    return member, day, hi


def local_fraud_members(
    period: Period,
    members: Members,
    actors: FraudActors,
    scheme: np.ndarray,
    member: np.ndarray,
    day: np.ndarray,
    hi: np.ndarray,
    provider: np.ndarray,
    in_group: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The members a scheme's providers bill for: their own patients.

    Each pool-scheme claim (upcoding, unbundling, excessive units) takes the member of one of
    its provider's honest claims whose member is in the same bias group (``in_group``: the bias
    knob's group of each claim's member), on a day of that member's enrollment; so a
    fraudulent provider's claims are as local as its honest ones. Impossible-day claims take
    a stable member of one of their provider's honest claims likewise. A provider without such
    honest claims bills a member of any provider's (rare, tiny datasets). Returns new member,
    day and window end arrays.
    """
    member, day, hi = member.copy(), day.copy(), hi.copy()
    honest = np.flatnonzero(scheme == NONE)
    if honest.size == 0:
        return member, day, hi
    n_providers = int(provider.max()) + 1
    key = provider.astype(np.int64) * 2 + in_group
    pooled = np.flatnonzero(np.isin(scheme, POOL_SCHEMES))
    if pooled.size:
        source = _patient_claims(rng, honest, key, n_providers * 2, key[pooled])
        chosen = member[source]
        when, which = sample_in_windows(
            members.window_lo[chosen],
            members.window_hi[chosen],
            period.cum_weight,
            period.start,
            rng.random(pooled.size),
        )
        member[pooled], day[pooled] = chosen, when
        hi[pooled] = members.window_hi[chosen, which]
    impossible = np.flatnonzero(scheme == IMPOSSIBLE)
    stable_honest = honest[members.stable[member[honest]]]
    if impossible.size and stable_honest.size:
        everyone = np.unique(member[stable_honest])
        for p in np.unique(provider[impossible]):  # loop over the pool's few providers
            rows = impossible[provider[impossible] == p]
            # its own stable patients, each once before any twice: several claims of one
            # member for the same service on one day would be duplicates, not overbooking
            patients = np.unique(member[stable_honest[provider[stable_honest] == p]])
            patients = rng.permutation(patients if patients.size else everyone)
            member[rows] = patients[np.arange(rows.size) % patients.size]
    return member, day, hi


def _patient_claims(
    rng: np.random.Generator,
    claims: np.ndarray,
    key: np.ndarray,
    n_keys: int,
    wanted: np.ndarray,
) -> np.ndarray:
    """One of ``claims`` per draw, uniformly among those whose ``key`` is the draw's (any of
    ``claims`` when none is)."""
    weight = np.ones(key.size)
    return grouped_choice(claims, weight, key, n_keys, wanted, rng.random(wanted.size))


def ring_slots(actors: FraudActors, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Provider and member slot of the ``rank``-th ring claim (round robin over rings)."""
    n_rings = actors.ring_provider_offsets.size - 1
    ring, q = rank % n_rings, rank // n_rings
    n_prov = np.diff(actors.ring_provider_offsets)[ring]
    n_mem = np.diff(actors.ring_member_offsets)[ring]
    provider_slot = actors.ring_provider_offsets[ring] + q % n_prov
    member_slot = actors.ring_member_offsets[ring] + (q // n_prov) % n_mem
    return provider_slot, member_slot
