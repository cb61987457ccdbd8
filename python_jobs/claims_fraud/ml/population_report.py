"""The text of a :class:`~claims_fraud.ml.populations.PopulationReport`, as
`claims-fraud evaluate-populations` prints it: the quality table, the own models' gaps, the
transfer matrix, the recall intervals, the ring trace, the top inputs and the SIU's ring cases.
The figures themselves are computed in :mod:`claims_fraud.ml.populations`."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from claims_fraud.ml.populations import (
    RECALL_CONFIDENCE,
    TRACE_INPUT,
    TRACE_SCHEME,
    TRANSFER_CONFIDENCE,
    TRANSFER_DRAWS,
    TRANSFER_TOLERANCE,
    PopulationReport,
    own_gaps,
)


def format_report(report: PopulationReport, top: int = 5) -> str:
    """The report as plain text: one line per population and model, then the top inputs."""
    schemes = report.scheme_columns()
    short = {c: c.removeprefix("recall__")[:10] for c in schemes}
    by_provider = "provider_pr_auc" in report.quality.columns
    header = (
        f"{'seed':>5} {'population':<10} {'model':<16} {'claims':>8} {'fraud':>6} "
        f"{'PR-AUC':>7} {'recall':>7}  "
        + (f"{'prov PR':>7} {'prov prec':>9}  " if by_provider else "")
        + " ".join(f"{short[c]:>10}" for c in schemes)
    )
    lines = [
        f"evaluation window {report.window_start} .. {report.window_end} "
        f"(the training population's validation window); recall at the flag budget",
        header,
        "-" * len(header),
    ]
    for values in report.quality.to_dict(orient="records"):
        name = f"{values['model']} (kept)" if values["kept"] else values["model"]
        if values["trained_on"] == values["seed"] and values["population"] == "held out":
            name = f"{values['model']} (own)"
        providers = (
            f"{values['provider_pr_auc']:>7.3f} {values['provider_precision']:>9.3f}  "
            if by_provider
            else ""
        )
        lines.append(
            f"{values['seed']:>5} {values['population']:<10} {name:<16} "
            f"{values['claims']:>8,.0f} {values['fraud_claims']:>6,.0f} {values['pr_auc']:>7.3f} "
            f"{values['recall_at_budget']:>7.3f}  {providers}"
            + " ".join(_cell(values[c]) for c in schemes)
        )
    if by_provider:
        kept = report.quality[report.quality["kept"]]
        base = "; ".join(
            f"seed {row.seed}: {row.fraud_providers:,.0f} of {row.providers:,.0f}"
            for row in kept.itertuples()
        )
        lines.append(
            "prov PR: PR-AUC of the providers ranked by their highest-scored claim (fraudulent: "
            "any fraudulent claim in the window); prov prec: share of the providers with a "
            "flagged claim that have a fraudulent one (the SIU's cases opened on a fraudster). "
            f"Fraudulent providers in the window: {base}"
        )
    lines.extend(_own_gaps(report))
    lines.extend(format_transfer(report.transfer))
    lines.append(
        f"fraudulent claims per scheme in the window (from how many providers, how many of them "
        f"with a claim of the scheme flagged), and the "
        f"{RECALL_CONFIDENCE:.0%} interval of the {report.flavour} model's recall (Wilson's on "
        "the claims' effective number: their count over the design effect of their providers, "
        "x after the interval; one provider's claims stand or fall together):"
    )
    model_rows = report.quality[report.quality["kept"]]
    for values in model_rows.to_dict(orient="records"):
        cells = []
        for column in schemes:
            scheme = column.removeprefix("recall__")
            if pd.isna(values.get(f"claims__{scheme}")):
                continue
            providers = values.get(f"providers__{scheme}")
            source = (
                ""
                if providers is None or pd.isna(providers)
                else f" ({providers:,.0f}, {values[f'providers_flagged__{scheme}']:,.0f} flagged)"
            )
            cells.append(
                f"{short[column]} {values[f'claims__{scheme}']:,.0f}{source} "
                f"[{values[f'recall_low__{scheme}']:.2f}, {values[f'recall_high__{scheme}']:.2f}]"
                f" x{values[f'recall_design_effect__{scheme}']:.1f}"
            )
        lines.append(f"{values['seed']:>5} {values['population']:<10} " + "; ".join(cells))
    if (report.trace["claims"] > 0).any():
        lines.append(
            f"{TRACE_SCHEME} claims by the member's new providers in the 30 days before "
            f"(0: a member's first ring visit, no tour behind it yet), recall of the "
            f"{report.flavour} model:"
        )
        for (seed, role), levels in report.trace.groupby(["seed", "population"], sort=False):
            cells = [
                f"{row[TRACE_INPUT]}: {row['claims']:,} claims, {_cell(row['recall']).strip()}"
                for row in levels.to_dict(orient="records")
            ]
            lines.append(f"{seed:>5} {role:<10} " + "; ".join(cells))
    ranked = ", ".join(f"{name} {value:.3f}" for name, value in report.importance.head(top).items())
    lines.append(f"top inputs of the {report.flavour} model by mean |SHAP| (log-odds): {ranked}")
    return "\n".join(lines)


def _own_gaps(report: PopulationReport) -> list[str]:
    gaps = own_gaps(report.quality)
    if gaps.empty:
        return []
    cells = "; ".join(
        f"seed {seed}: {row.kept:.3f} against {row.own:.3f}, {row.gap:+.3f}"
        for seed, row in gaps.iterrows()
    )
    return [
        "(own): trained the same way on the population's own SIU labels before the window; "
        f"the kept model's PR-AUC against its own model's: {cells}"
    ]


def format_transfer(transfer: pd.DataFrame) -> list[str]:
    """The transfer matrix as text: a row per population a model trained on (its flavour), a
    column per population judged, PR-AUC and the gap to the row's own population's (with its
    interval when ``transfer`` has one); then how many off-diagonal pairs are within
    ``TRANSFER_TOLERANCE``, and how many are below it beyond their interval."""
    if transfer.empty:
        return []
    seeds = list(dict.fromkeys(transfer["seed"]))
    cells = transfer.set_index(["trained_on", "seed"])
    bounded = "gap_low" in transfer.columns
    width = 30 if bounded else 17
    lines = [
        "PR-AUC of the model each population keeps, judged on every population's window "
        "(the gap to the one it trained on in brackets"
        + (
            f", its {TRANSFER_CONFIDENCE:.0%} interval from {TRANSFER_DRAWS} draws of each "
            "population's providers):"
            if bounded
            else "):"
        ),
        f"{'trained on':>10} {'flavour':<9}" + "".join(f"{seed:>{width}}" for seed in seeds),
    ]
    models = zip(transfer["trained_on"], transfer["flavour"], strict=True)
    for trained_on, flavour in dict.fromkeys(models):
        row = []
        for seed in seeds:
            cell = cells.loc[(trained_on, seed)]
            if seed == trained_on:
                text = f"{cell['pr_auc']:.3f}"
            elif bounded:
                text = (
                    f"{cell['pr_auc']:.3f} ({cell['gap']:+.3f} "
                    f"[{cell['gap_low']:+.2f}, {cell['gap_high']:+.2f}])"
                )
            else:
                text = f"{cell['pr_auc']:.3f} ({cell['gap']:+.3f})"
            row.append(text.rjust(width))
        lines.append(f"{trained_on:>10} {flavour:<9}" + "".join(row))
    off = transfer[transfer["trained_on"] != transfer["seed"]]
    summary = (
        f"pairs within {TRANSFER_TOLERANCE} of the PR-AUC where the model trained: "
        f"{int(off['within'].sum())} of {len(off)}"
    )
    if bounded:
        summary += f"; below it beyond the interval: {int(off['below'].sum())}"
    lines.append(summary)
    return lines


def format_cases(cases: Sequence[dict[str, float]]) -> str:
    """One line per population: its ring claims in the window, the share flagged, and the share
    the SIU reaches when a flagged claim's member tour (siu_member_tours) is reviewed with it."""
    cells = "; ".join(
        f"seed {case['seed']}: {case['claims']:,.0f} claims, flagged {case['flagged']:.3f}, "
        f"with the tours {case['flagged_or_on_tour']:.3f} ({case['tour_claims_added']:,.0f} "
        f"claims added, {case['tour_claims_added_of_scheme']:,.0f} of them {TRACE_SCHEME})"
        for case in cases
    )
    return (
        f"{TRACE_SCHEME} claims the SIU reaches: flagged, or a stop of a flagged claim's member "
        f"tour (siu_member_tours, built on each population's flags; the tours add their stops "
        f"not flagged to the review): {cells}"
    )


def _cell(value: object) -> str:
    return f"{'-':>10}" if value is None or pd.isna(value) else f"{float(value):>10.3f}"
