"""Monitoring jobs after the dbt monitoring models: alerts and the HTML report."""
