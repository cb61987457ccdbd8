"""Real-time serving of the @champion classifier: off unless ``--var serve_champion=true``.

A bundle resource has no ``enabled:`` flag, so the endpoint is added by this Python resource
loader (databricks-bundles; ``python.resources`` in databricks.yml) only when the variable asks
for it, on any target. Serving cannot resolve the MLflow alias (``models:/...@champion``); it
needs a version, hence ``champion_model_version``, the version ``claims-fraud has-champion``
prints::

    databricks bundle deploy -t prod --var serve_champion=true --var champion_model_version=7

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


def serving_enabled(bundle: Bundle) -> bool:
    return str(bundle.variables.get("serve_champion", "false")).strip().lower() == "true"


def load_resources(bundle: Bundle) -> Resources:
    resources = Resources()
    if serving_enabled(bundle):
        resources.add_model_serving_endpoint(
            "claims_fraud_champion", ModelServingEndpoint.from_dict(ENDPOINT)
        )
    return resources
