{#
    The batches one scoring run writes, from the vars scoring_batch_id, scoring_window_start,
    scoring_window_end and scoring_batch_days: a list of [batch_id, start, end] (start and end
    as text, '' = unbounded). scoring_batch_days 0: the whole window is batch scoring_batch_id;
    N > 0: consecutive N-day batches from the window's start to its end, each named
    <scoring_batch_id>-<YYYY-MM-DD of its start>, the last cut at the end. The Python twin is
    claims_fraud.warehouse.params.scoring_batches (it plans what fraud_scores writes; this one
    what mon_batches expects and the post-hooks replace): a test checks they agree.
#}
{% macro scoring_batches() -%}
    {%- set prefix = checked_var('scoring_batch_id') -%}
    {%- set start_text = checked_var('scoring_window_start') or '' -%}
    {%- set end_text = checked_var('scoring_window_end') or '' -%}
    {%- set days = checked_var('scoring_batch_days', 0) | int -%}
    {%- set dt = modules.datetime -%}
    {%- set start = _parse_timestamp(start_text) -%}
    {%- set end = _parse_timestamp(end_text) -%}
    {%- if start is not none and end is not none and end <= start -%}
        {{ exceptions.raise_compiler_error("var scoring_window_end = " ~ end_text ~ " is not allowed: it must be after scoring_window_start (" ~ start_text ~ "). Nothing was run.") }}
    {%- endif -%}
    {%- if days == 0 -%}
        {{ return([[prefix, start_text, end_text]]) }}
    {%- endif -%}
    {%- if start is none or end is none -%}
        {{ exceptions.raise_compiler_error("var scoring_batch_days = " ~ days ~ " is not allowed: it must be 0 unless both scoring_window_start and scoring_window_end are set. Nothing was run.") }}
    {%- endif -%}
    {%- set n = ((end - start).days / days) -%}
    {%- if n > 1000 -%}
        {{ exceptions.raise_compiler_error("var scoring_batch_days = " ~ days ~ " is not allowed: it must be large enough for at most 1000 batches. Nothing was run.") }}
    {%- endif -%}
    {%- set batches = [] -%}
    {%- for k in range(1001) -%}
        {%- set batch_start = start + dt.timedelta(days=k * days) -%}
        {%- if batch_start < end -%}
            {%- set batch_end = [batch_start + dt.timedelta(days=days), end] | min -%}
            {%- set name = require_rule('scoring_batch_id (with the batch date)', prefix ~ '-' ~ batch_start.strftime('%Y-%m-%d'), 'batch_id') -%}
            {%- do batches.append([name, batch_start.strftime('%Y-%m-%d %H:%M:%S'), batch_end.strftime('%Y-%m-%d %H:%M:%S')]) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(batches) }}
{%- endmacro %}

{# A checked optional_timestamp var as a datetime (none when empty). #}
{% macro _parse_timestamp(text) -%}
    {%- if not text -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(modules.datetime.datetime.fromisoformat(text)) }}
{%- endmacro %}

{# The ids of scoring_batches(): the batches this scoring run writes and replaces. #}
{% macro scoring_batch_ids() -%}
    {%- set ids = [] -%}
    {%- for batch in scoring_batches() -%}
        {%- do ids.append(batch[0]) -%}
    {%- endfor -%}
    {{ return(ids) }}
{%- endmacro %}
