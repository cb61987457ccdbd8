{#
    Building blocks shared by the monitoring models (models/monitoring). The statistics
    themselves are spelled out in the models; these macros only say which columns are
    monitored, which batches a run processes, and the PSI verdict both PSI tables give.
#}

{#
    The monitored features: every column of fct_claim_features whose meta says
    model_input: true, as {name, type} with type numeric, boolean or categorical, in the
    order of the YAML. The var monitored_features narrows the list: a list of column names,
    or a mapping name -> type (used as given, e.g. by unit tests, where the graph is empty).
#}
{% macro monitored_features() -%}
    {%- set features = [] -%}
    {%- set wanted = checked_var('monitored_features', []) -%}
    {%- if wanted is mapping -%}
        {%- for name, type in wanted.items() -%}
            {%- do features.append({'name': name, 'type': type}) -%}
        {%- endfor -%}
    {%- elif execute -%}
        {%- for column in _feature_table_columns() -%}
            {%- set meta = column.meta or {} -%}
            {%- if meta.get('model_input') and (not wanted or column.name in wanted) -%}
                {%- do features.append({'name': column.name, 'type': meta.get('feature_type')}) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- for name in wanted if name not in features | map(attribute='name') | list -%}
            {{ exceptions.raise_compiler_error("var monitored_features names " ~ name ~ ", which is not a model input of fct_claim_features") }}
        {%- endfor -%}
    {%- endif -%}
    {{ return(features) }}
{%- endmacro %}

{#
    The protected attributes: columns of fct_claim_features with meta protected_attribute:
    true, or the var protected_attributes when set (unit tests, where the graph is empty).
#}
{% macro protected_attributes() -%}
    {%- set attributes = [] -%}
    {%- if checked_var('protected_attributes', []) -%}
        {%- do attributes.extend(checked_var('protected_attributes')) -%}
    {%- elif execute -%}
        {%- for column in _feature_table_columns() if (column.meta or {}).get('protected_attribute') -%}
            {%- do attributes.append(column.name) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(attributes) }}
{%- endmacro %}

{% macro _feature_table_columns() -%}
    {%- set nodes = graph.get('nodes', {}) if graph is mapping else graph.nodes -%}
    {%- set matches = nodes.values() | selectattr('name', 'equalto', 'fct_claim_features') | list -%}
    {%- if not matches -%}
        {{ exceptions.raise_compiler_error("Monitoring needs the columns of fct_claim_features from the graph; in a unit test set the vars monitored_features (name: type) and protected_attributes") }}
    {%- endif -%}
    {{ return(matches[0].columns.values() | list) }}
{%- endmacro %}

{#
    The batches this run monitors: every batch of mon_batches on a full build; on an
    incremental run only those not monitored yet or scored again since (a rescored batch
    has a newer scored_at, and its old rows are replaced).
#}
{% macro batches_to_monitor(batches_relation) -%}
    select
        batches.batch_id,
        batches.model_version,
        batches.scored_at,
        batches.n_claims
    from {{ batches_relation }} as batches
    {%- if is_incremental() %}
        where not exists (
            select 1
            from {{ this }} as monitored
            where
                monitored.batch_id = batches.batch_id
                and monitored.scored_at = batches.scored_at
        )
    {%- endif %}
{%- endmacro %}

{# One column per threshold of the monitoring_thresholds seed (select from it, one row). #}
{% macro threshold_columns(names) -%}
    {%- for name in names %}
        cast(max(case when threshold_name = {{ sql_literal(name) }} then threshold_value end) as double) as {{ name }}
        {%- if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}

{# A boolean or categorical value as the level text the reference profile stores. #}
{% macro level_text(column, feature_type) -%}
    {%- if feature_type == 'boolean' -%}
        case when {{ column }} then 'true' when not {{ column }} then 'false' end
    {%- else -%}
        cast({{ column }} as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}

{#
    PSI critical value: (1/N + 1/M) * chi2_q(K - 1), the PSI that K bins reach by chance
    alone with probability 1 - q when nothing drifted.
#}
{% macro psi_critical_value(reference_n, current_n, n_bins, quantile) -%}
    ((1 / cast({{ reference_n }} as double) + 1 / cast({{ current_n }} as double))
    * {{ chi_square_quantile(quantile, n_bins ~ ' - 1') }})
{%- endmacro %}

{#
    The PSI verdict: no_data (empty batch), missing_reference (no reference profile for the
    model version), error / warn (PSI at or above the threshold and the critical value),
    insufficient_evidence (at or above warn but below the critical value), ok.
#}
{% macro psi_status(psi, critical_value, current_n, n_bins, psi_warn, psi_error) -%}
    case
        when {{ current_n }} = 0 then 'no_data'
        when {{ n_bins }} is null then 'missing_reference'
        when {{ psi }} >= {{ psi_error }} and {{ psi }} >= {{ critical_value }} then 'error'
        when {{ psi }} >= {{ psi_warn }} and {{ psi }} >= {{ critical_value }} then 'warn'
        when {{ psi }} >= {{ psi_warn }} then 'insufficient_evidence'
        else 'ok'
    end
{%- endmacro %}

{# The body of the monitoring status tests (tests/generic/monitoring_status.sql). #}
{% macro monitoring_status_test(model, column_name, warn_statuses, error_statuses, batches) %}

    {%- set error_rows = "sum(case when monitoring_severity = 'error' then 1 else 0 end)" -%}
    {{ config(
        fail_calc="case when " ~ error_rows ~ " > 0 then " ~ error_rows ~ " else count(*) end",
        warn_if="> 0",
        error_if="> 0 and " ~ error_rows ~ " > 0",
    ) }}

    {%- if batches not in ('latest', 'all') -%}
        {{ exceptions.raise_compiler_error("monitoring status test on " ~ model ~ ": batches must be 'latest' or 'all', got " ~ batches) }}
    {%- endif %}

    select
        monitored.*,
        case
            when monitored.{{ column_name }} in ('{{ error_statuses | join("', '") }}') then 'error'
            else 'warn'
        end as monitoring_severity
    from {{ model }} as monitored
    where
        monitored.{{ column_name }} in ('{{ (warn_statuses + error_statuses) | join("', '") }}')
        {%- if batches == 'latest' %}
        and monitored.scored_at = (select max(latest.scored_at) from {{ model }} as latest)
        {%- endif %}

{% endmacro %}

{#
    How many of the ascending edges <edge_prefix>0 .. <edge_prefix>(n_edges - 1) lie strictly
    below value: the value's range bin, since bins are (lower, upper]. A binary search of
    nested CASEs (about log2(n) comparisons a row); missing top edges are null and compare
    as +infinity, so a feature with fewer edges than n_edges needs nothing special.
#}
{% macro edges_below(value, edge_prefix, n_edges) -%}
    {{ return(_edges_below(value, edge_prefix, 0, n_edges)) }}
{%- endmacro %}

{% macro _edges_below(value, edge_prefix, low, high) -%}
    {%- if low >= high -%}
        {{ return('0') }}
    {%- endif -%}
    {%- set middle = (low + high) // 2 -%}
    {%- set above = _edges_below(value, edge_prefix, middle + 1, high) -%}
    {%- set below = _edges_below(value, edge_prefix, low, middle) -%}
    {{ return(
        '(case when ' ~ value ~ ' > ' ~ edge_prefix ~ middle ~ ' then ' ~ (middle + 1 - low)
        ~ ' + ' ~ above ~ ' else ' ~ below ~ ' end)'
    ) }}
{%- endmacro %}
