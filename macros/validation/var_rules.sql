{#
    Values from outside the project (dbt vars, the raw-data folder) never reach SQL as typed.
    Each one has a rule in var_rules (this file); `checked_var(name)` returns a var only once
    it passes its rule, and `sql_literal(value)` is the one way a value becomes a SQL string
    literal. The on-run-start hook `validate_vars()` checks every rule before any node runs,
    so a bad value fails the whole command with a message naming the var and the rule, before
    any SQL. The Python twin of the rules (scoring, CLI arguments) is
    claims_fraud.warehouse.params; a test feeds both the same hostile values.
#}

{# var name -> rule. A var that reaches SQL or a Python job and is not listed here is a bug. #}
{% macro var_rules() -%}
    {{ return({
        'scoring_batch_id': 'batch_id',
        'scoring_window_start': 'optional_timestamp',
        'scoring_window_end': 'optional_timestamp',
        'scoring_batch_days': 'non_negative_integer',
        'training_cutoff': 'optional_timestamp',
        'monitoring_as_of': 'optional_timestamp',
        'training_warmup_days': 'non_negative_integer',
        'raw_catalog': 'optional_identifier',
        'raw_schema': 'identifier',
        'max_plausible_units': 'positive_number',
        'minutes_in_a_day': 'positive_number',
        'feature_lookback_days': 'non_negative_integer',
        'provider_min_history': 'non_negative_integer',
        'provider_history_days': 'non_negative_integer',
        'member_history_days': 'non_negative_integer',
        'reference_grid_points': 'non_negative_integer',
        'monitored_features': 'identifier_list',
        'protected_attributes': 'identifier_list',
        'evaluate_ground_truth': 'optional_boolean',
    }) }}
{%- endmacro %}
