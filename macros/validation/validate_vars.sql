{# on-run-start: every rule, before any node runs (a failing start hook skips every node). #}
{% macro validate_vars() -%}
    {%- for name in var_rules() -%}
        {%- do checked_var(name) -%}
    {%- endfor -%}
    {%- do require_rule("env var CLAIMS_FRAUD_RAW_DIR", env_var('CLAIMS_FRAUD_RAW_DIR', '.local/raw'), 'path') -%}
    select 1 as vars_checked
{%- endmacro %}
