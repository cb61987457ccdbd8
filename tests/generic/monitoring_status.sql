{#
    Monitoring verdicts as dbt test results. Each monitoring model stores a status per row;
    these tests return the rows whose status is a warn or error status and map them to dbt's
    severity: the test warns when only warn statuses are present and errors as soon as one
    error status is. The failure count is the number of rows at the worst level.

    Arguments (all optional, set per model in YAML):
      warn_statuses / error_statuses: which statuses warn and which error;
      batches: 'latest' (default: the rows of the most recently scored batch) or 'all'.
    A model can still be capped with `config: {severity: warn}`.
#}


{% test psi_within(
    model, column_name='status', warn_statuses=['warn'],
    error_statuses=['error', 'no_data', 'missing_reference'], batches='latest') %}
    {{ monitoring_status_test(model, column_name, warn_statuses, error_statuses, batches) }}
{% endtest %}

{% test disparate_impact_within(
    model, column_name='status',
    warn_statuses=['warn_not_significant', 'warn_significant_within_band', 'insufficient_data'],
    error_statuses=['fail'], batches='latest') %}
    {{ monitoring_status_test(model, column_name, warn_statuses, error_statuses, batches) }}
{% endtest %}

{% test score_distribution_stable(
    model, column_name='status', warn_statuses=['warn'],
    error_statuses=['error', 'no_data', 'missing_reference'], batches='latest') %}
    {{ monitoring_status_test(model, column_name, warn_statuses, error_statuses, batches) }}
{% endtest %}

{% test volume_stable(
    model, column_name='status', warn_statuses=['warn'],
    error_statuses=['error', 'no_data'], batches='latest') %}
    {{ monitoring_status_test(model, column_name, warn_statuses, error_statuses, batches) }}
{% endtest %}

{#- Realized performance: the latest batch has no outcomes yet, so the rows checked are every
    batch of the model version that scored the latest one (batches='champion'). #}
{% test performance_within(
    model, column_name='status', warn_statuses=['warn', 'warn_estimated', 'missing_reference'],
    error_statuses=['error'], batches='champion') %}
    {{ monitoring_status_test(model, column_name, warn_statuses, error_statuses, batches) }}
{% endtest %}
