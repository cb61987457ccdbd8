"""Real-time serving of the @champion classifier: off unless ``--var serve_champion=true``.

A bundle resource has no ``enabled:`` flag, so the endpoint is added by this Python resource
loader (databricks-bundles; ``python.resources`` in databricks.yml) only when the variable asks
for it, on any target. Serving cannot resolve the MLflow alias (``models:/...@champion``); it
needs a version, hence ``champion_model_version``, the version ``claims-fraud has-champion``
prints::

    databricks bundle deploy -t prod --var serve_champion=true --var champion_model_version=7

A canary sends a share of the requests to the challenger (both versions are the self-contained
models-from-code artifacts the registry holds)::

    databricks bundle deploy -t prod --var serve_champion=true --var champion_model_version=7 \
        --var challenger_model_version=8 --var canary_traffic_percentage=10

A canary needs both variables; a share outside 1-50, or one variable without the other, is
refused when the bundle loads (``claims-fraud bundle validate`` checks it offline).

`claims-fraud bundle validate` calls this loader the same way, per target and variable value.
"""

from __future__ import annotations

from databricks.bundles.core import Bundle, Resources
from databricks.bundles.model_serving_endpoints import ModelServingEndpoint

ENDPOINT = {
    "name": "claims-fraud-champion-${bundle.target}",
    "tags": [{"key": "project", "value": "claims-fraud"}],
    "config": {
        "served_entities": [
            {
                "name": "champion",
                "entity_name": "${var.classifier_model_name}",
                "entity_version": "${var.champion_model_version}",
                "workload_size": "Small",
                "scale_to_zero_enabled": True,
            }
        ],
        "traffic_config": {
            "routes": [{"served_model_name": "champion", "traffic_percentage": 100}]
        },
    },
    "permissions": [{"group_name": "siu-analysts", "level": "CAN_QUERY"}],
}


MAX_CANARY_PERCENTAGE = 50


def serving_enabled(bundle: Bundle) -> bool:
    return str(bundle.variables.get("serve_champion", "false")).strip().lower() == "true"


def canary(bundle: Bundle) -> tuple[str, int] | None:
    """(challenger version, traffic percentage) when a canary is asked for, else None; a
    half-set or out-of-range canary raises ValueError naming the variables."""
    version = str(bundle.variables.get("challenger_model_version", "") or "").strip()
    share = str(bundle.variables.get("canary_traffic_percentage", "0") or "0").strip()
    if not share.isdigit():
        raise ValueError(f"canary_traffic_percentage must be a whole number, got {share!r}")
    percentage = int(share)
    if not version and percentage == 0:
        return None
    if not version or percentage == 0:
        raise ValueError(
            "a canary needs both challenger_model_version and canary_traffic_percentage "
            f"(got challenger_model_version={version!r}, canary_traffic_percentage={share!r})"
        )
    if not 1 <= percentage <= MAX_CANARY_PERCENTAGE:
        raise ValueError(
            f"canary_traffic_percentage must be 1 to {MAX_CANARY_PERCENTAGE}, got {percentage}"
        )
    return version, percentage


def endpoint(bundle: Bundle) -> dict:
    """The endpoint's definition: the champion alone, or champion and challenger split."""
    split = canary(bundle)
    if split is None:
        return ENDPOINT
    version, percentage = split
    config = ENDPOINT["config"]
    challenger = {
        **config["served_entities"][0],
        "name": "challenger",
        "entity_version": version,
    }
    routes = [
        {"served_model_name": "champion", "traffic_percentage": 100 - percentage},
        {"served_model_name": "challenger", "traffic_percentage": percentage},
    ]
    return {
        **ENDPOINT,
        "config": {
            **config,
            "served_entities": [*config["served_entities"], challenger],
            "traffic_config": {"routes": routes},
        },
    }


def load_resources(bundle: Bundle) -> Resources:
    resources = Resources()
    if serving_enabled(bundle):
        resources.add_model_serving_endpoint(
            "claims_fraud_champion", ModelServingEndpoint.from_dict(endpoint(bundle))
        )
    return resources
