"""Claims fraud detection: synthetic data, training, scoring, monitoring jobs."""

from claims_fraud.logs import route_library_warnings

# Where $CLAIMS_FRAUD_WARNINGS_LOG names a file (the local bundle runner sets it for its tasks),
# library warnings go there, in the CLI's jobs and in the dbt Python models alike (they import
# this package); unset, this does nothing. See claims_fraud/logs.py.
route_library_warnings()
