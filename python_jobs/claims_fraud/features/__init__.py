"""What the models read: the feature spec (dbt YAML) and the reference data (seeds)."""
