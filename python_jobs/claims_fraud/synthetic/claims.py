"""Claim headers: member, day, scheme and provider per claim, truncated to the requested
line count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from claims_fraud.synthetic.compiled_reference import Ref
from claims_fraud.synthetic.config import (
    AGE_GROUPS,
    BIASED_SCHEMES,
    DUPLICATE,
    EXCESSIVE,
    GENDERS,
    IMPOSSIBLE,
    NONE,
    PHANTOM,
    RING,
    UNBUNDLING,
    GeneratorConfig,
)
from claims_fraud.synthetic.parameters import (
    HOME_PROVIDER_SHARE,
    IN_STATE_SHARE,
    SECOND_PROVIDER_SHARE,
)
from claims_fraud.synthetic.population import Members, Period, Providers
from claims_fraud.synthetic.sampling import (
    age_group_index,
    grouped_choice,
    sample_in_windows,
    weighted_index,
)
from claims_fraud.synthetic.schemes import (
    FraudActors,
    build_fraud_actors,
    drop_unavailable_schemes,
    local_fraud_members,
    override_members,
    ring_slots,
)


@dataclass
class Claims:
    n: int
    member: np.ndarray
    provider: np.ndarray
    scheme: np.ndarray
    source: np.ndarray  # duplicate_billing: the copied claim, else -1
    is_inst: np.ndarray
    start: np.ndarray
    end: np.ndarray
    nlines: np.ndarray
    first_row: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    pos: np.ndarray = field(default_factory=lambda: np.empty(0, np.int8))
    bill_type: np.ndarray = field(default_factory=lambda: np.empty(0, np.int8))
    diagnosis: np.ndarray = field(default_factory=lambda: np.empty((0, 3), np.int16))
    paid: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    ingest: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))


def build_claims(
    config: GeneratorConfig,
    ref: Ref,
    period: Period,
    members: Members,
    providers: Providers,
    rngs: Mapping[str, np.random.Generator],
) -> Claims:
    rng = rngs["claims"]
    n_est = config.n_lines // 2 + 64
    member = weighted_index(members.claim_weight, rng.random(n_est))
    day, which = sample_in_windows(
        members.window_lo[member],
        members.window_hi[member],
        period.cum_weight,
        period.start,
        rng.random(n_est),
    )
    hi = members.window_hi[member, which]
    in_group = bias_mask(config, ref, members, member, day)
    scheme = _assign_schemes(config, in_group, rng)
    actors = build_fraud_actors(ref, period, members, providers, scheme, rngs["actors"])
    scheme = drop_unavailable_schemes(scheme, actors)
    member, day, hi = override_members(period, members, actors, scheme, member, day, hi, rng)
    provider = _assign_providers(ref, members, providers, actors, scheme, member, rng)
    member, day, hi = local_fraud_members(
        period, members, actors, scheme, member, day, hi, provider, in_group, rng
    )
    spec = providers.spec[provider]
    clean = (scheme == NONE) | (scheme == DUPLICATE)
    is_inst = clean & (rng.random(n_est) < ref.spec_inst_share[spec])
    inpatient = is_inst & ref.spec_inpatient[spec]
    length = np.where(
        inpatient,
        2 + np.minimum(rng.poisson(2.5, n_est), 12),
        np.where(~is_inst & (rng.random(n_est) < 0.1), rng.integers(2, 5, n_est), 1),
    )
    length = np.where((scheme == PHANTOM) | (scheme == IMPOSSIBLE), 1, length)
    nlines = _draw_line_counts(scheme, is_inst, rng)
    source = _pick_duplicate_sources(scheme, nlines, rng)
    claims = Claims(
        n=n_est,
        member=member,
        provider=provider,
        scheme=scheme,
        source=source,
        is_inst=is_inst,
        start=day,
        end=np.minimum(day + length - 1, hi),
        nlines=nlines,
    )
    return _truncate_claims(claims, config.n_lines)


def bias_mask(
    config: GeneratorConfig, ref: Ref, members: Members, member: np.ndarray, day: np.ndarray
) -> np.ndarray:
    """Whether each claim's member belongs to the configured bias group on the claim date."""
    attribute, group = config.bias_attribute, config.bias_group
    if attribute == "gender":
        return members.gender[member] == GENDERS.index(str(group))
    if attribute == "region":
        return ref.state_region[members.state[member]] == ref.regions.index(str(group))
    if attribute == "age_group":
        return age_group_index(members.birth[member], day) == AGE_GROUPS.index(str(group))
    return np.zeros(member.size, bool)


