"""The Databricks Asset Bundle offline: load, validate and run its jobs locally."""
