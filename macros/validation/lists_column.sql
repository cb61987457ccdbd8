{# True when the comma-separated list `column_list` (an unreadable_columns value) names
   `column_name`; false when the list is null. #}
{% macro lists_column(column_list, column_name) -%}
    coalesce(instr(concat(',', {{ column_list }}, ','), ',{{ column_name }},') > 0, false)
{%- endmacro %}