def _assign_schemes(
    config: GeneratorConfig, in_group: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """One draw per claim against the cumulative (bias-scaled) scheme probabilities."""
    rates = list(config.fraud_rates.as_dict().values())
    multiplier = np.where(in_group, config.bias_factor, 1.0)
    probs = [
        rate * multiplier if k in BIASED_SCHEMES else np.full(in_group.size, rate)
        for k, rate in enumerate(rates)
    ]
    scale = np.maximum(np.sum(probs, axis=0), 1.0)
    u = rng.random(in_group.size)
    scheme = np.full(in_group.size, NONE, np.int8)
    acc = np.zeros(in_group.size)
    for k, prob in enumerate(probs):  # loop over the seven schemes
        upper = acc + prob / scale
        scheme[(u >= acc) & (u < upper)] = k
        acc = upper
    return scheme


def _assign_providers(
    ref: Ref,
    members: Members,
    providers: Providers,
    actors: FraudActors,
    scheme: np.ndarray,
    member: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """In-state (``IN_STATE_SHARE``) volume-weighted provider choice; fraud schemes draw from
    their pools by volume within the claim's region (their members are then made local:
    ``local_fraud_members``)."""
    n = scheme.size
    in_state = rng.random(n) < IN_STATE_SHARE
    draw_state = np.where(in_state, members.state[member], len(ref.states))
    u = rng.random(n)
    state_key = providers.state.astype(np.int64)
    region_key = ref.state_region[providers.state].astype(np.int64)
    member_region = ref.state_region[members.state[member]].astype(np.int64)
    n_regions = len(ref.regions)
    provider = grouped_choice(
        providers.rendering, providers.weight, state_key, len(ref.states) + 1, draw_state, u
    )
    # Members go back to the providers they know: each has a home provider and a second one
    # (in their state, by volume) that get HOME_PROVIDER_SHARE and SECOND_PROVIDER_SHARE of
    # their claims, so a member seeing several new providers within weeks stands out, as it
    # does in real claims.
    regular = [
        grouped_choice(
            providers.rendering,
            providers.weight,
            state_key,
            len(ref.states) + 1,
            members.state.astype(np.int64),
            rng.random(members.n),
        )
        for _ in range(2)
    ]
    u_regular = rng.random(n)
    at_home = u_regular < HOME_PROVIDER_SHARE
    at_second = ~at_home & (u_regular < HOME_PROVIDER_SHARE + SECOND_PROVIDER_SHARE)
    provider[at_home] = regular[0][member[at_home]]
    provider[at_second] = regular[1][member[at_second]]
    for k, pool in actors.pools.items():  # loop over schemes
        rows = np.flatnonzero(scheme == k)
        if k == IMPOSSIBLE:
            provider[rows] = pool[np.arange(rows.size) % max(pool.size, 1)] if rows.size else 0
        elif rows.size:
            # A provider of the region of the member first drawn for the claim, so that fraud
            # is spread over regions as claims are (no region's members are more often
            # defrauded unless the bias knob says so); its members are then made local.
            provider[rows] = grouped_choice(
                pool, providers.weight, region_key, n_regions, member_region[rows], u[rows]
            )
    ring = np.flatnonzero(scheme == RING)
    if ring.size:
        provider[ring] = actors.ring_providers[ring_slots(actors, np.arange(ring.size))[0]]
    return provider


def _draw_line_counts(
    scheme: np.ndarray, is_inst: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    n = scheme.size
    base = 1 + np.minimum(rng.poisson(np.where(is_inst, 2.2, 1.35), n), 7)
    extra = rng.integers(2, 5, n)
    counts = np.select(
        [scheme == UNBUNDLING, scheme == IMPOSSIBLE, scheme == EXCESSIVE],
        [np.minimum(base + extra, 10), extra, 1 + np.minimum(rng.poisson(0.8, n), 3)],
        base,
    )
    return counts.astype(np.int64)


def _pick_duplicate_sources(
    scheme: np.ndarray, nlines: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Each duplicate_billing claim copies an earlier clean claim (and its line count)."""
    source = np.full(scheme.size, -1, np.int64)
    dups = np.flatnonzero(scheme == DUPLICATE)
    clean = np.flatnonzero(scheme == NONE)
    before = np.searchsorted(clean, dups)
    pick = np.floor(rng.random(dups.size) * before).astype(np.int64)
    ok = before > 0
    scheme[dups[~ok]] = NONE
    source[dups[ok]] = clean[pick[ok]]
    nlines[dups[ok]] = nlines[source[dups[ok]]]
    return source


def _truncate_claims(claims: Claims, n_lines: int) -> Claims:
    """Keep the claims needed for exactly ``n_lines`` lines (the last one is shortened)."""
    cum = np.cumsum(claims.nlines)
    last = int(np.searchsorted(cum, n_lines, side="left"))
    if last >= claims.n:
        raise RuntimeError("internal error: not enough claims drawn for the requested lines")
    keep = slice(0, last + 1)
    nlines = claims.nlines[keep].copy()
    nlines[last] -= int(cum[last]) - n_lines
    scheme = claims.scheme[keep].copy()
    source = claims.source[keep].copy()
    if scheme[last] == DUPLICATE and nlines[last] != claims.nlines[last]:
        scheme[last], source[last] = NONE, -1
    return Claims(
        n=last + 1,
        member=claims.member[keep],
        provider=claims.provider[keep],
        scheme=scheme,
        source=source,
        is_inst=claims.is_inst[keep],
        start=claims.start[keep],
        end=claims.end[keep],
        nlines=nlines,
        first_row=np.cumsum(nlines) - nlines,
    )
